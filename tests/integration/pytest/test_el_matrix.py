# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's core behaviours on each release of the matrix: one offline store (FLEETSEC_STORE_ROOT: EL8, EL9,
EL10 targeted, or this host's), that release's SELinux userspace first on PATH, and each module run as Ansible runs
it, by that release's Python (FLEETSEC_TARGET_PYTHON: 3.6 for EL8, 3.9 for EL9, 3.12 for EL10). tools/test.sh
steps integration-store-el8, -el9 and -el10 set all three.

Written for every userspace the matrix holds: where a release lacks a capability (no ``semodule -m`` checksums
before 3.x) the same assertions hold through the collection's fallback. Transactions are counted with libsemanage's
own ``commit_num``; "unchanged" is a digest of the whole store. Each transaction rebuilds the whole policy (20-35 s
on a targeted store here), so the tests use as few as prove the behaviour (7).
"""
import glob
import hashlib
import os
import shutil
import subprocess

import pytest

from store_copy import (NAMESPACE_TOOLS, TARGET_PYTHON, commit_num, namespace_ok, run_in_store_namespace,
                        store_digest, store_dir, store_type)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
LPM = os.path.join(REPO, 'plugins', 'modules', 'local_policy_module.py')
MODE = os.path.join(REPO, 'plugins', 'modules', 'selinux_mode.py')
AVC_COLLECT = os.path.join(REPO, 'plugins', 'modules', 'avc_collect.py')

# types both policy families define (refpolicy and the targeted policies of EL8, EL9, EL10)
TE = """require { type ntpd_t; type user_home_t; class file { read open getattr }; }
allow ntpd_t user_home_t:file { read open };
"""
AVC = ('type=AVC msg=audit(1700000000.{n}:{n}): avc:  denied  {{ {perms} }} for  pid=4{n} comm="{comm}" '
       'scontext=system_u:system_r:{src}:s0 tcontext=system_u:object_r:{tgt}:s0 tclass={tclass} permissive=0')

pytestmark = pytest.mark.skipif(shutil.which('semodule') is None or os.geteuid() != 0, reason='needs root and semodule')


def avc(n, src, tgt, tclass, perms, comm='avctest'):
    return AVC.format(n=n, src=src, tgt=tgt, tclass=tclass, perms=perms, comm=comm)


def run(module, root, tmp_path, check_mode=False, namespace=False, **args):
    if module == LPM:
        args['policy_root'] = root
    result, rc = run_in_store_namespace(module, root, args, check_mode=check_mode, tmp_path=tmp_path,
                                        namespace=namespace)
    return result, rc


def module_files(root, name):
    """{path: sha256} of what the store holds for module ``name`` (any priority): the module itself, not a listing."""
    found = {}
    pattern = os.path.join(store_dir(root), 'active/modules/*', name, '*')
    for path in sorted(glob.glob(pattern)):
        with open(path, 'rb') as handle:
            found[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def listing(root):
    """{name: (priority, enabled)} from the release's own ``semodule -lfull``."""
    out = subprocess.run(['semodule', '-p', root, '-s', store_type(root), '-lfull'], check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0].isdigit():
            found.setdefault(fields[1], (int(fields[0]), 'disabled' not in fields))
    return found


def test_interpreter_and_tools_are_the_release_ones():
    """The matrix means what it says: the module runs under TARGET_PYTHON and finds the release's semodule."""
    version = subprocess.run([TARGET_PYTHON, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                             capture_output=True, text=True, check=True).stdout.strip()
    expected = os.environ.get('FLEETSEC_TARGET_PYTHON_VERSION')
    if expected:
        assert version == expected
    userspace = os.environ.get('FLEETSEC_EL_USERSPACE')
    # a matrix step (FLEETSEC_STORE_ROOT) always has its release's userspace first on PATH
    assert userspace or not os.environ.get('FLEETSEC_STORE_ROOT')
    if userspace:
        assert shutil.which('semodule').startswith(userspace + '/')
        assert shutil.which('audit2why').startswith(userspace + '/')


def test_install_rerun_bad_source_keeps_the_loaded_module(policy_root, tmp_path):
    root = policy_root
    before, commits = store_digest(root), commit_num(root)
    planned, rc = run(LPM, root, tmp_path, check_mode=True, name='fsimatrix', te=TE)
    assert rc == 0 and planned['changed'] and planned['rebuilds'] == 1, planned
    assert store_digest(root) == before and commit_num(root) == commits, 'check mode changed the store'

    first, rc = run(LPM, root, tmp_path, name='fsimatrix', te=TE)
    assert rc == 0 and first['changed'] and first['rebuilds'] == 1, first
    assert commit_num(root) == commits + 1
    assert listing(root)['fsimatrix'] == (400, True)
    loaded = module_files(root, 'fsimatrix')
    assert loaded

    # unchanged rerun: no transaction, through `semodule -m` checksums (3.x: not even a compilation) or, where the
    # release has none (2.5, 2.9), through the fallback: the installed module extracted with `semodule -E` and
    # compared with the record (2.5 here) or with the source compiled again (2.9 here)
    settled = store_digest(root)
    again, rc = run(LPM, root, tmp_path, name='fsimatrix', te=TE)
    assert rc == 0 and not again['changed'] and again['rebuilds'] == 0, again
    assert again['installed_before'] == again['checksum'], again
    helptext = subprocess.run(['semodule', '--help'], capture_output=True, text=True, check=False)
    if '--checksum' in helptext.stdout + helptext.stderr:
        assert not again['modules'][0]['compiled'], again
    assert commit_num(root) == commits + 1 and store_digest(root) == settled

    # a source that does not compile: the compiler's message, no transaction, the loaded module untouched
    bad, rc = run(LPM, root, tmp_path, name='fsimatrix', te=TE.replace('{ read open };', '{ read open getattr };')
                  + 'allow ntpd_t fsimatrix_nosuch_t:file read;\n')
    assert rc != 0 and 'fsimatrix_nosuch_t' in bad['msg'], bad
    assert module_files(root, 'fsimatrix') == loaded and commit_num(root) == commits + 1


def test_a_class_or_permission_the_policy_lacks_is_dropped_not_fatal(policy_root, tmp_path):
    """Records of another release name classes and permissions this policy may not define (io_uring on EL8's policy):
    audit2allow writes rules for them, which compile, then fail the whole transaction at link time."""
    root = policy_root
    before, commits = store_digest(root), commit_num(root)
    lines = [avc(1, 'ntpd_t', 'user_home_t', 'file', 'read'),
             avc(2, 'ntpd_t', 'user_home_t', 'fsimatrix_class', 'read'),
             avc(3, 'ntpd_t', 'user_home_t', 'dir', 'search fsimatrix_perm')]
    planned, rc = run(LPM, root, tmp_path, check_mode=True, name='fsimatrix', denials=lines, version='1.0')
    assert rc == 0, planned
    assert sorted(planned['rules']) == ['allow ntpd_t user_home_t:dir search;', 'allow ntpd_t user_home_t:file read;']
    assert [(d['tclass'], d['permissions'], d['reason']) for d in planned['dropped']] == [
        ('fsimatrix_class', ['read'], 'class fsimatrix_class not defined in the policy'),
        ('dir', ['fsimatrix_perm'], 'permission(s) fsimatrix_perm of class dir not defined in the policy')]
    assert planned['changed'] and store_digest(root) == before and commit_num(root) == commits


def test_a_module_of_this_policy_is_refused(policy_root, tmp_path):
    root = policy_root
    vendor = 'chronyd' if 'chronyd' in listing(root) else 'ntp'
    assert listing(root)[vendor][0] == 100
    before = store_digest(root)
    refused, rc = run(LPM, root, tmp_path, name=vendor, te=TE)
    assert rc != 0 and "'%s' is already installed at priority 100 (distribution policy)" % vendor in refused['msg']
    assert store_digest(root) == before


def test_batch_is_one_transaction_then_states(policy_root, tmp_path):
    root = policy_root
    cil = tmp_path / 'fsimatrix_c.cil'
    cil.write_text('(allow ntpd_t user_home_t (lnk_file (getattr)))\n')
    modules = [
        {'name': 'fsimatrix_a', 'denials': [avc(1, 'ntpd_t', 'user_home_t', 'dir', 'search')]},
        {'name': 'fsimatrix_b', 'te': TE},
        {'name': 'fsimatrix_c', 'cil': str(cil)},
    ]
    commits = commit_num(root)
    first, rc = run(LPM, root, tmp_path, modules=modules)
    assert rc == 0 and first['rebuilds'] == 1, first
    assert commit_num(root) == commits + 1, 'three modules must be one transaction'
    assert all(listing(root)[m['name']] == (400, True) for m in modules)
    again, rc = run(LPM, root, tmp_path, modules=modules)
    assert rc == 0 and again['rebuilds'] == 0 and not again['changed'], again
    assert commit_num(root) == commits + 1

    states, rc = run(LPM, root, tmp_path, modules=[{'name': 'fsimatrix_a', 'state': 'disabled'},
                                                   {'name': 'fsimatrix_b', 'state': 'absent'}])
    assert rc == 0 and states['rebuilds'] == 1, states
    assert commit_num(root) == commits + 2
    listed = listing(root)
    assert listed['fsimatrix_a'] == (400, False) and 'fsimatrix_b' not in listed
    enabled, rc = run(LPM, root, tmp_path, name='fsimatrix_a', state='enabled')
    assert rc == 0 and enabled['changed'] and listing(root)['fsimatrix_a'] == (400, True), enabled


def test_permissive_domain_through_the_release_semanage(policy_root, tmp_path):
    if os.environ.get('FLEETSEC_EL_NO_SEMANAGE'):
        pytest.skip(os.environ['FLEETSEC_EL_NO_SEMANAGE'])
    if not NAMESPACE_TOOLS or not namespace_ok() or shutil.which('semanage') is None:
        pytest.skip('needs unshare -m and semanage')
    root = policy_root
    domain = 'chronyd_t' if 'chronyd' in listing(root) else 'ntpd_t'
    before, commits = store_digest(root), commit_num(root)
    planned, rc = run(MODE, root, tmp_path, check_mode=True, namespace=True, permissive_domains=[domain])
    assert rc == 0 and planned['changed'] and store_digest(root) == before, planned
    added, rc = run(MODE, root, tmp_path, namespace=True, permissive_domains=[domain])
    # the policy's own permissive domains (Fedora's permissivedomains.cil on EL10) are listed too, and left alone
    assert rc == 0 and added['changed'] and domain in added['permissive_domains'], added
    others = sorted(set(added['permissive_domains']) - {domain})
    assert commit_num(root) == commits + 1 and 'permissive_' + domain in listing(root)
    again, rc = run(MODE, root, tmp_path, namespace=True, permissive_domains=[domain])
    assert rc == 0 and not again['changed'] and commit_num(root) == commits + 1, again
    removed, rc = run(MODE, root, tmp_path, namespace=True, permissive_domains=[domain],
                      permissive_domains_state='absent')
    assert rc == 0 and removed['changed'] and 'permissive_' + domain not in listing(root), removed
    assert sorted(removed['permissive_domains']) == others


def test_explain_through_the_release_audit2why(pristine_policy_root, tmp_path):
    if os.environ.get('FLEETSEC_EL_NO_SEMANAGE'):
        pytest.skip(os.environ['FLEETSEC_EL_NO_SEMANAGE'])
    root = str(pristine_policy_root)
    policy = max(glob.glob(os.path.join(root, 'etc/selinux', store_type(root), 'policy/policy.*')),
                 key=lambda p: int(p.rsplit('.', 1)[1]))
    log = tmp_path / 'audit.log'
    log.write_text('\n'.join([
        avc(1, 'ntpd_t', 'user_home_t', 'file', 'read'),
        avc(2, 'httpd_t', 'http_port_t', 'tcp_socket', 'name_connect', comm='httpd'),
    ]) + '\n')
    result, rc = run(AVC_COLLECT, root, tmp_path, paths=[str(log)], explain=True, policy=policy)
    assert rc == 0, result
    why = {d['source_type']: d['explanation'] for d in result['denials']}
    assert why['ntpd_t']['kind'] == 'missing_rule', why
    assert why['httpd_t']['kind'] == 'boolean' and 'httpd_can_network_connect' in why['httpd_t']['booleans'], why
