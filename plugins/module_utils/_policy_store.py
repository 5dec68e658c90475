# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the SELinux module store, as libsemanage's ``semodule`` shows it.

* which modules are installed, at which priority, enabled or not (``semodule -lfull``; ``-l`` on EL6), and
  whose they are (a module fleetsec.selinux has no record of needs ``force``);
* ONE ``semodule`` transaction for every install/remove/enable/disable,
  retried a bounded time while another process holds the libsemanage lock.

Its parts: the checksums of installed and built modules (``_policy_checksums``), the record of what
fleetsec.selinux installed (``_policy_records``: an unchanged rerun compares source checksums and builds nothing),
the trial transaction on a private copy (``_policy_trial``).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, FleetsecError
from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_checksums import Checksums
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_records import Records, StoreError
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_trial import Trial


STATE_DIR = 'var/lib/fleetsec-selinux'
VENDOR_PRIORITIES = {100: 'distribution policy', 200: 'third-party package', 300: 'setroubleshoot', 350: 'selinuxd'}
LOCK_MARKERS = ('could not get direct transaction lock', 'semanage_get_lock', 'resource temporarily unavailable',
                'could not get transaction lock', 'semanage_get_active_lock')
LOCK_ATTEMPTS = 12
LOCK_DELAY = 5.0


class NotOurModule(FleetsecError):
    """A module of that name exists and fleetsec.selinux did not install it (needs ``force``)."""


def lock_held(result):
    """Whether a failed semodule/semanage call failed because another process holds libsemanage's transaction lock
    (the one failure worth retrying; a message that merely contains "lock", such as a type named block_t, is not)."""
    text = ('%s\n%s' % (result.stderr or '', result.stdout or '')).lower()
    return any(marker in text for marker in LOCK_MARKERS)


def parse_list(text, has_priority=True):
    """Parse ``semodule -lfull [-m]`` (or EL6 ``semodule -l``) output: {name: [entry, ...]}.

    An entry is a dict with ``priority`` (int or None on EL6), ``kind``,
    ``enabled`` and ``checksum`` (``sha256:...`` or None).
    """
    modules = {}
    for raw in (text or '').splitlines():
        fields = raw.split()
        if not fields:
            continue
        checksum = None
        rest = []
        for field in fields:
            if field.startswith('sha256:'):
                checksum = field
            else:
                rest.append(field)
        if has_priority:
            if len(rest) < 2 or not rest[0].isdigit():
                continue
            priority, name = int(rest[0]), rest[1]
            kind = rest[2] if len(rest) > 2 else None
            enabled = 'disabled' not in [f.lower() for f in rest[3:]]
        else:
            priority, name, kind = None, rest[0], None
            enabled = 'disabled' not in [f.lower() for f in rest[1:]]
        modules.setdefault(name, []).append(
            {'priority': priority, 'kind': kind, 'enabled': enabled, 'checksum': checksum})
    for entries in modules.values():
        entries.sort(key=lambda e: -(e['priority'] or 0))
    return modules


class PolicyStore(Records, Checksums, Trial):
    """The module store of the running system, or of ``policy_root`` (``semodule -p ROOT``)."""

    def __init__(self, module, runner, policy_root=None, state_dir=None):
        self.module = module
        self.runner = runner
        self.root = policy_root or None
        self.state_dir = state_dir or os.path.join(self.root or '/', STATE_DIR)
        self._features = None
        self._pp_names = None
        self._modules = None
        self._listed_checksums = False
        self._cil = {}  # path of a .pp -> its CIL (bytes): converted once, for its checksum and for the verdict
        self.record_problems = {}

    # ------------------------------------------------------------ facts ---
    def _base(self, root=None):
        """``-p ROOT -s TYPE`` for an alternate root (``root``, else the store's own): without ``-s``, semodule
        takes the store name from the HOST's /etc/selinux/config, not ROOT's (an EL ``targeted`` root on a
        Debian ``default`` host)."""
        root = root or self.root
        return ['-p', root, '-s', self.policy_type()] if root else []

    def features(self):
        """What this semodule supports: priorities (-lfull/-X, >= 2.4), extract (-E, >= 2.5), checksum (-m, >= 3.4)."""
        if self._features is None:
            result = self.runner.run('semodule', ['--help'], check=False)
            text = '%s\n%s' % (result.stdout or '', result.stderr or '')
            self._features = {
                'priority': '--priority' in text or '-X' in text,
                'extract': '--extract' in text,
                'checksum': '--checksum' in text,
            }
        return self._features

    def method(self):
        """How installed content is compared: ``list`` (-m checksums), ``extract`` (-E) or ``stored`` (EL6 copy)."""
        features = self.features()
        if features['checksum']:
            return 'list'
        if features['extract']:
            return 'extract'
        return 'stored'

    def policy_type(self):
        """The store's policy type, as :func:`_host_facts.policy_type` reads it for every module."""
        return facts.policy_type(facts.selinux_dir(self.root))

    def policy_file(self):
        """The newest binary policy of the store (``policy.NN``), for ``audit2allow -p``."""
        directory = facts.selinux_dir(self.root)
        found = facts.binary_policy(directory)
        if found is None:
            raise StoreError('No binary policy matches %s: is the SELinux policy package installed%s?'
                             % (os.path.join(directory, self.policy_type(), 'policy', 'policy.*'),
                                ' under policy_root' if self.root else ''))
        return found

    def modules(self, refresh=False, checksums=False):
        """Installed modules: {name: [entries, highest priority first]} (see :func:`parse_list`).

        One ``semodule -lfull`` (``-l`` on EL6): 0.02 s. The checksums userspace 3.4 and later lists with ``-m``
        (the sha256 of every module's CIL: 0.3 s of CPU on the Debian store, 0.8 s on the EL9 targeted one) are
        listed only with ``checksums``; :meth:`installed_checksum` works out the one it needs itself."""
        if self._modules is None or refresh or (checksums and not self._listed_checksums):
            features = self.features()
            with_sums = bool(checksums and features['checksum'])
            if features['priority']:
                args = self._base() + ['-lfull'] + (['-m'] if with_sums else [])
            else:
                args = self._base() + ['-l']
            result = self.semodule(args, what='listing modules')
            self._modules = parse_list(result.stdout, has_priority=features['priority'])
            self._listed_checksums = with_sums
        return self._modules

    def semodule(self, args, **kwargs):
        """Run ``semodule ARGS``, retried a bounded time while another process holds the store's lock."""
        return self.runner.run_with_retry('semodule', args, retry_if=lock_held, attempts=LOCK_ATTEMPTS,
                                          delay=LOCK_DELAY, **kwargs)

    def entry(self, name, priority):
        for entry in self.modules().get(name, []):
            if entry['priority'] in (priority, None):
                return entry
        return None

    # ------------------------------------------------------- ownership ---
    def check_ownership(self, name, record, force):
        """Raise :class:`NotOurModule` when ``name`` is installed and fleetsec.selinux has no record of installing it."""
        entries = self.modules().get(name, [])
        if force or record is not None or not entries:
            return
        problem = self.record_problems.get(name)
        problem = ' (fleetsec.selinux has no usable record of it: %s)' % problem if problem else ''
        where = ', '.join('priority %s%s' % (e['priority'], ' (%s)' % VENDOR_PRIORITIES[e['priority']]
                                             if e['priority'] in VENDOR_PRIORITIES else '') for e in entries)
        raise NotOurModule(
            "A module named '%s' is already installed at %s and was not installed by fleetsec.selinux. "
            "Refusing to replace, override or remove it: choose an organisation-specific name (see 'semodule -l'), "
            "or set force=true if you really mean it.%s" % (name, where, problem))

    # ----------------------------------------------------- transaction ---
    def transaction_args(self, operations, root=None):
        """argv (after ``semodule``) for ``operations``: tuples ('install', prio, path) / ('remove', prio, name) /
        ('enable', name) / ('disable', name). ``root``: run them on another copy of the store."""
        args = self._base(root)
        if args:
            args.append('-n')  # never load an alternate root's policy into the running kernel
        priority_ok = self.features()['priority']
        current = None
        for operation in operations:
            verb = operation[0]
            if verb in ('install', 'remove'):
                if priority_ok and operation[1] != current:
                    args.extend(['-X', str(operation[1])])
                    current = operation[1]
                args.extend(['-i' if verb == 'install' else '-r', operation[2]])
            elif verb == 'enable':
                args.extend(['-e', operation[1]])
            elif verb == 'disable':
                args.extend(['-d', operation[1]])
            else:
                raise StoreError('Unknown store operation %r' % (verb,))
        return args

    def store_root(self):
        """Where libsemanage keeps the store (``store-root`` of semanage.conf, default /var/lib/selinux)."""
        return facts.store_root(facts.selinux_dir(self.root))

    def commit(self, operations):
        """Run ``operations`` as ONE semodule transaction (one policy rebuild); return the Result (refused in check
        mode)."""
        try:
            result = self.semodule(
                self.transaction_args(operations), what='the module transaction', changes=True,
                hint='Nothing was changed: libsemanage applies all or none of a transaction. If another rpm/semodule '
                     'held the store lock, retry later')
        except CommandFailed as err:
            if 'no space left on device' in ('%s %s' % (err.stderr, err.stdout)).lower():
                raise StoreError(
                    'The module transaction failed because the file system holding the policy store (%s) is full: '
                    '%s. Nothing was changed: libsemanage applies all or none of a transaction. Free space there '
                    '(libsemanage may have left its sandbox in %s), then run again.'
                    % (self.store_root(), (err.stderr or err.stdout or '').strip(),
                       os.path.join(self.store_root(), self.policy_type(), 'tmp')),
                    rc=err.rc, stdout=err.stdout, stderr=err.stderr, cmd=err.cmd)
            raise
        self._modules = None
        return result
