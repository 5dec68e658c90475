#!/usr/bin/env bash
# ansible-test sanity of the collection with one controller venv.
# Usage: tools/sanity.sh VENV [extra ansible-test args]
# The collection is copied (tracked + new files, nothing ignored by git) to
# build/sanity-<venv>/ansible_collections/fleetsec/selinux, where ansible-test expects it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$1; shift
name=$(basename "$venv")
dest="$here/build/sanity${name#.venv}/ansible_collections/fleetsec/selinux"
rm -rf "$dest"; mkdir -p "$dest"
(cd "$here" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' ) > "$dest.files"
rsync -a --files-from="$dest.files" "$here/" "$dest/"
rm -f "$dest.files"
# a repository of its own: ansible-test lists files with git, and the enclosing checkout ignores build/
git -C "$dest" init -q && git -C "$dest" add -A
# python2.7 / python3.6 ... on PATH so the multi-version tests (compile, import) cover EL7/EL8 interpreters.
pybin=""
for d in /root/.pyenv/versions/*/bin; do pybin="$pybin:$d"; done
cd "$dest"
PATH="$here/$venv/bin:${PATH}${pybin}" "$here/$venv/bin/ansible-test" sanity --requirements --color no "$@"
