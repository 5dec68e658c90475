# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests that run the REAL SELinux tools on an offline copy of the policy store.

``policy_root``: a private copy of this host's ``/etc/selinux`` and ``/var/lib/selinux`` (~24 MB) under a
temporary root, so tests run ``semodule -p ROOT ...`` for real, in seconds, without touching the host store.
One pristine copy is made per session; each test gets its own copy of it (a plain file copy, ~0.1 s).
The helpers (store paths, commit number, namespace runner) are in store_copy.py.

FLEETSEC_STORE_SCRATCH (tools/test.sh sets it to a folder in /dev/shm for the store steps): the folder the store copies
go to instead of the tests' temporary folders. A transaction writes the whole store again (libsemanage's sandbox,
hundreds of files), and on a memory file system that costs a quarter of the system time it costs on disk. A test's
copy is removed when the test passed and kept (its path printed) when it failed.

Which store step runs a test is said by the test itself, with the ``lanes`` marker registered here (LANES), never by
fragments of test names in tools/test.sh: ``pytest.mark.lanes('debian', 'el9')`` on the module (``pytestmark``) or on
a function, the function's own marker winning. ``--lane NAME`` keeps the tests of that lane; without it every test
of the files given runs (a developer's run of one file, the corpus and records steps). A test of this folder with no
``lanes`` marker, or one naming a lane not in LANES, stops the collection: renaming or adding a test can never move
it out of every lane unnoticed.
"""
import glob
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from fleetsec_testlib.store_copy import (REPO, STORE_DIRS, STORE_ROOT, run_in_store_namespace, semodule_has_checksum,
                                         semodule_list, store_available, store_type)

from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_model import CACHE_PREFIX
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import STATE_DIR

LPM = os.path.join(REPO, 'plugins', 'modules', 'local_policy_module.py')

HERE = os.path.dirname(os.path.abspath(__file__))

# lane -> the store step of tools/test.sh that runs it
LANES = {
    'debian': "integration-store: this machine's store (Debian's userspace 3.4 and refpolicy): the userspace-"
              "dependent cases, what only this store has, and the cases decided before any tool runs",
    'el9': 'integration-store-el9: the EL9 targeted store with userspace 3.6 (the release of the test VM): the policy '
           'logic (the gate, records, refusals, remedy) and every userspace-dependent case',
    'el8': 'integration-store-el8: the EL8 store, userspace 2.9, Python 3.6',
    'el10': 'integration-store-el10: the EL10 store, userspace 3.8, Python 3.12',
    'el7': 'integration-store-el7 (make test-extended): the EL7 store, userspace 2.5, Python 2.7',
    'records': "corpus-el8, corpus-el10 (make test-extended) and records (make check-records): published audit "
               "records, or your own, judged by an EL release's own audit2allow",
}


def pytest_addoption(parser):
    parser.addoption('--lane', choices=sorted(LANES), default=None,
                     help='run only the tests whose lanes marker names this store step')


def pytest_configure(config):
    config.addinivalue_line('markers', 'lanes(*names): the store steps that run this test (%s)' % ', '.join(
        '%s = %s' % item for item in sorted(LANES.items())))


def lanes_of(item):
    """The lanes an item names (its closest ``lanes`` marker), or None when it has none."""
    marker = item.get_closest_marker('lanes')
    return None if marker is None else set(marker.args)


def pytest_collection_modifyitems(config, items):
    lane = config.getoption('--lane')
    problems, keep, drop = [], [], []
    for item in items:
        if not str(item.fspath).startswith(HERE + os.sep):
            keep.append(item)
            continue
        names = lanes_of(item)
        if not names:
            problems.append('%s: no lanes marker (one or more of %s)' % (item.nodeid, ', '.join(sorted(LANES))))
        elif names - set(LANES):
            problems.append('%s: unknown lane %s' % (item.nodeid, ', '.join(sorted(names - set(LANES)))))
        (keep if lane is None or lane in (names or ()) else drop).append(item)
    if problems:
        raise pytest.UsageError('tests without a valid lanes marker (tests/integration/pytest/conftest.py):\n  '
                                + '\n  '.join(problems))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope='session')
def pristine_policy_root(tmp_path_factory):
    """A session-wide untouched copy of the host's policy store; never give it to a test that changes it."""
    if not store_available():
        if os.environ.get('FLEETSEC_STORE_ROOT'):
            # a matrix step names its store: a missing one is a failed step, never a skipped test
            pytest.fail('FLEETSEC_STORE_ROOT=%s holds no policy store (or no semodule on PATH)' % STORE_ROOT)
        pytest.skip('no SELinux policy store (/etc/selinux, /var/lib/selinux) or semodule on this machine')
    root = scratch_folder('policy-root-pristine-') or tmp_path_factory.mktemp('policy-root-pristine')
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
    seed_kept_facts(root, tmp_path_factory.mktemp('seed'))
    yield root
    if os.environ.get('FLEETSEC_STORE_SCRATCH'):
        shutil.rmtree(str(root), ignore_errors=True)


# A module the gate refuses on every policy of the lanes (shadow_t is a security file in refpolicy and targeted).
SEED = dict(name='fsseedfacts', te='require { type ntpd_t; type shadow_t; class file write; }\n'
                                   'allow ntpd_t shadow_t:file write;\n')


def seed_kept_facts(root, workdir):
    """Make ROOT a store local_policy_module has run on: a real run the gate refuses reads the policy's facts and
    keeps them (a run outside check mode keeps what it learnt, refused or not), and nothing else changes. Each test's
    first judgement then reads them, as on a host of the fleet, instead of querying the policy again (about 2 s of
    setools on an EL store, the same answer). A test of a store the module never ran on takes ``bare_policy_root``."""
    before = semodule_list(str(root))
    result, dummy = run_in_store_namespace(LPM, root, dict(SEED, policy_root=str(root)), tmp_path=workdir,
                                           namespace=False)
    kept = glob.glob(os.path.join(str(root), STATE_DIR, 'cache', CACHE_PREFIX + '*.json'))
    if not (result.get('failed') and 'shadow_t' in result.get('msg', '') and len(kept) == 1
            and semodule_list(str(root)) == before and not os.path.exists(os.path.join(
                str(root), STATE_DIR, 'modules'))):
        pytest.fail('seeding the kept facts of the pristine store did not go as expected: %s, kept %s'
                    % (result, kept))


def scratch_folder(prefix):
    """A new folder under FLEETSEC_STORE_SCRATCH (a pathlib path), or None when that is not set."""
    scratch = os.environ.get('FLEETSEC_STORE_SCRATCH')
    if not scratch:
        return None
    os.makedirs(scratch, exist_ok=True)
    return pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Marks an item whose set-up, call or teardown failed (policy_root keeps its store copy then)."""
    report = yield
    if report.failed:
        item.fleetsec_failed = True
    return report


@pytest.fixture
def bare_policy_root(policy_root):
    """A per-test copy of the policy store that local_policy_module never ran on (no state folder)."""
    shutil.rmtree(os.path.join(policy_root, STATE_DIR))
    return policy_root


@pytest.fixture
def policy_root(request, pristine_policy_root, tmp_path):
    """Path (str) of a per-test copy of the policy store: ``semodule -p policy_root ...``."""
    scratch = scratch_folder('policy-root-')
    root = (scratch or tmp_path) / 'root'
    shutil.copytree(str(pristine_policy_root), str(root), symlinks=True)
    yield str(root)
    if scratch is not None:
        if getattr(request.node, 'fleetsec_failed', False):
            print('store copy of the failed test %s kept: %s' % (request.node.nodeid, root))
        else:
            shutil.rmtree(str(scratch), ignore_errors=True)


@pytest.fixture
def store_list():
    return semodule_list
