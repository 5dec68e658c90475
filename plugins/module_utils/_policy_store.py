# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the SELinux module store, as libsemanage's ``semodule`` shows it.

* which modules are installed, at which priority, enabled or not, with which
  checksum (``semodule -lfull -m`` on userspace >= 3.4; otherwise ``semodule -E``
  extraction (>= 2.5), otherwise the stored ``.pp`` copy on EL6);
* the checksum a freshly built package WILL have once installed, computed the
  same way, so equal content is recognised without any policy rebuild;
* the record of what fleetsec.selinux installed (``/var/lib/fleetsec-selinux``,
  0700, under ``policy_root`` when set): an unchanged rerun compares source
  checksums and builds nothing;
* ONE ``semodule`` transaction for every install/remove/enable/disable,
  retried a bounded time while another process holds the libsemanage lock.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import bz2
import glob
import hashlib
import json
import os
import shutil
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Command, CommandFailed, FleetsecError
from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import trust_problems, write_atomic


STATE_DIR = 'var/lib/fleetsec-selinux'
VENDOR_PRIORITIES = {100: 'distribution policy', 200: 'third-party package', 300: 'setroubleshoot', 350: 'selinuxd'}
LOCK_MARKERS = ('could not get direct transaction lock', 'semanage_get_lock', 'resource temporarily unavailable',
                'could not get transaction lock', 'semanage_get_active_lock')
LOCK_ATTEMPTS = 12
LOCK_DELAY = 5.0


# Appended to the trial copy's semanage.conf (the last [setfiles]/[sefcontext_compile] block wins): the trial
# is read for its binary policy only. Under enforcing, setfiles (setfiles_t) may not read the private copy
# (semanage_tmp_t), and file-context checks are the real transaction's: it still runs them, all or nothing.
TRIAL_CONF = (b'\n# fleetsec.selinux trial transaction: binary policy only\ndisable-genhomedircon = true\n'
              b'[setfiles]\npath = /bin/true\nargs = $@ $<\n[end]\n'
              b'[sefcontext_compile]\npath = /bin/true\nargs = $@\n[end]\n')


class StoreError(FleetsecError):
    pass


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


TEXT = (type(u''), str)
RECORD_FIELDS = (('name', TEXT), ('priority', (int,)), ('source_sha256', TEXT), ('checksum', TEXT + (type(None),)),
                 ('rules', (list,)), ('findings', (list,)))


def record_problem(name, data):
    """Why a record's content cannot be used (a short text), or None when it is sound."""
    if not isinstance(data, dict):
        return 'not a JSON object'
    for key, types in RECORD_FIELDS:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, types):
            return 'field %s is %s' % (key, json.dumps(value))
    if data['name'] != name:
        return 'it names module %s' % json.dumps(data['name'])
    if not all(isinstance(rule, TEXT) for rule in data['rules']):
        return 'field rules holds a non-text item'
    if not all(isinstance(item, dict) for item in data['findings']):
        return 'field findings holds a non-object item'
    denials = data.get('denials', [])
    if not isinstance(denials, list) or not all(isinstance(line, TEXT) for line in denials):
        return 'field denials is not a list of text'
    return None


def sha256_bytes(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def read_bytes(path):
    with open(path, 'rb') as handle:
        return handle.read()


def maybe_bunzip(data):
    if data[:3] == b'BZh':
        return bz2.decompress(data)
    return data


class PolicyStore(object):
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
            result = self.runner.run_with_retry('semodule', args, retry_if=lock_held, attempts=LOCK_ATTEMPTS,
                                                delay=LOCK_DELAY, what='listing modules')
            self._modules = parse_list(result.stdout, has_priority=features['priority'])
            self._listed_checksums = with_sums
        return self._modules

    def entry(self, name, priority):
        for entry in self.modules().get(name, []):
            if entry['priority'] in (priority, None):
                return entry
        return None

    # -------------------------------------------------------- checksums ---
    def built_checksum(self, path, kind):
        """Checksum the package at ``path`` will have once installed, comparable to :meth:`installed_checksum`."""
        data = read_bytes(path)
        if kind == 'cil' or self.method() != 'list':
            return sha256_bytes(data)
        text = self.pp_to_cil(path, 'converting %s to CIL' % os.path.basename(path))
        return None if text is None else sha256_bytes(text)

    def pp_to_cil(self, path, what):
        """The CIL (bytes) of the .pp at ``path`` by the converter libsemanage itself runs for this store (so the
        checksum is the one ``semodule -m`` will list), None when the host has no converter."""
        if self._pp_names is None:  # semanage.conf is read once per store, not once per package
            self._pp_names = ('hll_pp', 'hll_pp_lib')
            configured = facts.pp_converter(facts.selinux_dir(self.root))
            if configured:
                self.runner.commands['hll_pp_conf'] = Command(configured)
                self._pp_names = ('hll_pp_conf',) + self._pp_names
        if path in self._cil:
            return self._cil[path]
        for name in self._pp_names:
            if self.runner.has(name):
                result = self.runner.run(name, [path], what=what)
                self._cil[path] = to_bytes(result.stdout, errors='surrogate_or_strict')
                return self._cil[path]
        return None

    def module_cil(self, name, workdir):
        """The CIL (bytes) of the installed module ``name`` at its highest priority, read from the store's own
        files (``cil``, else the package in ``hll`` converted); None when the store keeps neither."""
        base = os.path.join(self.root or '/', self.store_root().lstrip('/'), self.policy_type(), 'active', 'modules')
        for entry in self.modules().get(name, []):
            folder = os.path.join(base, str(entry['priority']), name)
            if os.path.isfile(os.path.join(folder, 'cil')):
                return maybe_bunzip(read_bytes(os.path.join(folder, 'cil')))
            hll = os.path.join(folder, 'hll')
            if not os.path.isfile(hll):
                continue
            data = maybe_bunzip(read_bytes(hll))
            language = os.path.join(folder, 'lang_ext')
            if os.path.isfile(language) and read_bytes(language).strip() == b'cil':
                return data
            path = os.path.join(tempfile.mkdtemp(prefix='stored-', dir=workdir), '%s.pp' % name)
            with open(path, 'wb') as handle:
                handle.write(data)
            return self.pp_to_cil(path, "reading the stored module '%s'" % name)
        return None

    def installed_checksum(self, name, priority, workdir):
        """Checksum of the installed module ``name`` at ``priority`` (None when not installed)."""
        entry = self.entry(name, priority)
        if entry is None:
            return None
        method = self.method()
        if method == 'list':
            return entry['checksum'] or self._cil_checksum(name, entry['priority'])
        if method == 'extract':
            return self._extracted_checksum(name, priority, workdir)
        return self._stored_checksum(name)

    def _cil_checksum(self, name, priority):
        """The checksum ``semodule -lfull -m`` lists for ``name`` at ``priority``: libsemanage's
        semanage_module_compute_checksum is the sha256 of the module's CIL as extracted (the store's ``cil`` file,
        bzip2 undone). Read from that file; listed with ``-m`` when the store keeps none (not compiled yet)."""
        path = os.path.join(self.root or '/', self.store_root().lstrip('/'), self.policy_type(), 'active', 'modules',
                            str(priority), name, 'cil')
        if os.path.isfile(path):
            return sha256_bytes(maybe_bunzip(read_bytes(path)))
        entry = [e for e in self.modules(checksums=True).get(name, []) if e['priority'] == priority]
        return entry[0]['checksum'] if entry else None

    def _extracted_checksum(self, name, priority, workdir):
        target = tempfile.mkdtemp(prefix='extract-', dir=workdir)
        if facts.selinux_active() and self.runner.has('chcon'):
            # semodule -E under enforcing may only write in a directory labelled semanage_tmp_t.
            self.runner.run('chcon', ['-t', 'semanage_tmp_t', target], check=False)
        self.runner.run_with_retry('semodule', self._base() + ['-X', str(priority), '-E', name], retry_if=lock_held,
                                   attempts=LOCK_ATTEMPTS, delay=LOCK_DELAY, cwd=target,
                                   what="extracting module '%s'" % name)
        files = sorted(os.listdir(target))
        if not files:
            return None
        return sha256_bytes(maybe_bunzip(read_bytes(os.path.join(target, files[0]))))

    def _stored_checksum(self, name):
        base = os.path.join(self.root or '/', 'etc/selinux', self.policy_type(), 'modules/active/modules')
        for candidate in (os.path.join(base, '%s.pp' % name), os.path.join(base, '%s.pp.disabled' % name)):
            if os.path.exists(candidate):
                return sha256_bytes(maybe_bunzip(read_bytes(candidate)))
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

    # ---------------------------------------------------------- record ---
    def _record_path(self, name):
        return os.path.join(self.state_dir, 'modules', '%s.json' % name)

    def read_record(self, name):
        """The record of ``name`` (a dict), or None when there is none or it cannot be used.

        A record decides whether fleetsec.selinux may replace a module, so it is trusted only when it and its
        directories belong to this user (root) and nobody else can write them: otherwise StoreError names
        the path. A corrupt record (bad JSON, wrong field types) counts as none; the reason is kept in
        ``record_problems`` for the ownership message, and an unchanged module's record is rewritten.
        """
        path = self._record_path(name)
        for directory in (self.state_dir, os.path.dirname(path)):
            self._check_trusted(directory, want_dir=True)
        if not os.path.lexists(path):
            return None
        self._check_trusted(path, want_dir=False)
        try:
            data = json.loads(to_text(read_bytes(path), errors='surrogate_or_strict'))
        except (IOError, OSError, ValueError) as exc:
            self.record_problems[name] = '%s is unreadable (%s)' % (path, exc)
            return None
        problem = record_problem(name, data)
        if problem:
            self.record_problems[name] = '%s is corrupt (%s)' % (path, problem)
            return None
        return data

    def _check_trusted(self, path, want_dir):
        # the record's directories are checked one by one (each must be this user's alone): parent=False
        problems = trust_problems(path, want_dir=want_dir, parent=False)
        if problems:
            raise StoreError(
                "Refusing to trust fleetsec.selinux's record %s: %s. Records decide which modules may be replaced, "
                "so only a %s owned by uid %d and writable by it alone is used. Nothing was changed. Check who "
                "changed it; then fix it (chown 0:0, chmod go-w) or remove it."
                % (path, ', '.join(problems), 'directory' if want_dir else 'regular file', os.geteuid()),
                path=path)

    def cache_dir(self):
        """Where derived facts of the policy are kept (``cache`` in the state directory)."""
        return os.path.join(self.state_dir, 'cache')

    def ensure_cache_dir(self):
        self._ensure_dir(self.state_dir)
        self._ensure_dir(self.cache_dir())

    def _ensure_dir(self, path):
        try:
            if not os.path.isdir(path):
                os.makedirs(path, 0o700)
            os.chmod(path, 0o700)
        except OSError as exc:
            raise StoreError('Cannot prepare the directory %s for fleetsec.selinux records: %s.' % (path, exc),
                             path=path)

    def check_record_writable(self, names):
        """Before a transaction: make sure the records of ``names`` can be written afterwards.

        Creates the record directory (0700), then writes and removes a probe file there, and refuses a record
        path that is not a regular file: a failure AFTER the commit would leave a module with no record.
        """
        directory = os.path.dirname(self._record_path('x'))
        self._ensure_dir(self.state_dir)
        self._ensure_dir(directory)
        for name in names:
            path = self._record_path(name)
            if os.path.lexists(path) and not os.path.isfile(path):
                raise StoreError('The record path %s of module %r is not a regular file; nothing was changed. '
                                 'Remove it and run again.' % (path, name), path=path)
        try:
            fd, probe = tempfile.mkstemp(prefix='.probe.', dir=directory)
            os.close(fd)
            os.unlink(probe)
        except (IOError, OSError) as exc:
            raise StoreError('Cannot write records in %s (%s); nothing was changed. A module installed now could '
                             'not be recorded, so the transaction was not started.' % (directory, exc),
                             path=directory)

    def write_record(self, name, data):
        self._ensure_dir(self.state_dir)
        directory = os.path.dirname(self._record_path(name))
        self._ensure_dir(directory)
        write_atomic(self.module, self._record_path(name), to_bytes(json.dumps(data, indent=2, sort_keys=True)),
                     mode=0o600)

    def remove_record(self, name):
        path = self._record_path(name)
        if os.path.exists(path):
            os.unlink(path)

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

    def trial(self, operations, workdir):
        """Run ``operations`` on a private copy of the store; return the binary policy that transaction builds.

        Nothing of the real store or the running kernel is touched (``-p COPY -n``). A transaction that fails
        here would fail for real: the error says so, and nothing was changed.
        """
        source = self.root or '/'
        ptype = self.policy_type()
        trial_root = tempfile.mkdtemp(prefix='trial-', dir=workdir)
        parts = [('etc/selinux/' + ptype, True), ('etc/selinux/semanage.conf', False),
                 (os.path.join(self.store_root().lstrip('/'), ptype), True)]
        for relative, is_dir in parts:
            src = os.path.join(source, relative)
            dst = os.path.join(trial_root, relative)
            if not os.path.lexists(src):
                continue
            if not os.path.isdir(os.path.dirname(dst)):
                os.makedirs(os.path.dirname(dst), 0o700)
            if is_dir:
                if not os.path.isdir(dst):
                    shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy2(src, dst)
        conf = os.path.join(trial_root, 'etc/selinux/semanage.conf')
        if not os.path.isdir(os.path.dirname(conf)):
            os.makedirs(os.path.dirname(conf), 0o700)
        with open(conf, 'ab') as handle:
            handle.write(TRIAL_CONF)
        pattern = os.path.join(trial_root, 'etc/selinux', ptype, 'policy', 'policy.*')
        for stale in glob.glob(pattern):
            os.unlink(stale)  # the policy judged afterwards must be the one THIS transaction built
        if facts.selinux_active() and self.runner.has('chcon'):
            # under enforcing, semodule (semanage_t) may only write in its own temporary type
            self.runner.run('chcon', ['-R', '-t', 'semanage_tmp_t', trial_root], check=False)
        self.runner.run('semodule', self.transaction_args(operations, root=trial_root),
                        what='the module transaction, tried first on a private copy of the store',
                        hint='Nothing was changed: the real store was not touched')
        built = facts.newest_policy(pattern)
        if built is None:
            raise StoreError('The trial transaction built no binary policy (%s); nothing was changed.' % pattern)
        return built

    def commit(self, operations):
        """Run ``operations`` as ONE semodule transaction (one policy rebuild); return the Result (refused in check
        mode)."""
        try:
            result = self.runner.run_with_retry(
                'semodule', self.transaction_args(operations), retry_if=lock_held, attempts=LOCK_ATTEMPTS,
                delay=LOCK_DELAY, what='the module transaction', changes=True,
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
