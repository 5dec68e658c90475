#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by tools/vm/build-image.sh and tools/container/build-image.sh (sourced; both hash this file
# together with their own recipe, so a change here rebuilds their images), and by tools/el/ (host_packages).
# Brings tools/lib.sh (log, die, cache, scratch_dir). Expects $suite where debootstrap runs.

debootstrap_lib=$(readlink -f "${BASH_SOURCE[0]}")
# shellcheck source=tools/lib.sh
. "$(dirname "$debootstrap_lib")/lib.sh"

# recipe_key RECIPE [LINE...]: the first 16 hex digits of a sha256 over the recipe script, this file and the LINEs
# (what else the build is made of): an unchanged recipe reuses its build, a changed one rebuilds
recipe_key() {
  { cat "$1" "$debootstrap_lib"; shift; if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi; } | sha256sum | cut -c1-16
}

# host_packages PKG...: install the missing Debian packages (names given as "command:package").
host_packages() {
  local need=() pair
  for pair in "$@"; do
    case $pair in
      /*:*) [ -e "${pair%%:*}" ] || need+=("${pair#*:}") ;;
      *) command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}") ;;
    esac
  done
  [ ${#need[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || die "missing host packages (${need[*]}) and not root"
  log "installing host packages: ${need[*]}"
  apt-get -o Acquire::Retries=3 update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends "${need[@]}" >&2
}

# debootstrap_source: sets $mirror (FLEETSEC_MIRROR, else the one apt already uses for $suite/main)
# and exports apt's proxy settings, which debootstrap does not read itself.
debootstrap_source() {
  mirror=${FLEETSEC_MIRROR:-}
  if [ -z "$mirror" ]; then
    mirror=$(apt-cache policy 2>/dev/null | awk -v s="${suite:?}/main" '$3 == s && $4 == "amd64" { print $2; exit }')
  fi
  [ -n "$mirror" ] || die "no apt source for $suite/main found (apt-cache policy); set FLEETSEC_MIRROR to a Debian mirror URL"
  eval "$(apt-config shell http_proxy Acquire::http::Proxy https_proxy Acquire::https::Proxy 2>/dev/null || true)"
  if [ -n "${http_proxy:-}" ]; then export http_proxy; fi
  if [ -n "${https_proxy:-}" ]; then export https_proxy; fi
  log "mirror: $mirror (suite $suite)"
}

# debootstrap_retry LOG ARGS...: debootstrap ARGS (the last but one is the target, $rootfs), tried up to three
# times: a mirror that drops one connection fails one download and with it the whole image. The partial root file
# system goes before the next try.
debootstrap_retry() {
  local logf=$1 attempt
  shift
  for attempt in 1 2 3; do
    if debootstrap "$@" >"$logf" 2>&1; then return 0; fi
    tail -15 "$logf" >&2
    [ "$attempt" -lt 3 ] || break
    log "debootstrap failed (attempt $attempt of 3, log above); trying again in $((attempt * 20)) s"
    _unmount_rootfs
    rm -rf --one-file-system "${rootfs:?}"
    sleep $((attempt * 20))
  done
  die "debootstrap failed three times (the last log above)"
}

# scratch_rootfs PREFIX: sets $work (a scratch folder under $cache) and $rootfs, and removes both on
# exit, unmounting what a chroot step left mounted.
scratch_rootfs() {
  scratch_dir "$1" _scratch_cleanup
  rootfs="$work/rootfs"
}
_unmount_rootfs() {
  local m
  for m in dev/pts dev sys proc; do
    if mountpoint -q "$rootfs/$m" 2>/dev/null; then umount -l "$rootfs/$m" || true; fi
  done
}
_scratch_cleanup() {
  _unmount_rootfs
  rm -rf --one-file-system "$work"
}
