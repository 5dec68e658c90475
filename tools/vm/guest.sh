#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Start or stop the EL9-like test guest on the platform its work wants (docs/dev/testbed.md, "User-mode Linux"):
# user-mode Linux (tools/uml/start.sh) for the tests' guest work (policy rebuilds, module runs, reboots), QEMU
# (tools/vm/start.sh) when asked or when UML cannot start. Both write the same connection files into RUN_DIR (ssh_config, inventory.yml, instance.json); this
# script adds RUN_DIR/platform (uml or qemu), which `stop` reads and removes.
#
# Usage: tools/vm/guest.sh start RUN_DIR    (UML; QEMU when FLEETSEC_VM_PLATFORM=qemu or when UML cannot start:
#                                           no root, no tap device; said on stderr)
#        tools/vm/guest.sh stop RUN_DIR     (idempotent)
# Environment: FLEETSEC_VM_PLATFORM (auto|qemu, default auto), and those of the two start scripts (a guest beside
# another UML guest needs its own FLEETSEC_UML_TAP and FLEETSEC_UML_NET).
set -euo pipefail
LOG_TAG=vm-guest
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/lib.sh
. "$here/lib.sh"
[ $# -eq 2 ] || die "usage: $0 start|stop RUN_DIR"
action=$1
mkdir -p "$2"
run=$(cd "$2" && pwd)

case $action in
  start)
    if [ "${FLEETSEC_VM_PLATFORM:-auto}" != qemu ]; then
      if "$here/uml/start.sh" "$run"; then
        echo uml >"$run/platform"
        exit 0
      fi
      log "the UML guest did not start (above): starting the guest on QEMU"
      "$here/uml/stop.sh" "$run" || true
    fi
    "$here/vm/start.sh" "$run"
    echo qemu >"$run/platform"
    ;;
  stop)
    platform=$(cat "$run/platform" 2>/dev/null || true)
    case $platform in
      uml) "$here/uml/stop.sh" "$run" ;;
      qemu) "$here/vm/stop.sh" "$run" ;;
      *) "$here/uml/stop.sh" "$run" >/dev/null 2>&1 || true; "$here/vm/stop.sh" "$run" ;;
    esac
    rm -f "$run/platform"
    ;;
  *) die "usage: $0 start|stop RUN_DIR" ;;
esac
