#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) one setools 3 release's seinfo and sesearch (what EL7 ships as setools-console 3.3.8) from the
# vendor tarball: C and autotools, linked with one built SELinux userspace (tools/el/build-userspace.sh): its static
# libsepol.a goes into libqpol (as setools 3 requires), its libselinux is loaded by run path. Only what the two tools
# need is built: libqpol and libapol (static archives, linked into the tools) and secmds' seinfo and sesearch; no
# Python, Tcl, Java or SWIG bindings, no apol/seaudit/sediffx GUI, no libsefs/libpoldiff/libseaudit, no man pages.
# Rows: tools/el/releases.sh (setools_3_*). tools/el/build-setools.sh builds setools 4 (Python).
#
# Output (cached outside the repository, keyed by tools/el/setools3-lib.sh's key_setools3):
#   ${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}/setools-<version>-<key>/
#     bin/        seinfo sesearch (ELF programs), the folder tools/el/env.sh puts first on PATH
#     build.log   configure's and make's output; recipe/ the scripts it was built with; .complete the stamp, written last
# The folder is printed as the LAST line on stdout; progress goes to stderr.
#
# Usage: tools/el/build-setools3.sh VERSION USERSPACE [--force]     (EL7: 3.3.8 2.5)
# Environment: FLEETSEC_CACHE, FLEETSEC_VENDOR, FLEETSEC_EL_JOBS (make -j, default 2), as for
# tools/el/build-userspace.sh. Reads nothing from the network; installs the missing Debian build dependencies with
# apt-get. Every build command runs under `nice -n 19`, with the host's /usr, /etc and /opt read-only.
set -euo pipefail

LOG_TAG=el-setools3
# shellcheck source=tools/el/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
# shellcheck source=tools/el/setools-audit-lib.sh
. "$el_dir/setools-audit-lib.sh"   # logged
# shellcheck source=tools/el/setools3-lib.sh
. "$el_dir/setools3-lib.sh"

el_args 2 "VERSION USERSPACE [--force]   (e.g. 3.3.8 2.5)" "$@"
version=${args[0]} userspace=${args[1]}
[ "$(setools_generation "$version")" = 3 ] || die "setools $version is not setools 3: tools/el/build-setools.sh builds it"

key_setools3 "$version" "$userspace"   # -> setools_tarball setools_fixes ukey uout setkey setout
el_reuse "$force" "setools $version (userspace $userspace)" "$setout" "$setkey" "setools-$version"

# --- what it is built with: the userspace (its own lock), the Debian compiler and autotools ------------------------
"$el_dir/build-userspace.sh" "$userspace" >/dev/null
[ -f "$uout/.complete" ] || die "userspace $userspace did not build"
udest="$uout/D"
[ -f "$udest/usr/lib/libsepol.a" ] || die "userspace $userspace has no static libsepol ($udest/usr/lib/libsepol.a)"
# configure checks for libxml2, sqlite3 and libbz2 whatever is built (libseaudit, libsefs); libqpol links libbz2
deps=(autoreconf:autoconf automake:automake libtoolize:libtool m4:m4 pkg-config:pkg-config gcc:gcc g++:g++ make:make
      bison:bison flex:flex /usr/include/libxml2/libxml/parser.h:libxml2-dev /usr/include/sqlite3.h:libsqlite3-dev
      /usr/include/bzlib.h:libbz2-dev)
log "build dependencies (command or file:Debian package): ${deps[*]}"
host_packages "${deps[@]}"

# --- build in a scratch folder next to the output, move into place at the end -------------------------------------
el_workspace "setools-$version-$setkey"
mkdir -p "$out/bin"
el_unpack "$setools_tarball" "${setools_fixes[@]}"

cd "$src"
logged "$buildlog" "autoreconf" autoreconf -fi
# The userspace's headers and libraries: --with-sepol-devel/--with-selinux-devel give configure the include folder and
# the libsepol.a it copies into libqpol; LDFLAGS (written into the Makefiles) finds its libsepol and libselinux at link
# time and, by run path, its libselinux.so.1 at run time (never the host's). GCC 12 defaults to -fno-common, which
# setools 3's libraries predate.
build_env=(CFLAGS="-O2 -fcommon" CXXFLAGS="-O2"
           LDFLAGS="-L$udest/usr/lib -L$udest/lib -Wl,-rpath,$udest/lib:$udest/usr/lib")
logged "$buildlog" "configure (command line tools only, no bindings)" env "${build_env[@]}" ./configure \
  --prefix=/usr --disable-gui --disable-swig-tcl --disable-swig-python --disable-swig-java --disable-bwidget-check \
  --disable-selinux-check --disable-shared --with-sepol-devel="$udest/usr" --with-selinux-devel="$udest/usr"
# (BUILT_SOURCES is made only for `all`: the parser's header first, then the archive)
logged "$buildlog" "make -C libqpol/src policy_parse.h" make -C libqpol/src policy_parse.h
logged "$buildlog" "make -j$jobs -C libqpol/src libqpol.a" make -j"$jobs" -C libqpol/src libqpol.a
logged "$buildlog" "make -j$jobs -C libapol/src libapol.a" make -j"$jobs" -C libapol/src libapol.a
# the tools link the two archives (libqpol.a holds libsepol's objects: no libsepol.so), not the shared libqpol that
# configure writes into secmds' LDADD
logged "$buildlog" "make -j$jobs -C secmds seinfo sesearch" make -j"$jobs" -C secmds seinfo sesearch \
  LDADD="../libapol/src/libapol.a ../libqpol/src/libqpol.a" LIBS="-lselinux -lbz2"
for tool in seinfo sesearch; do install -m 0755 "secmds/$tool" "$out/bin/$tool"; done
cd "$work"
log "make done in $(( $(date +%s) - start )) s"

# --- smoke test: the version (first line: "sesearch 3.3.8", then the copyright), the libraries they load -----------
for tool in seinfo sesearch; do
  said=$(env -i "$out/bin/$tool" --version 2>&1) || die "$tool --version failed: $said"
  [ "$(head -1 <<<"$said")" = "$tool $version" ] || die "$tool --version says '$said', not '$tool $version'"
  libs=$(env -i ldd "$out/bin/$tool")
  grep -q "libselinux.* => $udest/" <<<"$libs" || { echo "$libs" >&2; die "$tool does not load libselinux from userspace $userspace"; }
  ! grep -qE 'lib(qpol|apol|sepol)' <<<"$libs" || { echo "$libs" >&2; die "$tool loads a shared libqpol, libapol or libsepol"; }
done

# --- record, stamp, move into place ---------------------------------------------------------------------------------
mkdir -p "$out/recipe"
cp "$el_dir/build-setools3.sh" "$el_dir/setools3-lib.sh" "$el_dir/lib.sh" "$el_dir/releases.sh" "$out/recipe/"
printf 'setools %s\ntarball %s\nuserspace %s %s\nkey %s\nbuilt %s\n' "$version" "$setools_tarball" \
  "$userspace" "$uout" "$setkey" "$(date -u +%FT%TZ)" >"$out/recipe/info"
touch "$out/.complete"
rm -rf "$setout"
mv "$out" "$setout"
log "setools $version ready in $(( $(date +%s) - start )) s: $setout ($(du -sh "$setout" | cut -f1))"
echo "$setout"
