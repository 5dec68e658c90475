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
names (without seinfo, the type table of the binary policy file, see
:func:`absent_from_policy`).  Changes go through ``setenforce`` (or the
``enforce`` file) and one ``semanage import`` transaction for all permissive
domain changes, so a bad type name changes nothing.

:func:`plan_mode` is pure: it turns a request and the current state into the
targets to reach, the warnings to give and whether a reboot is required.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os
import re
import struct

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils._host_facts import (
    ATTR_CURRENT_PATHS, PROC_MOUNTS, SELINUX_DIR)
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import lock_held
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError
from ansible_collections.fleetsec.selinux.plugins.module_utils._selinux_config import IDENTIFIER_RE
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools


MODES = ('enforcing', 'permissive', 'disabled')
ENABLED = ('enforcing', 'permissive')
# The flag that makes the next boot relabel its root file system, and the live one (see relabel_flag_for).
RELABEL_FLAG_NAME = '.autorelabel'
RELABEL_FLAG = '/' + RELABEL_FLAG_NAME
OS_RELEASE_PATHS = ('/etc/os-release', '/usr/lib/os-release')
TYPE_NAME_RE = IDENTIFIER_RE
# Kernel binary policy (libsepol policydb_write): magic, the length of 'SE Linux', the string, the version.
POLICYDB_MAGIC = 0xf97cff8c
POLICYDB_STRING = b'SE Linux'
# Versions whose type entries are laid out as absent_from_policy expects (24 added the bounds word; 33 is the
# newest libsepol knows today). Other versions are not guessed at: the names are then left unchecked.
POLICY_VERSIONS = (24, 33)
EL_IDS = ('rhel', 'centos', 'rocky', 'almalinux', 'ol', 'cloudlinux', 'eurolinux', 'navy', 'circle')


class ModeError(FleetsecError):
    """A request that cannot be carried out on this host (nothing was changed)."""


# ---------------------------------------------------------------- parsers (pure)

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


# a policy module's name (libsemanage's semanage_module_validate_name)
MODULE_NAME_RE = re.compile(r'^[A-Za-z](\.?[A-Za-z0-9_-])*\Z')


def parse_module_names(text):
    """The module names of ``semodule -l`` (userspace 2.5 and later: one name per line, ``No modules.`` for none), or
    None for any other form (userspace 2.0 prints a version and ``Disabled`` beside each name)."""
    names = []
    for line in to_text(text or '', errors='surrogate_or_strict').splitlines():
        words = line.split()
        if not words or (line.strip() == 'No modules.' and not names):
            continue
        if len(words) != 1 or not MODULE_NAME_RE.match(words[0]):
            return None
        names.append(words[0])
    return names


def split_permissive(permissive, modules):
    """``(builtin, customized)`` as ``semanage permissive -l`` lists them (seobject's permissiveRecords.list), from the
    permissive types of the newest binary policy and the store's enabled modules at their highest priority
    (``semodule -l``, the same libsemanage list semanage reads): nothing at all when the policy has no permissive
    type; customized: the type of each ``permissive_TYPE`` module (the text after ``permissive_``, split as semanage
    splits it); builtin: the policy's other permissive types. Sorted (the module sorts both)."""
    if not permissive:
        return [], []
    customized = sorted(name.split('permissive_')[1] for name in modules if name.startswith('permissive_'))
    return sorted(name for name in permissive if name not in customized), customized


def policy_version(data):
    """Version of the kernel binary policy ``data`` (bytes), or None when ``data`` is not one."""
    header = struct.calcsize('<II') + len(POLICYDB_STRING)
    if len(data) < header + 4:
        return None
    magic, length = struct.unpack('<II', data[:8])
    if magic != POLICYDB_MAGIC or length != len(POLICYDB_STRING) or data[8:header] != POLICYDB_STRING:
        return None
    return struct.unpack('<I', data[header:header + 4])[0]


def absent_from_policy(data, names):
    """Names that have no entry in the type table of the kernel binary policy ``data`` (bytes), or None.

    libsepol writes each type, alias and attribute as four little-endian uint32 (length of the name, value,
    properties, bounds) followed by the name, so a type's name always appears 16 bytes after its length.
    A name absent in that form is certainly not a type. A name present is only probably one: commons are
    written in the same form, and the four words can match by chance. None when ``data`` is not a kernel
    policy of a version in POLICY_VERSIONS (nothing can be said).
    """
    version = policy_version(data)
    if version is None or not POLICY_VERSIONS[0] <= version <= POLICY_VERSIONS[1]:
        return None
    absent = []
    for name in names:
        encoded = to_bytes(name, errors='surrogate_or_strict')
        length = struct.pack('<I', len(encoded))
        index = data.find(encoded, 16)
        while index != -1 and data[index - 16:index - 12] != length:
            index = data.find(encoded, index + 1)
        if index == -1:
            absent.append(name)
    return absent


# ---------------------------------------------------------------- decisions (pure)

def relabel_flag_for(configfile):
    """The autorelabel flag of the root file system ``configfile`` belongs to, or None when that is unknown.

    A config file in ``ROOT/etc/selinux/`` belongs to ROOT, so its flag is ``ROOT/.autorelabel``
    (RELABEL_FLAG for the live ``/etc/selinux/config``); any other place says nothing about a root file
    system. Pure: the caller resolves symlinks first (``/etc/sysconfig/selinux``).
    """
    directory = os.path.dirname(os.path.abspath(configfile))
    etc, selinux = os.path.split(directory)
    root, name = os.path.split(etc)
    if (name, selinux) != ('etc', 'selinux'):
        return None
    if root == os.sep:
        return RELABEL_FLAG
    return os.path.join(root, RELABEL_FLAG_NAME)


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
        _plan_runtime(plan, state, scope, runtime)
    if state is not None and scope in ('both', 'config'):
        _plan_config(plan, state, autorelabel, runtime, el)
    if policy_change:
        plan.reboot_required = True
        if autorelabel and plan.config_mode != 'disabled':
            plan.relabel = True
    return plan


def _plan_runtime(plan, state, scope, runtime):
    if runtime == state:
        return
    if runtime == 'disabled':
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


def _plan_config(plan, state, autorelabel, runtime, el):
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


class TypeCheck(object):
    """How type names were checked against the policy.

    ``unknown``: the names that are certainly not types, None when nothing could check them.
    ``source``: ``'seinfo'`` (exact), the path of the binary policy searched (a name found there is only
    probably a type, see :func:`absent_from_policy`), or None.
    """

    def __init__(self, unknown, source):
        self.unknown = unknown
        self.source = source

    @property
    def exact(self):
        return self.source == 'seinfo'

    def refuse_unknown(self):
        if self.unknown:
            raise ModeError('Not a type of the loaded policy: %s. Nothing was changed.' % ', '.join(self.unknown))


class DomainPlan(object):
    """What O(permissive_domains) means: domains to add and remove, the list after, and warnings.

    ``unvalidated``: domains a check-mode run would ask semanage to add although no check could tell whether
    they are types; they are not in ``add`` nor in ``after``.
    """

    def __init__(self):
        self.add = []
        self.remove = []
        self.unvalidated = []
        self.after = None
        self.builtin = None  # the types the policy itself makes permissive (not changeable by semanage)
        self.warnings = []


def plan_permissive(wanted, wanted_state, builtin, customized, checked, check_mode):
    """The DomainPlan for ``wanted`` given the current lists; pure.

    ``checked``: the TypeCheck of ``wanted``, whose refuse_unknown() has passed (None when nothing was checked).
    """
    plan = DomainPlan()
    plan.add, plan.remove, plan.warnings = permissive_changes(wanted, wanted_state, builtin, customized)
    # A real run needs no warning: semanage's own transaction rejects a name that is not a type.
    if plan.add and check_mode and checked is not None and not checked.exact:
        names = ', '.join(plan.add)
        if checked.unknown is None:
            # Nothing could check the names: the real run either adds them or fails in semanage (changing
            # nothing). So they are not predicted as added (nor in plan.after) but reported apart.
            plan.unvalidated, plan.add = plan.add, []
            plan.warnings.append(
                'Neither seinfo (setools) nor a readable binary policy was found: check mode could not check that %s '
                'are types of the policy (see unvalidated_domains). A real run adds them, or fails and changes '
                'nothing if one is not a type. Install %s for an exact check.' % (names, setools.HINT))
        else:
            plan.warnings.append(
                'seinfo (setools) is missing: %s only looked up in the type table of %s, a weaker check than seinfo '
                '(a name found there is probably, not certainly, a type). A real run fails and changes nothing if '
                'one is not a type.' % (names, checked.source))
    plan.after = sorted((set(builtin) | set(customized) | set(plan.add)) - set(plan.remove))
    plan.builtin = sorted(builtin)
    return plan


# ---------------------------------------------------------------- host access

_read_text = facts.read_text


DONTAUDIT_FLAG = 'disable_dontaudit'


def dontaudit_flag_paths(store_root, selinux_dir, policy_type):
    """Where libsemanage keeps its "dontaudit rules removed" flag (``semodule -DB``): the active store of
    userspace >= 2.4, and the EL6 store under /etc/selinux."""
    return [os.path.join(store_root, policy_type, 'active', DONTAUDIT_FLAG),
            os.path.join(selinux_dir, policy_type, 'modules', 'active', DONTAUDIT_FLAG)]


class SelinuxHost(object):
    """Reads and changes the SELinux state of the host through a Runner."""

    def __init__(self, runner, proc_mounts=None, os_release=None, relabel_flag=None, attr_current=None,
                 selinux_dir=None):
        self.runner = runner
        self.selinux_dir = selinux_dir or SELINUX_DIR
        self.attr_current_paths = attr_current or ATTR_CURRENT_PATHS
        self.proc_mounts = proc_mounts or PROC_MOUNTS
        self.os_release_paths = os_release or OS_RELEASE_PATHS
        self.relabel_flag = relabel_flag or RELABEL_FLAG
        self._mount = None

    def selinuxfs(self):
        """Mount point of selinuxfs; '' when not mounted (disabled), False when /proc/mounts is unreadable."""
        if self._mount is None:
            self._mount = facts.selinuxfs_mount(self.proc_mounts)
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
        return facts.policy_loaded(self.attr_current_paths)

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
        """setenforce (or write the enforce file); returns the mode read back."""
        value = '1' if mode == 'enforcing' else '0'
        if self.runner.has('setenforce'):
            self.runner.change('setenforce', [value], what='mode %s' % mode)
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

    def create_relabel_flag(self):
        """Create the autorelabel flag file (the caller checked that it is missing)."""
        try:
            io.open(self.relabel_flag, 'a').close()
        except (IOError, OSError) as exc:
            raise FleetsecError('Could not create %s to relabel on the next boot: %s' % (self.relabel_flag, to_native(exc)))

    def dontaudit_enabled(self, store_root, policy_type):
        """True when the policy keeps its dontaudit rules, False after ``semodule -DB``; None without a store."""
        paths = dontaudit_flag_paths(store_root, self.selinux_dir, policy_type)
        if not any(os.path.isdir(os.path.dirname(path)) for path in paths):
            return None
        return not any(os.path.exists(path) for path in paths)

    def set_dontaudit(self, enabled):
        """Rebuild the policy with (``semodule -B``) or without (``semodule -DB``) its dontaudit rules."""
        self.runner.change('semodule', ['-B'] if enabled else ['-DB'],
                           what='rebuilding the policy %s its dontaudit rules' % ('with' if enabled else 'without'))

    def permissive_domains(self):
        """``(builtin, customized)`` permissive types, as ``semanage permissive -l`` tells them apart. Read with
        ``semodule -l`` and ``seinfo --permissive`` on the newest binary policy where both are installed
        (:func:`split_permissive`): semanage loads the whole of its Python library and the policy for the list, seconds
        on a slow host; else, or when either cannot answer, by semanage."""
        quick = self._permissive_from_store()
        if quick is not None:
            return quick
        return parse_permissive_list(self.runner.run('semanage', ['permissive', '-l'], what='permissive domains').stdout)

    def _permissive_from_store(self):
        policy = facts.binary_policy(self.selinux_dir)
        if policy is None or not (self.runner.has('semodule') and self.runner.has('seinfo')):
            return None
        listed = self.runner.run('semodule', ['-l'], check=False, what='policy modules')
        modules = parse_module_names(listed.stdout) if listed.rc == 0 else None
        if modules is None:
            return None
        try:
            permissive = setools.policy(self.runner, policy).names('--permissive', 'permissive')
        except FleetsecError:
            return None
        return split_permissive(permissive, modules)

    def check_types(self, names):
        """A TypeCheck of ``names``: by seinfo when installed, else in the newest binary policy of selinux_dir."""
        if self.runner.has('seinfo'):
            known = setools.policy(self.runner, None).names('--type', 'type')
            return TypeCheck([name for name in names if name not in known], 'seinfo')
        path = facts.binary_policy(self.selinux_dir)
        if path is not None:
            try:
                with open(path, 'rb') as handle:
                    unknown = absent_from_policy(handle.read(), names)
            except (IOError, OSError):
                unknown = None
            if unknown is not None:
                return TypeCheck(unknown, path)
        return TypeCheck(None, None)

    def change_permissive(self, add, remove):
        """One semanage transaction for every change: all or nothing."""
        lines = ['permissive -a %s' % name for name in add] + ['permissive -d %s' % name for name in remove]
        if not lines:
            return
        self.runner.run_with_retry(
            'semanage', ['import'], data='\n'.join(lines) + '\n', what='permissive domains %s' % ', '.join(add + remove),
            changes=True, retry_if=lock_held,
            hint='Nothing was changed (one transaction). Check the type names with seinfo -t NAME.')


def check_type_names(names):
    bad = [name for name in names if not TYPE_NAME_RE.match(name)]
    if bad:
        raise ModeError('Invalid SELinux type name(s): %s (expected letters, digits and _ such as ntpd_t).' % ', '.join(bad))
