#!/usr/bin/env bash
# `make demo`: the collection's main job against its default target, the local SELinux-enforcing VM.
#   1. set-up (packages, venvs), build the VM image on first use (cached), boot a throw-away VM;
#   2. inside the VM, an application (a copy of cat running as ntpd_t) is denied reading two files: its
#      configuration /etc/ntp.conf, written in /root and moved into place with mv (so it kept /root's type), and
#      /root/secret.txt;
#   3. `ansible-playbook fleetsec.selinux.rollout` without approval (the review run): it captures on the canary,
#      collects, triages (the configuration file needs a relabel, not a rule), generates ONE module from the rest and
#      writes the change set policy/fleetsec_demo.changes.yml, showing the remedy, the rules and the digest;
#   4. the same with approve=<that digest>: exactly the reviewed change set is deployed (the file relabelled, the
#      module loaded), the VM enforces, the report is written;
#   5. a rerun changes nothing (changed=0), and the application now works under enforcing.
# Outputs stay in build/demo/ (policy/*.te, report/fleet-report.{md,html}, logs): FLEETSEC_ARTIFACT_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
demo="$here/build/demo"
run="$demo/vm"
mkdir -p "$demo"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Set-up (cached)"
tools/setup.sh all

say "Booting the enforcing VM (the image is built on first use and cached)"
cleanup() { tools/vm/stop.sh "$run" >/dev/null 2>&1 || true; }
trap cleanup EXIT
tools/vm/start.sh "$run"
vm() { tools/vm/ssh.sh -d "$run" "$@"; }
echo "VM: $(vm getenforce) / $(vm sestatus | grep -i 'loaded policy name')"

say "An application is denied under enforcing"
vm sh -s setup < tools/vm/make-denial.sh
# the configuration, moved into place with mv (it keeps admin_home_t); full-path auditing (one watch rule, as RHEL
# documents it) so that the record of the denied open() carries the full path the triage needs
vm sh -s <<'SH'
[ -f /etc/ntp.conf ] || { echo "server 127.127.1.0" >/root/ntp.conf && mv /root/ntp.conf /etc/ntp.conf; }
auditctl -l | grep -q fleetsec-fullpath || auditctl -w /etc/shadow -p w -k fleetsec-fullpath
ls -Z /etc/ntp.conf /root/secret.txt
SH
app() { vm systemd-run --wait --quiet -p Type=oneshot /usr/local/sbin/avctest /etc/ntp.conf /root/secret.txt; }
app || true

cat > "$demo/inventory-groups.yml" <<'EOF'
canary:
  hosts:
    fleetsec-vm:
EOF
export ANSIBLE_COLLECTIONS_PATH
ANSIBLE_COLLECTIONS_PATH=$(tools/collection-tree.sh)
export FLEETSEC_ARTIFACT_DIR="$demo"
export ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-0}
play() {
  (cd "$demo" && "$here/.venv/bin/ansible-playbook" -i "$run/inventory.yml" -i "$demo/inventory-groups.yml" \
    fleetsec.selinux.rollout \
    -e fleetsec_module_name=fleetsec_demo \
    -e '{"local_policy_permissive_domains": ["ntpd_t"]}' \
    -e '{"local_policy_exercise_command": ["systemd-run", "--wait", "--quiet", "-p", "Type=oneshot", "/usr/local/sbin/avctest", "/etc/ntp.conf", "/root/secret.txt"]}' \
    "$@")
}

say "Rollout, review run: capture on the canary, collect, plan one change set, write it for review"
play 2>&1 | tee "$demo/rollout-1.log"
changes="$demo/policy/fleetsec_demo.changes.yml"
[ -f "$changes" ] || { echo "the review run wrote no change set" >&2; exit 1; }
grep -q "/etc/ntp.conf is admin_home_t, the policy gives its path" "$changes" \
  || { echo "the change set holds no relabel of /etc/ntp.conf" >&2; exit 1; }
digest=$(sed -n 's/^digest: \(sha256:[0-9a-f]\{64\}\)$/\1/p' "$changes")
[ -n "$digest" ] || { echo "the change set carries no digest" >&2; exit 1; }
say "Change set for review: $changes ($digest)"
cat "$changes"

say "Rollout, approved: deploy exactly that change set, enforce, report"
play -e "approve=$digest" 2>&1 | tee "$demo/rollout-2.log"

say "Rollout again: nothing changes"
play -e "approve=$digest" 2>&1 | tee "$demo/rollout-3.log"
grep -E "fleetsec-vm +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0" "$demo/rollout-3.log" \
  || { echo "the rerun changed something" >&2; exit 1; }

say "The application under enforcing now"
echo "mode: $(vm getenforce); module: $(vm semodule -l | grep fleetsec_demo); $(vm ls -Z /etc/ntp.conf)"
app

say "Done. Report: $demo/report/fleet-report.html (and .md); change set: $demo/policy/fleetsec_demo.changes.yml"
