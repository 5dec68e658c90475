# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Adopting a host's hand-made customisations against the REAL semanage and semodule, on private copies of the
policy store: customisations_info reads them (read-only), the adopted change set is written and read back bound to
its digest, and the remedy module, given what the change set deploys, reproduces them on a FRESH copy of the store
in one transaction - `semanage export` of both copies is the same.

Runs on the host's refpolicy store (step integration-store) and on the EL9 targeted store with userspace 3.6 (step
integration-store-el9).
"""
import os
import shutil
import subprocess

import pytest

from fleetsec_testlib.store_copy import (NAMESPACE_TOOLS, commit_num, in_store_namespace, namespace_ok,
                                         run_in_store_namespace, store_digest)
from ansible_collections.fleetsec.selinux.plugins.module_utils._change_set import build, load
from ansible_collections.fleetsec.selinux.plugins.module_utils._customisations import adopt_plan

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
INFO = os.path.join(REPO, 'plugins', 'modules', 'customisations_info.py')
REMEDY = os.path.join(REPO, 'plugins', 'modules', 'remedy.py')

# what an administrator did by hand (names both the Debian refpolicy and the EL9 targeted policy define; %adm is a
# group of this machine, which semanage checks for a login mapping)
HAND_MADE = '''boolean -m -1 httpd_can_network_connect
boolean -m -0 postfix_local_write_mail_spool
port -a -t http_port_t -p tcp 8089
fcontext -a -f a -t httpd_sys_content_t '/srv/fleetsec-adopt(/.*)?'
fcontext -a -e /var/www /srv/fleetsec-mirror
login -a -s user_u %adm
'''

pytestmark = [
    pytest.mark.lanes('debian', 'el9'),
    pytest.mark.skipif(
        not NAMESPACE_TOOLS or shutil.which('semanage') is None or os.geteuid() != 0,
        reason='needs root, unshare and semanage'),
]


@pytest.fixture
def root(policy_root):
    if not namespace_ok():
        pytest.skip('unshare -m is not permitted here')
    return policy_root


def exported(root):
    out = subprocess.run(in_store_namespace(root, ['semanage', 'export']), capture_output=True, text=True, check=True)
    # the settings remedy reproduces (a store's disabled modules, `module -d NAME`, are the same in both copies)
    return sorted(line for line in out.stdout.splitlines()
                  if line.startswith(('boolean ', 'port ', 'fcontext ', 'login ')) and not line.endswith(' -D'))


def test_adopted_customisations_reproduce_on_a_fresh_store(root, pristine_policy_root, tmp_path):
    made = subprocess.run(in_store_namespace(root, ['semanage', 'import']), input=HAND_MADE, capture_output=True,
                          text=True, check=False)
    assert made.returncode == 0, made.stderr
    original = exported(root)
    assert len(original) == 6, original
    before, commits = store_digest(root), commit_num(root)

    found, rc = run_in_store_namespace(INFO, root, {}, check_mode=True, tmp_path=tmp_path)
    assert rc == 0 and not found['changed'], found
    assert store_digest(root) == before and commit_num(root) == commits, 'reading changed the store'
    assert {'path': '/srv/fleetsec-mirror', 'equal': '/var/www'} in found['customisations']['equivalences']

    # what the review acknowledges travels in the change set: the EL9 targeted policy asks for the equivalence (it
    # amounts to /srv/fleetsec-mirror(/.*)?/logs(/.*)? httpd_log_t, over what /srv/([^/]*/)?www(/.*)? gives an entry
    # point type)
    change_set = build('adopted', adopt_plan({'web1': {'fleetsec_customisations': found}}, ['web1']),
                       policy={'host': 'web1'}, acknowledged={'remedies': ['/srv/fleetsec-mirror']})
    deployed = load(change_set, change_set['digest'])
    options = deployed['all_remedies']

    fresh = str(tmp_path / 'fresh')
    shutil.copytree(str(pristine_policy_root), fresh, symlinks=True)
    fresh_commits = commit_num(fresh)
    args = dict((key, options[key]) for key in ('booleans', 'ports', 'fcontexts', 'equivalences', 'logins'))
    args['allow_dangerous'] = deployed['acknowledged']['remedies']
    done, rc = run_in_store_namespace(REMEDY, fresh, args, tmp_path=tmp_path)
    assert rc == 0 and done['changed'] and done['transactions'] == 1, done
    assert commit_num(fresh) == fresh_commits + 1
    assert exported(fresh) == original
    again, rc = run_in_store_namespace(REMEDY, fresh, args, tmp_path=tmp_path)
    assert rc == 0 and not again['changed'], again
    read_back, rc = run_in_store_namespace(INFO, fresh, {}, tmp_path=tmp_path)
    assert rc == 0 and read_back['customisations'] == found['customisations']
