# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: what the stages of one local_policy_module run share (:class:`Context`).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import shutil
import tempfile

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_grants as grants
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_model as model
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import read_regular
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError

DEVEL_INCLUDE = '/usr/share/selinux/devel/include'


class Context(object):
    """What every stage of one run shares: the module, its runner and store, the private build directory, the
    warnings, the files the apply stage keeps (``keep``: (name, path in the private directory, destination)),
    each generation of this run (``generations``: {module name: (where it is kept, its key for a policy checksum,
    the answer)}), and what is read at most once per run (the policy's classes, the interface information)."""

    def __init__(self, module, runner, store, single=True, generating=False):
        self.module, self.runner, self.store = module, runner, store
        self.single, self.generating = single, generating
        self.warnings, self.keep, self.caches = [], [], []
        self.generations = {}
        self._workdir = self._iface = self._classes = self._policy = self._digest = None

    @property
    def dry(self):
        """True when nothing may change the host: check mode, or state=generated."""
        return bool(self.module.check_mode or self.generating)

    def workdir(self):
        if self._workdir is None:
            base = getattr(self.module, 'tmpdir', None) or tempfile.gettempdir()
            self._workdir = tempfile.mkdtemp(prefix='fleetsec-policy-', dir=base)
            os.chmod(self._workdir, 0o700)
        return self._workdir

    def entry_dir(self, name):
        path = os.path.join(self.workdir(), name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.mkdir(path, 0o700)
        return path

    def policy(self):
        """The verdict's reading of the installed policy (:class:`~._runner.Later`), started once, beside the other
        work. Facts worth keeping for the next run are handed to the apply stage in :attr:`caches`."""
        if self._policy is None:
            store = self.store
            self._policy = self.runner.later(lambda: model.read_model(
                self.runner, store.policy_file(), facts.selinux_dir(store.root), store.policy_type(),
                cache_dir=store.cache_dir(), save=None if self.dry else self.save, digest=self.policy_digest()))
        return self._policy

    def save(self, path, data, supersedes=None):
        """Hand ``data`` (bytes), an answer worth keeping for the next run, to the apply stage (never in a dry run).
        ``supersedes``: called with ``path`` once it is written, to remove the answers it replaces. A second answer
        for the same ``path`` replaces the first."""
        if not self.dry:
            self.caches = [kept for kept in self.caches if kept[0] != path]
            self.caches.append((path, data, supersedes))

    def policy_digest(self, fresh=False):
        """sha256 of the store's binary policy (read once per run), or None when there is none to read. ``fresh``:
        read it again, as a commit left it, without replacing the run's own reading."""
        if fresh or self._digest is None:
            try:
                digest = hashlib.sha256(read_regular(self.store.policy_file()) or b'').hexdigest()
            except FleetsecError:
                digest = False
            if fresh:
                return digest or None
            self._digest = digest
        return self._digest or None

    def settle(self):
        """Let the policy reading end (its commands must not outlive the module)."""
        if self._policy is not None:
            self._policy.wait()

    def cleanup(self):
        self.settle()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def policy_file_for_audit2allow(self):
        """``-p POLICY`` is needed where SELinux is not active, and always for an alternate root."""
        if self.store.root or not facts.selinux_active():
            return self.store.policy_file()
        return None

    def interface_info(self):
        """Path of up-to-date sepolgen interface info for ``audit2allow -R``: the state directory's while it is
        newer than the devel headers, else regenerated here (the apply stage keeps it)."""
        if self._iface is not None:
            return self._iface
        target = os.path.join(self.store.state_dir, 'interface_info')
        headers = _newest_mtime(DEVEL_INCLUDE) if os.path.isdir(DEVEL_INCLUDE) else 0
        if os.path.exists(target) and os.stat(target).st_mtime >= headers:
            self._iface = target
            return target
        out = os.path.join(self.workdir(), 'interface_info')
        args = ['-o', out]
        try:
            args[:0] = ['-p', self.store.policy_file()]
        except FleetsecError:
            pass
        self.runner.run('sepolgen_ifgen', args, what='interface information for audit2allow -R')
        self.keep.append(('interface information', out, target))
        self._iface = out
        return out

    def defined_classes(self):
        """{class: permissions} of the policy, read once per run; {} without setools or when it cannot be read (the
        trial transaction still refuses a module the policy cannot link)."""
        if self._classes is None:
            self._classes = {}
            if self.runner.has('seinfo'):
                try:
                    self._classes = grants.defined_classes(self.runner, self.store.policy_file())
                except FleetsecError:
                    pass
        return self._classes


def _newest_mtime(top):
    newest = 0
    for base, dummy, files in os.walk(top):
        for name in files:
            try:
                newest = max(newest, os.stat(os.path.join(base, name)).st_mtime)
            except OSError:
                continue
    return newest
