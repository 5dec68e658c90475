#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Print the shell `export` lines that put one built SELinux userspace release first:
#   eval "$(tools/el/env.sh 3.6)"
# then semodule, semanage, audit2allow, audit2why, checkmodule, checkpolicy, semodule_package,
# sepolgen-ifgen, setfiles, ... are that release's, with its libraries (found by their run path, see build-userspace.sh: no LD_LIBRARY_PATH, so the host's own tools keep the host's libraries) and its
# python modules: selinux and semanage bindings, sepolgen, seobject, sepolicy (PYTHONPATH).
# Also exported: FLEETSEC_EL_USERSPACE (the release's DESTDIR) and FLEETSEC_EL_RELEASE.
#
# With --setools VERSION --python X.Y, the release's setools goes before it (seinfo, sesearch, sediff, sechecker:
# tools/el/build-setools.sh VERSION USERSPACE X.Y, run by that Python in their own venv, which needs no PYTHONPATH);
# setools 3 (EL7's 3.3.8) is tools/el/build-setools3.sh VERSION USERSPACE instead: C programs, --python does not apply;
# with --audit VERSION, the release's ausearch and aureport (tools/el/build-audit.sh VERSION). Also exported then:
# FLEETSEC_EL_SETOOLS / FLEETSEC_EL_SETOOLS_VERSION and FLEETSEC_EL_AUDIT / FLEETSEC_EL_AUDIT_VERSION (the folder
# whose tools are first on PATH, and the version they must print).
#
# It builds nothing: when the current recipe of something asked for is not in the cache it says which command
# builds it and fails.
#
# Usage: tools/el/env.sh VERSION [--setools VERSION --python X.Y] [--audit VERSION]
# Environment: FLEETSEC_CACHE, FLEETSEC_VENDOR (as for tools/el/build-userspace.sh)
set -euo pipefail

LOG_TAG=el-env
# shellcheck source=tools/el/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
# shellcheck source=tools/el/setools-audit-lib.sh
. "$el_dir/setools-audit-lib.sh"
# shellcheck source=tools/el/setools3-lib.sh
. "$el_dir/setools3-lib.sh"

usage="usage: eval \"\$($0 VERSION [--setools VERSION --python X.Y] [--audit VERSION])\""
[ $# -ge 1 ] || die "$usage"
version=$1
shift
setools='' pyver='' audit=''
while [ $# -gt 0 ]; do
  case $1 in
    --setools) setools=${2:?$usage}; shift 2 ;;
    --python) pyver=${2:?$usage}; shift 2 ;;
    --audit) audit=${2:?$usage}; shift 2 ;;
    *) die "$usage" ;;
  esac
done
[ -z "$setools" ] || [ -n "$pyver" ] || die "--setools needs --python X.Y (the Python it is built with): $usage"

first=()   # the tools' folders, in PATH order
if [ -n "$setools" ] && [ "$(setools_generation "$setools")" = 3 ]; then
  # setools 3 (EL7): C programs, no Python (--python is accepted and does not apply)
  key_setools3 "$setools" "$version"   # -> setout setkey
  [ -f "$setout/.complete" ] || die "setools $setools (userspace $version; key $setkey) is not built: run tools/el/build-setools3.sh $setools $version"
  first+=("$setout/bin")
elif [ -n "$setools" ]; then
  key_setools "$setools" "$version" "$pyver"   # -> setout setkey
  [ -f "$setout/.complete" ] || die "setools $setools (userspace $version, Python $pyver; key $setkey) is not built: run tools/el/build-setools.sh $setools $version $pyver"
  first+=("$setout/bin")
fi
if [ -n "$audit" ]; then
  key_audit "$audit"   # -> aout akey
  [ -f "$aout/.complete" ] || die "audit $audit (key $akey) is not built: run tools/el/build-audit.sh $audit"
  first+=("$aout/D/usr/sbin")
fi
key_userspace "$version"   # -> ukey uout
[ -f "$uout/.complete" ] \
  || die "userspace $version (key $ukey) is not built: run tools/el/build-userspace.sh $version"

dest="$uout/D"
pypath=$(sed "s#^#$dest/#" "$uout/pythonpath" | paste -sd:)
# %q quotes the cache paths; the current value is appended when the lines are evaluated.
# shellcheck disable=SC2016  # the ${...} are for the shell that evaluates the output
{
  printf 'export FLEETSEC_EL_RELEASE=%q\n' "$version"
  printf 'export FLEETSEC_EL_USERSPACE=%q\n' "$dest"
  path=''
  if [ ${#first[@]} -gt 0 ]; then path=$(printf '%s:' "${first[@]}"); fi
  printf 'export PATH=%q"${PATH:+:$PATH}"\n' "$path$dest/usr/sbin:$dest/usr/bin:$dest/sbin"
  printf 'export PYTHONPATH=%q"${PYTHONPATH:+:$PYTHONPATH}"\n' "$pypath"
  # why this release's semanage cannot run here, when it cannot (build-userspace.sh, the row's no_semanage)
  if [ -f "$uout/no-semanage" ]; then printf 'export FLEETSEC_EL_NO_SEMANAGE=%q\n' "$(cat "$uout/no-semanage")"; fi
  if [ -n "$setools" ]; then
    printf 'export FLEETSEC_EL_SETOOLS=%q FLEETSEC_EL_SETOOLS_VERSION=%q\n' "$setout" "$setools"
  fi
  if [ -n "$audit" ]; then printf 'export FLEETSEC_EL_AUDIT=%q FLEETSEC_EL_AUDIT_VERSION=%q\n' "$aout/D" "$audit"; fi
}
