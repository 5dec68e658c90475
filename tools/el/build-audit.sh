#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) one audit userspace release's record readers, ausearch and aureport, with the libauparse and
# libaudit of the same release, from the vendor tarball. Only that: no auditd, auditctl, plugins, bindings. The tools
# load the release's libraries by their run path (never the host's audit-libs). Rows: tools/el/releases.sh (audit_*).
# Like EL's, they read /etc/audit/auditd.conf and /var/log/audit by default.
#
# Output (cached outside the repository, keyed by tools/el/setools-audit-lib.sh's key_audit):
#   ${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}/audit-<version>-<key>/
#     D/usr/sbin/{ausearch,aureport}   the folder tools/el/env.sh puts first on PATH
#     D/usr/lib/{libaudit,libauparse}.so.*, D/usr/include: the release's libraries and headers
#     build.log, recipe/, .complete    (the stamp is written last)
# The folder is printed as the LAST line on stdout; progress goes to stderr.
#
# Usage: tools/el/build-audit.sh VERSION [--force]     (EL9: 3.1.5)
# Environment: FLEETSEC_CACHE, FLEETSEC_VENDOR, FLEETSEC_EL_JOBS (make -j, default 2), as for
# tools/el/build-userspace.sh. Reads nothing from the network; installs the missing Debian build dependencies with
# apt-get. Every build command runs under `nice -n 19`, with the host's /usr, /etc and /opt read-only.
set -euo pipefail

LOG_TAG=el-audit
# shellcheck source=tools/el/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
# shellcheck source=tools/el/setools-audit-lib.sh
. "$el_dir/setools-audit-lib.sh"

el_args 1 "VERSION [--force]   (e.g. 3.1.5)" "$@"
version=${args[0]}

key_audit "$version"   # -> audit_tarball audit_configure audit_env audit_fixes akey aout
el_reuse "$force" "audit $version" "$aout" "$akey" "audit-$version"

# --- Debian build dependencies: the tarball is a git archive, so autotools make its configure -----------------------
deps=(autoreconf:autoconf automake:automake libtoolize:libtool m4:m4 pkg-config:pkg-config gcc:gcc make:make
      /usr/include/cap-ng.h:libcap-ng-dev /usr/include/linux/audit.h:linux-libc-dev)
log "build dependencies (command or file:Debian package): ${deps[*]}"
host_packages "${deps[@]}"

# --- build in a scratch folder next to the output, move into place at the end -------------------------------------
el_workspace "audit-$version-$akey"
dest="$out/D"
mkdir -p "$dest/usr/sbin"
el_unpack "$audit_tarball" "${audit_fixes[@]}"

cd "$src"
# what the tree's autogen.sh does
[ -f INSTALL ] || cp INSTALL.tmp INSTALL
logged "$buildlog" "autoreconf" env "${audit_env[@]}" autoreconf -fi
# The spec's paths (so the defaults are EL's: /etc/audit/auditd.conf, /var/log/audit) and nothing but what ausearch
# and aureport need; the row adds the spec's options that change what they print. Shared libraries, as on EL (linked
# statically, ausearch's own aulookup_destroy_uid_list clashes with libauparse's), found by the run path of the folder
# this build is moved to; /usr/lib is a system folder to libtool, so it adds no run path of its own.
make_env=(LDFLAGS="-Wl,-rpath,$aout/D/usr/lib" "${audit_env[@]}")   # (configure writes LDFLAGS into the Makefiles)
logged "$buildlog" "configure ${audit_configure[*]}" env "${make_env[@]}" ./configure \
  --prefix=/usr --libdir=/usr/lib --sysconfdir=/etc --localstatedir=/var --disable-static \
  --with-python=no --with-python3=no --without-golang --disable-zos-remote --disable-listener \
  --disable-gssapi-krb5 --disable-systemd --with-libcap-ng=yes "${audit_configure[@]}"
for dir in common lib auparse; do
  [ -d "$dir" ] || continue   # common/ came with 3.0
  logged "$buildlog" "make -j$jobs -C $dir" env "${make_env[@]}" make -j"$jobs" -C "$dir"
done
logged "$buildlog" "make -j$jobs -C src ausearch aureport" env "${make_env[@]}" make -j"$jobs" -C src ausearch aureport
for dir in lib auparse; do
  logged "$buildlog" "make -C $dir install" env "${make_env[@]}" make -C "$dir" DESTDIR="$dest" install
done
logged "$buildlog" "make -C src install (ausearch aureport)" env "${make_env[@]}" \
  make -C src DESTDIR="$dest" sbin_PROGRAMS="ausearch aureport" install-sbinPROGRAMS
cd "$work"
log "make done in $(( $(date +%s) - start )) s"

# --- smoke test (the libraries of D: the run path points where the folder is moved to): the version, and one AVC
# record read back ---------------------------------------------------------------------------------------------------
for tool in ausearch aureport; do
  said=$(LD_LIBRARY_PATH=$dest/usr/lib "$dest/usr/sbin/$tool" -v 2>&1) || die "$tool -v failed: $said"
  [ "$said" = "$tool version $version" ] || die "$tool -v says '$said', not '$tool version $version'"
done
record='type=AVC msg=audit(1700000000.123:42): avc:  denied  { read } for  pid=42 comm="cat" name="x" dev="vda" ino=1 scontext=system_u:system_r:ntpd_t:s0 tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0'
printf '%s\n' "$record" >"$work/one.log"
found=$(LD_LIBRARY_PATH=$dest/usr/lib "$dest/usr/sbin/ausearch" -if "$work/one.log" -m AVC --raw 2>&1) \
  || die "ausearch did not find the AVC record: $found"
[ "$found" = "$record" ] || die "ausearch --raw changed the record: $found"

# --- record, stamp, move into place ---------------------------------------------------------------------------------
mkdir -p "$out/recipe"
cp "$el_dir/build-audit.sh" "$el_dir/setools-audit-lib.sh" "$el_dir/lib.sh" "$el_dir/releases.sh" "$out/recipe/"
printf 'audit %s\ntarball %s\nconfigure %s\nkey %s\nbuilt %s\n' "$version" "$audit_tarball" "${audit_configure[*]}" \
  "$akey" "$(date -u +%FT%TZ)" >"$out/recipe/info"
touch "$out/.complete"
rm -rf "$aout"
mv "$out" "$aout"
# in an empty environment, at the final place: the release's libraries, by the run path
for tool in ausearch aureport; do
  libs=$(env -i ldd "$aout/D/usr/sbin/$tool")
  for lib in libaudit libauparse; do
    if ! grep -q "$lib.so.* => $aout/D/usr/lib/" <<<"$libs"; then
      echo "$libs" >&2; rm -rf "$aout"; die "$tool does not load $lib from $aout (run path)"
    fi
  done
done
log "audit $version ready in $(( $(date +%s) - start )) s: $aout ($(du -sh "$aout" | cut -f1))"
echo "$aout"
