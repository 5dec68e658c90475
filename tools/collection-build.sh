#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the collection tarball as it ships: `ansible-galaxy collection build` (galaxy.yml's build_ignore leaves the
# developer files out) on a copy of the working tree whose README.md is the users' README, the repository's without
# its developer parts. A developer part is what stands between a line `<!-- developer:begin -->` and a line
# `<!-- developer:end -->` (the set-up commands, the timings of the test suite, the guides in docs/dev): Galaxy shows
# the README of the tarball, which must speak to the users of the collection alone.
# Prints the path of the tarball as the LAST line on stdout.
# Usage: tools/collection-build.sh OUTPUT-FOLDER
set -euo pipefail
LOG_TAG=collection-build
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/lib.sh
. "$here/tools/lib.sh"
[ $# -eq 1 ] || die "usage: $0 OUTPUT-FOLDER"
mkdir -p "$1"
dest=$(cd "$1" && pwd)
stage=$(mktemp -d) built=$(mktemp -d)
trap 'rm -rf "$stage" "$built"' EXIT

# the tree as git would check it out (tracked files and new ones it does not ignore), as they are now
# (a file deleted but not yet committed is left out)
files=()
while IFS= read -r -d '' f; do
  if [ -e "$here/$f" ] || [ -L "$here/$f" ]; then files+=("$f"); fi
done < <(cd "$here" && git ls-files -z --cached --others --exclude-standard)
(cd "$here" && printf '%s\0' "${files[@]}" | tar --null -T - -cf -) | tar -C "$stage" -xf -
"$here/.venv/bin/python" "$here/tools/users-readme.py" "$here/README.md" >"$stage/README.md"
"$here/.venv/bin/ansible-galaxy" collection build --force --output-path "$built" "$stage" >&2
tarball=("$built"/fleetsec-selinux-*.tar.gz)
[ -f "${tarball[0]}" ] || die "ansible-galaxy built no tarball"
mv -f "${tarball[0]}" "$dest/"
echo "$dest/$(basename "${tarball[0]}")"
