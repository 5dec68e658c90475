#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs INSIDE the enforcing test VM (as root). Produces a reproducible, real AVC denial:
# a copy of /usr/bin/cat labelled ntpd_exec_t (the entry point of the confined domain ntpd_t)
# is started by systemd and asked to read /root/secret.txt (admin_home_t in the EL9-like VM's targeted
# policy, user_home_t under Debian's refpolicy) -> the kernel denies it.
#
# Usage (from the host): tools/vm/ssh.sh [-d RUN_DIR] sh -s [setup|run|all] < tools/vm/make-denial.sh
#   setup  install /usr/local/sbin/avctest (ntpd_exec_t) and /root/secret.txt (idempotent)
#   run    start the application once under systemd; print its result and the AVC denials it
#          caused; exit status 0 if it read the file, 1 if it was denied
#   all    setup, then run (default)
#
# Convergence is ITERATIVE under enforcing: the kernel stops at the first permission it refuses,
# so one run logs one denial. The first run is denied { read } on admin_home_t; once a local
# module allows read, the next run is denied { open }; then { getattr } (cat fstat()s its input),
# until the application works. A policy loop therefore alternates: run -> collect -> load, until a
# run produces no new denial (tools: ausearch --input-logs, audit2allow, semodule -i).
set -eu
APP=/usr/local/sbin/avctest
SECRET=/root/secret.txt
TEXT="fleetsec-avc-test-secret"
AUDIT_LOG=/var/log/audit/audit.log

setup() {
  if [ ! -x "$APP" ] || ! cmp -s /usr/bin/cat "$APP"; then
    install -m 0755 /usr/bin/cat "$APP"
  fi
  case "$(ls -Z "$APP")" in
    *:ntpd_exec_t:*) ;;
    *) chcon -t ntpd_exec_t "$APP" ;;
  esac
  [ -f "$SECRET" ] || echo "$TEXT" >"$SECRET"
  restorecon "$SECRET"
  echo "app: $(ls -Z "$APP")"
  echo "secret: $(ls -Z "$SECRET")"
}

avc_count() {
  grep -c '^type=AVC.*comm="avctest"' "$AUDIT_LOG" 2>/dev/null || true
}

run() {
  before=$(avc_count)
  unit="avctest-$(date +%s%N)"
  rc=0
  systemd-run --quiet --wait --unit="$unit" -p Type=oneshot "$APP" "$SECRET" || rc=$?
  # journald (the output) and auditd (the records) write after the unit ends, late on a loaded machine: wait (20 s
  # at most) for the output of a run that succeeded and for the record of one that was denied
  tries=0
  while :; do
    out=$(journalctl --quiet -o cat -u "$unit" _COMM=avctest 2>/dev/null || true)
    after=$(avc_count)
    if [ "$rc" -eq 0 ]; then [ -n "$out" ] && break; else [ "$after" -gt "$before" ] && break; fi
    tries=$((tries + 1))
    [ "$tries" -ge 20 ] && break
    sleep 1
  done
  echo "unit: $unit rc: $rc"
  echo "output: $out"
  echo "new_denials: $((after - before))"
  # the new AVC records (lines past the count seen before the run)
  grep '^type=AVC.*comm="avctest"' "$AUDIT_LOG" | tail -n "$((after - before))" | sed -n '1,20p' | grep . || true
  [ "$rc" -eq 0 ] && [ "$out" = "$TEXT" ]
}

case "${1:-all}" in
  setup) setup ;;
  run) run ;;
  all) setup; run ;;
  *) echo "usage: make-denial.sh [setup|run|all]" >&2; exit 2 ;;
esac
