# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: a module transaction tried first on a private copy of the store (``semodule -p COPY -n``), for its
binary policy: the verdict judges it and check mode reports what would fail to link as the real run would. A part
of ``_policy_store.PolicyStore`` (:class:`Trial`).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import shutil
import tempfile

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_records import StoreError


# Appended to the trial copy's semanage.conf (the last [setfiles]/[sefcontext_compile] block wins): the trial
# is read for its binary policy only. Under enforcing, setfiles (setfiles_t) may not read the private copy
# (semanage_tmp_t), and file-context checks are the real transaction's: it still runs them, all or nothing.
TRIAL_CONF = (b'\n# fleetsec.selinux trial transaction: binary policy only\ndisable-genhomedircon = true\n'
              b'[setfiles]\npath = /bin/true\nargs = $@ $<\n[end]\n'
              b'[sefcontext_compile]\npath = /bin/true\nargs = $@\n[end]\n')


class Trial(object):
    """The trial transaction (a part of ``_policy_store.PolicyStore``)."""

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
