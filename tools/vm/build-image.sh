#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (or reuse) the EL9-like VM image: a Debian 12 (bookworm) system (kernel, systemd, sshd, auditd,
# python3) whose SELinux is that of EL9: the SELinux userspace 3.6 (libraries, tools, python modules,
# installed over Debian's 3.4 where EL9 has them) and the CentOS Stream 9 *targeted* policy store
# (SELINUXTYPE=targeted), both built from ../shared/vendor by tools/el/ (build-userspace.sh 3.6,
# build-store.sh el9). ENFORCING from the first boot: the root file system is labelled OFFLINE with the
# targeted file contexts (setfiles in a chroot); there is no autorelabel. Debian's refpolicy is removed
# from the image (it stays covered by the offline-store tests).
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

LOG_TAG=build-image
recipe=$(readlink -f "${BASH_SOURCE[0]}")
# shellcheck source=tools/debootstrap-lib.sh
. "$(dirname "$recipe")/../debootstrap-lib.sh"   # and tools/lib.sh
# the EL9 userspace and store (built first when missing; cached by their own keys, which enter this one)
eldir="$(dirname "$recipe")/../el"
el_userspace=$("$eldir/build-userspace.sh" 3.6 | tail -1)
el_store=$("$eldir/build-store.sh" el9 | tail -1)
if [ ! -f "$el_userspace/.complete" ] || [ ! -f "$el_store/.complete" ]; then die "EL9 userspace or store build failed"; fi
hash=$(recipe_key "$recipe" "$(basename "$el_userspace")" "$(basename "$el_store")")
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
  # /etc/protocols and /etc/services (every EL host has them, from the setup package): semanage port resolves
  # the protocol name with getprotobyname ("OSError: protocol not found" without it)
  netbase
  selinux-basics selinux-policy-default selinux-policy-dev selinux-utils
  policycoreutils policycoreutils-python-utils checkpolicy semodule-utils setools
  linux-image-amd64
)
start=$(date +%s)
log "debootstrap --variant=minbase ($((${#packages[@]})) extra packages) ..."
include=$(IFS=,; echo "${packages[*]}")
debootstrap_retry "$work/debootstrap.log" --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror"
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

chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log

# --- EL9 SELinux userspace 3.6 over Debian's 3.4: the libraries where the loader finds them, the
# tools where EL9 has them (usr-merged: /sbin is /usr/sbin), the python modules first on sys.path --
D="$el_userspace/D"
multiarch="$rootfs/usr/lib/x86_64-linux-gnu"
install -m 0755 "$D/lib/libselinux.so.1" "$D/lib/libsepol.so.2" "$D/usr/lib/libsemanage.so.2" "$multiarch/"
for dir in sbin usr/sbin usr/bin; do
  for tool in "$D/$dir"/*; do
    case "$(basename "$tool")" in newrole|run_init|open_init_pty) continue ;; esac
    install -m 0755 "$tool" "$rootfs/usr/${dir#usr/}/"
  done
done
mkdir -p "$rootfs/usr/libexec" "$rootfs/usr/local/lib" "$rootfs/var/lib/sepolgen"
cp -a "$D/usr/libexec/selinux" "$rootfs/usr/libexec/"
cp -a "$D/usr/local/lib/python3.11" "$rootfs/usr/local/lib/"
# sepolgen-ifgen names its attribute helper by the build's path (build-userspace.sh): here it is /usr/bin's
sed -i "s#$D##g" "$rootfs/usr/bin/sepolgen-ifgen"
if grep -rlsF "$el_userspace" "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/libexec/selinux" -I; then
  die "the files above still name the build cache (text files only; binaries keep a run path the guest does not have)"
fi
chroot "$rootfs" ldconfig
got=$(chroot "$rootfs" semodule --help 2>&1 | grep -c -- '--checksum' || true)
[ "$got" -ge 1 ] || die "semodule in the image is not userspace 3.6 (no --checksum)"
chroot "$rootfs" python3 -c 'import selinux, seobject, sepolgen; assert selinux.__file__.startswith("/usr/local/")' \
  || die "python in the image does not import the 3.6 selinux modules first"

# --- the c9s targeted policy store and its devel files, instead of Debian's refpolicy -------------
S="$el_store/root"
rm -rf "$rootfs/etc/selinux/default" "$rootfs/var/lib/selinux/default" "$rootfs/usr/share/selinux/devel"
cp -a "$S/etc/selinux/targeted" "$rootfs/etc/selinux/"
mkdir -p "$rootfs/var/lib/selinux" "$rootfs/usr/share/selinux"
cp -a "$S/var/lib/selinux/targeted" "$rootfs/var/lib/selinux/"
cp -a "$S/usr/share/selinux/devel" "$rootfs/usr/share/selinux/"
cp -a "$S/var/lib/sepolgen/." "$rootfs/var/lib/sepolgen/"   # interface_info for audit2allow -R, perm_map
# EL9's stock semanage.conf: the store's without the three paths the offline store needs (compiler-directory and the
# [setfiles] block go: libsemanage then runs its built-in /usr/libexec/selinux/hll/pp and /sbin/setfiles, the 3.6
# ones installed above; sefcontext_compile's path is /usr/sbin's, as in EL9's file), so that the VM meets the
# converter lookup of a stock EL host (_host_facts.pp_converter finds no compiler-directory)
sed -e "s#$D##g" -e '/^compiler-directory/d' -e '/^\[setfiles\]/,/^\[end\]/d' \
  -e '1,2c # EL9 libsemanage semanage.conf (tools/vm/build-image.sh: the EL9-like VM)' \
  "$S/etc/selinux/semanage.conf" >"$rootfs/etc/selinux/semanage.conf"
grep -q "$el_userspace" "$rootfs/etc/selinux/semanage.conf" && die "semanage.conf still points into the build cache"
grep -Eq '^(compiler-directory|\[setfiles\])' "$rootfs/etc/selinux/semanage.conf" && die "semanage.conf is not EL9's stock file"
[ -x "$rootfs/usr/libexec/selinux/hll/pp" ] || die "no /usr/libexec/selinux/hll/pp (libsemanage's built-in converter)"
cp "$S/etc/selinux/config" "$rootfs/etc/selinux/config"
if ! grep -q '^SELINUX=enforcing$' "$rootfs/etc/selinux/config" \
  || ! grep -q '^SELINUXTYPE=targeted$' "$rootfs/etc/selinux/config"; then
  die "could not set SELINUX=enforcing, SELINUXTYPE=targeted"
fi
rm -f "$rootfs/.autorelabel"

# --- offline labelling: setfiles labels nothing unless /proc is mounted in the chroot -----------
mount -t proc proc "$rootfs/proc"
chroot "$rootfs" setfiles -m -F -e /proc -e /sys -e /dev -e /run \
  /etc/selinux/targeted/contexts/files/file_contexts / >&2
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
