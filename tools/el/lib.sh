#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by tools/el/*.sh (sourced, the one library they source first): where the vendor sources and the cache are,
# the table of releases (tools/el/releases.sh), the cache keys, the arguments and the scratch folder of a build. Brings
# tools/lib.sh (log, die, cache) and tools/debootstrap-lib.sh (host_packages: installing build dependencies is not
# part of a key).
#
# A cache key is the first 16 hex digits of a sha256 over: the recipe script, this file, the
# table row (`declare -f`), and the checksums of the vendor tarballs the row names; a store's key
# also covers the key of the userspace that builds it. So a changed recipe, row or tarball builds
# afresh into a new folder, and an unchanged one is reused.

# shellcheck disable=SC2034  # sets variables for the scripts that source this file
el_dir=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=tools/debootstrap-lib.sh
. "$el_dir/../debootstrap-lib.sh"
# shellcheck source=tools/el/releases.sh
. "$el_dir/releases.sh"
el_lib="$el_dir/lib.sh"
# the vendor tarballs sit beside the checkout (../shared/vendor, as on every machine of the project)
_el_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vendor=${FLEETSEC_VENDOR:-$(cd "$_el_repo/.." && pwd)/shared/vendor}
# The python the bindings are built for: the one the tools' `#!/usr/bin/python3` lines run.
el_python=/usr/bin/python3
jobs=${FLEETSEC_EL_JOBS:-2}   # make -j

# el_args MIN USAGE ARG...: sets args (the first MIN arguments) and force (1 when the argument after them is --force);
# dies with USAGE when there are fewer than MIN
el_args() {
  local min=$1 usage=$2 next
  shift 2
  [ $# -ge "$min" ] || die "usage: $0 $usage"
  args=("${@:1:$min}")
  next=$((min + 1))
  force=0
  if [ "${!next:-}" = --force ]; then force=1; fi
}

# el_key RECIPE LIB ROW [TARBALL...] [-- LINE...]: a cache key, the first 16 hex digits of a sha256 over the recipe
# script (a file of tools/el), the library LIB that holds its key function, the table row (`declare -f ROW`), the
# checksums of the vendor TARBALLs (empty names skipped) and the LINEs (the keys of what the build is made with)
el_key() {
  local recipe=$1 lib=$2 row=$3
  shift 3
  {
    cat "$el_dir/$recipe" "$lib"
    declare -f "$row"
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
      if [ -n "$1" ]; then vendor_checksum "$1"; echo; fi
      shift
    done
    if [ $# -gt 1 ]; then shift; printf '%s\n' "$@"; fi
  } | sha256sum | cut -c1-16
}

# vendor_checksum FILE -> its sha256 from the vendor SHA256SUMS, after checking the file has it
vendor_checksum() {
  local file=$1 sum
  [ -f "$vendor/$file" ] || die "missing vendor file $vendor/$file (see $vendor/README.md)"
  sum=$(awk -v f="$file" '$2 == f { print $1 }' "$vendor/SHA256SUMS")
  [ -n "$sum" ] || die "$file is not listed in $vendor/SHA256SUMS"
  printf '%s  %s\n' "$sum" "$vendor/$file" | sha256sum --check --status \
    || die "$vendor/$file does not match its SHA256SUMS entry ($sum)"
  printf '%s' "$sum"
}

# row_function KIND NAME -> the name of the table row's function (userspace 3.6 -> userspace_3_6),
# or dies listing the rows there are
row_function() {
  local fn="$1_${2//./_}"
  if ! declare -F "$fn" >/dev/null; then
    die "no $1 '$2' in $el_dir/releases.sh (there: $(declare -F | awk -v k="$1_" 'index($3, k) == 1 { sub(k, "", $3); gsub("_", ".", $3); printf "%s ", $3 }'))"
  fi
  printf '%s' "$fn"
}

# key_userspace VERSION: sets the row's variables (tarball, build_env, ...), ukey (the key) and
# uout (the cache folder of the build, built or not)
key_userspace() {
  local fn
  fn=$(row_function userspace "$1")
  # what a row need not say
  build_env=() make_vars=() build_debs=() src_fixes=() no_semanage=''
  "$fn"
  ukey=$(el_key build-userspace.sh "$el_lib" "$fn" "$tarball")
  uout="$cache/userspace-$1-$ukey"
}

# key_store NAME: sets the row's variables (userspace, policy_tarball, ...), those of its userspace
# (ukey, uout), skey (the store's key) and sout (the store's cache folder, built or not)
key_store() {
  local fn
  fn=$(row_function store "$1")
  # what a row need not say (the git trees' layout)
  policy_layout=git contrib_tarball='' container_tarball='' dist_tarball='' backports=() backport_tarball=''
  srpm_patches=() drop_modules=() tree_fixes=() policy_make_vars=() store_root=/var/lib/selinux
  "$fn"
  key_userspace "$userspace"
  skey=$(el_key build-store.sh "$el_lib" "$fn" "$policy_tarball" "$contrib_tarball" "$backport_tarball" \
         "$container_tarball" "$dist_tarball" -- "userspace $userspace $ukey")
  sout="$cache/store-$1-$skey"
}

# el_lock NAME: waits for, then holds until the script exits, the lock of one build (two
# runs of the same build at once would race on the same output folder)
el_lock() {
  mkdir -p "$cache"
  exec 9>"$cache/.$1.lock"
  if ! flock -n 9; then
    log "another build of $1 is running; waiting for it"
    flock 9
  fi
}

# el_scratch LABEL: sets $work, a scratch folder in the cache (same file system as the output, so
# the finished folder is moved into place in one rename), removed on exit; when the script fails,
# $work/out/build.log is kept as $cache/LABEL.failed.log first
el_scratch() {
  scratch_dir "$1" _el_scratch_cleanup
  el_failed_log="$cache/$1.failed.log"
}
_el_scratch_cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -f "$work/out/build.log" ]; then
    cp "$work/out/build.log" "$el_failed_log" && log "build log kept: $el_failed_log"
  fi
  rm -rf --one-file-system "$work"
}

# el_workspace LABEL: the scratch folder of a build (el_scratch) with its src/ and out/ folders: sets work, src, out,
# buildlog (out/build.log, kept when the build fails) and start (the time it began)
el_workspace() {
  el_scratch "$1"
  src="$work/src" out="$work/out"
  buildlog="$out/build.log"
  mkdir -p "$src" "$out"
  start=$(date +%s)
}

# el_unpack TARBALL [FIX...]: the vendor TARBALL unpacked into $src (without its top folder), then the row's source
# FIXes applied (sed_fixes)
el_unpack() {
  local tarball=$1
  shift
  log "unpacking $tarball"
  tar -xzf "$vendor/$tarball" -C "$src" --strip-components=1
  sed_fixes "$src" "source fix" "$@"
}

# el_reuse FORCE WHAT DIR KEY LOCK: unless FORCE is 1, print DIR and exit 0 when DIR is complete; otherwise
# take the lock LOCK and check again (another run may have built it while we waited)
el_reuse() {
  local force=$1 what=$2 dir=$3 key=$4
  if [ "$force" -eq 0 ] && [ -f "$dir/.complete" ]; then
    log "$what already built, nothing to do: $dir (key $key)"
    echo "$dir"
    exit 0
  fi
  el_lock "$5"
  if [ "$force" -eq 0 ] && [ -f "$dir/.complete" ]; then
    log "$what was built meanwhile, nothing to do: $dir"
    echo "$dir"
    exit 0
  fi
}

# el_guarded CMD...: run CMD with the host's /usr, /etc and /opt READ-ONLY (a private mount namespace): a recipe that
# installs outside its DESTDIR (2.5's Makefiles take PREFIX=/usr over DESTDIR) fails there instead of overwriting
# the system's SELinux tools. Without unshare -m (a container without the capability) it warns and runs unguarded.
el_guarded() {
  if unshare -m --propagation private true 2>/dev/null; then
    # shellcheck disable=SC2016  # the inner shell expands them
    unshare -m --propagation private /bin/sh -c \
      'for d in /usr /etc /opt; do [ -d "$d" ] || continue; mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 97; done; exec "$@"' \
      sh "$@"
  else
    log "WARNING: unshare -m is not permitted here: running without the read-only guard of /usr, /etc, /opt"
    "$@"
  fi
}

# sed_fixes DIR LABEL FIX...: apply each "FILE:SED-EXPRESSION" (sed -E) to DIR/FILE; a fix that changes nothing is a
# stale row and fails the build
sed_fixes() {
  local dir=$1 label=$2 fix file before
  shift 2
  for fix in "$@"; do
    file=${fix%%:*}
    before=$(sha256sum "$dir/$file")
    sed -i -E "${fix#*:}" "$dir/$file"
    [ "$(sha256sum "$dir/$file")" != "$before" ] || die "$label for $file changed nothing (stale row?): ${fix#*:}"
    log "$label: $file: ${fix#*:}"
  done
}
