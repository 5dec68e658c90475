#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Boot the enforcing test VM (image from tools/vm/build-image.sh, built on first use) on a
# throw-away qcow2 overlay and wait until SSH answers.
#
# Usage: tools/vm/start.sh [RUN_DIR]
#   RUN_DIR (default ${FLEETSEC_CACHE:-~/.cache/fleetsec-selinux}/run) receives:
#     overlay.qcow2            throw-away disk (removed by stop.sh)
#     ssh_config               "ssh -F RUN_DIR/ssh_config fleetsec-vm" works (root, key, port)
#     inventory.yml            Ansible inventory with the same facts
#     instance.json            {"address", "port", "user", "identity_file"} for molecule
#     supervisor.pid qemu.pid  PIDs that tools/vm/stop.sh kills
#     console.log              serial console of every boot (appended)
#     accel                    "kvm" or "tcg", as detected
# Environment:
#   FLEETSEC_VM_ACCEL         force "kvm" or "tcg" (default: probe KVM, fall back to TCG)
#   FLEETSEC_VM_MEMORY        guest memory in MiB (default 2048)
#   FLEETSEC_VM_BOOT_TIMEOUT  seconds to wait for SSH (default 300)
#   FLEETSEC_VM_CMDLINE_EXTRA more kernel arguments (e.g. enforcing=0 to see what a boot would be denied)
# Guest reboots survive: QEMU runs with -no-reboot under a supervisor that starts a fresh QEMU
# (same overlay, same port) whenever the guest reboots; a guest power-off ends the supervisor.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
LOG_TAG=vm-start
# shellcheck source=tools/lib.sh
. "$here/../lib.sh"  # log, die

# ---------------------------------------------------------------------------------------------
# Supervisor (internal): runs QEMU in the foreground, restarts it when the guest rebooted.
# ---------------------------------------------------------------------------------------------
if [ "${1:-}" = "__supervise" ]; then
  run=$2
  echo $$ >"$run/supervisor.pid"
  qemu_pid=
  # shellcheck disable=SC2317  # called by the trap below
  on_term() {
    if [ -n "$qemu_pid" ]; then kill -TERM "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
    rm -f "$run/qemu.pid"
    exit 0
  }
  trap on_term TERM INT HUP
  mapfile -t qemu_cmd <"$run/qemu.cmd"
  boots=0
  fast_failures=0
  while [ ! -e "$run/stop" ]; do
    boots=$((boots + 1))
    printf '\n===== fleetsec supervisor: boot %d at %s =====\n' "$boots" "$(date -u +%FT%TZ)" >>"$run/console.log"
    began=$(date +%s)
    "${qemu_cmd[@]}" >>"$run/qemu.log" 2>&1 &
    qemu_pid=$!
    echo "$qemu_pid" >"$run/qemu.pid"
    rc=0
    wait "$qemu_pid" || rc=$?
    qemu_pid=
    rm -f "$run/qemu.pid"
    echo "$(date -u +%FT%TZ) qemu exited rc=$rc after $(( $(date +%s) - began )) s" >>"$run/supervisor.log"
    [ -e "$run/stop" ] && break
    if tail -c 4096 "$run/console.log" | grep -q 'reboot: Power down'; then
      echo "guest powered off: supervisor ends" >>"$run/supervisor.log"
      break
    fi
    if [ $(( $(date +%s) - began )) -lt 20 ]; then
      fast_failures=$((fast_failures + 1))
      if [ "$fast_failures" -ge 3 ]; then
        echo "QEMU exited three times within 20 s: supervisor gives up" >>"$run/supervisor.log"
        break
      fi
    else
      fast_failures=0
    fi
  done
  rm -f "$run/supervisor.pid"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
run=$(mkdir -p "${1:-$cache/run}" && cd "${1:-$cache/run}" && pwd)
memory=${FLEETSEC_VM_MEMORY:-2048}
timeout=${FLEETSEC_VM_BOOT_TIMEOUT:-300}

if [ -f "$run/supervisor.pid" ] && kill -0 "$(cat "$run/supervisor.pid")" 2>/dev/null; then
  die "a VM is already running for $run (supervisor PID $(cat "$run/supervisor.pid")); run tools/vm/stop.sh $run first"
fi

image=$("$here/build-image.sh" | tail -1)
[ -f "$image/base.qcow2" ] || die "no image in '$image'"
qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found (tools/vm/build-image.sh installs it)"
rm -f "$run/stop" "$run/console.log" "$run/qemu.log" "$run/supervisor.log"

# --- accelerator: KVM only if a real kernel boots under it ------------------------------------
# /dev/kvm can exist and still be unusable (e.g. a PVM host: "failed to set MSR", emulation
# failures). The probe boots the image's kernel without a root disk: it must get as far as the
# "Unable to mount root fs" panic, and with panic=-1 and -no-reboot QEMU then exits by itself.
probe_kvm() {
  if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then log "KVM: /dev/kvm not usable"; return 1; fi
  local plog="$run/kvm-probe.log"
  rm -f "$plog"
  # (in a subshell, so a QEMU that aborts is reported into the log, not on the terminal)
  ( timeout 30 "$qemu" -accel kvm -cpu host -m 256 -smp 1 -display none -no-reboot -nodefaults \
      -serial "file:$plog" -kernel "$image/vmlinuz" \
      -append 'console=ttyS0 panic=-1 root=/dev/fleetsec-no-such-disk loglevel=4'
    echo "probe exit status $?" ) >"$run/kvm-probe.qemu.log" 2>&1
  if grep -q 'Unable to mount root fs' "$plog" 2>/dev/null; then
    return 0
  fi
  log "KVM: probe kernel did not boot under KVM ($(tr '\n' ' ' <"$run/kvm-probe.qemu.log" | cut -c1-160))"
  return 1
}
accel=${FLEETSEC_VM_ACCEL:-}
if [ -z "$accel" ]; then
  if probe_kvm; then accel=kvm; else accel=tcg; fi
fi
# shellcheck disable=SC2054  # the commas belong to QEMU's option syntax
case "$accel" in
  kvm) accel_args=(-accel kvm -cpu host -smp 2);;
  tcg) accel_args=(-accel tcg,thread=multi,tb-size=256 -cpu max -smp 2);;
  *) die "FLEETSEC_VM_ACCEL must be kvm or tcg, not '$accel'";;
esac
echo "$accel" >"$run/accel"
log "accelerator: $accel"

# --- overlay, port, connection files, supervisor; then wait for SSH --------------------------------
# launch: a fresh overlay and a free port, the connection files, the supervisor. The port is free when chosen and
# taken by QEMU a moment later: another process can take it in between (QEMU then ends at once, "Could not set up
# host forwarding rule"), so a QEMU that ends before SSH answers gets up to two more attempts, each on a new port.
key="$image/id_ed25519"
chmod 0600 "$key"
launch() {
  rm -f "$run/overlay.qcow2" "$run/stop"
  qemu-img create -q -f qcow2 -F qcow2 -b "$image/base.qcow2" "$run/overlay.qcow2"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

  write_guest_access "$run" 127.0.0.1 "$port" "$key" "$accel"

  cmdline="root=/dev/vda rw console=ttyS0 selinux=1 security=selinux audit=1 audit_backlog_limit=8192 loglevel=4${FLEETSEC_VM_CMDLINE_EXTRA:+ $FLEETSEC_VM_CMDLINE_EXTRA}"
  {
    printf '%s\n' "$qemu" -name "fleetsec-vm,debug-threads=off" "${accel_args[@]}" -m "$memory" \
      -display none -nodefaults -no-reboot -no-user-config \
      -chardev "file,id=ser0,path=$run/console.log,append=on" -serial chardev:ser0 \
      -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$cmdline" \
      -drive "file=$run/overlay.qcow2,format=qcow2,if=virtio,cache=unsafe,discard=unmap" \
      -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0 \
      -device virtio-rng-pci -rtc base=utc
  } >"$run/qemu.cmd"

  # the supervisor, detached from our session so a calling tool (molecule, ansible) can return
  began=$(date +%s)
  rm -f "$run/supervisor.pid"
  setsid "$self" __supervise "$run" </dev/null >>"$run/supervisor.log" 2>&1 &
  for _ in $(seq 50); do [ -s "$run/supervisor.pid" ] && break; sleep 0.1; done
  # (a QEMU that fails at once three times ends the supervisor before its PID file is seen: the wait below says so)
  log "supervisor PID $(cat "$run/supervisor.pid" 2>/dev/null || echo '(ended already)'), SSH on 127.0.0.1:$port, run dir $run"
}

attempt=1
launch
while :; do
  if ssh -F "$run/ssh_config" -o ConnectTimeout=5 -o BatchMode=yes fleetsec-vm true </dev/null 2>/dev/null; then
    break
  fi
  # (no PID file: ended; never "kill -0 0", which asks about our own process group and always answers yes)
  if ! kill -0 "$(cat "$run/supervisor.pid" 2>/dev/null || echo ended)" 2>/dev/null; then
    tail -40 "$run/console.log" >&2 || true
    cat "$run/qemu.log" >&2 || true
    "$here/stop.sh" "$run" >&2 || true
    if [ "$attempt" -lt 3 ]; then
      attempt=$((attempt + 1))
      log "QEMU ended before SSH answered (output above): attempt $attempt of 3, on a new port"
      launch
      continue
    fi
    die "QEMU ended before SSH answered, three times (console and QEMU output above)"
  fi
  if [ $(( $(date +%s) - began )) -ge "$timeout" ]; then
    tail -40 "$run/console.log" >&2 || true
    "$here/stop.sh" "$run" >&2 || true
    die "SSH did not answer within $timeout s (console tail above); VM stopped"
  fi
  sleep 2
done
log "SSH answered after $(( $(date +%s) - began )) s ($accel): ssh -F $run/ssh_config fleetsec-vm"
echo "$run"
