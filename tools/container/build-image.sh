#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) the local Debian 12 container image for molecule/container:
#   debootstrap --variant=minbase + python3 (+ python3-apt for ansible.builtin.apt) + sudo, then "podman import" as localhost/fleetsec-debian12.
# No registry is needed. The image carries the sha256 of this recipe as a label; an unchanged
# recipe reuses the image, a changed one rebuilds it.
#
# It also writes the podman configuration this kind of machine needs and prints its path as the
# LAST line on stdout (export it as CONTAINERS_CONF before running podman or molecule):
#   runtime runc (crun fails: "cgroups in hybrid mode not supported") and explicit default
#   ulimits (podman's defaults fail: "setrlimit RLIMIT_NOFILE: Operation not permitted").
#
# Usage: tools/container/build-image.sh [--force]
# Environment: FLEETSEC_CACHE (default ~/.cache/fleetsec-selinux), FLEETSEC_MIRROR (default: the
# mirror apt already uses for bookworm/main), FLEETSEC_CONTAINER_IMAGE (default localhost/fleetsec-debian12).
set -euo pipefail
LOG_TAG=container-image
# shellcheck source=tools/debootstrap-lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../debootstrap-lib.sh"   # and tools/lib.sh

hash=$(recipe_key "$(readlink -f "${BASH_SOURCE[0]}")")
image=${FLEETSEC_CONTAINER_IMAGE:-localhost/fleetsec-debian12}
suite=bookworm
conf="$cache/containers.conf"
mkdir -p "$cache"

host_packages podman:podman runc:runc debootstrap:debootstrap

cat >"$conf.tmp" <<CONF
# written by tools/container/build-image.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
mv "$conf.tmp" "$conf"
export CONTAINERS_CONF="$conf"

if [ "${1:-}" != "--force" ]; then
  have=$(podman image inspect "$image" --format '{{ index .Labels "fleetsec.recipe" }}' 2>/dev/null || true)
  if [ "$have" = "$hash" ]; then
    log "reusing $image (recipe sha256 prefix $hash)"
    echo "$conf"
    exit 0
  fi
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap)"
debootstrap_source
scratch_rootfs container-build

start=$(date +%s)
log "debootstrap --variant=minbase $suite from $mirror ..."
debootstrap_retry "$work/debootstrap.log" --variant=minbase --include=python3,python3-apt,sudo "$suite" "$rootfs" "$mirror"
# keep /var/lib/apt/lists: the scenario installs packages without a separate "apt-get update".
# No Recommends, as in minimal container images: the policy tools' Recommends pull in hundreds of
# MB (python3-sympy, ...) and minutes of dpkg time that the scenario does not need.
printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/90fleetsec-no-recommends"
chroot "$rootfs" apt-get clean
rm -f "$rootfs"/var/log/*.log
log "importing as $image ..."
tar --numeric-owner -C "$rootfs" -c . | podman import \
  --change "LABEL fleetsec.recipe=$hash" --change 'CMD ["/bin/bash"]' - "$image" >&2
log "image $image ready in $(( $(date +%s) - start )) s"
echo "$conf"
