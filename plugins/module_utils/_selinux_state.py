# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the running SELinux state of a host, and what a mode request means for it.

Reads without the libselinux Python bindings (they are missing from the
Python of many targets): the selinuxfs mount from ``/proc/mounts`` and its
``enforce`` file, ``getenforce``/``sestatus`` as fallbacks and for the loaded
policy name, ``/etc/os-release`` for the EL major version, ``semanage
permissive -l`` for permissive domains and ``seinfo --type`` to validate type
names.  Changes go through ``setenforce`` (or the ``enforce`` file) and one
``semanage import`` transaction for all permissive domain changes, so a bad
type name changes nothing.

:func:`plan_mode` is pure: it turns a request and the current state into the
targets to reach, the warnings to give and whether a reboot is required.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os
import re

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Command, FleetsecError


MODES = ('enforcing', 'permissive', 'disabled')
ENABLED = ('enforcing', 'permissive')
RELABEL_FLAG = '/.autorelabel'
PROC_MOUNTS = '/proc/mounts'
OS_RELEASE_PATHS = ('/etc/os-release', '/usr/lib/os-release')
# The context of this process: 'kernel' while selinuxfs is mounted but no policy is loaded (the
# EL9+ "SELINUX=disabled" boot, or a kernel without runtime disable), which getenforce calls Disabled.
ATTR_CURRENT_PATHS = ('/proc/self/attr/selinux/current', '/proc/self/attr/current')
TYPE_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
EL_IDS = ('rhel', 'centos', 'rocky', 'almalinux', 'ol', 'cloudlinux', 'eurolinux', 'navy', 'circle')

COMMANDS = {
    'getenforce': Command('getenforce', package_hint='libselinux-utils (EL) or selinux-utils (Debian)'),
    'setenforce': Command('setenforce', mutating=True, package_hint='libselinux-utils (EL) or selinux-utils (Debian)'),
    'sestatus': Command('sestatus', package_hint='policycoreutils'),
    'semanage_list': Command('semanage', args=['permissive', '-l'],
                             package_hint='policycoreutils-python-utils (EL8+, Debian) or policycoreutils-python (EL7)'),
    'semanage_import': Command('semanage', args=['import'], mutating=True,
                               package_hint='policycoreutils-python-utils (EL8+, Debian) or policycoreutils-python (EL7)'),
    'seinfo': Command('seinfo', args=['--type'], package_hint='setools-console (EL) or setools (Debian)'),
}


class ModeError(FleetsecError):
    """A request that cannot be carried out on this host (nothing was changed)."""


# ---------------------------------------------------------------- parsers (pure)

def parse_mounts(text):
    """Mount point of the selinuxfs in ``/proc/mounts`` text, or None when not mounted."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == 'selinuxfs':
            return fields[1].replace('\\040', ' ')
    return None


def parse_enforce(text):
    """Mode from the content of ``<selinuxfs>/enforce``."""
    value = text.strip()
    if value == '1':
        return 'enforcing'
    if value == '0':
        return 'permissive'
    raise FleetsecError('Unexpected content %r in the selinuxfs enforce file.' % value)


def parse_getenforce(text):
    value = text.strip().lower()
    if value not in MODES:
        raise FleetsecError('Unexpected getenforce output %r.' % text.strip())
    return value


def parse_sestatus(text):
    """``sestatus`` output as a dict with lower-case keys (``loaded policy name``, ``current mode``...)."""
    info = {}
    for line in text.splitlines():
        if ':' not in line:
            continue
        key, value = line.split(':', 1)
        key = key.strip().lower()
        if key and key not in info:
            info[key] = value.strip()
    return info


def parse_os_release(text):
    info = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in ('"', "'"):
            value = value[1:-1]
        info[key.strip()] = value
    return info


def el_major(os_release):
    """Major version of an Enterprise Linux (RHEL and rebuilds), else None."""
    ids = [os_release.get('ID', '').lower()] + os_release.get('ID_LIKE', '').lower().split()
    if not ('rhel' in ids or ids[0] in EL_IDS):
        return None
    match = re.match(r'^(\d+)', os_release.get('VERSION_ID', ''))
    return int(match.group(1)) if match else None


def parse_permissive_list(text):
    """``semanage permissive -l`` → ``(builtin, customized)`` lists of type names."""
    builtin, customized = [], []
    section = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        lowered = stripped.lower()
        if lowered.startswith('builtin permissive types'):
            section = builtin
        elif lowered.startswith('customized permissive types'):
            section = customized
        elif section is not None:
            section.append(stripped)
        else:
            raise FleetsecError('Unexpected line %r in the output of semanage permissive -l.' % stripped)
    return builtin, customized


def parse_seinfo_types(text):
    """Type names listed by ``seinfo --type`` (setools 3 and 4)."""
    names = set()
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.endswith(':') or re.match(r'^Types:\s*\d+$', stripped):
            continue
        names.add(stripped.split()[0])
    return names


# ---------------------------------------------------------------- decisions (pure)

class Plan(object):
    """What a request means on this host: targets (None = leave alone) and consequences."""

    def __init__(self):
        self.runtime_target = None
        self.config_mode = None
        self.relabel = False
        self.reboot_required = False
        self.notes = []
        self.warnings = []


def el9_disabled_caveat(major):
    return (
        'On EL %d, SELINUX=disabled in the config file no longer disables SELinux: the kernel boots with SELinux '
        'enabled and no policy loaded. To disable it, add the kernel argument selinux=0 '
        '(grubby --update-kernel ALL --args selinux=0) and reboot.' % major
    )


def plan_mode(state, scope, autorelabel, runtime, policy_change=False, el=None):
    """Decide what to do for ``state`` in ``scope`` given the ``runtime`` mode.

    ``policy_change``: the config's policy type will differ from the loaded one.
    Requests the running kernel cannot satisfy (enabling a disabled SELinux, disabling it) change what
    can be changed and report ``reboot_required``; they never pretend the runtime changed.
    """
    plan = Plan()
    if state is not None and scope in ('both', 'runtime'):
        if runtime == state:
            pass
        elif runtime == 'disabled':
            # Only a boot with SELINUX=enforcing|permissive in the config can enable SELinux.
            plan.reboot_required = True
            if scope == 'runtime':
                plan.warnings.append(
                    'SELinux is disabled in the running kernel, so its mode cannot be set to %s at runtime; nothing '
                    'was changed. Use scope=both or scope=config, then reboot.' % state)
                plan.notes.append('runtime cannot leave disabled without a reboot')
        elif state == 'disabled':
            # Only a boot with SELINUX=disabled (EL9+: the selinux=0 kernel argument) can disable SELinux.
            plan.reboot_required = True
            if runtime == 'enforcing':
                plan.runtime_target = 'permissive'
                plan.notes.append('runtime set to permissive until a reboot disables SELinux')
            if scope == 'runtime':
                plan.warnings.append(
                    'SELinux cannot be disabled at runtime: set SELINUX=disabled with scope=both or scope=config and '
                    'reboot.')
        else:
            plan.runtime_target = state

    if state is not None and scope in ('both', 'config'):
        plan.config_mode = state
        if state in ENABLED and runtime == 'disabled':
            plan.reboot_required = True
            if autorelabel:
                plan.relabel = True
                if state == 'enforcing':
                    plan.config_mode = 'permissive'
                    plan.notes.append(
                        'SELinux is disabled in the running kernel: config set to permissive first (not enforcing) with a '
                        'relabel on the next boot; reboot, then run again to reach enforcing')
            else:
                plan.warnings.append(
                    'SELinux is disabled in the running kernel and autorelabel=false: files created meanwhile are '
                    'unlabelled, and booting straight into %s can deny access to them (sshd included).' % state)
        if state == 'disabled':
            if runtime in ENABLED:
                plan.reboot_required = True
            if el is not None and el >= 9:
                plan.warnings.append(el9_disabled_caveat(el))
                plan.notes.append('on EL %d the kernel argument selinux=0 is needed to disable SELinux' % el)

    if policy_change:
        plan.reboot_required = True
        if autorelabel and plan.config_mode != 'disabled':
            plan.relabel = True
    return plan


def permissive_changes(wanted, wanted_state, builtin, customized):
    """``(add, remove, warnings)`` for permissive domains; pure."""
    add, remove, warnings = [], [], []
    for name in wanted:
        if wanted_state == 'present':
            if name not in customized and name not in builtin and name not in add:
                add.append(name)
        elif name in customized:
            if name not in remove:
                remove.append(name)
        elif name in builtin:
            warnings.append('%s is permissive in the policy itself (builtin); semanage cannot make it enforcing.' % name)
    return add, remove, warnings


# ---------------------------------------------------------------- host access

def _read_text(path):
    with io.open(path, 'r', encoding='utf-8', errors='replace') as handle:
        return handle.read()


class SelinuxHost(object):
    """Reads and changes the SELinux state of the host through a Runner."""

    def __init__(self, runner, proc_mounts=None, os_release=None, relabel_flag=None, attr_current=None):
        self.runner = runner
        self.attr_current_paths = attr_current or ATTR_CURRENT_PATHS
        self.proc_mounts = proc_mounts or PROC_MOUNTS
        self.os_release_paths = os_release or OS_RELEASE_PATHS
        self.relabel_flag = relabel_flag or RELABEL_FLAG
        self._mount = None

    def selinuxfs(self):
        """Mount point of selinuxfs; '' when not mounted (disabled), False when /proc/mounts is unreadable."""
        if self._mount is None:
            try:
                self._mount = parse_mounts(_read_text(self.proc_mounts)) or ''
            except (IOError, OSError):
                self._mount = False
        return self._mount

    def runtime_mode(self):
        mount = self.selinuxfs()
        if mount == '':
            return 'disabled'
        if mount:
            if not self.policy_loaded():
                return 'disabled'
            try:
                return parse_enforce(_read_text(os.path.join(mount, 'enforce')))
            except (IOError, OSError):
                pass
        return parse_getenforce(self.runner.run('getenforce').stdout)

    def policy_loaded(self):
        """False when the kernel runs SELinux without a policy (this process is in the 'kernel' context)."""
        for path in self.attr_current_paths:
            try:
                context = _read_text(path)
            except (IOError, OSError):
                continue
            return context.strip('\x00\n ') != 'kernel'
        return True

    def loaded_policy(self):
        """Name of the loaded policy (``sestatus``), None when disabled or unknown."""
        if not self.runner.has('sestatus'):
            return None
        info = parse_sestatus(self.runner.run('sestatus').stdout)
        if info.get('selinux status') != 'enabled':
            return None
        return info.get('loaded policy name') or None

    def el_major(self):
        for path in self.os_release_paths:
            try:
                return el_major(parse_os_release(_read_text(path)))
            except (IOError, OSError):
                continue
        return None

    def set_runtime(self, mode):
        """setenforce (or write the enforce file); no-op in check mode. Returns the mode read back."""
        value = '1' if mode == 'enforcing' else '0'
        if self.runner.check_mode:
            return mode
        if self.runner.has('setenforce'):
            self.runner.run('setenforce', [value], what='mode %s' % mode)
        else:
            path = os.path.join(self.selinuxfs() or '/sys/fs/selinux', 'enforce')
            try:
                with io.open(path, 'w') as handle:
                    handle.write(to_text(value))
            except (IOError, OSError) as exc:
                raise FleetsecError('Could not write %s to set SELinux %s: %s' % (path, mode, to_native(exc)))
        after = self.runtime_mode()
        if after != mode:
            raise FleetsecError('Asked the kernel for SELinux %s but it reports %s (is setenforce denied by policy, '
                                'or is the kernel built without CONFIG_SECURITY_SELINUX_DEVELOP?).' % (mode, after))
        return after

    def ensure_relabel_flag(self):
        """Create the autorelabel flag file; returns True when it had to be created."""
        if os.path.exists(self.relabel_flag):
            return False
        if not self.runner.check_mode:
            try:
                io.open(self.relabel_flag, 'a').close()
            except (IOError, OSError) as exc:
                raise FleetsecError('Could not create %s to relabel on the next boot: %s' % (self.relabel_flag, to_native(exc)))
        return True

    def permissive_domains(self):
        """``(builtin, customized)`` permissive types."""
        return parse_permissive_list(self.runner.run('semanage_list', what='permissive domains').stdout)

    def unknown_types(self, names):
        """Names that are not types of the policy; None when seinfo is missing (cannot tell)."""
        if not self.runner.has('seinfo'):
            return None
        known = parse_seinfo_types(self.runner.run('seinfo', what='policy types').stdout)
        return [name for name in names if name not in known]

    def change_permissive(self, add, remove):
        """One semanage transaction for every change: all or nothing."""
        lines = ['permissive -a %s' % name for name in add] + ['permissive -d %s' % name for name in remove]
        if not lines:
            return
        self.runner.run_with_retry(
            'semanage_import', data='\n'.join(lines) + '\n', what='permissive domains %s' % ', '.join(add + remove),
            retry_if=lambda result: 'lock' in (result.stderr or ''),
            hint='Nothing was changed (one transaction). Check the type names with seinfo -t NAME.')


def check_type_names(names):
    bad = [name for name in names if not TYPE_NAME_RE.match(name)]
    if bad:
        raise ModeError('Invalid SELinux type name(s): %s (expected letters, digits and _ such as ntpd_t).' % ', '.join(bad))
