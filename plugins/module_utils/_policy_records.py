# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the record of what fleetsec.selinux installed (``/var/lib/fleetsec-selinux``, 0700, under
``policy_root`` when set): read only when it and its directories are root's alone, its fields checked
(:func:`record_problem`), written atomically after the commit, and proven writable before it. A part of
``_policy_store.PolicyStore`` (:class:`Records`: reads ``state_dir``, ``module`` and ``record_problems``).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._files import read_bytes, trust_problems, write_atomic
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


class StoreError(FleetsecError):
    pass


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


class Records(object):
    """The records of the store (a part of ``_policy_store.PolicyStore``)."""

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
