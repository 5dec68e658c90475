#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Stop the UML guest of tools/uml/start.sh: TERM (then KILL) its process group by the recorded PID, only if
# that PID is still a linux.uml of this run dir; delete the tap device; remove the raw working copy.
# Idempotent. Usage: tools/uml/stop.sh [RUN_DIR]   (default build/uml)
set -euo pipefail
LOG_TAG=uml-stop
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/lib.sh
. "$here/../lib.sh"
run=${1:-$here/../../build/uml}
if [ ! -d "$run" ]; then log "nothing to stop ($run does not exist)"; exit 0; fi
run=$(cd "$run" && pwd)
touch "$run/stop"
if [ -s "$run/uml.pid" ]; then
  pid=$(cat "$run/uml.pid")
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$run/root.raw"; then
    # linux.uml is a session leader (setsid in start.sh): its guest processes are host processes of its group
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "linux.uml (PID $pid and its process group) ended"
  fi
fi
if [ -s "$run/tap" ]; then
  tap=$(cat "$run/tap")
  ip link show "$tap" >/dev/null 2>&1 && ip link delete "$tap" && log "tap $tap deleted"
fi
rm -f "$run/uml.pid" "$run/root.raw" "$run/tap"
log "stopped ($run)"
