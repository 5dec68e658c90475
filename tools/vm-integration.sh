#!/usr/bin/env bash
# Run the integration targets that need a real enforcing kernel (alias needs/vm) in the test VM.
# Boots one throw-away VM for all of them (tools/vm/start.sh), always stops it.
# Usage: [FLEETSEC_VM_EXTRA_VARS="name=value ..."] tools/vm-integration.sh [TARGET...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv=${VENV:-$here/.venv}
run="$here/build/vm-integration"
targets=("$@")
playbooks=0  # the reviewed change set through ansible-runner (tests/integration/playbooks/test_playbooks_vm.py)
if [ ${#targets[@]} -eq 0 ]; then
  playbooks=1
  for d in tests/integration/targets/*/; do
    if [ -f "$d/aliases" ] && grep -q '^needs/vm' "$d/aliases" && ! grep -q '^disabled' "$d/aliases"; then
      targets+=("$(basename "$d")")
    fi
  done
fi
if [ ${#targets[@]} -eq 0 ]; then echo "no VM integration targets"; exit 0; fi
trap 'tools/vm/stop.sh "$run" || true' EXIT
began=$SECONDS
tools/vm/start.sh "$run"
echo "[vm-integration] VM (image, boot) ready in $((SECONDS - began)) s"
ANSIBLE_COLLECTIONS_PATH=$(tools/collection-tree.sh)
export ANSIBLE_COLLECTIONS_PATH ANSIBLE_ROLES_PATH="$here/tests/integration/targets" ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=1
fail=0
# where the lane's time goes: one line per target, "[vm-integration] target NAME: rc=N in S s"
for t in "${targets[@]}"; do
  echo "== VM integration target: $t"
  began=$SECONDS rc=0
  "$venv/bin/ansible-playbook" -i "$run/inventory.yml" tests/integration/run-target-vm.yml -e "target=$t" \
    ${FLEETSEC_VM_EXTRA_VARS:+-e "$FLEETSEC_VM_EXTRA_VARS"} || rc=$?
  echo "[vm-integration] target $t: rc=$rc in $((SECONDS - began)) s"
  if [ $rc -ne 0 ]; then echo "FAILED: VM integration target $t"; fail=1; fi
done
if [ $playbooks -eq 1 ]; then
  echo "== VM playbooks: review, approve, deploy exactly the reviewed change set"
  began=$SECONDS rc=0
  FLEETSEC_VM_RUN=$run "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/integration/playbooks/test_playbooks_vm.py \
    --durations=0 || rc=$?
  echo "[vm-integration] playbooks: rc=$rc in $((SECONDS - began)) s"
  if [ $rc -ne 0 ]; then echo "FAILED: VM playbooks"; fail=1; fi
fi
exit $fail
