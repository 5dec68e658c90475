#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Run a command in (or open a shell on) the test VM started by tools/vm/start.sh.
# Usage: tools/vm/ssh.sh [-d RUN_DIR] [COMMAND...]
#   e.g. tools/vm/ssh.sh getenforce ; tools/vm/ssh.sh bash -s < tools/vm/make-denial.sh
set -euo pipefail
run=${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}/run
if [ "${1:-}" = "-d" ]; then run=$2; shift 2; fi
[ -f "$run/ssh_config" ] || { echo "[vm-ssh] no VM started for $run (tools/vm/start.sh $run)" >&2; exit 2; }
exec ssh -F "$run/ssh_config" fleetsec-vm "$@"
