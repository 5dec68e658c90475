#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) one SELinux userspace release (libsepol, libselinux, libsemanage, checkpolicy,
# secilc, policycoreutils, semodule-utils, python: sepolgen, audit2allow, semanage, sepolicy, and
# the selinux/semanage python bindings) from the vendor tarball, into its OWN prefix: never over
# the system's tools. Releases come from tools/el/releases.sh (3.6 = EL9).
#
# Output (cached outside the repository, keyed by tools/el/lib.sh's userspace key):
#   ${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}/userspace-<version>-<key>/
#     D/           the DESTDIR: D/usr/{bin,sbin,lib,libexec,share}, D/lib (libselinux, libsepol)
#     pythonpath   the folders (relative to D) that hold the python modules, one a line
#     build.log    the make output; recipe/ the scripts it was built with
#     .complete    the stamp, written last: a folder without it is never reused
# The folder is printed as the LAST line on stdout; progress goes to stderr.
# Use the tools with: eval "$(tools/el/env.sh <version>)"
#
# Usage: tools/el/build-userspace.sh VERSION [--force]
# Environment:
#   FLEETSEC_CACHE    cache directory (default ~/.cache/fleetsec-selinux)
#   FLEETSEC_VENDOR   vendor tarballs (default ../shared/vendor beside the checkout)
#   FLEETSEC_EL_JOBS  make -j (default 2)
# Reads nothing from the network. Installs the missing Debian build dependencies with apt-get
# (needs root only then). Every build command runs under `nice -n 19`.
set -euo pipefail

LOG_TAG=el-userspace
# shellcheck source=tools/el/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

el_args 1 "VERSION [--force]" "$@"
version=${args[0]}

key_userspace "$version"   # -> tarball build_env make_vars build_debs ukey uout
el_reuse "$force" "userspace $version" "$uout" "$ukey" "userspace-$version"   # prints the folder and exits when it is already built

# --- Debian build dependencies -----------------------------------------------------------------
pyinc=$("$el_python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
pysite=/usr/lib/python3/dist-packages
deps=(
  /usr/include/pcre2.h:libpcre2-dev /usr/include/libaudit.h:libaudit-dev
  /usr/include/cap-ng.h:libcap-ng-dev /usr/include/bzlib.h:libbz2-dev
  bison:bison flex:flex swig:swig xmlto:xmlto msgfmt:gettext pkg-config:pkg-config
  gcc:gcc make:make "$pyinc/Python.h:python3-dev"
  "$pysite/setuptools:python3-setuptools" "$pysite/pip:python3-pip" "$pysite/wheel:python3-wheel"
  "$pysite/setools:python3-setools"   # not for the build: semanage and sepolicy import it at run time
  "${build_debs[@]}"
)
log "build dependencies (command or file:Debian package): ${deps[*]}"
host_packages "${deps[@]}"

# --- build in a scratch folder next to the output, move into place at the end ---------------------
el_workspace "userspace-$version-$ukey"
dest="$out/D"
mkdir -p "$dest"
el_unpack "$tarball" "${src_fixes[@]}"

make_args=(DESTDIR="$dest" PREFIX=/usr PYTHON="$el_python" OPT_SUBDIRS="python semodule-utils" "${make_vars[@]//@DESTDIR@/$dest}")
# Every binary and library finds THIS release's libraries by its run path, not by LD_LIBRARY_PATH: libsemanage runs
# setfiles, sefcontext_compile and the .pp compiler with an EMPTY environment, so without it they load the
# system's libsepol (which cannot read a newer policy, and converts an older one by other rules).
# -L: releases before 2.9 do not add the DESTDIR's library folders themselves.
rpath="-Wl,-rpath,$uout/D/lib:$uout/D/usr/lib -L$dest/usr/lib -L$dest/lib"
run_make() {
  log "make -j$jobs ${make_args[*]} $* (log: build.log)"
  if ! (cd "$src" && el_guarded env LDFLAGS="$rpath" "${build_env[@]//@DESTDIR@/$dest}" nice -n 19 make -j"$jobs" "${make_args[@]}" "$@") >>"$buildlog" 2>&1; then
    tail -40 "$buildlog" >&2
    die "make $* failed for userspace $version (last lines above)"
  fi
}
run_make install
# pip builds the libselinux bindings from the local tree: no build isolation, no index (offline).
run_make install-pywrap PYTHON_SETUP_ARGS="--no-build-isolation --no-index"
log "make done in $(( $(date +%s) - start )) s"

# --- python: where the modules landed, and scripts that honour PYTHONPATH ------------------------
# Upstream installs the python tools with `#!/usr/bin/python3 -EsI` (3.x), `-Es` (2.9) or `#! /usr/bin/python -Es` (2.5, Python 2 era): -E/-I make
# python ignore PYTHONPATH, so they would import the SYSTEM's sepolgen/seobject/selinux. In D they
# become `#!/usr/bin/python3 -s` (user site still off) so env.sh's PYTHONPATH selects this release.
fixed=()
while IFS= read -r -d '' f; do
  first=$(head -c 128 "$f" | head -n1 | tr -d '\0')
  if [[ $first =~ ^\#!\ */usr/bin/python[0-9.]*\ +-[A-Za-z]*[EI][A-Za-z]*$ ]]; then
    sed -i '1s|.*|#!/usr/bin/python3 -s|' "$f"
    fixed+=("${f#"$dest"/}")
  fi
done < <(find "$dest/usr/bin" "$dest/usr/sbin" "$dest/usr/libexec" -type f -print0 2>/dev/null)
log "python shebangs set to '#!/usr/bin/python3 -s' in: ${fixed[*]:-none}"
# sepolgen-ifgen runs its attribute helper from a fixed /usr/bin path: that is the SYSTEM's helper, whose libsepol
# cannot read a newer policy (3.8's policy.34 with Debian's 3.4: "policydb version 34 does not match") and reads
# an older one with other rules. Point it at this release's own helper, at the folder the build is moved to.
sed -i "s|^ATTR_HELPER = \"/usr/bin/sepolgen-ifgen-attr-helper\"|ATTR_HELPER = \"$uout/D/usr/bin/sepolgen-ifgen-attr-helper\"|" \
  "$dest/usr/bin/sepolgen-ifgen"
grep -q "^ATTR_HELPER = \"$uout/D/" "$dest/usr/bin/sepolgen-ifgen" || die "sepolgen-ifgen: ATTR_HELPER not found to point at the build"

# Releases before 3.0 install the SWIG extension of libselinux BESIDE the package (dist-packages/_selinux*.so),
# while the wrapper that SWIG >= 4 generates imports it from inside it (`from . import _selinux`): move it in.
while IFS= read -r -d '' so; do
  pkg="$(dirname "$so")/selinux"
  if [ -f "$pkg/__init__.py" ] && grep -q '^ *from \. import _selinux' "$pkg/__init__.py"; then
    mv "$so" "$pkg/"
    log "moved ${so#"$dest"/} into the selinux package (the SWIG wrapper imports it from there)"
  fi
done < <(find "$dest" -type f -name '_selinux*.so' ! -path '*/selinux/*' -print0)   # a file, not 3.x's symlink into the package

find "$dest" \( -path '*/selinux/__init__.py' -o -path '*/sepolgen/__init__.py' \
  -o -path '*/sepolicy/__init__.py' -o -name semanage.py -o -name seobject.py \) -printf '%h\n' \
  | sed -E -e 's#/(selinux|sepolgen|sepolicy)$##' -e "s#^$dest/##" | sort -u >"$out/pythonpath"
[ -s "$out/pythonpath" ] || die "no python modules found under $dest"
log "python module folders: $(tr '\n' ' ' <"$out/pythonpath")"

# --- smoke test: the tools run and the python modules come from D, not from the system ----------
pypath=$(sed "s#^#$dest/#" "$out/pythonpath" | paste -sd:)
libpath="$dest/lib:$dest/usr/lib"
for tool in usr/sbin/semodule usr/bin/checkmodule usr/bin/checkpolicy usr/bin/semodule_package \
            usr/bin/audit2allow usr/bin/sepolgen-ifgen usr/sbin/semanage usr/libexec/selinux/hll/pp; do
  [ -x "$dest/$tool" ] || die "the build did not install $tool"
done
LD_LIBRARY_PATH=$libpath "$dest/usr/bin/checkmodule" -V >/dev/null || die "checkmodule of $version does not run"
# the programs libsemanage runs with an empty environment must still load this release's libraries (checked
# after the move into place, where the run path points)
# semanage imports seobject and its run-time dependencies (setools; IPy before 3.0) at start
if [ -z "$no_semanage" ]; then
  LD_LIBRARY_PATH=$libpath PYTHONPATH=$pypath "$dest/usr/sbin/semanage" --help >/dev/null || die "semanage of $version does not start"
else
  log "semanage is not usable here: $no_semanage"
  echo "$no_semanage" >"$out/no-semanage"
fi
LD_LIBRARY_PATH=$libpath PYTHONPATH=$pypath "$el_python" -s -c '
import sys
import selinux, selinux.audit2why, semanage, sepolgen
for m in (selinux, selinux.audit2why, semanage, sepolgen):
    if not m.__file__.startswith(sys.argv[1] + "/"):
        sys.exit("%s imported from %s, not from the build" % (m.__name__, m.__file__))
' "$dest" || die "the python modules of $version do not import from $dest"

# --- record, stamp, move into place ------------------------------------------------------------
mkdir -p "$out/recipe"
cp "$el_dir/build-userspace.sh" "$el_dir/lib.sh" "$el_dir/releases.sh" "$out/recipe/"
printf 'userspace %s\ntarball %s\nkey %s\nbuilt %s\n' "$version" "$tarball" "$ukey" "$(date -u +%FT%TZ)" >"$out/recipe/info"
touch "$out/.complete"
rm -rf "$uout"
mv "$out" "$uout"
for tool in sbin/setfiles usr/sbin/sefcontext_compile usr/libexec/selinux/hll/pp usr/sbin/semodule; do
  # (a tool linked with the static libsepol.a, such as 2.5's pp, has no libsepol to find)
  # (the output is kept first: `ldd | grep -q` fails under pipefail when grep stops reading early)
  libs=$(env -i ldd "$uout/D/$tool")
  if grep -q "libsepol" <<<"$libs" && ! grep -q "libsepol.* => $uout/D/" <<<"$libs"; then
    echo "$libs" >&2; rm -rf "$uout"; die "$tool does not load libsepol from the build without LD_LIBRARY_PATH (run path)"
  fi
done
log "userspace $version ready in $(( $(date +%s) - start )) s: $uout ($(du -sh "$uout" | cut -f1))"
echo "$uout"
