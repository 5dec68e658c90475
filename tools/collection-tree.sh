#!/usr/bin/env bash
# Lay the working tree out as build/collections/ansible_collections/fleetsec/selinux (a symlink),
# so ansible, ansible-doc and the tests find the collection by its FQCN. Prints the collections path.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/build/collections/ansible_collections/fleetsec"
mkdir -p "$dest"
# left alone when it is already right: two steps of tools/test.sh may ask at the same time (its two lanes)
[ "$(readlink "$dest/selinux" 2>/dev/null)" = "$here" ] || ln -sfn "$here" "$dest/selinux"
echo "$here/build/collections"
