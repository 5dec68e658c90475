#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by tools/el/build-setools3.sh and tools/el/env.sh (sourced after tools/el/lib.sh and
# tools/el/setools-audit-lib.sh, whose setools_row reads the row): the cache key of a
# setools 3 build (EL7's setools-console 3.3.8: C and autotools, no Python). Kept out of tools/el/setools-audit-lib.sh
# on purpose: that file's text is part of every setools 4 and audit key, so adding setools 3 there would rebuild them.
#
# The key is the first 16 hex digits of a sha256 over: the recipe script, this file, the table row (`declare -f`),
# the checksum of the row's vendor tarball, the text of setools_row and the key of the userspace whose static libsepol
# it links.

# shellcheck disable=SC2034,SC2154  # sets variables for the scripts that source it; uses those of tools/el/lib.sh
el_setools3_lib="$el_dir/setools3-lib.sh"

# setools_generation VERSION -> 3 or 4 (which recipe builds it: build-setools3.sh or build-setools.sh)
setools_generation() {
  case $1 in
    3.*) printf 3 ;;
    *) printf 4 ;;
  esac
}

# key_setools3 VERSION USERSPACE: sets the row's variables (setools_tarball, setools_fixes), those of the userspace
# (ukey, uout), setkey (the key) and setout (the cache folder, built or not: the same layout as a setools 4 build,
# bin/ holding seinfo and sesearch)
key_setools3() {
  local fn
  setools_row "$1"   # tools/el/setools-audit-lib.sh
  key_userspace "$2"
  setkey=$(el_key build-setools3.sh "$el_setools3_lib" "$fn" "$setools_tarball" -- "$(declare -f setools_row)" \
           "userspace $2 $ukey")
  setout="$cache/setools-$1-$setkey"
}
