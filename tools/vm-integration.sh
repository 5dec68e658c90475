#!/usr/bin/env bash
# Run the integration targets that need a real enforcing kernel (alias needs/vm) in throw-away guests of the test
# image: user-mode Linux (tools/uml/start.sh), then one QEMU boot (tools/vm/start.sh); always stops them.
# Usage: [FLEETSEC_VM_PLATFORM=qemu|uml] [FLEETSEC_VM_EXTRA_VARS="name=value ..."] tools/vm-integration.sh [TARGET...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv=${VENV:-$here/.venv}
run="$here/build/vm-integration"
targets=("$@")
whole=0      # no target named: every needs/vm target and the playbooks
playbooks=0  # the reviewed change set through ansible-runner (tests/integration/playbooks/test_playbooks_vm.py)
if [ ${#targets[@]} -eq 0 ]; then
  whole=1 playbooks=1
  for d in tests/integration/targets/*/; do
    if [ -f "$d/aliases" ] && grep -q '^needs/vm' "$d/aliases" && ! grep -q '^disabled' "$d/aliases"; then
      targets+=("$(basename "$d")")
    fi
  done
fi
if [ ${#targets[@]} -eq 0 ]; then echo "no VM integration targets"; exit 0; fi
# Two platforms (docs/dev/testbed.md, "User-mode Linux"). Every needs/vm target and the playbooks run on user-mode
# Linux: their cost is CPU-bound guest work (policy rebuilds, relabels), about 3x faster than QEMU's TCG here, and the
# UML guest boots the same image with the same Debian 6.1 kernel release and a command line given by its start script,
# as QEMU's direct kernel boot does; a reboot re-executes the UML kernel in place. QEMU, the platform of `make demo`,
# is then checked by booting it once (tests/integration/qemu-boot.yml: enforcing, labels, the module on the live
# kernel). FLEETSEC_VM_PLATFORM=qemu puts every target on QEMU (`make test-extended` runs selinux_mode_vm's reboots
# there); a UML guest that cannot start (no root, no tap device) is said and its targets run on QEMU.
platform=${FLEETSEC_VM_PLATFORM:-auto}
uml_targets=(); qemu_targets=()
for t in "${targets[@]}"; do
  if [ "$platform" = qemu ]; then qemu_targets+=("$t"); else uml_targets+=("$t"); fi
done
ANSIBLE_COLLECTIONS_PATH=$(tools/collection-tree.sh)
export ANSIBLE_COLLECTIONS_PATH ANSIBLE_ROLES_PATH="$here/tests/integration/targets" ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=1
fail=0
uml_run="$here/build/uml-integration"
trap 'tools/vm/stop.sh "$run" || true; tools/uml/stop.sh "$uml_run" >/dev/null 2>&1 || true' EXIT

# run_targets RUN PLATFORM TARGET...: one line per target, "[vm-integration] target NAME (PLATFORM): rc=N in S s"
run_targets() {
  local dir=$1 where=$2 t began rc
  shift 2
  for t in "$@"; do
    echo "== VM integration target: $t ($where)"
    began=$SECONDS rc=0
    "$venv/bin/ansible-playbook" -i "$dir/inventory.yml" tests/integration/run-target-vm.yml -e "target=$t" \
      ${FLEETSEC_VM_EXTRA_VARS:+-e "$FLEETSEC_VM_EXTRA_VARS"} || rc=$?
    echo "[vm-integration] target $t ($where): rc=$rc in $((SECONDS - began)) s"
    if [ $rc -ne 0 ]; then echo "FAILED: VM integration target $t"; fail=1; fi
  done
}

run_playbooks() {
  local dir=$1 where=$2 began rc=0
  echo "== VM playbooks ($where): review, approve, deploy exactly the reviewed change set"
  began=$SECONDS
  FLEETSEC_VM_RUN=$dir "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/integration/playbooks/test_playbooks_vm.py \
    --durations=0 || rc=$?
  echo "[vm-integration] playbooks ($where): rc=$rc in $((SECONDS - began)) s"
  if [ $rc -ne 0 ]; then echo "FAILED: VM playbooks"; fail=1; fi
}

if [ ${#uml_targets[@]} -gt 0 ] || { [ $playbooks -eq 1 ] && [ "$platform" != qemu ]; }; then
  began=$SECONDS
  if tools/uml/start.sh "$uml_run"; then
    echo "[vm-integration] UML guest ready in $((SECONDS - began)) s"
    run_targets "$uml_run" uml "${uml_targets[@]}"
    if [ $playbooks -eq 1 ]; then run_playbooks "$uml_run" uml; playbooks=0; fi
    tools/uml/stop.sh "$uml_run" || true
  else
    echo "[vm-integration] the UML guest did not start (see above): its targets run on QEMU"
    tools/uml/stop.sh "$uml_run" || true
    qemu_targets=("${uml_targets[@]}" "${qemu_targets[@]}")
  fi
fi
# QEMU: the targets UML did not take, or (a whole run on UML) one boot of the demo's platform
if [ ${#qemu_targets[@]} -gt 0 ] || [ $playbooks -eq 1 ] || { [ $whole -eq 1 ] && [ "$platform" != uml ]; }; then
  began=$SECONDS
  tools/vm/start.sh "$run"
  echo "[vm-integration] VM (image, boot) ready in $((SECONDS - began)) s"
  run_targets "$run" qemu "${qemu_targets[@]}"
  if [ $playbooks -eq 1 ]; then run_playbooks "$run" qemu; fi
  if [ ${#qemu_targets[@]} -eq 0 ]; then
    echo "== QEMU boot check (the platform of make demo)"
    began=$SECONDS rc=0
    "$venv/bin/ansible-playbook" -i "$run/inventory.yml" tests/integration/qemu-boot.yml || rc=$?
    echo "[vm-integration] QEMU boot check: rc=$rc in $((SECONDS - began)) s"
    if [ $rc -ne 0 ]; then echo "FAILED: QEMU boot check"; fail=1; fi
  fi
fi
exit $fail
