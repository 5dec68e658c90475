#!/usr/bin/env bash
# The CHANGELOG the next release will have, rendered now from the unreleased fragments by antsibull-changelog
# (`release` on a scratch copy of the tree: the repository's fragments and changelog.yaml are not touched).
# Writes build/CHANGELOG-preview.rst. The real CHANGELOG.rst is generated when a version is released.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
version=$(sed -n 's/^version: *//p' galaxy.yml)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/ansible_collections/fleetsec/selinux"
mkdir -p "$dest"
cp -r galaxy.yml changelogs meta plugins roles playbooks "$dest/"
(cd "$dest" && PATH="$here/.venv/bin:$PATH" "$here/.venv/bin/antsibull-changelog" release --version "$version" --date "$(date -u +%F)")
mkdir -p build
cp "$dest/CHANGELOG.rst" build/CHANGELOG-preview.rst
echo "build/CHANGELOG-preview.rst: $(grep -c '^- ' build/CHANGELOG-preview.rst) entries for $version (unreleased)"
