#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs INSIDE the enforcing test VM (as root). A small "web application" that meets the four kinds of denial a
# least-privilege remediation tells apart, each produced by the real kernel:
#   - it reads /var/www/html/index.html, created in /root and moved there with mv, so it keeps admin_home_t
#     (its path's default is httpd_sys_content_t)                                 -> relabel (restorecon)
#   - it binds tcp/8089 (unreserved_port_t)                                        -> port label http_port_t
#   - it connects to sshd on 127.0.0.1:22 (ssh_port_t)                             -> boolean httpd_can_network_connect
#   - it reads /root/secret.txt (admin_home_t, its path's default type)            -> allow rule (local module)
# The application is a copy of python3 labelled httpd_exec_t: systemd starts it in httpd_t.
# Full-path auditing is turned on (one watch rule, as RHEL documents it), so the records of a denied open()
# carry the PATH record from which the full path of index.html is read.
#
# Usage (from the host): tools/vm/ssh.sh [-d RUN_DIR] sh -s [setup|run] < tools/vm/make-webapp.sh
#   setup  install the application, its page and the watch rule (idempotent; the page is moved in only once);
#          the last line says "setup changed: yes" or "setup changed: no"
#   run    start the application once under systemd; print what each step did; exit 0 when all succeeded
set -eu
APP=/usr/local/sbin/fleetsec-webapp
CODE=/usr/local/share/fleetsec-webapp/app.py
PAGE=/var/www/html/index.html

setup() {
  changed=no
  if ! cmp -s "$(readlink -f /usr/bin/python3)" "$APP"; then
    install -m 0755 "$(readlink -f /usr/bin/python3)" "$APP"; changed=yes
  fi
  case "$(ls -Z "$APP")" in
    *:httpd_exec_t:*) ;;
    *) chcon -t httpd_exec_t "$APP"; changed=yes ;;
  esac
  mkdir -p "$(dirname "$CODE")" /var/www/html
  restorecon /var/www /var/www/html "$(dirname "$CODE")"   # not -R: a page already moved in keeps its wrong label
  cat >"$CODE.new" <<'PY'
import socket
import sys

failed = []


def step(name, action):
    try:
        action()
        print('%s ok' % name)
    except Exception as err:  # every step is reported, the first failure does not hide the others
        failed.append(name)
        print('%s FAILED %s' % (name, err))


def read(path):
    with open(path) as handle:
        handle.read()


def serve():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 8089))
    sock.listen(1)
    sock.close()


step('read-page', lambda: read('/var/www/html/index.html'))
step('read-secret', lambda: read('/root/secret.txt'))
step('bind-8089', serve)
step('connect-22', lambda: socket.create_connection(('127.0.0.1', 22), timeout=10).close())
sys.exit(1 if failed else 0)
PY
  if cmp -s "$CODE.new" "$CODE"; then rm -f "$CODE.new"; else mv "$CODE.new" "$CODE"; changed=yes; fi
  restorecon "$CODE"
  if [ ! -f "$PAGE" ]; then
    echo "fleetsec-web-page" >/root/index.html
    mv /root/index.html "$PAGE"; changed=yes
  fi
  [ -f /root/secret.txt ] || { echo "fleetsec-avc-test-secret" >/root/secret.txt; changed=yes; }
  restorecon /root/secret.txt
  auditctl -l | grep -q fleetsec-fullpath || { auditctl -w /etc/shadow -p w -k fleetsec-fullpath; changed=yes; }
  ls -Z "$APP" "$PAGE" /root/secret.txt
  echo "setup changed: $changed"
}

run() {
  unit="fleetsec-webapp-$(date +%s%N)"
  rc=0
  systemd-run --quiet --wait --unit="$unit" -p Type=oneshot "$APP" -I "$CODE" || rc=$?
  # the application's output reaches the journal through journald's stream, which a loaded machine reads late:
  # wait (30 s at most) for its four step lines, one per step whatever happened
  tries=0
  while :; do
    out=$(journalctl --quiet -o cat -u "$unit" _COMM=fleetsec-webapp 2>/dev/null || true)
    [ "$(printf '%s\n' "$out" | grep -c -E '^[a-z0-9-]+ (ok|FAILED)')" -ge 4 ] && break
    tries=$((tries + 1))
    [ "$tries" -ge 30 ] && { echo "(the journal holds $(printf '%s\n' "$out" | grep -c .) of the 4 step lines after 30 s)"; break; }
    sleep 1
  done
  printf '%s\n' "$out"
  return "$rc"
}

case "${1:-}" in
  setup) setup ;;
  run) run ;;
  *) echo "usage: make-webapp.sh setup|run" >&2; exit 2 ;;
esac
