#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) the Debian 12 (bookworm) VM image with SELinux ENFORCING, refpolicy "default",
# auditd, openssh-server, python3 and the policy tools. The root file system is labelled OFFLINE
# (setfiles in a chroot) so the very first boot is already enforcing; there is no autorelabel.
#
# Output (cached outside the repository, keyed by the sha256 of THIS file, so a changed recipe
# rebuilds and an unchanged one is reused):
#   ${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}/vm-<hash>/{vmlinuz,initrd.img,base.qcow2,id_ed25519,id_ed25519.pub}
# The image directory is printed as the LAST line on stdout; progress goes to stderr.
#
# Usage: tools/vm/build-image.sh [--force]
# Environment:
#   FLEETSEC_CACHE   cache directory (default ~/.cache/fleetsec-selinux)
#   FLEETSEC_MIRROR  Debian mirror for debootstrap (default: the one apt already uses for bookworm/main)
# Needs root (debootstrap, chroot). Installs its own host packages with apt-get when missing.
set -euo pipefail

log() { printf '[build-image] %s\n' "$*" >&2; }
die() { printf '[build-image] ERROR: %s\n' "$*" >&2; exit 1; }

recipe=$(readlink -f "${BASH_SOURCE[0]}")
lib="$(dirname "$recipe")/../debootstrap-lib.sh"
# shellcheck source=tools/debootstrap-lib.sh
. "$lib"
hash=$(cat "$recipe" "$lib" | sha256sum | cut -c1-16)
cache=${FLEETSEC_CACHE:-$HOME/.cache/fleetsec-selinux}
out="$cache/vm-$hash"
suite=bookworm
force=0
[ "${1:-}" = "--force" ] && force=1

if [ "$force" -eq 0 ] && [ -f "$out/.complete" ]; then
  log "reusing cached image $out (recipe sha256 prefix $hash)"
  echo "$out"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot need it)"

# --- host tools -------------------------------------------------------------------------------
host_packages debootstrap:debootstrap qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils mkfs.ext4:e2fsprogs \
  ssh-keygen:openssh-client /usr/share/keyrings/debian-archive-keyring.gpg:debian-archive-keyring

# --- mirror: the one apt already uses for bookworm/main (never hard-coded here) -----------------
debootstrap_source

# --- build in a scratch directory, move into place at the end ---------------------------------
scratch_rootfs build

packages=(
  systemd-sysv udev dbus kmod iproute2 procps sudo less
  openssh-server python3 python3-apt auditd
  selinux-basics selinux-policy-default selinux-policy-dev selinux-utils
  policycoreutils policycoreutils-python-utils checkpolicy semodule-utils setools
  linux-image-amd64
)
start=$(date +%s)
log "debootstrap --variant=minbase ($((${#packages[@]})) extra packages) ..."
include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
log "debootstrap done in $(( $(date +%s) - start )) s"

# --- guest configuration ----------------------------------------------------------------------
echo fleetsec-vm >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tfleetsec-vm\n' >"$rootfs/etc/hosts"
printf '/dev/vda\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' >"$rootfs/etc/fstab"
cat >"$rootfs/etc/systemd/network/10-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
chroot "$rootfs" systemctl enable systemd-networkd.service >&2
chroot "$rootfs" systemctl mask systemd-networkd-wait-online.service >&2
# The guest has no DNS (user-mode network with restrict=on): do not let sshd wait for reverse look-ups.
printf 'UseDNS no\nGSSAPIAuthentication no\nPermitRootLogin prohibit-password\n' >"$rootfs/etc/ssh/sshd_config.d/fleetsec.conf"

key="$work/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C fleetsec-vm -f "$key"
install -d -m 0700 "$rootfs/root/.ssh"
install -m 0600 "$key.pub" "$rootfs/root/.ssh/authorized_keys"

sed -i -e 's/^SELINUX=.*/SELINUX=enforcing/' -e 's/^SELINUXTYPE=.*/SELINUXTYPE=default/' "$rootfs/etc/selinux/config"
grep -q '^SELINUX=enforcing$' "$rootfs/etc/selinux/config" || die "could not set SELINUX=enforcing"
rm -f "$rootfs/.autorelabel"

# audit2allow -R needs the interface database; build it now rather than in every test run.
chroot "$rootfs" sepolgen-ifgen >"$work/ifgen.log" 2>&1 || log "warning: sepolgen-ifgen failed (audit2allow -R unavailable): $(tail -1 "$work/ifgen.log")"

chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log

# --- offline labelling: setfiles labels nothing unless /proc is mounted in the chroot -----------
mount -t proc proc "$rootfs/proc"
chroot "$rootfs" setfiles -m -F -e /proc -e /sys -e /dev -e /run \
  /etc/selinux/default/contexts/files/file_contexts / >&2
umount "$rootfs/proc"
label=$(getfattr --absolute-names -n security.selinux --only-values "$rootfs/etc/shadow" 2>/dev/null || true)
if [ -z "$label" ]; then
  label=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "security.selinux").decode().rstrip("\0"))' "$rootfs/etc/shadow" 2>/dev/null || true)
fi
case "$label" in
  *shadow_t*) log "offline labelling ok (/etc/shadow is $label)";;
  *) die "offline labelling failed: /etc/shadow label is '${label:-none}'";;
esac

# --- kernel, initrd, disk ---------------------------------------------------------------------
mkdir -p "$work/out"
newest() { printf '%s\n' "$@" | sort -V | tail -1; }
cp "$(newest "$rootfs"/boot/vmlinuz-*)" "$work/out/vmlinuz"
cp "$(newest "$rootfs"/boot/initrd.img-*)" "$work/out/initrd.img"
mkfs.ext4 -q -F -L fleetsec-root -d "$rootfs" "$work/disk.raw" 4G
qemu-img convert -c -O qcow2 "$work/disk.raw" "$work/out/base.qcow2"
mv "$key" "$key.pub" "$work/out/"
cp "$recipe" "$work/out/recipe.sh"
touch "$work/out/.complete"

rm -rf "$out"
mv "$work/out" "$out"
log "image ready in $(( $(date +%s) - start )) s: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
