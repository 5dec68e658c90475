#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Run the molecule scenarios with the environment they need (used by `make test` / tools/test.sh).
# Usage: tools/molecule.sh [SCENARIO...]     (default: default container)
#   default    the enforcing EL9-like guest (tools/vm/guest.sh: user-mode Linux, else QEMU), real kernel: converge,
#              idempotence, testinfra
#   container  podman, image $MOLECULE_IMAGE (default: localhost/fleetsec-debian12, built locally
#              by tools/container/build-image.sh); SELinux is disabled inside any container
# Environment: VENV (default .venv), FLEETSEC_CACHE (default ~/.cache/fleetsec-selinux),
#   MOLECULE_IMAGE, FLEETSEC_VM_PLATFORM (auto|qemu), FLEETSEC_VM_ACCEL (kvm|tcg, default probed).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
venv=${VENV:-$here/.venv}
# pinned with tools/requirements-controller.txt (ansible-core 2.19): the `ansible` package of the
# same generation ships containers.podman, which molecule's podman driver needs (Galaxy is not used)
ansible_pkg=ansible==12.3.0
LOG_TAG=molecule.sh
# shellcheck source=tools/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/./lib.sh"   # log, die, cache
export FLEETSEC_CACHE="$cache"
# the scenario's UML guest has a tap device and a /30 of its own (the integration-vm step's guest uses the defaults)
export FLEETSEC_UML_TAP=${FLEETSEC_UML_TAP:-fsuml1} FLEETSEC_UML_NET=${FLEETSEC_UML_NET:-10.213.41.0}

export PATH="$venv/bin:$PATH"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(default container)

collections="$cache/collections"
ensure_podman_collection() {
  [ -f "$collections/ansible_collections/containers/podman/MANIFEST.json" ] && return 0
  log "extracting containers.podman from the $ansible_pkg wheel into $collections"
  local tmp
  tmp=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps "$ansible_pkg" -d "$tmp"
  "$venv/bin/python" - "$tmp"/ansible-*.whl "$collections" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "ansible_collections/containers/podman/"
with zipfile.ZipFile(wheel) as zf:
    members = [n for n in zf.namelist() if n.startswith(prefix)]
    zf.extractall(dest, members)
print("%d files" % len(members))
PY
  rm -rf "$tmp"
}

export ANSIBLE_COLLECTIONS_PATH
ANSIBLE_COLLECTIONS_PATH="$("$here/tools/collection-tree.sh"):$collections"

guest_left() {  # QEMU or UML guests of the default scenario (its run folder is under molecule's ephemeral folder)
  pgrep -f 'qemu-system-x86_64 -name fleetsec-vm' || true
  pgrep -f "linux.uml .*ubd0=[^ ]*molecule[^ ]*/root.raw" || true
}

rc=0
summary=()
for s in "${scenarios[@]}"; do
  case "$s" in
    container)
      ensure_podman_collection
      export CONTAINERS_CONF
      CONTAINERS_CONF=$("$here/tools/container/build-image.sh" | tail -1)
      export MOLECULE_IMAGE=${MOLECULE_IMAGE:-localhost/fleetsec-debian12}
      ;;
  esac
  log "molecule test -s $s"
  start=$(date +%s)
  if molecule test -s "$s"; then r=0; else r=$?; rc=1; fi
  secs=$(( $(date +%s) - start ))
  summary+=("$s: rc=$r in ${secs} s")
  log "molecule test -s $s: rc=$r in ${secs} s"
done
# only after the VM scenario: the container scenario may run beside another VM (tools/test.sh's VM lane)
if [[ " ${scenarios[*]} " == *" default "* ]]; then
  left=$(guest_left)
  if [ -n "$left" ]; then
    log "ERROR: guest process(es) left behind: $left"
    rc=1
  fi
fi
printf '%s\n' "${summary[@]}"
exit $rc
