#!/usr/bin/env bash
# Shared shell helpers for tools/*.sh (sourced).

# log MESSAGE / die MESSAGE: progress and fatal errors on stderr, tagged with the script's LOG_TAG
log() { printf '[%s] %s\n' "${LOG_TAG:-fleetsec}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-fleetsec}" "$*" >&2; exit 1; }

# the cache of the test platform's builds (EL userspaces and stores, the VM image, the container configuration)
# shellcheck disable=SC2034  # used by the scripts that source this file
cache=${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}

# scratch_dir LABEL ON-EXIT: sets $work, a new folder under $cache (the file system of the finished builds, so one
# rename moves a result into place), and has the function ON-EXIT (which removes it) run when the script exits
scratch_dir() {
  mkdir -p "$cache"
  # shellcheck disable=SC2034  # for the caller
  work=$(mktemp -d "$cache/$1.XXXXXX")
  # shellcheck disable=SC2064  # the function's name, fixed now
  trap "$2" EXIT
}

# pyenv_python X.Y -> path of the newest pyenv interpreter X.Y.*, or nothing
pyenv_python() {
  local root=${PYENV_ROOT:-/root/.pyenv} found="" p
  for p in "$root"/versions/"$1".*/bin/python; do
    [ -x "$p" ] && found=$p
  done
  printf '%s' "$found"
}

# debian_packages -> the packages of tools/requirements-debian.txt, one a line
debian_packages() {
  awk '!/^[[:space:]]*(#|$)/ {print $1}' "$(dirname "${BASH_SOURCE[0]}")/requirements-debian.txt"
}

# check_tools -> 0 when every command and path of tools/requirements-debian.txt is there; otherwise prints
# each missing one with the Debian package that provides it, and returns 1
check_tools() {
  local pkg item missing=0
  while read -r pkg rest; do
    case $pkg in ''|'#'*) continue ;; esac
    for item in $rest; do
      if [[ $item == /* ]]; then
        [ -e "$item" ] && continue
      else
        PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v "$item" >/dev/null 2>&1 && continue
      fi
      printf 'MISSING  %-36s from Debian package %s (apt-get install %s, or run tools/setup.sh)\n' "$item" "$pkg" "$pkg"
      missing=1
    done
  done < "$(dirname "${BASH_SOURCE[0]}")/requirements-debian.txt"
  return $missing
}

# write_guest_access RUN ADDRESS PORT KEY ACCEL: the connection files of a test guest (QEMU's or user-mode Linux's)
# in RUN: ssh_config ("ssh -F RUN/ssh_config fleetsec-vm" works as root with KEY), inventory.yml (Ansible, the same
# facts) and instance.json (address, port, user, identity file, run folder, accelerator)
write_guest_access() {
  local run=$1 address=$2 port=$3 key=$4 accel=$5
  cat >"$run/ssh_config" <<EOF
Host fleetsec-vm
  HostName $address
  Port $port
  User root
  IdentityFile $key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 10
  ServerAliveInterval 15
EOF
  cat >"$run/inventory.yml" <<EOF
all:
  hosts:
    fleetsec-vm:
      ansible_host: $address
      ansible_port: $port
      ansible_user: root
      ansible_ssh_private_key_file: $key
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes
      ansible_python_interpreter: /usr/bin/python3
EOF
  printf '{"address": "%s", "port": %s, "user": "root", "identity_file": "%s", "run_dir": "%s", "accel": "%s"}\n' \
    "$address" "$port" "$key" "$run" "$accel" >"$run/instance.json"
}
