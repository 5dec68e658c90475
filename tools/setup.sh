#!/usr/bin/env bash
# Idempotent, cached set-up of everything `make test` / `make demo` need on a fresh Debian 12 machine:
#   - Debian packages (apt-get, only the missing ones, printed before install)
#   - .venv         default controller (ansible-core 2.19.x, molecule, testinfra, ansible-lint, ...)
#   - .venv-compat  compatibility controller (ansible-core 2.16.x)
#   - .venv-py27 / .venv-py36  pytest for the target-side unit tests under EL7/EL8 interpreters
#   - ansible-test's pip bootstrap scripts (offline stand-ins, see tools/get_pip_offline.py)
# Each step is skipped when its stamp (a hash of its inputs) is current.
# Usage: tools/setup.sh [apt|venvs|ansible-test|bench|all]   (default: all; bench: the extra packages of make bench)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
what=${1:-all}

# shellcheck source=tools/lib.sh
. "$here/tools/lib.sh"
PY311=${FLEETSEC_PYTHON:-$(pyenv_python 3.11)}
[ -x "${PY311:-}" ] || PY311=$(command -v python3)
PY27=$(pyenv_python 2.7)
PY36=$(pyenv_python 3.6)

# Debian packages the tests and the testbed use: the first column of tools/requirements-debian.txt.
mapfile -t APT_PACKAGES < <(debian_packages)
# Only for `make bench`: the fleet benchmark's SSH runs start a private sshd (never the system service).
BENCH_APT_PACKAGES=(openssh-server)

LOG_TAG=setup  # log/die: tools/lib.sh, sourced above
quiet_pip() { grep -vE "is ignored: it is neither a file nor a directory|DEPRECATION: Python 2.7|^\s*$" || true; }

stamp_ok() {  # stamp_ok FILE CONTENT
  [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

setup_apt() {  # setup_apt [PACKAGE...]   (default: APT_PACKAGES)
  local missing=() p wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=("${APT_PACKAGES[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages: all present"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

make_venv() {  # make_venv DIR PYTHON REQUIREMENTS_FILE
  local dir=$1 py=$2 req=$3 sum
  sum="$(sha256sum "$req" | cut -d' ' -f1) $("$py" -V 2>&1)"
  if [ -d "$dir" ] && [ ! -L "$dir" ] && stamp_ok "$dir/.fleetsec-stamp" "$sum"; then
    log "$dir: up to date"
    return
  fi
  log "$dir: creating with $("$py" -V 2>&1) from $req"
  rm -rf "$dir"
  "$py" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | quiet_pip
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 | quiet_pip
  "$dir/bin/python" -m pip check >/dev/null
  echo "$sum" > "$dir/.fleetsec-stamp"
}

make_target_env() {  # make_target_env DIR PYTHON REQUIREMENTS...  (pip --target: works for 2.7, which has no venv)
  local dir=$1 py=$2 sum; shift 2
  if [ -z "$py" ] || [ ! -x "$py" ]; then
    log "$dir: interpreter missing, target-side tests for it will be reported as failed"
    return
  fi
  sum="$* $("$py" -V 2>&1)"
  if stamp_ok "$dir/.fleetsec-stamp" "$sum"; then
    log "$dir: up to date"
    return
  fi
  log "$dir: installing $* for $("$py" -V 2>&1)"
  rm -rf "$dir"
  # the pip bundled with old pyenv builds ignores Requires-Python: get the last pip of that Python first
  "$py" -m pip install -q --disable-pip-version-check --no-warn-script-location --target "$dir/pip" 'pip<21' 2>&1 | quiet_pip
  PYTHONPATH="$dir/pip" "$py" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$dir/site" "$@" 2>&1 | quiet_pip
  "$py" -c "import sys; sys.path.insert(0, '$dir/site'); import pytest" || { log "$dir: pytest did not install"; exit 1; }
  # ansible's module_utils (target side) from the 2.16 controller: the code modules import on a managed node
  ln -sfn "$here/.venv-compat/lib/$(basename "$(ls -d "$here"/.venv-compat/lib/python3*)")/site-packages/ansible" "$dir/site/ansible"
  echo "$sum" > "$dir/.fleetsec-stamp"
}

# The shared test library (tests/lib/fleetsec_testlib: store_copy, module_helpers) importable by every interpreter the
# tests and the benchmarks run, with no sys.path edit in them: a .pth file in a venv's site-packages, a link in the
# `site` folder of a target env (on PYTHONPATH, where .pth files are not read). Written on every run (cheap), so an
# env made before the library gets it too.
testlib_importable() {  # testlib_importable DIR
  local dir=$1 site
  if [ -x "$dir/bin/python" ]; then
    site=$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$here/tests/lib" > "$site/fleetsec-testlib.pth"
  elif [ -d "$dir/site" ]; then
    ln -sfn "$here/tests/lib/fleetsec_testlib" "$dir/site/fleetsec_testlib"
  fi
}

setup_venvs() {
  local dir
  make_venv .venv "$PY311" tools/requirements-controller.txt
  make_venv .venv-compat "$PY311" tools/requirements-compat.txt
  make_target_env .venv-py27 "$PY27" 'pytest==4.6.11' 'mock==3.0.5'
  make_target_env .venv-py36 "$PY36" 'pytest==7.0.1'
  for dir in .venv .venv-compat .venv-py27 .venv-py36; do testlib_importable "$dir"; done
}

setup_ansible_test() {
  # ansible-test bootstraps pip in its sanity venvs from a script it downloads from a host outside the
  # package registries. Put an offline stand-in at every cache path it may look for.
  local v versions
  versions=$(grep -hoE "pip='[0-9.]+'" .venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
             .venv-compat/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | grep -oE '[0-9.]+' | sort -u)
  mkdir -p "$HOME/.ansible/test/cache"
  for v in $versions; do
    install -m 0644 tools/get_pip_offline.py "$HOME/.ansible/test/cache/get_pip_${v//./_}.py"
  done
  log "ansible-test pip bootstrap stand-ins for pip: $(echo "$versions" | tr "\n" " ")"
}

case $what in
  apt) setup_apt ;;
  bench) setup_apt "${BENCH_APT_PACKAGES[@]}" ;;
  venvs) setup_venvs ;;
  ansible-test) setup_ansible_test ;;
  all) setup_apt; setup_venvs; setup_ansible_test ;;
  *) echo "usage: $0 [apt|venvs|ansible-test|bench|all]" >&2; exit 2 ;;
esac
