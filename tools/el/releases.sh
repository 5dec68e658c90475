#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The table of EL-faithful SELinux builds (sourced by tools/el/lib.sh). One function per row; a
# cache key covers only its own row (`declare -f`), so adding a row rebuilds nothing else.
# Every file named here is in the vendor directory (FLEETSEC_VENDOR, default ../shared/vendor beside the checkout,
# see its README.md) and is checked against its SHA256SUMS.

# shellcheck disable=SC2034  # the rows set variables for the scripts that source this file
# userspace_<major>_<minor>: one SELinux userspace release (tools/el/build-userspace.sh). Sets
#   tarball     the `git archive` of SELinuxProject/selinux at the release tag
#   build_env   NAME=value words put in the ENVIRONMENT of both make calls (CFLAGS there, not on
#               the make command line, keeps the top Makefile's `-I$DESTDIR/usr/include`)
#   make_vars   extra make variables for both make calls
#   build_debs  extra Debian build dependencies, as host_packages pairs "path-or-command:package"
# Both make calls always get DESTDIR, PREFIX=/usr, PYTHON=/usr/bin/python3 and
# OPT_SUBDIRS="python semodule-utils" (tools/el/build-userspace.sh).
#
# Rows measured in /work/shared/vendor/README.md that can be added the same way:
#   2.9 (EL8): tarball=selinux-userspace-20190315.tar.gz build_env=(CFLAGS="-O2 -Wall -fcommon")
#              make_vars=(USE_PCRE2=y)   (no `semodule -m` in 2.9; libraries also land in D/lib)
#   3.8 (EL10): tarball=selinux-userspace-3.8.tar.gz, otherwise like 3.6 (not built yet)

# EL9 (RHEL 9.4 and later ship userspace 3.6).
userspace_3_6() {
  tarball=selinux-userspace-3.6.tar.gz
  build_env=()
  make_vars=()
  build_debs=()
}

# store_<name>: one targeted policy store (tools/el/build-store.sh). Sets
#   userspace         the userspace release whose checkpolicy/checkmodule/semodule build and load it
#   policy_tarball    fedora-selinux/selinux-policy at the branch the EL release follows
#   container_tarball containers/container-selinux: container.{te,if,fc} go into
#                     policy/modules/contrib (the policy calls its interfaces) as the Fedora spec's
#                     %prep does; like on EL the module itself is NOT in modules.conf
#   dist_tarball      Fedora's build config (modules-targeted-*.conf, booleans-targeted.conf, ...)
#   expect_modules    modules the finished store must list at priority 100 (the build's own check)

# EL9: CentOS Stream 9 policy, container-selinux v2.189.0 (newer tags use the user_namespace class,
# which c9s does not define), Fedora's config of mid-2024.
store_el9() {
  userspace=3.6
  policy_tarball=selinux-policy-c9s.tar.gz
  container_tarball=container-selinux-v2.189.0.tar.gz
  dist_tarball=selinux-policy-dist-fedora-a940eec3.tar.gz
  expect_modules=(base apache chronyd ntp permissivedomains)
}
