#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# TRIAL (issue #30 item 3): boot the EL9-like test image (tools/vm/build-image.sh) under user-mode Linux
# (Debian's user-mode-linux, /usr/bin/linux.uml) instead of QEMU TCG, enforcing, with audit, reachable over
# SSH through a tap device on a private /30. Writes the same connection files as tools/vm/start.sh.
#
# Usage: tools/uml/start.sh [RUN_DIR]     (default build/uml)
#   RUN_DIR receives: root.raw (raw working copy, removed by stop.sh), ssh_config (host fleetsec-vm),
#   inventory.yml, instance.json, uml.pid, console.log, tap (the tap device's name)
# Environment:
#   FLEETSEC_UML_IMAGE   image directory (default: the one tools/vm/build-image.sh prints, built if missing)
#   FLEETSEC_UML_MEMORY  guest memory in MiB (default 1536)
#   FLEETSEC_UML_TAP     tap device name (default fsuml0)
#   FLEETSEC_UML_NET     first three octets + base of the /30, e.g. 10.213.40.0 (host .1, guest .2)
#   FLEETSEC_UML_BOOT_TIMEOUT  seconds to wait for SSH (default 180)
# The guest gets its address from a systemd-networkd file written into the raw copy with debugfs (no loop
# mount), labelled like the image's own files; /etc/fstab names /dev/ubda. A guest reboot re-executes
# linux.uml in place (UML does that itself), the tap stays. Needs root (tap device).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=uml-start
# shellcheck source=tools/lib.sh
. "$here/../lib.sh"
repo=$(cd "$here/../.." && pwd)
run=$(mkdir -p "${1:-$repo/build/uml}" && cd "${1:-$repo/build/uml}" && pwd)
memory=${FLEETSEC_UML_MEMORY:-1536}
tap=${FLEETSEC_UML_TAP:-fsuml0}
net=${FLEETSEC_UML_NET:-10.213.40.0}
timeout=${FLEETSEC_UML_BOOT_TIMEOUT:-180}
prefix=${net%.*}; base=${net##*.}
host_ip="$prefix.$((base + 1))"; guest_ip="$prefix.$((base + 2))"
[ "$(id -u)" -eq 0 ] || die "must run as root (tap device)"

if [ -s "$run/uml.pid" ] && kill -0 "$(cat "$run/uml.pid")" 2>/dev/null; then
  die "a UML guest is already running for $run (PID $(cat "$run/uml.pid")); tools/uml/stop.sh $run first"
fi

# --- host packages ------------------------------------------------------------------------------
if ! command -v linux.uml >/dev/null; then
  log "installing user-mode-linux"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends user-mode-linux >&2
fi
command -v debugfs >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends e2fsprogs >&2
log "linux.uml: $(dpkg-query -W -f '${Package} ${Version}' user-mode-linux 2>/dev/null), kernel $(linux.uml --version 2>/dev/null)"

image=${FLEETSEC_UML_IMAGE:-$("$repo/tools/vm/build-image.sh" | tail -1)}
[ -f "$image/base.qcow2" ] || die "no image in '$image'"
key="$image/id_ed25519"; chmod 0600 "$key"

# --- raw working copy, adapted with debugfs -----------------------------------------------------
began=$(date +%s)
rm -f "$run/root.raw" "$run/console.log" "$run/stop"
qemu-img convert -O raw "$image/base.qcow2" "$run/root.raw"
printf '/dev/ubda\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' >"$run/fstab"
cat >"$run/05-uml.network" <<EOF
[Match]
Name=eth0

[Network]
Address=$guest_ip/30
Gateway=$host_ip
EOF
printf 'system_u:object_r:etc_t:s0\0' >"$run/label.etc"
debugfs -w -f - "$run/root.raw" >"$run/debugfs.log" 2>&1 <<EOF
rm /etc/fstab
write $run/fstab /etc/fstab
ea_set -f $run/label.etc /etc/fstab security.selinux
write $run/05-uml.network /etc/systemd/network/05-uml.network
ea_set -f $run/label.etc /etc/systemd/network/05-uml.network security.selinux
EOF
for f in /etc/fstab /etc/systemd/network/05-uml.network; do
  debugfs -R "ea_get $f security.selinux" "$run/root.raw" 2>/dev/null | grep -q etc_t || die "debugfs could not write/label $f (see $run/debugfs.log)"
done
log "raw working copy ready in $(( $(date +%s) - began )) s"

# --- tap device --------------------------------------------------------------------------------
ip link show "$tap" >/dev/null 2>&1 || ip tuntap add dev "$tap" mode tap
ip addr flush dev "$tap"
ip addr add "$host_ip/30" dev "$tap"
ip link set "$tap" up
echo "$tap" >"$run/tap"

write_guest_access "$run" "$guest_ip" 22 "$key" uml

# --- boot: console must be a pipe (a regular file makes UML's epoll fail), so cat appends it -------
mkdir -p "$run/umldir"
began=$(date +%s)
# shellcheck disable=SC2016
TMPDIR=/dev/shm setsid bash -c 'echo $$ >"$1/uml.pid"; exec nice -n 5 linux.uml "${@:2}" </dev/null 2>&1' _ "$run" \
  mem="${memory}M" ubd0="$run/root.raw" root=/dev/ubda rw con0=null,fd:1 con=null ssl=null \
  eth0="tuntap,$tap" uml_dir="$run/umldir" umid=fleetsec \
  security=selinux selinux=1 audit=1 audit_backlog_limit=8192 loglevel=4 2>>"$run/console.log" \
  | cat >>"$run/console.log" 2>&1 &
for _ in $(seq 50); do [ -s "$run/uml.pid" ] && break; sleep 0.1; done
log "linux.uml PID $(cat "$run/uml.pid"), guest $guest_ip via $tap, run dir $run"
while ! ssh -F "$run/ssh_config" -o ConnectTimeout=3 -o BatchMode=yes fleetsec-vm true </dev/null 2>/dev/null; do
  if ! kill -0 "$(cat "$run/uml.pid")" 2>/dev/null; then tail -30 "$run/console.log" >&2; die "linux.uml ended before SSH answered"; fi
  if [ $(( $(date +%s) - began )) -ge "$timeout" ]; then tail -30 "$run/console.log" >&2; die "no SSH within $timeout s (tools/uml/stop.sh $run)"; fi
  sleep 1
done
log "SSH answered after $(( $(date +%s) - began )) s: ssh -F $run/ssh_config fleetsec-vm"
echo "$run"
