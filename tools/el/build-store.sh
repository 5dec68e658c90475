#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) an EL-faithful SELinux *targeted* policy store under an alternate root, the way
# Fedora's selinux-policy.spec builds selinux-policy-targeted (%prep, makeCmds, makeModulesConf,
# installCmds), from the vendor tarballs only, with the EL release's OWN userspace (built by
# tools/el/build-userspace.sh; its checkpolicy/checkmodule/semodule_package compile the policy,
# its semodule loads it). Stores come from tools/el/releases.sh (el9 = CentOS Stream 9 policy +
# userspace 3.6).
#
# Output (cached outside the repository, keyed by tools/el/lib.sh's store key):
#   ${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}/store-<name>-<key>/
#     root/        etc/selinux/{config,semanage.conf,targeted/...}, var/lib/selinux/targeted/...,
#                  usr/share/selinux/devel/{include,Makefile}, var/lib/sepolgen/{interface_info,perm_map}
#     build.log    the make output; recipe/ the scripts it was built with
#     .complete    the stamp, written last: a folder without it is never reused
# The folder is printed as the LAST line on stdout; progress goes to stderr.
# Use it on a COPY (cp -a root COPY), with the release's tools first on PATH:
#   eval "$(tools/el/env.sh 3.6)"; semodule -p COPY -s targeted -lfull
#
# Usage: tools/el/build-store.sh NAME [--force]
# Environment: FLEETSEC_CACHE, FLEETSEC_VENDOR, FLEETSEC_EL_JOBS (make -j, default 2)
# Reads nothing from the network. Every build command runs under `nice -n 19`; one make at a time
# in the policy tree (concurrent makes corrupt tmp/all_interfaces.conf), -j inside it is fine.
set -euo pipefail

LOG_TAG=el-store
# shellcheck source=tools/el/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

el_args 1 "NAME [--force]" "$@"
name=${args[0]}
policy_name=targeted

key_store "$name"   # -> userspace policy_tarball contrib_tarball backports backport_tarball container_tarball dist_tarball expect_modules skey sout
el_reuse "$force" "store $name" "$sout" "$skey" "store-$name"   # prints the folder and exits when it is already built

# --- the release's userspace (built first if needed), first on PATH for the rest ----------------
"$el_dir/build-userspace.sh" "$userspace" >/dev/null
eval "$("$el_dir/env.sh" "$userspace")"
[ "$(command -v semodule)" = "$FLEETSEC_EL_USERSPACE/usr/sbin/semodule" ] \
  || die "semodule of userspace $userspace is not first on PATH"

# --- sources, in a scratch folder next to the output --------------------------------------------
el_workspace "store-$name-$skey"
dist="$work/dist"
root="$out/root"
mkdir -p "$dist" "$root"
log "unpacking $policy_tarball ${contrib_tarball:-} ${container_tarball:-} ${dist_tarball:-}"
if [ "$policy_layout" = srpm ]; then
  # %prep of the source package: contrib tarball and its patches, base tarball and its patch, contrib copied into
  # the base tree, the dropped modules removed, config.tgz unpacked in the tree; the dist config is the package's
  srpm="$work/srpm"
  mkdir -p "$srpm" "$work/contrib"
  tar -xzf "$vendor/$policy_tarball" -C "$srpm" --strip-components=1
  base_tgz=$(compgen -G "$srpm/serefpolicy-[0-9]*.tgz" | head -1)
  contrib_tgz=$(compgen -G "$srpm/serefpolicy-contrib-*.tgz" | head -1)
  { [ -n "$base_tgz" ] && [ -n "$contrib_tgz" ]; } || die "$policy_tarball holds no serefpolicy(-contrib) tarballs"
  tar -xzf "$base_tgz" -C "$src" --strip-components=1
  tar -xzf "$contrib_tgz" -C "$work/contrib" --strip-components=1
  for sp in "${srpm_patches[@]}"; do
    where=$src
    [ "${sp%%:*}" = contrib ] && where=$work/contrib
    patch -d "$where" -p1 -s <"$srpm/${sp#*:}" >>"$buildlog" 2>&1 || die "patch ${sp#*:} does not apply (see $buildlog)"
    log "patch: ${sp#*:} (${sp%%:*})"
  done
  cp -a "$work/contrib/." "$src/policy/modules/contrib/"
  for mod in "${drop_modules[@]}"; do rm -f "$src/policy/modules/contrib/$mod".*; done
  (cd "$src" && tar -xzf "$srpm/config.tgz")
  dist=$srpm
else
  tar -xzf "$vendor/$policy_tarball" -C "$src" --strip-components=1
fi
if [ -n "$contrib_tarball" ]; then
  log "unpacking $contrib_tarball into policy/modules/contrib (a submodule of that branch)"
  mkdir -p "$src/policy/modules/contrib"
  tar -xzf "$vendor/$contrib_tarball" -C "$src/policy/modules/contrib" --strip-components=1
fi
[ -z "$dist_tarball" ] || tar -xzf "$vendor/$dist_tarball" -C "$dist" --strip-components=1
sed_fixes "$src" "tree fix" "${tree_fixes[@]}"
# what the branch tip lacks: a file its Makefile installs, or an interface it calls but never defines (the definition
# of a later branch, appended to the module's .if)
for bp in "${backports[@]}"; do
  mkdir -p "$work/backport"
  if [[ $bp != *:* ]]; then
    [ ! -e "$src/$bp" ] || die "backport $bp: the tree has it already (drop the backport)"
    tar -xzf "$vendor/$backport_tarball" -C "$work/backport" --strip-components=1 "${backport_tarball%.tar.gz}/$bp" \
      || die "backport $bp: not in $backport_tarball"
    install -m0644 "$work/backport/$bp" "$src/$bp"
    log "backport: $bp from $backport_tarball (the tree's Makefile installs it, the tree lacks it)"
    continue
  fi
  ifile=${bp%%:*} iface=${bp#*:}
  tar -xzf "$vendor/$backport_tarball" -C "$work/backport" --strip-components=1 --wildcards "*/$ifile"
  from=$(find "$work/backport" -name "$ifile" | head -1)
  to=$(find "$src/policy/modules" -name "$ifile" | head -1)
  { [ -n "$from" ] && [ -n "$to" ]; } || die "backport $bp: $ifile not found in $backport_tarball or in the tree"
  ! grep -q "^interface(\`$iface'" "$to" || die "backport $bp: the tree defines $iface already (drop the backport)"
  def=$(awk -v i="$iface" 'index($0, "interface(`" i "'"'"'") == 1 { p = 1 } p { print } p && /^'"'"'\)/ { exit }' "$from")
  [ -n "$def" ] || die "backport $bp: $backport_tarball does not define $iface"
  printf '\n%s\n' "$def" >>"$to"
  log "backport: $iface appended to ${to#"$src"/} from $backport_tarball (the tree calls it without defining it)"
done

# %prep: container-selinux goes into policy/modules/contrib (its interfaces are called by the policy)
if [ -n "$container_tarball" ]; then
  tar -xzf "$vendor/$container_tarball" -C "$work" --strip-components=1 --wildcards '*/container.te' '*/container.if' '*/container.fc'
  mv "$work"/container.te "$work"/container.if "$work"/container.fc "$src/policy/modules/contrib/"
fi

# The spec's %common_params and makeCmds/installCmds arguments (targeted = mcs, UNK_PERMS=allow);
# TEST_TOOLCHAIN makes the Makefile take checkpolicy, checkmodule, semodule_package, semodule_link,
# semodule_expand, sepolgen-ifgen and setfiles from the userspace's DESTDIR, with its libraries.
policy_make=(NAME="$policy_name" TYPE=mcs DISTRO=redhat UBAC=n DIRECT_INITRC=n MONOLITHIC=n
  MLS_CATS=1024 MCS_CATS=1024 UNK_PERMS=allow TEST_TOOLCHAIN="$FLEETSEC_EL_USERSPACE" PYTHON="$el_python"
  "${policy_make_vars[@]//@TOOLCHAIN@/$FLEETSEC_EL_USERSPACE}")
run_make() {
  local t0=$SECONDS
  if ! (cd "$src" && el_guarded nice -n 19 make "${policy_make[@]}" "$@") >>"$buildlog" 2>&1; then
    tail -40 "$buildlog" >&2
    die "policy make $* failed for store $name (last lines above)"
  fi
  log "make $* ($(( SECONDS - t0 )) s)"
}

# --- makeCmds + makeModulesConf: Fedora's config over the tree's generated one ------------------
# the source package's makeCmds start from a clean tree (`bare`); the git trees have nothing to clean
[ "$policy_layout" != srpm ] || run_make bare
run_make -j"$jobs" conf
cp -f "$dist/booleans-$policy_name.conf" "$src/policy/booleans.conf"
cp -f "$dist/users-$policy_name" "$src/policy/users"
# Trees before 2019 (f28) declare guest_u and xguest_u in their own modules (gen_user in guest.te/xguest.te, whose
# roles base does not know); Fedora's later users file declares them in base. Keep each user declared once.
in_modules=$( (grep -rhoE '^[[:space:]]*gen_user\([a-z_]+' "$src/policy/modules" --include='*.te' || true) | sed -E 's/.*gen_user\(//' | sort -u)
for u in $in_modules; do
  if grep -qE "^gen_user\($u," "$src/policy/users"; then
    sed -i -E "/^gen_user\($u,/d" "$src/policy/users"
    log "users: $u is declared by its module in this tree, not in policy/users"
  fi
done
cat "$dist/modules-$policy_name-base.conf" "$dist/modules-$policy_name-contrib.conf" >"$work/modules.conf"
# Fedora's list names modules the tree does not have (no .te, nor a generated .te.in): drop them.
missing=()
while read -r mod; do
  compgen -G "$src/policy/modules/*/$mod.te" >/dev/null || compgen -G "$src/policy/modules/*/$mod.te.in" >/dev/null \
    || missing+=("$mod")
done < <(sed -nE 's/^[[:space:]]*([A-Za-z0-9_-]+)[[:space:]]*=.*/\1/p' "$work/modules.conf")
log "modules.conf: Fedora's targeted base+contrib lists without the modules this tree lacks: ${missing[*]:-none}"
awk -v drop=" ${missing[*]} " '
  match($0, /^[[:space:]]*[A-Za-z0-9_-]+[[:space:]]*=/) {
    m = $0; sub(/^[[:space:]]*/, "", m); sub(/[[:space:]]*=.*/, "", m)
    if (index(drop, " " m " ")) next
  }
  { print }' "$work/modules.conf" >"$src/policy/modules.conf"

# --- installCmds: base.pp, then `validate modules` (links and expands everything with the
# release's semodule_link/semodule_expand, which checks the neverallow rules, and runs its
# sepolgen-ifgen over the interfaces) ------------------------------------------------------------
run_make -j"$jobs" base.pp
run_make -j"$jobs" validate modules
run_make DESTDIR="$root" install
run_make DESTDIR="$root" install-appconfig

# --- the EL configuration the load runs under ---------------------------------------------------
cat >"$root/etc/selinux/config" <<EOF
# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
SELINUX=enforcing
# SELINUXTYPE= can take one of these three values:
#     targeted - Targeted processes are protected,
#     minimum - Modification of targeted policy. Only selected processes are protected.
#     mls - Multi Level Security protection.
SELINUXTYPE=$policy_name
EOF
# EL's libsemanage semanage.conf (expand-check=0, usepasswd=False, bzip, optimize-policy=true,
# sefcontext_compile). Three paths point into the userspace build instead of /usr: this root's
# transactions must run THAT release's .pp compiler, sefcontext_compile and setfiles (which checks the
# file contexts against the new policy: the host's cannot read a newer policy version), not the host's.
# optimize-policy came with libsemanage 3.2: 2.9's parser rejects the whole file ("syntax error") with it.
optimize_line=
if [ "$(printf '%s\n' 3.2 "$userspace" | sort -V | head -1)" = 3.2 ]; then
  optimize_line=$'optimize-policy=true\n'
fi
# The host's setools (seinfo, sesearch: Debian's, on libsepol 3.4) read policy versions up to what the host's libsepol
# knows; 3.8 writes policy.34, which they refuse ("Unable to locate an SELinux policy"). Where the release writes a
# newer version than the host reads, the store writes the host's newest instead (policy-version, libsemanage's own
# setting): the one deviation from the release's store, said here and in docs/dev/el-platform.md.
version_line=
host_max=$(/usr/bin/checkpolicy -V | awk '{ print $1 }')
release_max=$("$FLEETSEC_EL_USERSPACE/usr/bin/checkpolicy" -V | awk '{ print $1 }')
if [ "$release_max" -gt "$host_max" ]; then
  version_line="policy-version = $host_max"$'\n'
  log "policy version: userspace $userspace writes $release_max, the host's setools read up to $host_max: policy-version = $host_max"
fi
# store-root: RHEL 7 keeps its store in /etc/selinux (TYPE/active), later releases in libsemanage's default.
root_line=
[ "$store_root" = /var/lib/selinux ] || root_line="store-root = $store_root"$'\n'
# sefcontext_compile's -r (no precompiled regexes in the .bin) came with 2.7.
fc_args='-r $@'
[ "$(printf '%s\n' 2.7 "$userspace" | sort -V | head -1)" = 2.7 ] || fc_args='$@'
cat >"$root/etc/selinux/semanage.conf" <<EOF
# EL libsemanage semanage.conf, except compiler-directory and the sefcontext_compile and setfiles paths, which
# point at the SELinux userspace $userspace this store was built with (tools/el/build-store.sh).
module-store = direct
expand-check=0
usepasswd=False
bzip-small=true
bzip-blocksize=5
ignoredirs=/root;/bin;/boot;/dev;/etc;/lib;/lib64;/proc;/run;/sbin;/sys;/tmp;/usr;/var
${root_line}${optimize_line}${version_line}compiler-directory = $FLEETSEC_EL_USERSPACE/usr/libexec/selinux/hll

[sefcontext_compile]
path = $FLEETSEC_EL_USERSPACE/usr/sbin/sefcontext_compile
args = $fc_args
[end]

[setfiles]
path = $FLEETSEC_EL_USERSPACE/sbin/setfiles
args = -q -c \$@ \$<
[end]
EOF

for prog in "$FLEETSEC_EL_USERSPACE/sbin/setfiles" "$FLEETSEC_EL_USERSPACE/usr/sbin/sefcontext_compile" "$FLEETSEC_EL_USERSPACE/usr/libexec/selinux/hll/pp"; do
  [ -x "$prog" ] || die "semanage.conf names $prog, which userspace $userspace did not install"
done

# --- load: base, every module and permissivedomains.cil, ONE transaction at priority 100 --------
pkgdir="$root/usr/share/selinux/$policy_name"
# %install creates the store folder; `make load` the two folders semanage does not create.
mkdir -p "$root$store_root/$policy_name" "$root/etc/selinux/$policy_name/policy" "$root/etc/selinux/$policy_name/contexts/files"
load=(-i "$pkgdir/base.pp")
for pp in "$pkgdir"/*.pp; do
  [ "$pp" = "$pkgdir/base.pp" ] || load+=(-i "$pp")
done
load+=(-i "$dist/permissivedomains.cil")
t0=$SECONDS
nice -n 19 semodule -p "$root" -s "$policy_name" -X 100 "${load[@]}" >>"$buildlog" 2>&1 \
  || { tail -20 "$buildlog" >&2; die "semodule could not load the $(( ${#load[@]} / 2 )) modules into $root"; }
log "semodule -p ROOT -s $policy_name -X 100 -i ... ($(( ${#load[@]} / 2 )) files, one transaction): $(( SECONDS - t0 )) s"

# --- the rest of installCmds and %install ---------------------------------------------------------
etc="$root/etc/selinux/$policy_name"
store="$root$store_root/$policy_name"
mkdir -p "$etc/logins"
touch "$etc/contexts/files/file_contexts.subs" "$etc/contexts/files/file_contexts.local"
install -m0644 "$dist/securetty_types-$policy_name" "$etc/contexts/securetty_types"
# The path aliases must be those of THIS tree's file contexts: c9s/c10s write /var/run/... and alias /run to it
# ("/run /var/run"); the 2024 Fedora config says the reverse for Fedora's newer tree. With Fedora's, every /run
# path is looked up as var_run_t (systemd's /run/systemd/* too: an enforcing boot then fails).
if [ -f "$src/config/file_contexts.subs_dist" ]; then
  install -m0644 "$src/config/file_contexts.subs_dist" "$etc/contexts/files/"
else
  install -m0644 "$dist/file_contexts.subs_dist" "$etc/contexts/files/"
fi
install -m0644 "$dist/setrans-$policy_name.conf" "$etc/setrans.conf"
install -m0644 "$dist/customizable_types" "$etc/contexts/customizable_types"
install -m0644 "$dist/booleans.subs_dist" "$etc/"
rm -f "$pkgdir"/*pp*
sha512sum "$etc"/policy/policy.[0-9]* | cut -d' ' -f1 >"$etc/.policy.sha512"
rm -rf "$etc/contexts/netfilter_contexts" "$etc/modules/active/policy.kern" "$store"/active/*.linked
# The targeted package ships without sandbox in the store (selinux-policy-sandbox adds it), and
# without the `previous` copy of the store.
rm -rf "$store/active/modules/100/sandbox" "$store/previous"
# %post (postInstall): `semodule -B -n`. It links the installed modules again and libsemanage (2.7 and later) keeps
# the linked policy (the %ghost policy.linked, seusers.linked, users_extra.linked), as on a host. Without them the
# first transaction that changes no module (a `semanage import`, a boolean) links every module again: 11.5 s
# against 0.8 s on the EL9 store (docs/dev/development.md).
t0=$SECONDS
nice -n 19 semodule -p "$root" -s "$policy_name" -B -n >>"$buildlog" 2>&1 \
  || { tail -20 "$buildlog" >&2; die "semodule -B -n (the package's %post) failed on $root"; }
log "semodule -p ROOT -s $policy_name -B -n (%post): $(( SECONDS - t0 )) s"

# --- selinux-policy-devel: headers, devel Makefile, interface database for audit2allow -R -------
run_make DESTDIR="$root" install-headers
mkdir -p "$root/usr/share/selinux/devel"
mv "$pkgdir/include" "$root/usr/share/selinux/devel/include"
rmdir "$pkgdir" 2>/dev/null || true
# devel/Makefile is EL's own small wrapper (the spec's Makefile.devel, not in ../shared/vendor; written here): it points
# HEADERDIR at devel/include and includes the refpolicy devel Makefile that install-headers put there. refpolicy's
# file itself, installed here before, looks for /usr/share/selinux/targeted/include, which EL moves to devel/include:
# `make -f /usr/share/selinux/devel/Makefile X.pp` failed on every EL store and in the EL9-like VM.
cat >"$root/usr/share/selinux/devel/Makefile" <<'EOF_MAKEFILE'
# The SELinux policy devel Makefile of EL's selinux-policy-devel: build a local module with
#   make -f /usr/share/selinux/devel/Makefile NAME.pp
# The policy type (targeted, mls) comes from SELINUXTYPE in /etc/selinux/config; the build options (MCS or MLS,
# the policy version) from the headers' build.conf.
SHAREDIR := /usr/share/selinux
HEADERDIR := $(SHAREDIR)/devel/include
include $(HEADERDIR)/Makefile
EOF_MAKEFILE
[ -f "$root/usr/share/selinux/devel/include/Makefile" ] || die "install-headers installed no devel/include/Makefile"
mkdir -p "$root/var/lib/sepolgen"
install -m0644 "$FLEETSEC_EL_USERSPACE/var/lib/sepolgen/perm_map" "$root/var/lib/sepolgen/perm_map"
binpol=("$etc"/policy/policy.*)
t0=$SECONDS
nice -n 19 sepolgen-ifgen -p "${binpol[0]}" -i "$root/usr/share/selinux/devel/include" \
  -o "$root/var/lib/sepolgen/interface_info" >>"$buildlog" 2>&1 \
  || { tail -20 "$buildlog" >&2; die "sepolgen-ifgen failed"; }
log "sepolgen-ifgen: $(( SECONDS - t0 )) s"

# --- check the store with the release's own semodule ----------------------------------------------
listing=$(semodule -p "$root" -s "$policy_name" -lfull)
count=$(awk '$1 == 100' <<<"$listing" | wc -l)
for mod in "${expect_modules[@]}"; do
  awk -v m="$mod" '$1 == 100 && $2 == m { found = 1 } END { exit !found }' <<<"$listing" \
    || die "module $mod is not in the store at priority 100"
done
log "store lists $count modules at priority 100 (incl. ${expect_modules[*]})"

# --- record, stamp, move into place ----------------------------------------------------------------
mkdir -p "$out/recipe"
cp "$el_dir/build-store.sh" "$el_dir/lib.sh" "$el_dir/releases.sh" "$out/recipe/"
printf 'store %s\nuserspace %s %s\ntarballs %s %s %s %s\nkey %s\nbuilt %s\n' "$name" "$userspace" "$FLEETSEC_EL_USERSPACE" \
  "$policy_tarball" "${contrib_tarball:--}" "$container_tarball" "$dist_tarball" "$skey" "$(date -u +%FT%TZ)" >"$out/recipe/info"
touch "$out/.complete"
rm -rf "$sout"
mv "$out" "$sout"
log "store $name ready in $(( $(date +%s) - start )) s: $sout ($(du -sh "$sout" | cut -f1))"
echo "$sout"
