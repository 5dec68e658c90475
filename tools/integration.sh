#!/usr/bin/env bash
# Run integration targets (tests/integration/targets/*) on this machine with the default controller.
# Usage: tools/integration.sh [TARGET...]   (default: every target without a 'disabled' or 'needs/vm' alias)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$here/.venv}
"$here/tools/collection-tree.sh" >/dev/null
export ANSIBLE_COLLECTIONS_PATH="$here/build/collections"
export ANSIBLE_ROLES_PATH="$here/tests/integration/targets"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for d in "$here"/tests/integration/targets/*/; do
    name=$(basename "$d")
    if [ -f "$d/aliases" ] && grep -qE '^(disabled|needs/vm)' "$d/aliases"; then continue; fi
    [ -d "$d/tasks" ] && targets+=("$name")
  done
fi
fail=0
for t in "${targets[@]}"; do
  echo "== integration target: $t"
  if ! "$venv/bin/ansible-playbook" -i localhost, "$here/tests/integration/run-target.yml" -e "target=$t" -e "ansible_python_interpreter=$venv/bin/python"; then
    echo "FAILED: integration target $t"; fail=1
  fi
done
exit $fail
