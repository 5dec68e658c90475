# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""remedy against the REAL semanage, seinfo and libsemanage, on a private copy of the policy store.

Runs on the host's refpolicy store (step integration-store) and on the EL9 targeted store with userspace 3.6
(step integration-store-el9: FLEETSEC_STORE_ROOT and the EL tools first on PATH). Each module run happens in a
private mount namespace that sees the copy over /etc/selinux and /var/lib/selinux (store_copy). Transactions are
counted with libsemanage's own ``commit_num`` (one per committed transaction); "nothing changed" is the whole
store's content, byte for byte.
"""
import hashlib
import os
import shutil
import stat
import subprocess

import pytest

from fleetsec_testlib.store_copy import (NAMESPACE_TOOLS, commit_num, in_store_namespace, namespace_ok,
                                         run_in_store_namespace, store_digest, store_dir, store_type)

from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_model import CACHE_PREFIX
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import STATE_DIR

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
MODULE = os.path.join(REPO, 'plugins', 'modules', 'remedy.py')
# names both the Debian refpolicy and the EL9 targeted policy define
PLAIN_BOOLEANS = [{'name': 'httpd_can_network_connect', 'state': True}, {'name': 'httpd_enable_homedirs', 'state': True}]
PORTS = [{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'},
         {'ports': '8090-8092', 'proto': 'tcp', 'setype': 'http_port_t'}]
FCONTEXTS = [{'target': '/srv/fleetsec-app(/.*)?', 'setype': 'httpd_sys_content_t'}]
EQUIVALENCE = {'path': '/srv/fleetsec-mirror', 'equal': '/var/www'}
# a group of this machine (semanage checks that it exists)
LOGIN = {'login': '%adm', 'seuser': 'user_u'}
ACKNOWLEDGED = ['%adm', '/srv/fleetsec-mirror']

pytestmark = [
    pytest.mark.lanes('el9', 'el8', 'el10'),
    pytest.mark.skipif(
        not NAMESPACE_TOOLS or shutil.which('semanage') is None or shutil.which('seinfo') is None or os.geteuid() != 0,
        reason='needs root, unshare, semanage and seinfo'),
]


@pytest.fixture
def root(policy_root):
    if not namespace_ok():
        pytest.skip('unshare -m is not permitted here')
    return policy_root


def run(root, tmp_path, check_mode=False, **args):
    args.setdefault('_ansible_diff', True)
    return run_in_store_namespace(MODULE, root, args, check_mode=check_mode, tmp_path=tmp_path)


@pytest.mark.lanes('debian', 'el9', 'el8', 'el10')
def test_five_remedies_one_transaction_then_nothing(root, tmp_path):
    args = dict(booleans=PLAIN_BOOLEANS, ports=PORTS, fcontexts=FCONTEXTS)
    before, commits = store_digest(root), commit_num(root)

    planned, rc = run(root, tmp_path, check_mode=True, **args)
    assert rc == 0 and planned['changed'] and len(planned['import_lines']) == 5, planned
    assert store_digest(root) == before, 'check mode changed the store'

    done, rc = run(root, tmp_path, **args)
    assert rc == 0 and done['changed'] and done['transactions'] == 1, done
    assert done['import_lines'] == planned['import_lines']
    assert commit_num(root) == commits + 1, 'five remedies must be one transaction'
    assert 'boolean httpd_can_network_connect on' in done['diff']['after']

    for check_mode in (True, False):
        again, rc = run(root, tmp_path, check_mode=check_mode, **args)
        assert rc == 0 and not again['changed'] and again['import_lines'] == [], again
    assert commit_num(root) == commits + 1
    with open(os.path.join(root, 'etc/selinux', store_type(root), 'contexts/files/file_contexts.local')) as handle:
        assert '/srv/fleetsec-app(/.*)?' in handle.read()


@pytest.mark.lanes('el9')
def test_a_store_without_its_saved_linked_policy_is_linked_again_and_keeps_it(root, tmp_path):
    """The EL stores are built with the package's %post (``semodule -B -n``), so they keep libsemanage's linked
    policy, as a host does, and a transaction that changes no module does not link them again. A store without it
    (userspace before 2.7 never saved one; a host whose files were removed) still takes remedy's transaction: it links
    every module again and keeps the linked policy for the next one."""
    active = os.path.join(store_dir(root), 'active')
    linked = ['policy.linked', 'seusers.linked', 'users_extra.linked']
    assert sorted(n for n in os.listdir(active) if n.endswith('.linked')) == linked, os.listdir(active)
    for name in linked:
        os.unlink(os.path.join(active, name))
    commits = commit_num(root)
    done, rc = run(root, tmp_path, ports=[PORTS[0]])
    assert rc == 0 and done['changed'] and done['transactions'] == 1, done
    assert commit_num(root) == commits + 1
    assert sorted(n for n in os.listdir(active) if n.endswith('.linked')) == linked, os.listdir(active)
    again, rc = run(root, tmp_path, ports=[PORTS[0]])
    assert rc == 0 and not again['changed'] and commit_num(root) == commits + 1, again


def test_a_local_label_of_another_type_is_modified_not_added(root, tmp_path):
    first, rc = run(root, tmp_path, ports=[dict(PORTS[0], setype='http_cache_port_t')])
    assert rc == 0 and first['import_lines'] == ['port -a -t http_cache_port_t -p tcp 8089'], first
    second, rc = run(root, tmp_path, ports=[PORTS[0]])
    assert rc == 0 and second['import_lines'] == ['port -m -t http_port_t -p tcp 8089'], second


@pytest.mark.lanes('debian', 'el9')
def test_absent_removes_what_present_added_one_transaction_each(root, tmp_path):
    """present -> absent -> present of a boolean setting, port labels, a file-context rule, an equivalence and a login
    mapping: one transaction each, each rerun unchanged, check mode and diff honest, and absent gives back the store
    as it was (semanage export). Acknowledged: removing the mapping sends %adm to __default__'s SELinux user
    (unconfined_u); and on the EL9 targeted policy the equivalence amounts to the rule /srv/fleetsec-mirror(/.*)?/logs(/.*)?
    httpd_log_t, which can relabel what the policy gives httpd_sys_content_t (an entry point) by /srv/([^/]*/)?www(/.*)?."""
    present = dict(booleans=[{'name': 'httpd_enable_homedirs', 'state': True}], ports=PORTS, fcontexts=FCONTEXTS,
                   equivalences=[EQUIVALENCE], logins=[LOGIN], allow_dangerous=ACKNOWLEDGED)
    absent = dict(booleans=[{'name': 'httpd_enable_homedirs', 'state': 'absent'}],
                  ports=[dict(p, state='absent') for p in PORTS],
                  fcontexts=[{'target': f['target'], 'state': 'absent'} for f in FCONTEXTS],
                  equivalences=[{'path': EQUIVALENCE['path'], 'state': 'absent'}],
                  logins=[{'login': LOGIN['login'], 'state': 'absent'}], allow_dangerous=ACKNOWLEDGED)
    commits = commit_num(root)
    original = exported(root, tmp_path)
    for step, args in enumerate((present, absent, present)):
        planned, rc = run(root, tmp_path, check_mode=True, **args)
        assert rc == 0 and planned['changed'] and len(planned['import_lines']) == 6, planned
        assert commit_num(root) == commits + step, 'check mode committed'
        done, rc = run(root, tmp_path, **args)
        assert rc == 0 and done['transactions'] == 1 and done['import_lines'] == planned['import_lines'], done
        assert commit_num(root) == commits + step + 1
        again, rc = run(root, tmp_path, **args)
        assert rc == 0 and not again['changed'] and again['import_lines'] == [], again
        if args is absent:
            assert done['import_lines'][0] == 'boolean -D'  # no per-boolean delete in semanage: all, then the kept
            assert all(line.startswith(('port -d', 'fcontext -d', 'login -d', 'boolean -D'))
                       for line in done['import_lines'])
            assert 'port tcp/8089 none' in done['diff']['after']
            assert 'boolean httpd_enable_homedirs off (policy default)' in done['diff']['after']
            assert exported(root, tmp_path) == original  # nothing of ours is left
        else:
            assert 'equivalence /srv/fleetsec-mirror /var/www' in done['diff']['after']
    assert commit_num(root) == commits + 3


@pytest.mark.lanes('debian', 'el9')
def test_removing_one_boolean_keeps_the_other_local_settings(root, tmp_path):
    both = [{'name': 'httpd_enable_homedirs', 'state': True}, {'name': 'httpd_can_network_connect', 'state': True}]
    done, rc = run(root, tmp_path, booleans=both)
    assert rc == 0 and done['transactions'] == 1, done
    done, rc = run(root, tmp_path, booleans=[{'name': 'httpd_enable_homedirs', 'state': 'absent'}])
    assert rc == 0 and done['import_lines'] == ['boolean -D', 'boolean -m -1 httpd_can_network_connect'], done
    assert [line for line in exported(root, tmp_path) if line.startswith('boolean -m')] == [
        'boolean -m -1 httpd_can_network_connect']


def exported(root, tmp_path):
    """The local customisations of the store copy (semanage export, run in its namespace)."""
    out = subprocess.run(in_store_namespace(root, ['semanage', 'export']), capture_output=True, text=True, check=True)
    return sorted(line for line in out.stdout.splitlines() if line.strip() and not line.startswith('#'))


@pytest.mark.parametrize('args, message', [
    (dict(booleans=[{'name': 'fleetsec_no_such_boolean', 'state': True}]), 'Unknown boolean'),
    (dict(booleans=[{'name': 'httpd_can_network_connect; reboot', 'state': True}]), 'Invalid boolean name'),
    (dict(ports=[{'ports': '22', 'proto': 'tcp', 'setype': 'http_port_t'}], allow_dangerous=['tcp/22']),
     'belongs to another service (ssh_port_t)'),
    (dict(ports=[{'ports': '8089', 'proto': 'tcp', 'setype': 'httpd_sys_content_t'}]), 'is not a port type'),
    (dict(ports=[{'ports': '70000', 'proto': 'tcp', 'setype': 'http_port_t'}]), 'Invalid port range'),
    (dict(fcontexts=[{'target': "/srv/x' -t shadow_t '/etc", 'setype': 'httpd_sys_content_t'}]),
     'Invalid file-context target'),
    (dict(fcontexts=[{'target': '/srv/x(', 'setype': 'httpd_sys_content_t'}]), 'not a regular expression'),
    (dict(fcontexts=[{'target': '/var/www(/.*)?', 'setype': 'httpd_sys_rw_content_t'}]), 'The policy itself gives'),
    (dict(fcontexts=[{'target': '/srv/x', 'setype': 'http_port_t'}]), 'is not a file type'),
    (dict(restorecon=['/no/such/fleetsec/path']), 'does not exist'),
    (dict(denials=[{'source_type': 'httpd_t'}]), 'needs the remedy of avc_collect'),
    # power without an acknowledgement, with a harmless change in the same call: nothing of it is applied
    (dict(booleans=[{'name': 'httpd_execmem', 'state': True}] + PLAIN_BOOLEANS), 'turning boolean httpd_execmem on'),
    (dict(ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}]), 'privileged port(s) tcp/600'),
    (dict(fcontexts=[{'target': '/etc(/.*)?', 'setype': 'httpd_sys_content_t'}]),
     'the file-context rule /etc(/.*)? httpd_sys_content_t: can relabel files the policy protects: /etc'),
    # judged as libselinux applies it (a tree, anchored as ^EXPR$), not by a list of paths: below a protected directory,
    # and an expression whose first component is not literal
    (dict(fcontexts=[{'target': '/usr/sbin/.+', 'setype': 'httpd_sys_content_t'}]), 'bin_t'),
    (dict(fcontexts=[{'target': '/[es][tr][cv]/shadow', 'setype': 'httpd_sys_content_t'}]), 'root of the file system'),
    # an equivalence gives its path the types of the other tree: /etc's hold credentials; /usr/bin is a system path
    (dict(equivalences=[{'path': '/srv/fleetsec-etc', 'equal': '/etc'}]), 'the equivalence /srv/fleetsec-etc = /etc amounts to'),
    (dict(equivalences=[{'path': '/usr/bin', 'equal': '/var/www'}]), 'the equivalence /usr/bin = /var/www'),
    (dict(equivalences=[{'path': '/srv/x', 'equal': '/fleetsec/no/such/tree'}]), 'is not a tree of the policy'),
    (dict(equivalences=[{'path': '/srv/x(/.*)?', 'equal': '/var/www'}]), 'Invalid equivalence path'),
    # a login mapped to a user with administrative roles, or sent to __default__'s unconfined user
    (dict(logins=[{'login': '%adm', 'seuser': 'sysadm_u'}]), 'mapping the login %adm to sysadm_u'),
    (dict(logins=[{'login': '__default__', 'state': 'absent'}]), '__default__ cannot be removed'),
    (dict(logins=[{'login': '%adm', 'seuser': 'user_u', 'range': 's0; id'}]), 'Invalid range'),
    (dict(logins=[{'login': '%adm', 'seuser': 'fleetsec_no_such_u'}]), 'is not an SELinux user'),
    (dict(booleans=[{'name': 'httpd_enable_homedirs', 'state': 'maybe'}]), 'true, false or absent'),
])
def test_bad_or_dangerous_input_fails_and_changes_nothing(root, tmp_path, args, message):
    before = store_digest(root)
    for check_mode in (True, False):
        result, rc = run(root, tmp_path, check_mode=check_mode, **args)
        assert rc != 0 and result.get('failed'), result
        assert message in result['msg'], result['msg']
    assert store_digest(root) == before


@pytest.mark.lanes('debian', 'el9')
def test_a_judgement_reads_the_facts_kept_for_the_policy_and_keeps_what_it_queried(root, tmp_path):
    """remedy judges with local_policy_module's model of the policy: the facts that module kept for this policy's
    checksum (the store's, seeded by a refused run) are read, not queried again with seinfo and a pass over the rules;
    on a store with none, a run outside check mode that changes nothing keeps what it queried (this user's alone),
    and the next run reads it. Check mode keeps nothing."""
    real = shutil.which('seinfo')
    shims, log = tmp_path / 'shims', tmp_path / 'seinfo.log'
    shims.mkdir()
    (shims / 'seinfo').write_text('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n' % (log, real))
    (shims / 'seinfo').chmod(0o755)
    path = '%s:%s' % (shims, os.environ['PATH'])
    refused = dict(fcontexts=[{'target': '/etc(/.*)?', 'setype': 'httpd_sys_content_t'}])
    cache = os.path.join(root, STATE_DIR, 'cache')

    def judged(check_mode=False):
        if log.exists():
            log.unlink()
        result, rc = run_in_store_namespace(MODULE, root, dict(refused, _ansible_diff=True), check_mode=check_mode,
                                            tmp_path=tmp_path, path=path)
        assert rc != 0 and 'can relabel files the policy protects: /etc' in result['msg'], result
        return [line for line in log.read_text().splitlines() if '--constrain' in line] if log.exists() else []

    kept = os.listdir(cache)
    assert len(kept) == 1 and kept[0].startswith(CACHE_PREFIX), kept  # the seeded store's facts of its policy
    assert judged() == []  # read, not queried
    shutil.rmtree(cache)
    assert len(judged(check_mode=True)) == 1 and not os.path.exists(cache)  # queried; check mode keeps nothing
    assert len(judged()) == 1  # queried, and kept
    assert os.listdir(cache) == kept and stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(cache, kept[0])).st_mode) == 0o600
    assert judged() == []


def test_acknowledged_power_is_applied(root, tmp_path):
    args = dict(booleans=[{'name': 'httpd_execmem', 'state': True}],
                ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}],
                allow_dangerous=['httpd_execmem', 'tcp/600'])
    done, rc = run(root, tmp_path, **args)
    assert rc == 0 and done['changed'] and done['transactions'] == 1, done
    again, rc = run(root, tmp_path, **args)
    assert rc == 0 and not again['changed'], again


def test_triaged_denials_become_remedies(root, tmp_path):
    denials = [
        {'source_type': 'httpd_t', 'remedy': {'remedy': 'boolean', 'evidence': {
            'booleans': [{'name': 'httpd_can_network_connect', 'current': False}]}}},
        {'source_type': 'httpd_t', 'remedy': {'remedy': 'port', 'evidence': {
            'protocol': 'tcp', 'port': 8089, 'proposed_type': 'http_port_t'}}},
        {'source_type': 'ntpd_t', 'remedy': {'remedy': 'allow', 'evidence': {}}},
    ]
    done, rc = run(root, tmp_path, denials=denials)
    assert rc == 0 and done['import_lines'] == ['boolean -m -1 httpd_can_network_connect',
                                                'port -a -t http_port_t -p tcp 8089'], done
    again, rc = run(root, tmp_path, denials=denials)
    assert rc == 0 and not again['changed'], again


def _abandoned_sandbox(folder, rel, name):
    """libsemanage's sandbox left by a transaction that was never committed (tmp/ beside active/, and final/)."""
    return (name == 'tmp' and os.path.isdir(os.path.join(folder, name, '..', 'active'))) \
        or os.path.join(rel, name) == 'var/lib/selinux/final'


def store_files(root):
    """{path: sha256} of the store copy, but for what libsemanage leaves of a transaction that was never committed
    (its sandbox ``STORE/tmp`` and ``var/lib/selinux/final``, removed by libsemanage at its next transaction) and lock
    files."""
    found = {}
    for parent in ('etc/selinux', 'var/lib/selinux'):
        for folder, dirs, files in os.walk(os.path.join(root, parent)):
            rel = os.path.relpath(folder, root)
            dirs[:] = [d for d in dirs if not _abandoned_sandbox(folder, rel, d)]
            for name in files:
                path = os.path.join(folder, name)
                if os.path.isfile(path) and not os.path.islink(path) and not name.endswith('.LOCK'):
                    with open(path, 'rb') as handle:
                        found[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def local_listings(root):
    """semanage's own listings of the local customisations (port, fcontext, login, boolean -l -C) and its export."""
    out = {}
    for kind in ('port', 'fcontext', 'login', 'boolean'):
        out[kind] = subprocess.run(in_store_namespace(root, ['semanage', kind, '-l', '-C']), capture_output=True,
                                   text=True, check=True).stdout
    out['export'] = subprocess.run(in_store_namespace(root, ['semanage', 'export']), capture_output=True, text=True,
                                   check=True).stdout
    return out


@pytest.mark.lanes('debian', 'el9')
def test_a_batch_with_one_entry_semanage_refuses_names_it_and_applies_nothing(root, tmp_path):
    """Seven good remedies and one semanage refuses (a login of a group this machine does not have: the plan cannot
    know, semanage checks it): the batch fails, the entry is found by halving in trials that are never committed, the
    error names it with semanage's reason, and the store is as before - its files (but for the sandbox libsemanage
    leaves of any transaction that was not committed), its commit number and semanage's listings."""
    bad = {'login': '%fleetsec_no_such_group', 'seuser': 'user_u'}
    args = dict(booleans=PLAIN_BOOLEANS, ports=PORTS, fcontexts=FCONTEXTS,
                logins=[LOGIN, bad, {'login': 'nobody', 'seuser': 'user_u'}], allow_dangerous=ACKNOWLEDGED)
    files, commits, listed = store_files(root), commit_num(root), local_listings(root)

    planned, rc = run(root, tmp_path, check_mode=True, **args)
    assert rc == 0 and planned['changed'] and planned['transactions'] == 0, planned
    lines = planned['import_lines']
    assert len(lines) == 8 and lines[6] == "login -a -s user_u '%fleetsec_no_such_group'", lines
    assert store_files(root) == files and commit_num(root) == commits, 'check mode changed the store'

    failed, rc = run(root, tmp_path, **args)
    assert rc != 0 and failed.get('failed'), failed
    print(failed['msg'])
    assert failed['msg'].startswith('semanage refuses entry 6 of import_lines, '
                                    '"login -a -s user_u \'%fleetsec_no_such_group\'": ValueError: '), failed['msg']
    assert 'fleetsec_no_such_group does not exist' in failed['reason'] and 'Nothing was changed' in failed['msg']
    assert failed['failed_index'] == 6 and failed['import_lines'] == lines
    assert failed['trials'] == 3, failed['trials']  # ceil(log2 8) halvings
    assert commit_num(root) == commits and store_files(root) == files and local_listings(root) == listed

    # without the refused entry: one transaction, as always (the abandoned sandboxes are no obstacle)
    args['logins'] = [LOGIN, args['logins'][2]]
    done, rc = run(root, tmp_path, **args)
    assert rc == 0 and done['transactions'] == 1 and done['import_lines'] == lines[:6] + lines[7:], done
    assert commit_num(root) == commits + 1


@pytest.mark.lanes('debian', 'el9')
def test_a_failed_batch_with_a_deletion_is_tried_before_anything_is_committed(root, tmp_path):
    """A local port label removed and a refused login in one call. semanage 3.6 and later (EL9) would commit the
    deletion in a transaction of its own before meeting the login (seen on the EL9 store before this was tried first):
    such a batch is tried once before it runs, the trials spell the deletion -Nd, and the login is named with nothing
    applied, on every release."""
    done, rc = run(root, tmp_path, ports=[PORTS[0]])
    assert rc == 0 and done['transactions'] == 1, done
    args = dict(booleans=PLAIN_BOOLEANS[:1], ports=[dict(PORTS[0], state='absent')],
                logins=[{'login': '%fleetsec_no_such_group', 'seuser': 'user_u'}])
    files, commits, listed = store_files(root), commit_num(root), local_listings(root)
    failed, rc = run(root, tmp_path, **args)
    assert rc != 0 and failed['import_lines'] == ['boolean -m -1 httpd_can_network_connect', 'port -d -p tcp 8089',
                                                  "login -a -s user_u '%fleetsec_no_such_group'"], failed
    print(failed['msg'])
    assert failed['msg'].startswith('semanage refuses entry 2 of import_lines, '), failed['msg']
    assert failed['failed_index'] == 2 and failed['trials'] == 3, failed  # the whole batch, then 2 halvings
    assert commit_num(root) == commits and store_files(root) == files and local_listings(root) == listed
    assert '8089' in listed['port']  # the label the batch would have removed first is still there
