#!/usr/bin/env bash
# Lay the working tree out as build/collections/ansible_collections/fleetsec/selinux (a symlink),
# so ansible, ansible-doc and the tests find the collection by its FQCN. Prints the collections path.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/build/collections/ansible_collections/fleetsec"
mkdir -p "$dest"
ln -sfn "$here" "$dest/selinux"
echo "$here/build/collections"
