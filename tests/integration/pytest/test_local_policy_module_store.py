# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""local_policy_module against the REAL tools (audit2allow, checkmodule, semodule_package, semodule) on an
offline copy of this host's policy store (fixture ``policy_root``). The host store is never touched.

Each semodule transaction rebuilds the policy (~5-7 s here): the tests use as few as prove the behaviour (7).
"""
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import time

import pytest
from ansible.module_utils import basic

from fleetsec_testlib.store_copy import (binary_policy, commit_num, hold_lock, run_in_store_namespace, store_digest,
                                         store_type)
from fleetsec_testlib.module_helpers import run_module

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_store
from ansible_collections.fleetsec.selinux.plugins.modules import local_policy_module as lpm

pytestmark = pytest.mark.lanes('el9')

LPM_FILE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'plugins', 'modules', 'local_policy_module.py')
TE = """require { type ntpd_t; type user_home_t; class file { read open getattr }; }
allow ntpd_t user_home_t:file { read open };
"""
AVC = ('type=AVC msg=audit(1700000000.{n}:{n}): avc:  denied  {{ {perms} }} for  pid=4{n} comm="{comm}" '
       'scontext=system_u:system_r:{src}:s0 tcontext=system_u:object_r:{tgt}:s0 tclass={tclass} permissive=0')


def avc(n, src, tgt, tclass, perms, comm='avctest'):
    return AVC.format(n=n, src=src, tgt=tgt, tclass=tclass, perms=perms, comm=comm)


def run(monkeypatch, args, **kwargs):
    return run_module(monkeypatch, lpm.main, args, **kwargs)


def record_path(root, name):
    return os.path.join(root, 'var/lib/fleetsec-selinux/modules/%s.json' % name)


@pytest.mark.lanes('debian', 'el9')
def test_te_install_rerun_modify_and_failed_compile(monkeypatch, policy_root, store_list):
    args = dict(name='fsitest_te', te=TE, policy_root=policy_root)
    first, failed = run(monkeypatch, args)
    assert not failed, first
    assert first['changed'] and first['rebuilds'] == 1 and first['installed_before'] is None
    assert first['rules'] == ['allow ntpd_t user_home_t:file { read open };']
    assert store_list(policy_root)['fsitest_te'] == (400, 'pp', True, first['checksum'])
    record = record_path(policy_root, 'fsitest_te')
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(os.path.dirname(record))).st_mode) == 0o700
    with open(record) as handle:
        assert json.load(handle)['checksum'] == first['checksum']

    # unchanged rerun: no transaction and not even a compilation (the record proves it)
    again, failed = run(monkeypatch, args)
    assert not failed
    assert (again['changed'], again['rebuilds'], again['modules'][0]['compiled']) == (False, 0, False)
    assert again['installed_before'] == again['checksum'] == first['checksum']

    # userspace without --checksum (< 3.4): compared through a real `semodule -E` extraction, still no transaction
    with monkeypatch.context() as patched:
        patched.setattr(_policy_store.PolicyStore, 'features',
                        lambda self: {'priority': True, 'extract': True, 'checksum': False})
        extracted, failed = run(patched, args)
    assert not failed, extracted
    assert (extracted['changed'], extracted['rebuilds'], extracted['modules'][0]['compiled']) == (False, 0, True)
    assert extracted['installed_before'] == extracted['checksum'] != first['checksum']  # sha256 of the .pp

    # modified source: reinstalled, diff shows the rule change
    changed_te = TE.replace('{ read open };\n', '{ read open getattr };\n')
    second, failed = run(monkeypatch, dict(args, te=changed_te), diff=True)
    assert not failed, second
    assert second['changed'] and second['rebuilds'] == 1
    assert second['installed_before'] == first['checksum'] != second['checksum']
    assert store_list(policy_root)['fsitest_te'][3] == second['checksum']
    assert second['diff']['before'] == 'allow ntpd_t user_home_t:file { read open };\n'
    assert second['diff']['after'] == 'allow ntpd_t user_home_t:file { read open getattr };\n'

    # a source that does not compile: the compiler's message and line, nothing installed, old module kept
    bad, failed = run(monkeypatch, dict(args, te=changed_te + 'allow ntpd_t nosuch_t:file read;\n'))
    assert failed
    assert "unknown type nosuch_t" in bad['msg']
    assert re.search(r'fsitest_te\.te:\d+:ERROR .* on line \d+', bad['msg']), bad['msg']
    assert store_list(policy_root)['fsitest_te'] == (400, 'pp', True, second['checksum'])


def test_denials_generation_matches_audit2allow_and_check_mode_changes_nothing(monkeypatch, bare_policy_root, store_list):
    policy_root = bare_policy_root  # a store the module never ran on
    lines = [
        avc(1, 'ntpd_t', 'user_home_t', 'file', 'read'),
        avc(2, 'ntpd_t', 'user_home_t', 'file', 'open'),
        avc(3, 'httpd_t', 'http_port_t', 'tcp_socket', 'name_connect', comm='httpd'),
        avc(4, 'nosuch_t', 'etc_t', 'file', 'read'),
    ]
    # two hosts' output concatenated, plus the dict form of avc_collect for one of them
    as_dict = {'scontext': 'system_u:system_r:ntpd_t:s0', 'tcontext': 'system_u:object_r:user_home_t:s0',
               'tclass': 'file', 'permissions': ['read'], 'comm': 'avctest', 'count': 3}
    denials = lines + lines[:2] + [as_dict]
    before = store_list(policy_root)
    result, failed = run(monkeypatch, dict(name='fsitest_den', denials=denials, version='1.0', policy_root=policy_root),
                         check_mode=True, diff=True)
    assert not failed, result
    unique = lines + [
        'type=AVC msg=audit(0.000:1): avc:  denied  { read } for  pid=0 comm="avctest" scontext=system_u:system_r:ntpd_t:s0 '
        'tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0']
    reference = subprocess.run(['audit2allow', '-m', 'fsitest_den', '-p', binary_policy(policy_root)],
                               input='\n'.join(unique) + '\n', capture_output=True, text=True, check=True).stdout
    # identical to the real tool's output, but for the order of the require lines (sepolgen's set order
    # varies from run to run; the module sorts them so that the same denials give the same text)
    assert sorted(result['te'].splitlines()) == sorted(reference.splitlines())
    assert _without_require(result['te']) == _without_require(reference)
    assert result['te'].index('type user_home_t;') > result['te'].index('type ntpd_t;')
    assert 'allow ntpd_t user_home_t:file { open read };' in result['rules']
    assert [d['source_type'] for d in result['dropped']] == ['nosuch_t']
    assert 'not defined' in result['dropped'][0]['reason']
    assert any('httpd_can_network_connect' in b['booleans'] for b in result['booleans'])
    assert result['changed'] and result['rebuilds'] == 1 and result['installed_before'] is None
    assert 'allow ntpd_t user_home_t:file { open read };' in result['diff']['after']
    # check mode: the store and the record are untouched
    assert store_list(policy_root) == before
    assert not os.path.exists(os.path.join(policy_root, 'var/lib/fleetsec-selinux'))

    # default version: derived from the content, everything else identical
    derived, failed = run(monkeypatch, dict(name='fsitest_den', denials=denials, policy_root=policy_root), check_mode=True)
    assert not failed
    assert re.search(r'^module fsitest_den 1\.\d+;$', derived['te'], re.M)
    assert re.sub(r'module fsitest_den \S+;', '', derived['te']) == re.sub(r'module fsitest_den \S+;', '', result['te'])


def _record_commands(monkeypatch):
    """The argv of every command the module runs from now on (the real commands still run)."""
    seen = []
    original = basic.AnsibleModule.run_command

    def recording(self, args, *rest, **kwargs):
        seen.append(list(args))
        return original(self, args, *rest, **kwargs)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', recording)
    return seen


@pytest.mark.lanes('debian')
def test_the_first_rerun_after_its_own_transaction_generates_nothing(monkeypatch, policy_root):
    """A transaction that declares a type is not carried: the next run generates again, and a denial that named the
    new type gets its rule. A transaction of plain generated modules rebuilds the policy but defines no name: the
    first rerun after it reuses the generation (no audit2allow, no seinfo)."""
    declared_te = ('require { type ntpd_t; class file { read }; }\n'
                   'type fsitest_carry_t;\nallow ntpd_t fsitest_carry_t:file read;\n')
    modules = [{'name': 'fsitest_decl', 'te': declared_te},
               {'name': 'fsitest_later', 'denials': [avc(2, 'ntpd_t', 'fsitest_carry_t', 'file', 'getattr')]}]
    declared, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed and declared['rebuilds'] == 1, declared
    assert [m['changed'] for m in declared['modules']] == [True, False], declared['modules']
    commands = _record_commands(monkeypatch)
    later, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed and later['rebuilds'] == 1, later
    assert later['modules'][1]['rules'] == ['allow ntpd_t fsitest_carry_t:file getattr;'], later['modules']
    assert 'audit2allow' in [os.path.basename(c[0]) for c in commands]
    del commands[:]
    again, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed and again['rebuilds'] == 0 and not again['changed'], again
    ran = [os.path.basename(c[0]) for c in commands]
    assert not [c for c in ran if c in ('audit2allow', 'seinfo')], ran


def _without_require(te):
    return re.sub(r'require \{[^}]*(\{[^}]*\}[^}]*)*\}', 'require {}', te)


def _hold_lock(root, seconds):
    """A process holding the libsemanage transaction lock of ``root`` for ``seconds``."""
    return hold_lock(glob.glob(os.path.join(root, 'var/lib/selinux/*/semanage.trans.LOCK'))[0], seconds)


@pytest.mark.lanes('debian', 'el9')
def test_modules_one_transaction_states_and_lock_retry(monkeypatch, policy_root, store_list, tmp_path):
    cil = tmp_path / 'whatever.cil'
    cil.write_text('(allow ntpd_t user_home_t (lnk_file (getattr)))\n')
    modules = [
        {'name': 'fsitest_a', 'denials': [avc(1, 'ntpd_t', 'user_home_t', 'dir', 'search')]},
        {'name': 'fsitest_b', 'te': TE},
        {'name': 'fsitest_c', 'cil': str(cil)},
    ]
    first, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed, first
    assert first['rebuilds'] == 1 and first['changed']
    listed = store_list(policy_root)
    for mod in first['modules']:
        assert listed[mod['name']] == (400, 'cil' if mod['name'] == 'fsitest_c' else 'pp', True, mod['checksum'])
    again, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed and again['rebuilds'] == 0 and not again['changed']

    # the next unchanged run reuses what the last one kept: no audit2allow, no seinfo, and the store listed without
    # the checksum of every module (-m); the checksums it reports are still the store's own
    commands = _record_commands(monkeypatch)
    steady, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed and steady['rebuilds'] == 0 and not steady['changed'], steady
    assert steady['modules'] == again['modules']
    ran = [os.path.basename(c[0]) + (' -m' if '-m' in c else '') for c in commands]
    assert not [c for c in ran if c in ('audit2allow', 'seinfo', 'sesearch', 'semodule -m')], ran
    # another program's transaction: the module it removed is installed again
    subprocess.run(['semodule', '-p', policy_root, '-s', store_type(policy_root), '-X', '400', '-r', 'fsitest_b'],
                   check=True, capture_output=True)
    del commands[:]
    repaired, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed and repaired['rebuilds'] == 1, repaired
    assert [m['action'] for m in repaired['modules'] if m['changed']] == ['install'], repaired['modules']
    assert repaired['modules'][1]['name'] == 'fsitest_b' and repaired['modules'][1]['changed']
    assert any(os.path.basename(c[0]) == 'semodule' and '-lfull' in c for c in commands), commands

    # disable one and remove another: one transaction
    states, failed = run(monkeypatch, dict(modules=[{'name': 'fsitest_a', 'state': 'disabled'},
                                                    {'name': 'fsitest_b', 'state': 'absent'}], policy_root=policy_root))
    assert not failed, states
    assert states['rebuilds'] == 1
    assert [m['action'] for m in states['modules']] == ['disable', 'remove']
    listed = store_list(policy_root)
    assert listed['fsitest_a'][2] is False and 'fsitest_b' not in listed
    assert not os.path.exists(record_path(policy_root, 'fsitest_b'))

    # the store lock is held by someone else: bounded failure, then a retry that succeeds
    monkeypatch.setattr(_policy_store, 'LOCK_ATTEMPTS', 1)
    holder = _hold_lock(policy_root, 30)
    try:
        locked, failed = run(monkeypatch, dict(name='fsitest_a', state='enabled', policy_root=policy_root))
    finally:
        holder.kill()
        holder.wait()
    assert failed and 'transaction lock' in locked['msg'] and 'Nothing was changed' in locked['msg']
    monkeypatch.setattr(_policy_store, 'LOCK_ATTEMPTS', 3)
    monkeypatch.setattr(_policy_store, 'LOCK_DELAY', 1.0)
    holder = _hold_lock(policy_root, 7)
    started = time.time()
    try:
        enabled, failed = run(monkeypatch, dict(name='fsitest_a', state='enabled', policy_root=policy_root))
    finally:
        holder.kill()
        holder.wait()
    assert not failed, enabled
    assert enabled['rebuilds'] == 1 and time.time() - started >= 6
    assert store_list(policy_root)['fsitest_a'][2] is True


@pytest.mark.lanes('debian', 'el9', 'el10')
def test_the_checksum_read_from_a_modules_cil_is_the_one_semodule_lists(pristine_policy_root, tmp_path):
    """For every module of the store (the distribution's, at every priority), the checksum the store works out from
    the module's ``cil`` file equals what ``semodule -lfull -m`` lists (userspace 3.4 and later)."""
    root = str(pristine_policy_root)
    listed = subprocess.run(['semodule', '-p', root, '-s', store_type(root), '-lfull', '-m'], capture_output=True,
                            text=True, check=True).stdout
    modules = _policy_store.parse_list(listed)
    store = _policy_store.PolicyStore(None, None, policy_root=root)
    assert len(modules) > 50
    for name, entries in modules.items():
        for entry in entries:
            assert entry['checksum'] and store._cil_checksum(name, entry['priority']) == entry['checksum'], name


def test_force_is_needed_to_override_a_distribution_module(monkeypatch, policy_root, store_list):
    before = store_list(policy_root)
    distro = sorted(name for name, entry in before.items() if entry[0] == 100)[0]
    te = TE
    refused, failed = run(monkeypatch, dict(name=distro, te=te, policy_root=policy_root))
    assert failed
    assert "'%s' is already installed at priority 100 (distribution policy)" % distro in refused['msg']
    assert 'force=true' in refused['msg']
    removal, failed = run(monkeypatch, dict(name=distro, state='absent', priority=100, policy_root=policy_root))
    assert failed and 'not installed by fleetsec.selinux' in removal['msg']
    forced, failed = run(monkeypatch, dict(name=distro, te=te, force=True, policy_root=policy_root), check_mode=True)
    assert not failed and forced['changed'] and forced['rebuilds'] == 1
    assert store_list(policy_root) == before


def test_dangerous_rules_refused_until_acknowledged(monkeypatch, policy_root, store_list):
    te = """require { type ntpd_t; type shadow_t; class file { read write }; class capability sys_admin; }
allow ntpd_t shadow_t:file { read write };
allow ntpd_t self:capability sys_admin;
"""
    args = dict(name='fsitest_danger', te=te, policy_root=policy_root)
    refused, failed = run(monkeypatch, args)
    assert failed
    assert 'allow ntpd_t shadow_t:file write (write (write) to shadow_t, a security file' in refused['msg']
    # reading the password hashes is a finding of its own
    assert 'allow ntpd_t shadow_t:file read (read (read) shadow_t' in refused['msg']
    assert 'allow ntpd_t self:capability sys_admin (capability sys_admin)' in refused['msg']
    shadow = ['allow ntpd_t shadow_t:file read', 'allow ntpd_t shadow_t:file write']
    partly, failed = run(monkeypatch, dict(args, allow_dangerous=shadow))
    assert failed and 'shadow_t' not in partly['msg'].split('acknowledged:')[1].split('Review')[0]
    assert 'sys_admin' in partly['msg']
    acked = shadow + ['allow ntpd_t self:capability sys_admin;']
    accepted, failed = run(monkeypatch, dict(args, allow_dangerous=acked), check_mode=True)
    assert not failed, accepted
    assert [(d['rule'], d['acknowledged']) for d in accepted['dangerous']] == [
        ('allow ntpd_t shadow_t:file read', True), ('allow ntpd_t shadow_t:file write', True),
        ('allow ntpd_t self:capability sys_admin', True)]
    everything, failed = run(monkeypatch, dict(args, allow_dangerous=True), check_mode=True)
    assert not failed and everything['changed']
    assert 'fsitest_danger' not in store_list(policy_root)


@pytest.mark.lanes('debian')
def test_generated_changes_nothing_and_accumulate_never_shrinks_the_module(monkeypatch, policy_root, store_list):
    """state=generated (the rollout's review step) judges on a trial copy and leaves the store byte-identical;
    accumulate (the role's builds) adds a later capture's denials to the module instead of replacing them."""
    first_capture = [avc(1, 'ntpd_t', 'user_home_t', 'file', 'read')]
    later_capture = [avc(2, 'ntpd_t', 'user_home_t', 'dir', 'search')]
    args = dict(name='fsitest_acc', policy_root=policy_root)
    digest, commits = store_digest(policy_root), commit_num(policy_root)
    generated, failed = run(monkeypatch, dict(args, denials=first_capture, state='generated'))
    assert not failed, generated
    assert (generated['changed'], generated['rebuilds']) == (False, 0) and 'nothing installed' in generated['msg']
    assert generated['rules'] == ['allow ntpd_t user_home_t:file read;'] and generated['dangerous'] == []
    assert (store_digest(policy_root), commit_num(policy_root)) == (digest, commits)
    assert not os.path.exists(record_path(policy_root, 'fsitest_acc'))

    installed, failed = run(monkeypatch, dict(args, denials=first_capture, accumulate=True))
    assert not failed and installed['rebuilds'] == 1, installed
    grown, failed = run(monkeypatch, dict(args, denials=later_capture, accumulate=True))
    assert not failed and grown['rebuilds'] == 1, grown
    assert sorted(grown['rules']) == ['allow ntpd_t user_home_t:dir search;', 'allow ntpd_t user_home_t:file read;']
    with open(record_path(policy_root, 'fsitest_acc')) as handle:
        assert json.load(handle)['denials'] == sorted(first_capture + later_capture)
    commits = commit_num(policy_root)
    again, failed = run(monkeypatch, dict(args, denials=later_capture, accumulate=True))
    assert not failed
    assert (again['changed'], again['rebuilds'], again['modules'][0]['compiled']) == (False, 0, False)
    assert commit_num(policy_root) == commits and store_list(policy_root)['fsitest_acc'][3] == grown['checksum']


def test_a_module_that_makes_a_domain_permissive_is_refused_whatever_its_form(monkeypatch, policy_root, tmp_path):
    """The gate compares the permissive types of the current and the trial policy. `seinfo --permissive POLICY`
    takes POLICY as a type name and reads the RUNNING policy (on an enforcing host: /sys/fs/selinux/policy, EBUSY
    when two reads overlap); the policy file must come first."""
    cil = tmp_path / 'fsitest_perm.cil'
    cil.write_text('(typepermissive ntpd_t)\n')
    refused, failed = run(monkeypatch, dict(name='fsitest_perm', cil=str(cil), policy_root=policy_root), check_mode=True)
    assert failed and 'makes the domain ntpd_t permissive' in refused['msg'], refused
    accepted, failed = run(monkeypatch, dict(name='fsitest_perm', cil=str(cil), policy_root=policy_root,
                                             allow_dangerous=['permissive ntpd_t']), check_mode=True)
    assert not failed and accepted['dangerous'][0]['acknowledged'] is True, accepted


@pytest.mark.lanes('debian', 'el9')
def test_a_new_priority_moves_the_module_in_one_transaction(monkeypatch, policy_root, store_list):
    """The module is ours at 400; asked at 300 it is installed there and removed at 400, in one commit."""
    args = dict(name='fsitest_prio', te=TE, policy_root=policy_root)
    first, failed = run(monkeypatch, args)
    assert not failed and store_list(policy_root)['fsitest_prio'][0] == 400, first
    commits = commit_num(policy_root)
    moved, failed = run(monkeypatch, dict(args, priority=300))
    assert not failed, moved
    assert moved['changed'] and moved['rebuilds'] == 1 and commit_num(policy_root) == commits + 1
    listing = subprocess.run(['semodule', '-p', policy_root, '-s', store_type(policy_root), '-lfull'], check=True,
                             capture_output=True, text=True).stdout
    assert [line.split()[0] for line in listing.splitlines() if ' fsitest_prio ' in ' %s ' % line] == ['300']
    again, failed = run(monkeypatch, dict(args, priority=300))
    assert not failed and not again['changed'] and again['rebuilds'] == 0, again


@pytest.mark.lanes('debian', 'el9')
def test_without_setools_nothing_is_installed_unless_acknowledged(policy_root, store_list, tmp_path):
    """What a module grants is judged with sesearch and seinfo; on a host without them the module refuses before the
    build, and with allow_dangerous: true it installs with a warning."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    for tool in ('semodule', 'checkmodule', 'semodule_package', 'audit2allow'):
        os.symlink(shutil.which(tool), str(bindir / tool))
    # get_bin_path also looks in /usr/sbin, /sbin, /usr/local/sbin: setools lives in /usr/bin, so it is hidden
    assert not any(os.path.exists(os.path.join(d, t)) for d in ('/usr/sbin', '/sbin') for t in ('seinfo', 'sesearch'))
    before, commits = store_list(policy_root), commit_num(policy_root)
    args = dict(name='fsitest_notools', te=TE, policy_root=policy_root)
    # as Ansible runs it (a process of its own), so that its warnings are in the result
    refused, rc = run_in_store_namespace(LPM_FILE, policy_root, args, tmp_path=tmp_path, path=str(bindir),
                                         namespace=False)
    assert rc == 1 and 'needs setools (sesearch, seinfo)' in refused['msg'], refused
    assert 'Nothing was changed' in refused['msg'] and commit_num(policy_root) == commits
    installed, rc = run_in_store_namespace(LPM_FILE, policy_root, dict(args, allow_dangerous=True), tmp_path=tmp_path,
                                           path=str(bindir), namespace=False)
    assert rc == 0 and installed['rebuilds'] == 1, installed
    # (ansible-core 2.19 returns each warning as a structure, earlier releases as a string)
    assert 'setools or the pp-to-CIL converter is missing' in json.dumps(installed.get('warnings')), installed
    assert store_list(policy_root)['fsitest_notools'][0] == 400 and 'fsitest_notools' not in before
