#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run). Sets everything up first (cached), runs every
# step even when an earlier one fails, prints a summary, and exits non-zero when any step failed.
# Usage: tools/test.sh [STEP...]   (default: all steps; names as printed in the summary)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
# shellcheck source=tools/lib.sh
. "$here/tools/lib.sh"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0 PYTHONDONTWRITEBYTECODE=1
logdir="$here/build/test-logs"
mkdir -p "$logdir"

# Order: the host steps that keep one core busy first, the store steps with two pytest workers last (the VM lane, see
# below, runs beside them and leaves one core; once it is done, the store steps get both).
ALL_STEPS=(setup tools unit-py311 unit-py27 unit-py36 unit-compat integration-targets report playbooks
           sanity-2.19 sanity-2.16 ansible-lint docs-lint docsite changelog galaxy-build-install galaxy-importer
           molecule-container integration-store integration-store-el9 integration-store-el8 integration-store-el10
           integration-vm molecule)
# Steps left out of `make test` to keep it inside CI's 90 minutes on this 2-core machine (the VM lane alone takes
# about 35 of them, the store steps about 40): `tools/test.sh extended` (`make test-extended`) runs them. The figures
# of the last runs: docs/dev/testbed.md, "make test timing" (tools/timings.py).
EXTENDED_STEPS=(integration-store-el7 corpus-el8 corpus-el10 bench-smoke integration-vm-qemu)
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("${ALL_STEPS[@]}")
[ "${steps[*]}" = extended ] && steps=("${EXTENDED_STEPS[@]}")

TARGET_SIDE_TESTS=(tests/unit/plugins/module_utils tests/unit/plugins/modules)

step_setup() { tools/setup.sh all; }

# every tool a test needs is there (a missing one would otherwise surface as a test failure that reads like a
# bug): the table in tools/requirements-debian.txt, plus the target-side interpreters
step_tools() {
  local rc=0 v
  check_tools || rc=1
  for v in 2.7 3.6 3.9 3.12; do
    [ -n "$(pyenv_python "$v")" ] || { echo "MISSING  Python $v (pyenv: /root/.pyenv/versions/$v.*) for the target-side tests"; rc=1; }
  done
  [ $rc -eq 0 ] && echo "all tools of tools/requirements-debian.txt and the target-side interpreters are present"
  return $rc
}

# pytest on the default controller (Python 3.11, ansible-core 2.19)
controller_pytest() { .venv/bin/python -m pytest -q -p no:cacheprovider "$@"; }

step_unit-py311() { controller_pytest tests/unit; }

target_pytest() {  # target_pytest ENVDIR PYTHON
  local env=$1 py=$2
  [ -x "$py" ] || { echo "interpreter not found: $py"; return 1; }
  PYTHONPATH="$here/$env/site" "$py" -m pytest -q -p no:cacheprovider "${TARGET_SIDE_TESTS[@]}"
}
step_unit-py27() { target_pytest .venv-py27 "$(pyenv_python 2.7)"; }
step_unit-py36() { target_pytest .venv-py36 "$(pyenv_python 3.6)"; }
# target-side code against ansible-core 2.16's module_utils on the controller Python
step_unit-compat() { .venv-compat/bin/python -m pytest -q -p no:cacheprovider "${TARGET_SIDE_TESTS[@]}"; }

# The store tests are independent (each works on its own copy of the store, or in its own mount namespace) and a
# policy rebuild keeps one core busy: two pytest workers (pytest-xdist) use both cores of this machine, test by test
# (--dist load): a few files hold most of the time (test_el_matrix.py, test_remedy_store.py), so file by file would
# leave a core idle (in the cold run of 7f6cdf8 one EL9 worker had all of test_remedy_store.py, whose two slowest
# cases alone took 340 s).
STORE_WORKERS=(-n 2 --dist load)
# Which store step runs which test is the test's own `lanes` marker (tests/integration/pytest/conftest.py, LANES):
# this machine's Debian store (userspace 3.4, refpolicy) runs the userspace-dependent cases, what only this store has,
# and the cases decided before any tool runs; the policy-logic cases (the gate's findings, records, safety refusals,
# remedy's choices) run once, on the EL9 targeted store, the users' platform.
# store_pytest ARGS...: controller_pytest with the tests' copies of the store on a memory file system
# (FLEETSEC_STORE_SCRATCH, tests/integration/pytest/conftest.py), in a folder of the step's own, emptied first; the
# copies of failed tests stay there until the step runs again
# FLEETSEC_PYTEST_ARGS: more pytest arguments for a developer's run of a store step, split at white space (no quoting):
# FLEETSEC_PYTEST_ARGS="-k permissive_domain_through" tools/test.sh integration-store-el8
store_pytest() {
  local scratch="/dev/shm/fleetsec-$current_step" rc=0 extra=()
  read -r -a extra <<<"${FLEETSEC_PYTEST_ARGS:-}"
  set -- "$@" "${extra[@]}"
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    rm -rf "$scratch"
    FLEETSEC_STORE_SCRATCH="$scratch" controller_pytest "$@" || rc=$?
    if [ $rc -eq 0 ]; then rm -rf "$scratch"; else echo "store copies of the failed tests: $scratch"; fi
    return $rc
  fi
  controller_pytest "$@"
}
step_integration-store() { store_pytest tests/integration/pytest "${STORE_WORKERS[@]}" --lane debian --durations=25; }
# The EL matrix (docs/dev/testbed.md): one release's targeted store built from ../shared/vendor with that release's own
# userspace (tools/el/, cached in ~/.cache/fleetsec-selinux; see docs/dev/el-platform.md), that userspace first on PATH,
# and every module that the tests run as a process run by that release's Python.
# The matrix's releases: store name -> "USERSPACE PYTHON SETOOLS AUDIT" (rows of tools/el/releases.sh: the SELinux
# userspace, the release's Python, the setools built with that Python against that userspace, the audit userspace's
# ausearch/aureport)
declare -A EL_RELEASES=([el7]="2.5 2.7 3.3.8 2.8.5" [el8]="2.9 3.6 4.3.0 3.1.2" [el9]="3.6 3.9 4.4.4 3.1.5"
                        [el10]="3.8 3.12 4.5.1 4.0.3")
# el_matrix STORE PYTEST-ARGS...
el_matrix() {
  local name=$1 userspace pyver setools audit store py site built
  read -r userspace pyver setools audit <<<"${EL_RELEASES[$name]:-}"
  [ -n "$audit" ] || { echo "no release $name (${!EL_RELEASES[*]})"; return 1; }
  shift 1
  local envlines
  store=$(tools/el/build-store.sh "$name" | tail -1)
  # the stamp, not a folder: a failed build prints no folder, and "" + /root is this machine's home
  if [ -z "$store" ] || [ ! -f "$store/.complete" ]; then echo "store $name: build failed"; return 1; fi
  # the release's setools (its Python, its userspace's libsepol) and ausearch/aureport, first on PATH: every sesearch,
  # seinfo and ausearch a module runs is the release's (test_el_matrix.py checks the versions they print)
  if [[ $setools == 3.* ]]; then   # setools 3 (EL7): C and autotools, no Python
    built=$(tools/el/build-setools3.sh "$setools" "$userspace" | tail -1)
  else
    built=$(tools/el/build-setools.sh "$setools" "$userspace" "$pyver" | tail -1)
  fi
  if [ -z "$built" ] || [ ! -f "$built/.complete" ]; then echo "setools $setools: build failed"; return 1; fi
  built=$(tools/el/build-audit.sh "$audit" | tail -1)
  if [ -z "$built" ] || [ ! -f "$built/.complete" ]; then echo "audit $audit: build failed"; return 1; fi
  envlines=$(tools/el/env.sh "$userspace" --setools "$setools" --python "$pyver" --audit "$audit") \
    || { echo "userspace $userspace, setools $setools or audit $audit: not built"; return 1; }
  eval "$envlines"
  py=$(pyenv_python "$pyver")
  [ -x "$py" ] || { echo "Python $pyver (pyenv) not found"; return 1; }
  if [ "$pyver" = 3.6 ] || [ "$pyver" = 2.7 ]; then
    site="$here/.venv-py${pyver/./}/site"   # ansible-core 2.16: the last that manages Python 2.7 and 3.6
    if [ "$pyver" = 2.7 ]; then
      # Python 2 imports no namespace package: the unit tests' tree of packages with __init__.py files
      "$py" -c "import sys; sys.path.insert(0, '$here/tests/unit'); import conftest" || return 1
      site="$site:$here/build/pytest-py27"
    fi
  else
    # only ansible's own package of the controller venv (pure Python; its module_utils run on 3.8 and later)
    site="$here/build/target-site"
    mkdir -p "$site"
    ln -sfn "$(.venv/bin/python -c 'import ansible, os; print(os.path.dirname(ansible.__file__))')" "$site/ansible"
  fi
  echo "store: $store/root; semodule: $(command -v semodule); audit2why: $(command -v audit2why);" \
    "sesearch: $(command -v sesearch); ausearch: $(command -v ausearch); target Python: $py"
  FLEETSEC_STORE_ROOT="$store/root" FLEETSEC_TARGET_PYTHON="$py" FLEETSEC_TARGET_PYTHON_VERSION="$pyver" \
    FLEETSEC_TARGET_SITE="$site" store_pytest "$@" --durations=25
}
# EL8 and EL10 (lane el8, el10): the matrix file (install, rerun, bad source, a class the policy lacks, a module of
# that policy, batch, states, permissive domains through semanage, audit2why explanations, the release's words for a
# held lock, the EL9+ disable caveat from EL os-release files, a refpolicy module in the batch, built with the
# release's devel files), and remedy's one transaction and unchanged rerun (its `semanage export` parsing) with the
# release's semanage under the release's Python
step_integration-store-el8() { el_matrix el8 "${STORE_WORKERS[@]}" tests/integration/pytest --lane el8; }
step_integration-store-el10() { el_matrix el10 "${STORE_WORKERS[@]}" tests/integration/pytest --lane el10; }
# the corpus of published records judged by EL8's and EL10's own audit2allow (the EL9 step and the Debian step run it
# in make test; these two are in EXTENDED_STEPS for CI's time: the EL8 and EL10 matrices run in make test)
step_corpus-el8() { el_matrix el8 tests/integration/pytest --lane records; }
step_corpus-el10() { el_matrix el10 tests/integration/pytest --lane records; }
# EL7 (RHEL 7.7's source package, userspace 2.5, Python 2.7): not in ALL_STEPS, to keep `make test` inside CI's 90
# minutes (it adds about 3 minutes cold: 183 s measured in an empty cache, 54 s cached); run it by name:
# tools/test.sh integration-store-el7
step_integration-store-el7() { el_matrix el7 tests/integration/pytest --lane el7; }
# EL9 (lane el9; the release of the test VM): the matrix file and every case whose outcome depends on the userspace
# or the policy; the ones decided before any tool runs (bad options, syntax errors, a kill between commit and record,
# parallel runs) are in lane debian only, where they cost a third of the time (a transaction on this 433-module store
# takes 20 s here).
step_integration-store-el9() { el_matrix el9 "${STORE_WORKERS[@]}" tests/integration/pytest --lane el9; }
# Real audit records of your own through the collection on an EL store, judged by that release's audit2allow
# (lane records): FLEETSEC_RECORDS='/path/audit.log*' [FLEETSEC_RECORDS_RELEASE=el8|
# el9|el10|el7] tools/test.sh records, or `make check-records RECORDS=...`. Not in ALL_STEPS: the EL9 step runs the
# same file on the project's corpus of published records.
step_records() {
  [ -n "${FLEETSEC_RECORDS:-}" ] || { echo "FLEETSEC_RECORDS: give the record files (globs allowed)"; return 1; }
  el_matrix "${FLEETSEC_RECORDS_RELEASE:-el9}" tests/integration/pytest --lane records -rs
}
step_integration-targets() { tools/integration.sh; }
# the fleet report written by the playbooks' tasks, rendered in headless Chromium
step_report() { controller_pytest tests/integration/report; }
# the fleet playbooks through ansible-runner (as AWX/AAP runs them): where the artefacts land, what the job returns
step_playbooks() { controller_pytest tests/integration/playbooks --durations=10; }
# every benchmark on small inputs, so none rots between `make bench` runs; each exits non-zero when its
# own checks fail (a rerun that rebuilds or changes something, a missed denial). Figures are discarded.
step_bench-smoke() {
  .venv/bin/python bench/avc_scan.py --size 8M --repeat 1 &&
    .venv/bin/python bench/policy_rebuilds.py --repeat 1 &&
    .venv/bin/python bench/te_parse.py --repeat 1 &&
    .venv/bin/python bench/remedy_transactions.py --repeat 1 &&
    .venv/bin/python bench/safe_install.py --repeat 1 &&
    .venv/bin/python bench/fleet.py --hosts 2 --log-size 64K --no-variants
}

step_sanity-2.19() { tools/sanity.sh .venv; }
step_sanity-2.16() { tools/sanity.sh .venv-compat; }

# the whole tree as a plain checkout (roles, playbooks, molecule, the integration targets), production profile
step_ansible-lint() {
  ANSIBLE_COLLECTIONS_PATH="$(tools/collection-tree.sh)" .venv/bin/ansible-lint --offline --nocolor
}

# the documentation as antsibull-docs reads it (markup references, option and return value names, role specs)
step_docs-lint() {
  (cd "$(tools/collection-tree.sh)/ansible_collections/fleetsec/selinux" &&
     PATH="$here/.venv/bin:$PATH" "$here/.venv/bin/antsibull-docs" lint-collection-docs --plugin-docs .)
}

# the documentation site (antsibull-docs + Sphinx, offline), with the workflow guide of docs/docsite
step_docsite() { tools/docsite.sh; }

# the collection as Galaxy imports it: galaxy-importer on the built tarball, no error and no warning
step_galaxy-importer() {
  local tmp rc=0
  tmp=$(mktemp -d)
  tools/collection-build.sh "$tmp" >/dev/null || return 1
  # run in the scratch folder: the importer writes importer_result.json into its working directory
  (cd "$tmp" && PATH="$here/.venv/bin:$PATH" "$here/.venv/bin/python" -m galaxy_importer.main "$tmp"/*.tar.gz) \
    > "$tmp/import.log" 2>&1 || rc=1
  grep -v '^Loading ' "$tmp/import.log"
  if grep -qE '^(WARNING|ERROR)|warning:' "$tmp/import.log"; then echo "galaxy-importer reported warnings or errors"; rc=1; fi
  rm -rf "$tmp"
  return $rc
}

step_changelog() { .venv/bin/antsibull-changelog lint && tools/changelog-preview.sh; }

step_galaxy-build-install() {
  local tmp rc=0 m
  shopt -s nullglob
  tmp=$(mktemp -d)
  tools/collection-build.sh "$tmp/dist" || return 1
  echo "tarball: $(tar -tzf "$tmp"/dist/*.tar.gz | wc -l) files"; tar -tzf "$tmp"/dist/*.tar.gz | grep -E '(^|/)(\.venv[^/]*|build|tools|bench|\.ci|\.ansible|\.cache|\.pytest_cache|\.hypothesis|__pycache__)/' && { echo "build_ignore leaks dev files"; return 1; }
  tar -tzf "$tmp"/dist/*.tar.gz > "$tmp/files.txt"
  grep -qx 'LICENSE' "$tmp/files.txt" || { echo "the tarball has no LICENSE"; return 1; }
  # developer guides stay in the repository (Galaxy would show docs/ as user documentation); shipped Markdown
  # links only to shipped files
  for f in Makefile docs/dev/testbed.md docs/dev/el-platform.md docs/dev/adversarial.md; do
    [ -f "$f" ] || { echo "developer guide missing from the repository: $f"; return 1; }
    grep -qx "$f" "$tmp/files.txt" && { echo "developer file shipped: $f"; return 1; }
  done
  grep -q "^docs/dev/" "$tmp/files.txt" && { echo "docs/dev shipped"; return 1; }
  # the shipped README is the users': no developer part, nothing of the developer tooling
  tar -xOzf "$tmp"/dist/*.tar.gz README.md > "$tmp/README.md" || { echo "the tarball has no README.md"; return 1; }
  if grep -nE 'developer:(begin|end)|make (demo|test|bench|collection)|docs/dev|tools/|bench/|timings:' "$tmp/README.md"; then
    echo "developer material in the shipped README (above; mark it <!-- developer:begin/end --> in README.md)"; return 1
  fi
  cmp -s README.md "$tmp/README.md" && { echo "the shipped README is the repository's: its developer parts were not left out"; return 1; }
  .venv/bin/python tools/shipped-links.py "$tmp/files.txt" "$tmp/dist"/*.tar.gz || return 1
  .venv/bin/ansible-galaxy collection install --offline --force -p "$tmp/collections" "$tmp"/dist/fleetsec-selinux-*.tar.gz || return 1
  for m in plugins/modules/*.py; do
    m=$(basename "$m" .py)
    echo "--- ansible-doc fleetsec.selinux.$m"
    if ANSIBLE_COLLECTIONS_PATH="$tmp/collections" .venv/bin/ansible-doc "fleetsec.selinux.$m" > "$tmp/doc.txt" 2>&1 \
       && grep -qiE "^> .*fleetsec\.selinux\.$m\b" "$tmp/doc.txt" && ! grep -qE "^\[(WARNING|ERROR)\]" "$tmp/doc.txt"; then
      head -3 "$tmp/doc.txt"
    else
      cat "$tmp/doc.txt"; rc=1
    fi
  done
  for r in roles/*/; do
    [ -d "$r" ] || continue
    r=$(basename "$r")
    echo "--- ansible-doc -t role fleetsec.selinux.$r"
    ANSIBLE_COLLECTIONS_PATH="$tmp/collections" .venv/bin/ansible-doc -t role "fleetsec.selinux.$r" > "$tmp/doc.txt" 2>&1 || { cat "$tmp/doc.txt"; rc=1; }
  done
  rm -rf "$tmp"
  return $rc
}

# targets that need a real enforcing kernel, in the test VM (user-mode Linux, then a QEMU boot check); extended: the
# boot path (selinux_mode_vm's reboots and relabel) under QEMU, whose x86 kernel make demo boots
step_integration-vm() { tools/vm-integration.sh; }
step_integration-vm-qemu() { FLEETSEC_VM_PLATFORM=qemu tools/vm-integration.sh selinux_mode_vm; }

# the VM scenario in the VM lane; the container scenario (podman) among the host steps
step_molecule() { tools/molecule.sh default; }
step_molecule-container() { tools/molecule.sh container; }

# run_step STEP: runs it with its log in build/test-logs/STEP.log and its summary line in build/test-logs/STEP.result
run_step() {
  local s=$1 start rc secs
  current_step=$s
  echo "================ $s"
  start=$(date +%s)
  "step_$s" 2>&1 | tee "$logdir/$s.log"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  if [ "$rc" -eq 0 ]; then echo "PASSED  $s (${secs}s)"; else echo "FAILED  $s (${secs}s, rc=$rc, log: build/test-logs/$s.log)"; fi \
    >"$logdir/$s.result"
  return "$rc"
}

# Two lanes. The VM steps keep about one core busy (QEMU's TCG, measured with top: 106-113 % of one core during
# integration-vm) and leave the other idle, so they run in a lane of their own beside the host steps, which run at a
# lower priority (nice 10) so that the VM keeps its core and its reboot and SSH timeouts mean what they say.
# Output of the VM lane goes to its logs, printed whole after the host lane. FLEETSEC_TEST_SERIAL=1: one lane.
VM_STEPS=(integration-vm molecule integration-vm-qemu)
is_vm_step() { local v; for v in "${VM_STEPS[@]}"; do [ "$v" = "$1" ] && return 0; done; return 1; }
for s in "${steps[@]}"; do
  if ! declare -F "step_$s" >/dev/null; then echo "unknown step: $s (known: ${ALL_STEPS[*]} ${EXTENDED_STEPS[*]})"; exit 2; fi
  rm -f "$logdir/$s.result"
done
first=(); lane_vm=(); lane_host=()
for s in "${steps[@]}"; do
  if [[ $s == setup || $s == tools ]]; then first+=("$s")
  elif is_vm_step "$s"; then lane_vm+=("$s")
  else lane_host+=("$s"); fi
done
stop=0
for s in "${first[@]}"; do
  # set-up failures (or missing tools) make every later step meaningless
  run_step "$s" || { stop=1; break; }
done
if [ $stop -eq 0 ]; then
  if [ "${FLEETSEC_TEST_SERIAL:-0}" = 1 ] || [ ${#lane_vm[@]} -eq 0 ] || [ ${#lane_host[@]} -eq 0 ]; then
    for s in "${lane_host[@]}" "${lane_vm[@]}"; do run_step "$s"; done
  else
    echo "================ VM lane: ${lane_vm[*]} (beside the host steps; logs printed after them)"
    (
      # a TMPDIR of its own: molecule's testinfra is a pytest session, and pytest removes older sessions' base
      # temporary folders under the same TMPDIR
      export TMPDIR="$here/build/tmp-vm-lane"
      rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
      for s in "${lane_vm[@]}"; do
        echo "[VM lane] $s started at $(date -u +%T)"
        run_step "$s" >/dev/null
        echo "[VM lane] $(cat "$logdir/$s.result")"
      done
    ) &
    vm_lane=$!
    # interrupted: the VM lane goes too (its VM scripts stop their VMs on the way out)
    kill_tree() { local c; for c in $(pgrep -P "$1"); do kill_tree "$c"; done; kill -TERM "$1" 2>/dev/null; }
    trap 'kill_tree "$vm_lane"; exit 130' INT TERM
    renice -n 10 -p $$ >/dev/null
    for s in "${lane_host[@]}"; do run_step "$s"; done
    wait "$vm_lane"
    for s in "${lane_vm[@]}"; do
      echo "================ $s (VM lane)"
      cat "$logdir/$s.log"
    done
  fi
fi

echo "================ summary"
npass=0; nfail=0
for s in "${steps[@]}"; do
  if [ ! -f "$logdir/$s.result" ]; then echo "NOT RUN $s (a set-up step failed)"; nfail=$((nfail + 1)); continue; fi
  cat "$logdir/$s.result"
  if grep -q '^PASSED' "$logdir/$s.result"; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fi
done
echo "$npass passed, $nfail failed"
echo "TOTAL ${SECONDS}s ${steps[*]}" >"$logdir/run.total"  # the wall clock of this run, for tools/timings.py
[ $nfail -eq 0 ]
