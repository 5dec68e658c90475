# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: every external tool fleetsec.selinux runs, each declared ONCE (binary, accepted exit codes, the package
that provides it). Whether a call changes the host is said where it is made (:meth:`Runner.change` vs
:meth:`Runner.run`), not here: the same ``semodule`` lists modules and installs them.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Command


LIBSELINUX_UTILS = 'libselinux-utils (EL) or selinux-utils (Debian)'
PYTHON_UTILS = 'policycoreutils-python-utils (EL8+, Debian) or policycoreutils-python (EL6/EL7)'
SETOOLS = 'setools-console (EL) or setools (Debian)'

CATALOGUE = {
    # SELinux state
    'getenforce': Command('getenforce', package_hint=LIBSELINUX_UTILS),
    'setenforce': Command('setenforce', package_hint=LIBSELINUX_UTILS),
    'sestatus': Command('sestatus', package_hint='policycoreutils'),
    'semanage': Command('semanage', package_hint=PYTHON_UTILS),
    'getsebool': Command('getsebool', package_hint=LIBSELINUX_UTILS),
    'setsebool': Command('setsebool', package_hint='policycoreutils'),
    'matchpathcon': Command('matchpathcon', package_hint=LIBSELINUX_UTILS),
    # the module store
    'semodule': Command('semodule', package_hint='policycoreutils'),
    'hll_pp': Command('/usr/libexec/selinux/hll/pp'),
    'hll_pp_lib': Command('/usr/lib/selinux/hll/pp'),
    'chcon': Command('chcon', package_hint='coreutils'),
    'restorecon': Command('restorecon', package_hint='policycoreutils'),
    # building a module
    'audit2allow': Command('audit2allow', package_hint=PYTHON_UTILS),
    'audit2why': Command('audit2why', package_hint=PYTHON_UTILS),
    'sepolgen_ifgen': Command('sepolgen-ifgen', package_hint='policycoreutils-devel (EL) or policycoreutils-dev (Debian)'),
    'checkmodule': Command('checkmodule', package_hint='checkpolicy'),
    'semodule_package': Command('semodule_package', package_hint='policycoreutils (EL) or semodule-utils (Debian)'),
    'make': Command('make', package_hint='make and selinux-policy-devel (EL) or selinux-policy-dev (Debian)'),
    # reading the built policy
    'sesearch': Command('sesearch', package_hint=SETOOLS),
    'seinfo': Command('seinfo', package_hint=SETOOLS),
    # reading denials (rc 1: nothing matched)
    'ausearch': Command('ausearch', ok_rcs=(0, 1), package_hint='audit (auditd)'),
    'journalctl': Command('journalctl', ok_rcs=(0, 1), package_hint='systemd'),
    # which package owns a directory (a file-context rule for it needs an acknowledgement; rc 1: none does)
    'rpm': Command('rpm', ok_rcs=(0, 1)),
    'dpkg': Command('dpkg', ok_rcs=(0, 1)),
}
