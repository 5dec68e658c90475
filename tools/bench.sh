#!/usr/bin/env bash
# `make bench`: run every benchmark in bench/*.py and write BENCHMARKS.md from their output.
# Each benchmark prints a Markdown section (its figures and the exact commands it ran) on stdout.
# Usage: tools/bench.sh [BENCH_NAME...]   (default: all)   Extra args for all: BENCH_ARGS="--size 256M"
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tools/setup.sh all >/dev/null
tools/setup.sh bench >/dev/null
out="$here/BENCHMARKS.md"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in bench/*.py; do names+=("$(basename "$f" .py)"); done
fi
{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (tools/bench.sh); every figure below comes from that run."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $(date -u +%FT%TZ) |"
  echo "| machine | $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sr), $(. /etc/os-release; echo "$PRETTY_NAME") |"
  echo "| cpu | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') |"
  echo "| python | $(.venv/bin/python -V 2>&1) |"
  echo "| ansible-core | $(.venv/bin/python -c 'import ansible.release as r; print(r.__version__)') |"
  echo "| SELinux userspace | policycoreutils $(dpkg-query -W -f='${Version}' policycoreutils 2>/dev/null) |"
  echo "| git commit | $(git rev-parse --short HEAD 2>/dev/null || echo unknown) |"
  echo
} > "$tmp"
rc=0
for n in "${names[@]}"; do
  echo "[bench] $n" >&2
  echo "\$ .venv/bin/python bench/$n.py ${BENCH_ARGS:-}" >&2
  # shellcheck disable=SC2086
  if ! .venv/bin/python "bench/$n.py" ${BENCH_ARGS:-} >> "$tmp"; then
    printf '\n## %s\n\nFAILED (see the console output of make bench).\n' "$n" >> "$tmp"; rc=1
  fi
  echo >> "$tmp"
  # the remedy transactions and the safe install again on the EL9 targeted store with userspace 3.6 (built and cached
  # as for make test)
  if [ "$n" = remedy_transactions ] || [ "$n" = safe_install ]; then
    echo "[bench] $n on the EL9 store" >&2
    store=$(tools/el/build-store.sh el9 | tail -1)
    # shellcheck disable=SC2086
    if ! (eval "$(tools/el/env.sh 3.6)" && FLEETSEC_STORE_ROOT="$store/root" .venv/bin/python "bench/$n.py" ${BENCH_ARGS:-}) >> "$tmp"; then
      printf '\n## %s (EL9 store)\n\nFAILED (see the console output of make bench).\n' "$n" >> "$tmp"; rc=1
    fi
    echo >> "$tmp"
  fi
done
mv "$tmp" "$out"
trap - EXIT
echo "[bench] wrote $out" >&2
exit $rc
