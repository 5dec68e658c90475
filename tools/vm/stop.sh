#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Stop the test VM started by tools/vm/start.sh: kill its supervisor and QEMU BY PID (only if the
# PID still belongs to this run dir's process), then remove the throw-away overlay. Idempotent:
# stopping a VM that is not running (or a run dir that does not exist) succeeds.
# Usage: tools/vm/stop.sh [RUN_DIR]   (default ${FLEETSEC_CACHE:-~/.cache/fleetsec-selinux}/run)
set -euo pipefail
LOG_TAG=vm-stop
# shellcheck source=tools/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"   # log, die, cache
run=${1:-$cache/run}
if [ ! -d "$run" ]; then log "nothing to stop ($run does not exist)"; exit 0; fi
run=$(cd "$run" && pwd)

# pid_of FILE NEEDLE: the PID in FILE if that process is alive and its command line mentions NEEDLE
pid_of() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  echo "$pid"
}
# end PID: TERM, wait up to 15 s, then KILL
end() {
  local pid=$1 what=$2 _
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { log "$what (PID $pid) ended"; return 0; }; sleep 0.1; done
  log "$what (PID $pid) ignored SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

touch "$run/stop"   # tells the supervisor not to start another QEMU
if sup=$(pid_of "$run/supervisor.pid" "__supervise $run"); then end "$sup" supervisor; fi
if qpid=$(pid_of "$run/qemu.pid" "$run/overlay.qcow2"); then end "$qpid" qemu; fi
rm -f "$run/supervisor.pid" "$run/qemu.pid" "$run/overlay.qcow2"
log "stopped; overlay removed ($run)"
