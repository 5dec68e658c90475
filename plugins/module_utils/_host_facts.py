# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the one place where fleetsec.selinux reads the host's SELinux facts from files.

Is SELinux active in the kernel, which policy type is configured, where its
newest binary policy and its libsemanage store are: for the running system or
for an alternate root (``ROOT/etc/selinux``).  Built on the tolerant reader of
:mod:`_selinux_config`; nothing here runs a command, so every module asks the
same questions and gets the same answers.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import io
import os

from ansible_collections.fleetsec.selinux.plugins.module_utils._selinux_config import (
    POLICY_KEY, POLICY_NAME_RE, decode, read_value)


SELINUX_DIR = '/etc/selinux'
PROC_MOUNTS = '/proc/mounts'
ATTR_CURRENT_PATHS = ('/proc/self/attr/selinux/current', '/proc/self/attr/current')
# libselinux's SELINUXDEFAULT: the type it reads when the config names none
DEFAULT_TYPE = 'targeted'
# where a policy is looked for when the config names no (valid) type: libselinux's default first
FALLBACK_TYPES = (DEFAULT_TYPE, 'default', 'mls')


def read_text(path):
    with io.open(path, 'r', encoding='utf-8', errors='replace') as handle:
        return handle.read()


def selinux_dir(root=None):
    """``/etc/selinux`` of the running system, or of the alternate root ``root``."""
    return os.path.join(root, 'etc/selinux') if root else SELINUX_DIR


def parse_mounts(text):
    """Mount point of the selinuxfs in ``/proc/mounts`` text, or None when not mounted."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == 'selinuxfs':
            return fields[1].replace('\\040', ' ')
    return None


def selinuxfs_mount(proc_mounts=PROC_MOUNTS):
    """Mount point of selinuxfs; '' when not mounted, False when ``proc_mounts`` cannot be read."""
    try:
        return parse_mounts(read_text(proc_mounts)) or ''
    except (IOError, OSError):
        return False


def policy_loaded(attr_current_paths=ATTR_CURRENT_PATHS):
    """False when the kernel runs SELinux without a policy (this process is in the ``kernel`` context): EL9 with
    ``SELINUX=disabled`` in the config mounts selinuxfs and loads nothing. True when it cannot be told."""
    for path in attr_current_paths:
        try:
            context = read_text(path)
        except (IOError, OSError):
            continue
        return context.strip('\x00\n ') != 'kernel'
    return True


def selinux_active(proc_mounts=PROC_MOUNTS, attr_current_paths=ATTR_CURRENT_PATHS):
    """True when the kernel enforces or logs with a loaded policy: selinuxfs mounted, its ``enforce`` file present
    and a policy loaded. Tools that read the running policy (audit2allow, audit2why) need ``-p POLICY`` otherwise."""
    mount = selinuxfs_mount(proc_mounts)
    if mount is False:
        mount = '/sys/fs/selinux' if os.path.isdir('/sys/fs/selinux') else ''
    return bool(mount) and os.path.exists(os.path.join(mount, 'enforce')) and policy_loaded(attr_current_paths)


def configured_type(directory=SELINUX_DIR):
    """SELINUXTYPE of ``directory``/config as libselinux reads it (last line wins), None when unset, unreadable or
    not a valid policy name (a path such as ``../x`` is never used to build a path)."""
    try:
        with open(os.path.join(directory, 'config'), 'rb') as handle:
            value = read_value(decode(handle.read()), POLICY_KEY)
    except (IOError, OSError):
        return None
    return value if value and POLICY_NAME_RE.match(value) else None


def newest_policy(pattern):
    """The ``policy.NN`` with the highest NN among the files matching ``pattern``; None when there is none."""
    numbered = [p for p in glob.glob(pattern) if p.rsplit('.', 1)[-1].isdigit()]
    return max(numbered, key=lambda p: int(p.rsplit('.', 1)[-1])) if numbered else None


def _policy_of(directory, name):
    return newest_policy(os.path.join(directory, name, 'policy', 'policy.*'))


def policy_type(directory=SELINUX_DIR):
    """The policy type of ``directory``: the configured one; without a valid SELINUXTYPE, the first of targeted,
    default and mls that has a binary policy; else ``targeted`` (libselinux's default)."""
    configured = configured_type(directory)
    if configured:
        return configured
    for name in FALLBACK_TYPES:
        if _policy_of(directory, name):
            return name
    return DEFAULT_TYPE


def binary_policy(directory=SELINUX_DIR):
    """Path of the newest binary policy of :func:`policy_type`, None when there is none."""
    return _policy_of(directory, policy_type(directory))


DEFAULT_STORE_ROOT = '/var/lib/selinux'


def semanage_conf(directory, key, default=None):
    """Value of ``key`` in ``directory``'s semanage.conf outside any [section] (the last one set, as libsemanage
    reads it), ``default`` when it is not set or the file cannot be read."""
    value = default
    try:
        with open(os.path.join(directory, 'semanage.conf'), 'rb') as handle:
            text = handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return value
    section = False
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if line.startswith('['):
            section = line != '[end]'
            continue
        key_found, sep, rest = line.partition('=')
        if sep and not section and key_found.strip() == key and rest.strip():
            value = rest.strip()
    return value


def store_root(directory=SELINUX_DIR):
    """Where libsemanage keeps the stores of ``directory``: ``store-root`` of its semanage.conf, ``/var/lib/selinux``
    when it is not set or the file cannot be read."""
    return semanage_conf(directory, 'store-root', DEFAULT_STORE_ROOT)


def pp_converter(directory=SELINUX_DIR):
    """The .pp-to-CIL converter libsemanage runs for ``directory``'s store: ``pp`` in the ``compiler-directory`` of
    its semanage.conf, None when that is not set (then libsemanage's built-in default, which differs between
    distributions: /usr/libexec/selinux/hll on EL, /usr/lib/selinux/hll on Debian)."""
    folder = semanage_conf(directory, 'compiler-directory')
    return os.path.join(folder, 'pp') if folder else None
