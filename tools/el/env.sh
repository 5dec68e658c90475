#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Print the shell `export` lines that put one built SELinux userspace release first:
#   eval "$(tools/el/env.sh 3.6)"
# then semodule, semanage, audit2allow, audit2why, checkmodule, checkpolicy, semodule_package,
# sepolgen-ifgen, setfiles, ... are that release's, with its libraries (found by their run path, see build-userspace.sh: no LD_LIBRARY_PATH, so the host's own tools keep the host's libraries) and its
# python modules: selinux and semanage bindings, sepolgen, seobject, sepolicy (PYTHONPATH).
# Also exported: FLEETSEC_EL_USERSPACE (the release's DESTDIR) and FLEETSEC_EL_RELEASE.
#
# It builds nothing: when the current recipe of that release is not in the cache it says which
# command builds it and fails (tools/el/build-userspace.sh VERSION).
#
# Usage: tools/el/env.sh VERSION
# Environment: FLEETSEC_CACHE, FLEETSEC_VENDOR (as for tools/el/build-userspace.sh)
set -euo pipefail

LOG_TAG=el-env
# shellcheck source=tools/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=tools/el/lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || die "usage: eval \"\$($0 VERSION)\""
version=$1
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
  printf 'export PATH=%q"${PATH:+:$PATH}"\n' "$dest/usr/sbin:$dest/usr/bin:$dest/sbin"
  printf 'export PYTHONPATH=%q"${PYTHONPATH:+:$PYTHONPATH}"\n' "$pypath"
  # why this release's semanage cannot run here, when it cannot (build-userspace.sh, the row's no_semanage)
  if [ -f "$uout/no-semanage" ]; then printf 'export FLEETSEC_EL_NO_SEMANAGE=%q\n' "$(cat "$uout/no-semanage")"; fi
}
