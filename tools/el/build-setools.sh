#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) one setools 4 release (seinfo, sesearch, sediff, sechecker and the setools Python package, what
# EL ships as setools-console and python3-setools) from the vendor tarball: compiled with one release's Python (pyenv
# X.Y) and linked with one built SELinux userspace's libsepol and libselinux (tools/el/build-userspace.sh, by run
# path). Rows: tools/el/releases.sh (setools_*, and pyvenv_* for the build venv).
#
# Output (cached outside the repository, keyed by tools/el/setools-audit-lib.sh's key_setools):
#   ${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}/setools-<version>-<key>/
#     venv/       a venv of the release's Python holding setools (its policyrep extension finds the userspace's
#                 libraries by its run path); the tools' first line is `#!<folder>/venv/bin/python -Es`, so
#                 neither PYTHONPATH nor the user's site reach them
#     bin/        seinfo sesearch sediff (and sechecker from 4.4 on): links to venv/bin's, the folder
#                 tools/el/env.sh puts first on PATH (never venv/bin itself: it holds a `python3`)
#     build.log   pip's output; recipe/ the scripts it was built with; .complete the stamp, written last
# The folder is printed as the LAST line on stdout; progress goes to stderr.
#
# Usage: tools/el/build-setools.sh VERSION USERSPACE X.Y [--force]     (EL9: 4.4.4 3.6 3.9)
# Environment: FLEETSEC_CACHE, FLEETSEC_VENDOR (as for tools/el/build-userspace.sh). Reads the pip registry only for
# the build venv's pinned packages (cached: once per Python) and a row's pinned run-time imports; installs the missing Debian build dependencies with
# apt-get. Every build command runs under `nice -n 19`, with the host's /usr, /etc and /opt read-only.
set -euo pipefail

LOG_TAG=el-setools
# shellcheck source=tools/el/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
# shellcheck source=tools/el/setools-audit-lib.sh
. "$el_dir/setools-audit-lib.sh"

el_args 3 "VERSION USERSPACE PYTHON-X.Y [--force]   (e.g. 4.4.4 3.6 3.9)" "$@"
version=${args[0]} userspace=${args[1]} pyver=${args[2]}

key_setools "$version" "$userspace" "$pyver"   # -> setools_tarball setools_fixes ukey uout vkey vout pyenv_py setkey setout
el_reuse "$force" "setools $version (userspace $userspace, Python $pyver)" "$setout" "$setkey" "setools-$version"

# --- what it is built with: the userspace (its own lock), the Debian compiler, the build venv (its own lock) --------
"$el_dir/build-userspace.sh" "$userspace" >/dev/null
[ -f "$uout/.complete" ] || die "userspace $userspace did not build"
udest="$uout/D"
host_packages gcc:gcc make:make
( build_pyvenv "$pyver" )
[ -f "$vout/.complete" ] || die "the build venv of Python $pyver did not build"

# --- build in a scratch folder next to the output, move into place at the end -------------------------------------
el_workspace "setools-$version-$setkey"
mkdir -p "$work/wheel"
el_unpack "$setools_tarball" "${setools_fixes[@]}"

# setup.py's own search path (/usr/lib, /usr/lib64, /usr/local/lib, or USERSPACE_SRC's source tree) is not where a
# built userspace is: its headers and libraries are given through CFLAGS and LDFLAGS, which distutils puts before
# setup.py's, and the run path makes the extension load that userspace's libsepol and libselinux, not the host's.
# pip builds a wheel from the tree: the build venv's Cython and setuptools, no build isolation, no index.
(
  cd "$src"
  logged "$buildlog" "pip wheel: setools $version with $pyenv_py, userspace $userspace" \
    env CFLAGS="-I$udest/usr/include" \
    LDFLAGS="-L$udest/usr/lib -L$udest/lib -Wl,-rpath,$udest/lib:$udest/usr/lib" \
    "$vout/venv/bin/python" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps --no-index \
    --wheel-dir "$work/wheel" .
)
wheel=$(find "$work/wheel" -name "setools-$version-*.whl" -print -quit)
[ -n "$wheel" ] || die "pip built no setools $version wheel (see $buildlog)"

# The venv the tools run in: the release's Python, with ensurepip's pip and setuptools (setools 4.3 and 4.4 read their
# own version through setuptools' pkg_resources, as EL's python3-setools requires python3-setuptools), the row's
# run-time imports (pinned, from the pip registry), and setools.
logged "$buildlog" "venv of $pyenv_py" "$pyenv_py" -m venv "$out/venv"
if [ ${#setools_runtime[@]} -gt 0 ]; then
  logged "$buildlog" "pip install ${setools_runtime[*]} (run-time imports)" \
    "$out/venv/bin/python" -m pip install --disable-pip-version-check --no-deps "${setools_runtime[@]}"
fi
logged "$buildlog" "pip install $(basename "$wheel")" \
  "$out/venv/bin/python" -m pip install --disable-pip-version-check --no-index --no-deps "$wheel"
log "built and installed in $(( $(date +%s) - start )) s"

# The tools' first line: the venv's Python at the folder this build is moved to, -Es. The matrix's PYTHONPATH holds
# the userspace's Python packages for the host's Python 3.11 (semanage, sepolicy): setools must not see them.
mkdir -p "$out/bin"
tools=()
for tool in seinfo sesearch sediff sechecker; do
  [ -f "$out/venv/bin/$tool" ] || continue
  sed -i "1s|.*|#!$setout/venv/bin/python -Es|" "$out/venv/bin/$tool"
  ln -s "../venv/bin/$tool" "$out/bin/$tool"
  tools+=("$tool")
done
for tool in seinfo sesearch; do [ -L "$out/bin/$tool" ] || die "the setools $version wheel installed no $tool"; done
log "tools: ${tools[*]}"

# --- smoke test: the version, the interpreter, and the libraries the extension loads --------------------------------
for tool in seinfo sesearch; do
  said=$("$out/venv/bin/python" -Es "$out/venv/bin/$tool" --version 2>&1) || die "$tool --version failed: $said"
  [ "$said" = "$version" ] || die "$tool --version says '$said', not $version"
done
ext=$(find "$out/venv/lib" -name 'policyrep*.so' -print -quit)
[ -n "$ext" ] || die "no policyrep extension was installed"
libs=$(env -i ldd "$ext")
for lib in libsepol libselinux; do
  grep -q "$lib.* => $udest/" <<<"$libs" || { echo "$libs" >&2; die "$ext does not load $lib from userspace $userspace"; }
done

# --- record, stamp, move into place ---------------------------------------------------------------------------------
mkdir -p "$out/recipe"
cp "$el_dir/build-setools.sh" "$el_dir/setools-audit-lib.sh" "$el_dir/lib.sh" "$el_dir/releases.sh" "$vout/packages" "$out/recipe/"
printf 'setools %s\ntarball %s\nuserspace %s %s\npython %s (%s)\nkey %s\nbuilt %s\n' "$version" "$setools_tarball" \
  "$userspace" "$uout" "$pyenv_py" "$("$pyenv_py" -c 'import sys; print(sys.version.split()[0])')" "$setkey" \
  "$(date -u +%FT%TZ)" >"$out/recipe/info"
touch "$out/.complete"
rm -rf "$setout"
mv "$out" "$setout"
# through the tool's own first line, in an empty environment, at the final place
said=$(env -i "$setout/bin/sesearch" --version 2>&1) || { rm -rf "$setout"; die "sesearch does not run from $setout: $said"; }
[ "$said" = "$version" ] || { rm -rf "$setout"; die "sesearch in $setout says '$said', not $version"; }
log "setools $version ready in $(( $(date +%s) - start )) s: $setout ($(du -sh "$setout" | cut -f1))"
echo "$setout"
