#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by tools/el/build-setools.sh, tools/el/build-audit.sh and tools/el/env.sh (sourced after tools/el/lib.sh):
# the cache keys of a release's setools and audit builds, and the build venv of a release's Python (Cython,
# setuptools, wheel from the pip registry). Kept out of tools/el/lib.sh on purpose: that file's text is part of every
# userspace and store key, so a change there would rebuild every userspace and store.
#
# A key is the first 16 hex digits of a sha256 over: the recipe script, this file, the table row (`declare -f`) and
# the checksum of the row's vendor tarball; a setools key also covers the key of the userspace it is linked with and
# the key of the build venv it is compiled in. A build venv's key covers its recipe (build_pyvenv, logged), its row,
# the interpreter's path and its full version.

# shellcheck disable=SC2034,SC2154  # sets variables for the scripts that source it; uses those of tools/el/lib.sh
el_tools_lib="$el_dir/setools-audit-lib.sh"

# key_pyvenv X.Y: sets the row's variables (pip_req, build_reqs), pyenv_py (pyenv's newest X.Y.*), vkey (the key) and
# vout (the build venv's cache folder, built or not)
key_pyvenv() {
  local fn
  fn=$(row_function pyvenv "$1")
  pip_req='' build_reqs=()
  "$fn"
  pyenv_py=$(pyenv_python "$1")
  [ -x "$pyenv_py" ] || die "no pyenv Python $1 (${PYENV_ROOT:-/root/.pyenv}/versions/$1.*)"
  vkey=$({
    declare -f build_pyvenv logged   # the recipe (not this whole file: a change to a setools or audit key keeps it)
    declare -f "$fn"
    printf '%s\n' "$pyenv_py"
    "$pyenv_py" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -c1-16)
  vout="$cache/pyvenv-$1-$vkey"
}

# logged LOG WHAT CMD...: run CMD niced, with the host's /usr, /etc and /opt read-only (el_guarded), its output appended
# to LOG; when it fails, print LOG's last lines and die naming WHAT
logged() {
  local blog=$1 what=$2
  shift 2
  log "$what"
  if ! el_guarded nice -n 19 "$@" >>"$blog" 2>&1; then
    tail -40 "$blog" >&2
    die "$what failed (the last lines of $blog above)"
  fi
}

# build_pyvenv X.Y: the build venv of pyenv's Python X.Y with the row's pinned packages (pip registry), built once
# (lock, scratch folder, .complete stamp, moved into place); prints nothing, sets what key_pyvenv sets. Run it in a
# subshell: it takes its own lock (el_lock holds one lock per process).
build_pyvenv() {
  key_pyvenv "$1"
  if [ -f "$vout/.complete" ]; then
    log "build venv of Python $1 already built: $vout"
    return 0
  fi
  el_lock "pyvenv-$1"
  if [ -f "$vout/.complete" ]; then return 0; fi   # built by another run while this one waited
  el_scratch "pyvenv-$1-$vkey"
  mkdir -p "$work/out"
  log "build venv of Python $1 ($pyenv_py): ${pip_req:+$pip_req then }${build_reqs[*]}"
  local py="$work/out/venv/bin/python" blog="$work/out/build.log"
  logged "$blog" "venv of $pyenv_py" "$pyenv_py" -m venv "$work/out/venv"
  # (3.6: the pip that ensurepip brings is too old to pick the wheels of the pinned packages)
  if [ -n "$pip_req" ]; then logged "$blog" "pip install $pip_req" "$py" -m pip install --disable-pip-version-check "$pip_req"; fi
  logged "$blog" "pip install ${build_reqs[*]}" "$py" -m pip install --disable-pip-version-check "${build_reqs[@]}"
  "$py" -m pip freeze --all >"$work/out/packages"
  log "build venv of Python $1: $(tr '\n' ' ' <"$work/out/packages")"
  touch "$work/out/.complete"
  rm -rf "$vout"
  mv "$work/out" "$vout"
}

# setools_row VERSION: sets fn (the table row's function) and the row's variables (setools_tarball, setools_fixes,
# setools_runtime; what a row need not say is empty). setools 3's key (tools/el/setools3-lib.sh) covers this text too.
setools_row() {
  fn=$(row_function setools "$1")
  setools_tarball='' setools_fixes=() setools_runtime=()
  "$fn"
}

# key_setools VERSION USERSPACE X.Y: sets the row's variables (setools_tarball, setools_fixes, setools_runtime), those
# of the userspace (ukey, uout) and of the build venv (vkey, vout, pyenv_py), setkey (the key) and setout (the cache folder)
key_setools() {
  local fn
  setools_row "$1"
  key_userspace "$2"
  key_pyvenv "$3"
  setkey=$(el_key build-setools.sh "$el_tools_lib" "$fn" "$setools_tarball" -- "userspace $2 $ukey" "pyvenv $3 $vkey")
  setout="$cache/setools-$1-$setkey"
}

# key_audit VERSION: sets the row's variables (audit_tarball, audit_configure, audit_env, audit_fixes), akey (the key)
# and aout (the cache folder, built or not)
key_audit() {
  local fn
  fn=$(row_function audit "$1")
  audit_tarball='' audit_configure=() audit_env=() audit_fixes=()
  "$fn"
  akey=$(el_key build-audit.sh "$el_tools_lib" "$fn" "$audit_tarball")
  aout="$cache/audit-$1-$akey"
}
