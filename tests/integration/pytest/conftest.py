# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests that run the REAL SELinux tools on an offline copy of the policy store.

``policy_root``: a private copy of this host's ``/etc/selinux`` and ``/var/lib/selinux`` (~24 MB) under a
temporary root, so tests run ``semodule -p ROOT ...`` for real, in seconds, without touching the host store.
One pristine copy is made per session; each test gets its own copy of it (a plain file copy, ~0.1 s).
The helpers (store paths, commit number, namespace runner) are in store_copy.py.
"""
import os
import shutil
import subprocess

import pytest

from store_copy import STORE_DIRS, STORE_ROOT, semodule_has_checksum, semodule_list, store_available, store_type


@pytest.fixture(scope='session')
def pristine_policy_root(tmp_path_factory):
    """A session-wide untouched copy of the host's policy store; never give it to a test that changes it."""
    if not store_available():
        if os.environ.get('FLEETSEC_STORE_ROOT'):
            # a matrix step names its store: a missing one is a failed step, never a skipped test
            pytest.fail('FLEETSEC_STORE_ROOT=%s holds no policy store (or no semodule on PATH)' % STORE_ROOT)
        pytest.skip('no SELinux policy store (/etc/selinux, /var/lib/selinux) or semodule on this machine')
    root = tmp_path_factory.mktemp('policy-root-pristine')
    for parent, source in STORE_DIRS:
        target = root / parent / os.path.basename(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, str(target), symlinks=True)
    if semodule_has_checksum():
        # Listing checksums makes libsemanage convert every module that has no CIL yet (Debian's disabled modules:
        # `amtu`, `git`, ...) and keep that CIL in the store, as any `semodule -lfull -m` on the host does. Done once
        # here, so that a test's digest of the store compares the policy, not that cache.
        subprocess.run(['semodule', '-p', str(root), '-s', store_type(root), '-lfull', '-m'], check=True,
                       capture_output=True)
    return root


@pytest.fixture
def policy_root(pristine_policy_root, tmp_path):
    """Path (str) of a per-test copy of the policy store: ``semodule -p policy_root ...``."""
    root = tmp_path / 'root'
    shutil.copytree(str(pristine_policy_root), str(root), symlinks=True)
    return str(root)


@pytest.fixture
def store_list():
    return semodule_list
