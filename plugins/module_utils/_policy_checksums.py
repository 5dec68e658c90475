# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the checksum of a module as the store compares it: what ``semodule -lfull -m`` lists (userspace
>= 3.4: the sha256 of the module's CIL), else of what ``semodule -E`` extracts (>= 2.5), else of the stored ``.pp``
copy (EL6); and the checksum a freshly built package WILL have once installed, computed the same way (the ``.pp``
through the converter libsemanage itself runs), so equal content is recognised without a policy rebuild. A part of
``_policy_store.PolicyStore`` (:class:`Checksums`).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import maybe_bunzip, read_bytes, sha256_bytes
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Command


class Checksums(object):
    """Module checksums (a part of ``_policy_store.PolicyStore``: reads its listing, base arguments and runner)."""

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
        self.semodule(self._base() + ['-X', str(priority), '-E', name], cwd=target,
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
