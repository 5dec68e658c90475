#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The table of EL-faithful SELinux builds (sourced by tools/el/lib.sh). One function per row; a
# cache key covers only its own row (`declare -f`), so adding a row rebuilds nothing else.
# Every file named here is in the vendor directory (FLEETSEC_VENDOR, default ../shared/vendor beside the checkout,
# see its README.md) and is checked against its SHA256SUMS.

# shellcheck disable=SC2034  # the rows set variables for the scripts that source this file
# userspace_<major>_<minor>: one SELinux userspace release (tools/el/build-userspace.sh). A row sets only what
# differs from the defaults (empty; tools/el/lib.sh). Sets
#   tarball     the `git archive` of SELinuxProject/selinux at the release tag
#   build_env   NAME=value words put in the ENVIRONMENT of both make calls (CFLAGS there, not on
#               the make command line, keeps the top Makefile's `-I$DESTDIR/usr/include`; @DESTDIR@ is replaced)
#   make_vars   extra make variables for both make calls (given after the fixed ones, so they win; @DESTDIR@ is
#               replaced by the build's DESTDIR)
#   build_debs  extra Debian build dependencies, as host_packages pairs "path-or-command:package"
#   no_semanage why this release's semanage (and audit2why's explanations) cannot run here (empty: they must; the
#               build checks semanage starts)
#   src_fixes   "FILE:SED-EXPRESSION" words applied (sed -E) to the unpacked source before make: the known small
#               upstream fixes an old release needs to build with today's compiler and C library
# Both make calls always get DESTDIR, PREFIX=/usr, PYTHON=/usr/bin/python3 and
# OPT_SUBDIRS="python semodule-utils" (tools/el/build-userspace.sh).

# EL9 (RHEL 9.4 and later ship userspace 3.6).
userspace_3_6() {
  tarball=selinux-userspace-3.6.tar.gz
}

# EL7 (2.5 throughout 7.x). glibc >= 2.30 declares gettid(), which 2.5's procattr.c defines static: renamed, as
# upstream did later. Same CFLAGS and PYLIBS reasons as 2.9; 2.5 still uses PCRE 1 and libustr, and links checkpolicy with -lfl.
userspace_2_5() {
  tarball=selinux-userspace-20160223.tar.gz
  build_env=(CFLAGS="-O2 -Wall -fcommon -I@DESTDIR@/usr/include")   # 2.5 does not add the DESTDIR's headers itself
  # 2.5's Makefiles default PREFIX to $(DESTDIR)/usr: the PREFIX=/usr every build gets would install over the host
  make_vars=(PREFIX=@DESTDIR@/usr "PYLIBS=-lpython$("$el_python" -c 'import sysconfig; print(sysconfig.get_config_var("LDVERSION"))')")
  build_debs=(/usr/include/pcre.h:libpcre3-dev /usr/include/ustr.h:libustr-dev /usr/include/FlexLexer.h:libfl-dev /usr/lib/python3/dist-packages/IPy.py:python3-ipy)
  # RHEL 7's libsepol 2.5 knows the policy capabilities the RHEL 7.7 policy declares: extended_socket_class (2.5's
  # "redhat1", same number), cgroup_seclabel and nnp_nosuid_transition (upstream from 2.7 and 2.8, numbers 4 and 5
  # as in the kernel): checkmodule otherwise stops at "invalid policy capability name".
  # sepolgen's lex.py tests isinstance(x, collections.Callable), gone since Python 3.10: callable(x), as upstream did.
  # sepolicy's C extension needs setools 3 (libapol), which Debian 12 does not ship (setools 4 has no C library):
  # it is left out, and with it 2.5's semanage, whose seobject imports sepolicy (so: no semanage for EL7 here)
  src_fixes=('libselinux/src/procattr.c:s/\bgettid\(\)/selinux_gettid()/; s/^static pid_t gettid\(void\)/static pid_t selinux_gettid(void)/'
             'policycoreutils/Makefile:s/^SUBDIRS = sepolicy /SUBDIRS = /'
             'libsepol/include/sepol/policydb/polcaps.h:s/^(\tPOLICYDB_CAPABILITY_ALWAYSNETWORK,)$/\1\n\tPOLICYDB_CAPABILITY_CGROUPSECLABEL,\n\tPOLICYDB_CAPABILITY_NNP_NOSUID_TRANSITION,/'
             'libsepol/src/polcaps.c:s/^\t"redhat1",/\t"extended_socket_class",/; s/^(\t"always_check_network",.*)$/\1\n\t"cgroup_seclabel",\n\t"nnp_nosuid_transition",/'
             'sepolgen/src/sepolgen/lex.py:s/isinstance\(([a-z]+), collections\.Callable\)/callable(\1)/')
  no_semanage="2.5's seobject (imported by semanage, and by audit2why to explain) is Python 2 code and imports sepolicy, whose C extension needs setools 3 (libapol), absent on Debian 12"
}

# EL8 (2.9 throughout 8.x). GCC 12 defaults to -fno-common, which 2.9's libraries predate; CFLAGS in the
# environment keeps the top Makefile's include path. No `semodule -m` (checksums came with 3.x; RHEL
# backported them in 8.6, so the collection's fallback without checksums is what this row tests).
# 2.9 links audit2why.so with `-z defs` against `pkg-config --libs python-3.X`, which is empty since
# Python 3.8: PYLIBS names libpython itself.
userspace_2_9() {
  tarball=selinux-userspace-20190315.tar.gz
  build_env=(CFLAGS="-O2 -Wall -fcommon")
  make_vars=(USE_PCRE2=y "PYLIBS=-lpython$("$el_python" -c 'import sysconfig; print(sysconfig.get_config_var("LDVERSION"))')")
  build_debs=(/usr/lib/python3/dist-packages/IPy.py:python3-ipy)   # 2.9's seobject (semanage) imports IPy
}

# EL10 (3.7 in 10.0, 3.8 in the 10 stream).
userspace_3_8() {
  tarball=selinux-userspace-3.8.tar.gz
}

# store_<name>: one targeted policy store (tools/el/build-store.sh). A row sets only what differs from the defaults
# (tools/el/lib.sh: git layout, /var/lib/selinux, the rest empty). Sets
#   userspace         the userspace release whose checkpolicy/checkmodule/semodule build and load it
#   policy_tarball    fedora-selinux/selinux-policy at the branch the EL release follows
#   contrib_tarball   the tree's policy/modules/contrib when the branch keeps it in a separate repository
#                     (a git submodule until 2019: f28 and older); empty when the policy tarball has it
#   container_tarball containers/container-selinux: container.{te,if,fc} go into
#                     policy/modules/contrib (the policy calls its interfaces) as the Fedora spec's
#                     %prep does; like on EL the module itself is NOT in modules.conf
#   dist_tarball      Fedora's build config (modules-targeted-*.conf, booleans-targeted.conf, ...)
#   expect_modules    modules the finished store must list at priority 100 (the build's own check)
#   policy_layout     git (default: a git tree of the policy) or srpm (policy_tarball is the content of a source
#                     package: serefpolicy(-contrib) tarballs, patches, dist config, spec; dist_tarball unused)
#   srpm_patches      base:FILE or contrib:FILE words, the spec's %patch lines in order (srpm layout)
#   drop_modules      modules the spec's %prep removes from the tree
#   tree_fixes        "FILE:SED-EXPRESSION" words applied (sed -E) to the policy tree after %prep: what the release's
#                     own userspace was patched to accept and the upstream release built here does not
#   policy_make_vars  extra variables of every policy make (@TOOLCHAIN@: the userspace's DESTDIR)
#   store_root        libsemanage's store-root (default /var/lib/selinux; EL7 keeps its store in /etc/selinux)
#   backports         what a branch tip that was never built again lacks, taken from backport_tarball (a later branch):
#                     MODULE.if:INTERFACE  an interface the tree calls but never defines, appended to its .if
#                     PATH                 a file the tree's Makefile installs but the tree lacks

# EL9: CentOS Stream 9 policy, container-selinux v2.189.0 (newer tags use the user_namespace class,
# which c9s does not define), Fedora's config of mid-2024.
store_el9() {
  userspace=3.6
  policy_tarball=selinux-policy-c9s.tar.gz
  container_tarball=container-selinux-v2.189.0.tar.gz
  dist_tarball=selinux-policy-dist-fedora-a940eec3.tar.gz
  expect_modules=(base apache chronyd ntp permissivedomains)
}

# EL10: CentOS Stream 10 policy, the same container-selinux and Fedora config as EL9.
store_el10() {
  userspace=3.8
  policy_tarball=selinux-policy-c10s.tar.gz
  container_tarball=container-selinux-v2.189.0.tar.gz
  dist_tarball=selinux-policy-dist-fedora-a940eec3.tar.gz
  expect_modules=(base apache chronyd ntp permissivedomains)
}

# EL8: RHEL 8 branched its policy (3.14.x) from Fedora 28: the f28 branch with its contrib submodule.
store_el8() {
  userspace=2.9
  policy_tarball=selinux-policy-f28.tar.gz
  contrib_tarball=selinux-policy-contrib-f28.tar.gz
  container_tarball=container-selinux-v2.189.0.tar.gz
  dist_tarball=selinux-policy-dist-fedora-a940eec3.tar.gz
  expect_modules=(base apache chronyd ntp permissivedomains)
  # the contrib f28 tip's chronyd.te calls rolekit_dgram_send, which its rolekit.if never got (checkmodule: syntax
  # error at that token; every other module of the tip builds); the f28 Makefile installs lxc_contexts and
  # snapperd_contexts, which its appconfig-mcs lacks (`make install`: no rule to make target)
  backports=(rolekit.if:rolekit_dgram_send config/appconfig-mcs/lxc_contexts config/appconfig-mcs/snapperd_contexts)
  backport_tarball=selinux-policy-c9s.tar.gz
}

# EL7: the content of RHEL 7.7's selinux-policy source package (3.13.1-252.el7_7.6), built as its spec does (%prep
# patches, makeCmds with `bare`, installCmds), with userspace 2.5. RHEL 7 keeps the store in /etc/selinux.
store_el7() {
  userspace=2.5
  policy_layout=srpm
  policy_tarball=selinux-policy-el7-3.13.1-252.el7_7.6.tar.gz
  srpm_patches=(contrib:policy-rhel-7.7-contrib.patch contrib:policy-rhel-7.7.z-contrib.patch base:policy-rhel-7.7-base.patch)
  drop_modules=(kubernetes)
  # RHEL 7's 2.5 also backports SCTP port contexts (upstream from 2.8: parser, CIL, pp conversion); upstream 2.5's
  # checkmodule stops at "unrecognized protocol sctp". The policy's three sctp portcon lines are left out.
  tree_fixes=('policy/modules/kernel/corenetwork.te.in:/^portcon sctp /d')
  # installCmds: SEMOD_EXP="/usr/bin/semodule_expand -a" (validate links and expands WITHOUT checking the
  # neverallow rules; with them: 51 violations)
  policy_make_vars=('SEMOD_EXP=@TOOLCHAIN@/usr/bin/semodule_expand -a')
  store_root=/etc/selinux
  expect_modules=(base apache chronyd ntp permissivedomains)
}

# setools_<major>_<minor>_<patch>: one setools release, what EL ships as setools-console (tools/el/build-setools.sh
# VERSION USERSPACE X.Y: compiled with the release's Python against the release's userspace). Sets
#   setools_tarball  the `git archive` of SELinuxProject/setools (setools 3: OwlCyberDefense/setools3) at the tag
#   setools_fixes    "FILE:SED-EXPRESSION" words applied (sed -E) to the unpacked source, as src_fixes above
#   setools_runtime  packages the tools import at run time besides setools, pinned, installed from the pip registry
#                    into the tools' venv (empty: none)
# Which setools a release has is tools/test.sh's EL_RELEASES (with its userspace and Python).

# EL9 (setools 4.4.x; 4.4.4 is the release that builds against libsepol 3.6).
setools_4_4_4() {
  setools_tarball=setools-4.4.4.tar.gz
}

# EL8 (4.3.0 throughout 8.x). Its setup.py compiles with -Werror, which GCC 12's warnings on the generated C stop (EL8
# patches -Werror out as well). 4.3 imports networkx whatever the tool (optional from 4.4.2): EL8's python3-setools
# requires python3-networkx; 2.5.1 is the last networkx for Python 3.6, with the decorator it needs.
setools_4_3_0() {
  setools_tarball=setools-4.3.0.tar.gz
  setools_fixes=("setup.py:s/'-Werror', //")
  setools_runtime=(networkx==2.5.1 decorator==4.4.2)
}

# EL10 (4.5.1 in 10.0; reads policy version 34).
setools_4_5_1() {
  setools_tarball=setools-4.5.1.tar.gz
}

# EL7 (setools-console 3.3.8 throughout 7.x): setools 3, C and autotools, no Python (tools/el/build-setools3.sh
# VERSION USERSPACE; the matrix's Python column does not apply), libqpol linked with the userspace's static libsepol.
setools_3_3_8() {
  setools_tarball=setools-3.3.8.tar.gz
  # libsepol 2.4 renamed class_perm_node's `class` to `tclass` (what every setools 3 built against libsepol >= 2.4 needs).
  # libsepol 2.5's policydb_read puts every type into its own attr_type_map entry (the type itself); libqpol's
  # qpol_policy_build_attrs_from_map turns every non-empty entry into an attribute, so all 4793 types of the EL7
  # policy became attributes (seinfo: "Types: 0  Attributes: 5051", `seinfo -t` empty): only entries that are not a
  # declared type are attributes. (RHEL 7's seinfo counts the types; its exact patch is not in the vendor tree.)
  setools_fixes=('libqpol/src/policy_define.c:s/\b(perm|cur_perms)->class = /\1->tclass = /'
                 'libqpol/src/policy_extend.c:s/class_node->class;/class_node->tclass;/'
                 'libqpol/src/syn_rule_query.c:s/(srcs->cur|node)->class\b/\1->tclass/g'
                 'libqpol/src/policy_extend.c:s/^(\t\tcount = 0;)$/\1\n\t\tif (db->type_val_to_struct[i] \&\& db->type_val_to_struct[i]->flavor != TYPE_ATTRIB)\n\t\t\tcontinue;/')
}

# pyvenv_<major>_<minor>: the build venv of one pyenv Python (tools/el/setools-audit-lib.sh build_pyvenv): setools 4's
# setup.py imports Cython and setuptools. Pinned, from the pip registry (the only network a build uses). Sets
#   pip_req     a pip to install first (empty: ensurepip's)
#   build_reqs  the packages, pinned
# Cython 0.29.37: the last 0.29 (the series EL8 and EL9 build setools with), with wheels for Python 3.6 to 3.12.
pyvenv_3_9() {
  build_reqs=(Cython==0.29.37 setuptools==69.5.1 wheel==0.43.0)
}
pyvenv_3_6() {
  pip_req=pip==21.3.1                 # the last pip for 3.6
  build_reqs=(Cython==0.29.37 setuptools==59.6.0 wheel==0.37.1)   # the last setuptools and wheel for 3.6
}
pyvenv_3_12() {
  build_reqs=(Cython==0.29.37 setuptools==69.5.1 wheel==0.43.0)
}

# audit_<major>_<minor>_<patch>: one audit userspace release: ausearch, aureport and the libauparse they link
# (tools/el/build-audit.sh VERSION). Sets
#   audit_tarball    the `git archive` of linux-audit/audit-userspace at the tag
#   audit_configure  the options of the release's own audit.spec %configure that change what ausearch and aureport
#                    read and print: the syscall tables of other machines (--with-arm, --with-aarch64, --with-riscv)
#                    and io_uring operation names; the rest of the spec's options build daemons and bindings that
#                    are not built here
#   audit_env        NAME=value words put in the environment of configure and make
#   audit_fixes      "FILE:SED-EXPRESSION" words applied (sed -E) to the unpacked source
# Which audit a release has is tools/test.sh's EL_RELEASES.

# EL9 (audit-libs 3.1.5 in 9.6).
audit_3_1_5() {
  audit_tarball=audit-userspace-3.1.5.tar.gz
  audit_configure=(--with-arm --with-aarch64 --with-io_uring)
}

# EL8 (audit-libs 3.1.2 in 8.10).
audit_3_1_2() {
  audit_tarball=audit-userspace-3.1.2.tar.gz
  audit_configure=(--with-arm --with-aarch64 --with-io_uring)
}

# EL7 (audit-libs 2.8.5 in 7.8 and 7.9). The tarball's audit.spec configures no other machine's syscall tables, and
# 2.8.5 has no io_uring names. GCC 12 defaults to -fno-common, which 2.8.5's ausearch and aureport predate (upstream
# fixed the shared globals in 3.0).
audit_2_8_5() {
  audit_tarball=audit-userspace-2.8.5.tar.gz
  audit_env=(CFLAGS="-O2 -fcommon")
  # Linux 5.15 dropped <linux/ipx.h> from its headers (Debian 12's linux-libc-dev 6.1): auparse's one use of it, the
  # sockaddr_ipx it prints as "{ fam=ipx lport=... ipx-net=... }", gets that header's struct, so the output is 2.8.5's
  audit_fixes=('auparse/interpret.c:s|^#include <linux/ipx.h>$|struct sockaddr_ipx { unsigned short sipx_family; unsigned short sipx_port; unsigned int sipx_network; unsigned char sipx_node[6]; unsigned char sipx_type; unsigned char sipx_zero; };  /* <linux/ipx.h>, gone from Linux 5.15 headers */|')
}

# EL10 (4.0.x in 10.0).
audit_4_0_3() {
  audit_tarball=audit-userspace-4.0.3.tar.gz
  audit_configure=(--with-arm --with-aarch64 --with-riscv --with-io_uring)
}
