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
import json
import os
import re
import shutil
import subprocess

import pytest

from fleetsec_testlib.store_copy import (NAMESPACE_TOOLS, STORE_ROOT, TARGET_PYTHON, binary_policy, commit_num,
                                         hold_lock, in_store_namespace, namespace_ok, run_in_store_namespace,
                                         semodule_has_checksum, store_digest, store_dir, store_type)

from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_state, _setools

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

pytestmark = [
    pytest.mark.lanes('debian', 'el9', 'el8', 'el10', 'el7'),
    pytest.mark.skipif(shutil.which('semodule') is None or os.geteuid() != 0, reason='needs root and semodule'),
]


def avc(n, src, tgt, tclass, perms, comm='avctest'):
    return AVC.format(n=n, src=src, tgt=tgt, tclass=tclass, perms=perms, comm=comm)


def run(module, root, tmp_path, check_mode=False, namespace=False, binds=(), **args):
    if module == LPM:
        args['policy_root'] = root
    result, rc = run_in_store_namespace(module, root, args, check_mode=check_mode, tmp_path=tmp_path,
                                        namespace=namespace, binds=binds)
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


@pytest.mark.skipif(not os.environ.get('FLEETSEC_STORE_ROOT'), reason='a matrix step only (tools/test.sh '
                    'integration-store-elN): the Debian step runs the host\'s setools and ausearch')
def test_setools_and_ausearch_are_the_release_ones():
    """Every sesearch, seinfo and ausearch a module runs in a matrix step is the release's own build (tools/el/env.sh
    --setools/--audit first on PATH): found in the release's folders, and printing the release's version (the host's
    setools 4.4.1 and audit 3.0.9 would print theirs). setools 4 runs on the release's Python; setools 3 (EL7) is C,
    with the release userspace's libselinux."""
    setools, audit = os.environ.get('FLEETSEC_EL_SETOOLS'), os.environ.get('FLEETSEC_EL_AUDIT')
    setools_version, audit_version = (os.environ.get('FLEETSEC_EL_SETOOLS_VERSION'),
                                      os.environ.get('FLEETSEC_EL_AUDIT_VERSION'))
    assert setools and setools_version and audit and audit_version, 'tools/el/env.sh ran without --setools/--audit'
    env = dict(os.environ, LC_ALL='C')
    said = {}
    for tool, flag, folder in (('sesearch', '--version', setools), ('seinfo', '--version', setools),
                               ('ausearch', '-v', audit), ('aureport', '-v', audit)):
        found = shutil.which(tool)
        assert found and found.startswith(folder + '/'), (tool, found, folder)
        proc = subprocess.run([tool, flag], capture_output=True, text=True, env=env, check=False)
        said[tool] = (proc.returncode, proc.stdout.strip())
    if setools_version.startswith('3.'):
        # setools 3 (EL7's setools-console): "sesearch 3.3.8" and a copyright line, as on RHEL 7
        expected = dict((tool, (0, '%s %s\nCopyright (C) %s Tresys Technology, LLC' % (tool, setools_version, years)))
                        for tool, years in (('sesearch', '2003-2009'), ('seinfo', '2003-2007')))
    else:
        expected = {'sesearch': (0, setools_version), 'seinfo': (0, setools_version)}
    expected.update({'ausearch': (0, 'ausearch version %s' % audit_version),
                     'aureport': (0, 'aureport version %s' % audit_version)})
    assert said == expected
    with open(shutil.which('sesearch'), 'rb') as handle:
        first = handle.readline().decode('utf-8', 'replace')
    if setools_version.startswith('3.'):
        # setools 3: C programs, libqpol and libapol linked in (with the userspace's static libsepol), the release
        # userspace's libselinux by their run path (nothing from the host's SELinux libraries)
        userspace = os.environ.get('FLEETSEC_EL_USERSPACE')
        assert first.startswith('\x7fELF') and userspace, first
        for tool in ('sesearch', 'seinfo'):
            libs = subprocess.run(['ldd', shutil.which(tool)], capture_output=True, text=True, env={}, check=True).stdout
            selinux = [line.split() for line in libs.splitlines() if 'libselinux.so' in line]
            assert len(selinux) == 1 and selinux[0][2].startswith(userspace + '/'), libs
            assert not any(name in libs for name in ('libsepol', 'libqpol', 'libapol', 'python')), libs
        return
    # setools 4 (Python): its interpreter (the tools' #! line) is the release's Python, its package the release's build
    assert first.startswith('#!'), first
    interpreter = first[2:].split()[0]
    probe = subprocess.run([interpreter, '-Es', '-c', 'import sys, setools; print("%d.%d %s" % ('
                            'sys.version_info[0], sys.version_info[1], setools.__file__))'],
                           capture_output=True, text=True, env=env, check=True).stdout.split()
    expected = os.environ.get('FLEETSEC_TARGET_PYTHON_VERSION')
    assert (not expected or probe[0] == expected) and probe[1].startswith(setools + '/'), probe


@pytest.mark.skipif(shutil.which('ausearch') is None, reason='needs ausearch')
def test_records_through_the_release_ausearch_read_as_the_file_itself(tmp_path):
    """avc_collect's ``source: ausearch`` reads what this release's ausearch prints (``-m ... --raw -if FILE``): the
    same denials, counts and record total as reading the file itself (a SYSCALL record of the same event, a record of
    another type, a USER_AVC from systemd among them); a file without a denial (ausearch: ``<no matches>``, rc 1)
    is no error."""
    log = tmp_path / 'audit.log'
    log.write_text('\n'.join([
        ('type=SYSCALL msg=audit(1700000000.1:1): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=5 '
         'a2=0 a3=0 items=0 ppid=1 pid=41 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 '
         'tty=(none) ses=4294967295 comm="avctest" exe="/usr/local/sbin/avctest" subj=system_u:system_r:ntpd_t:s0 '
         'key=(null)'),
        avc(1, 'ntpd_t', 'user_home_t', 'file', 'read'),
        avc(2, 'ntpd_t', 'user_home_t', 'file', 'read open'),
        'type=CRED_ACQ msg=audit(1700000000.3:3): pid=43 uid=0 auid=0 ses=1 msg=\'op=PAM:setcred acct="root" '
        'exe="/usr/sbin/sshd" hostname=? addr=? terminal=ssh res=success\'',
        avc(4, 'httpd_t', 'http_port_t', 'tcp_socket', 'name_connect', comm='httpd'),
        ('type=USER_AVC msg=audit(1700000000.5:5): pid=1 uid=0 auid=4294967295 ses=4294967295 '
         'subj=system_u:system_r:init_t:s0 msg=\'avc:  denied  { status } for auid=n/a uid=0 gid=0 '
         'cmdline="/usr/bin/systemctl status" scontext=system_u:system_r:unconfined_service_t:s0 '
         'tcontext=system_u:system_r:init_t:s0 tclass=system permissive=0  exe="/usr/lib/systemd/systemd" '
         'sauid=0 hostname=? addr=? terminal=?\''),
    ]) + '\n')
    quiet = tmp_path / 'quiet.log'
    quiet.write_text('type=CRED_ACQ msg=audit(1700000000.9:9): pid=49 uid=0 auid=0 ses=1 msg=\'op=PAM:setcred '
                     'acct="root" exe="/usr/sbin/sshd" hostname=? addr=? terminal=ssh res=success\'\n')

    def read(source, path):
        result, rc = run(AVC_COLLECT, STORE_ROOT, tmp_path, paths=[str(path)], source=source, include_rotated=False)
        assert rc == 0 and result['source'] == source, result
        return result['records'], sorted((d['source_type'], d['target_type'], d['tclass'], sorted(d['permissions']),
                                          d['count']) for d in result['denials'])

    by_ausearch, by_file = read('ausearch', log), read('file', log)
    assert by_ausearch == by_file and by_file[0] == 4, (by_ausearch, by_file)
    assert [d[:3] for d in by_file[1]] == [
        ('httpd_t', 'http_port_t', 'tcp_socket'), ('ntpd_t', 'user_home_t', 'file'),
        ('unconfined_service_t', 'init_t', 'system')], by_file
    assert read('ausearch', quiet) == (0, [])


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
    if semodule_has_checksum():
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


@pytest.mark.lanes('el7')
def test_joining_a_constraint_exempting_attribute_is_refused_with_setools_3(policy_root, tmp_path):
    """The gate knows which attributes exempt a type from the policy's constraints through the release's seinfo
    --constrain. setools 3 (EL7) prints a constraint with every attribute expanded into its types; before _setools
    named them again, EL7's gate refused this module only as one it could not judge ("can_change_object_identity has
    no rule in the installed policy ... not judged"). The other releases run the same case in
    test_local_policy_module_hostile.py."""
    root = policy_root
    before = store_digest(root)
    refused, rc = run(LPM, root, tmp_path, check_mode=True, name='fsiexempt',
                      te='require { type ntpd_t; attribute can_change_object_identity; }\n'
                         'typeattribute ntpd_t can_change_object_identity;\n')
    assert rc != 0 and "Refusing to load module 'fsiexempt'" in refused['msg'], refused
    findings = dict((d['rule'], d['reason']) for d in refused['dangerous'])
    assert 'exempts ntpd_t from the constraints' in findings['typeattribute ntpd_t can_change_object_identity'], findings
    assert store_digest(root) == before


def test_batch_is_one_transaction_then_states(policy_root, tmp_path):
    """Four sources in one transaction, among them refpolicy=true: audit2allow -R writes interface calls from the
    interface database that sepolgen-ifgen builds from the policy headers, and the devel Makefile (m4) expands them.
    On an EL step those are that release's selinux-policy-devel files (the store's usr/share/selinux/devel,
    bind-mounted where an EL host has them), compiled by that release's checkmodule."""
    root = policy_root
    devel = os.path.join(STORE_ROOT, 'usr/share/selinux/devel')
    assert STORE_ROOT == '/' or os.path.isfile(os.path.join(devel, 'Makefile')), 'the EL store has no devel files'
    binds = [(devel, '/usr/share/selinux/devel')] if STORE_ROOT != '/' else []
    namespace = NAMESPACE_TOOLS and namespace_ok()
    if binds and not namespace:
        pytest.skip('needs unshare -m (the release devel files go where an EL host has them)')
    cil = tmp_path / 'fsimatrix_c.cil'
    cil.write_text('(allow ntpd_t user_home_t (lnk_file (getattr)))\n')
    modules = [
        {'name': 'fsimatrix_a', 'denials': [avc(1, 'ntpd_t', 'user_home_t', 'dir', 'search')]},
        {'name': 'fsimatrix_b', 'te': TE},
        {'name': 'fsimatrix_c', 'cil': str(cil)},
        # EL9's interface database answers this read denial with a manage interface: the verdict reports the writes to
        # user_home_t (a login's home content) it hands out, acknowledged here to test the batch
        {'name': 'fsimatrix_d', 'refpolicy': True, 'denials': [avc(2, 'ntpd_t', 'user_home_t', 'file', 'read open')],
         'allow_dangerous': True},
    ]
    commits = commit_num(root)
    first, rc = run(LPM, root, tmp_path, namespace=namespace, binds=binds, modules=modules)
    assert rc == 0 and first['rebuilds'] == 1, first
    assert commit_num(root) == commits + 1, 'four modules must be one transaction'
    assert all(listing(root)[m['name']] == (400, True) for m in modules)
    refpolicy = next(m for m in first['modules'] if m['name'] == 'fsimatrix_d')
    assert any(re.match(r'^userdom_\w+\(ntpd_t\)$', rule) for rule in refpolicy['rules']), refpolicy
    again, rc = run(LPM, root, tmp_path, namespace=namespace, binds=binds, modules=modules)
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
    assert planned['permissive_builtin'] == semanage_permissive(root)[0] == store_permissive(root)[0]
    added, rc = run(MODE, root, tmp_path, namespace=True, permissive_domains=[domain])
    # the policy's own permissive domains (Fedora's permissivedomains.cil on EL10) are listed too, and left alone
    assert rc == 0 and added['changed'] and domain in added['permissive_domains'], added
    others = sorted(set(added['permissive_domains']) - {domain})
    assert commit_num(root) == commits + 1 and 'permissive_' + domain in listing(root)
    again, rc = run(MODE, root, tmp_path, namespace=True, permissive_domains=[domain])
    assert rc == 0 and not again['changed'] and commit_num(root) == commits + 1, again
    # what selinux_mode reads (the store's module list and seinfo) is what the release's semanage lists
    builtin, customized = semanage_permissive(root)
    assert customized == [domain] and store_permissive(root) == (builtin, customized)
    assert (again['permissive_builtin'], again['permissive_domains']) == (builtin, sorted(builtin + customized))
    removed, rc = run(MODE, root, tmp_path, namespace=True, permissive_domains=[domain],
                      permissive_domains_state='absent')
    assert rc == 0 and removed['changed'] and 'permissive_' + domain not in listing(root), removed
    assert sorted(removed['permissive_domains']) == others
    assert semanage_permissive(root) == store_permissive(root) == (removed['permissive_builtin'], [])


def semanage_permissive(root):
    """``semanage permissive -l`` of the store copy: (builtin, customized), each sorted."""
    out = subprocess.run(in_store_namespace(root, ['semanage', 'permissive', '-l']), capture_output=True, text=True,
                         check=True).stdout
    return tuple(sorted(names) for names in _selinux_state.parse_permissive_list(out))


def store_permissive(root):
    """The same two lists from what selinux_mode reads where semodule and seinfo are installed: the store's module
    list (``semodule -l``) and the permissive types of the newest binary policy (``seinfo --permissive``)."""
    modules = subprocess.run(in_store_namespace(root, ['semodule', '-l']), capture_output=True, text=True,
                             check=True).stdout
    policy = binary_policy(root)
    types = subprocess.run(['seinfo', policy, '--permissive'], capture_output=True, text=True, check=True).stdout
    names = _selinux_state.parse_module_names(modules)
    assert names is not None, modules
    return _selinux_state.split_permissive(_setools.parse_names(types), names)


def test_explain_through_the_release_audit2why(pristine_policy_root, tmp_path):
    if os.environ.get('FLEETSEC_EL_NO_SEMANAGE'):
        pytest.skip(os.environ['FLEETSEC_EL_NO_SEMANAGE'])
    root = str(pristine_policy_root)
    policy = binary_policy(root)
    log = tmp_path / 'audit.log'
    log.write_text('\n'.join([
        avc(1, 'ntpd_t', 'user_home_t', 'file', 'read'),
        avc(2, 'httpd_t', 'http_port_t', 'tcp_socket', 'name_connect', comm='httpd'),
        # allowed by this policy: logged under another policy or boolean setting
        avc(3, 'httpd_t', 'httpd_sys_content_t', 'file', 'read', comm='httpd'),
        # allowed by a rule, refused by the constraint on changing the SELinux user at a transition
        ('type=AVC msg=audit(1700000000.4:4): avc:  denied  { transition } for  pid=44 comm="passwd" '
         'scontext=user_u:user_r:user_t:s0 tcontext=system_u:system_r:passwd_t:s0 tclass=process permissive=0'),
    ]) + '\n')
    result, rc = run(AVC_COLLECT, root, tmp_path, paths=[str(log)], explain=True, policy=policy)
    assert rc == 0, result
    why = {(d['source_type'], d['target_type']): d['explanation'] for d in result['denials']}
    assert why['ntpd_t', 'user_home_t']['kind'] == 'missing_rule', why
    boolean = why['httpd_t', 'http_port_t']
    assert boolean['kind'] == 'boolean' and 'httpd_can_network_connect' in boolean['booleans'], why
    assert why['httpd_t', 'httpd_sys_content_t']['kind'] == 'reload', why
    constraint = why['user_t', 'passwd_t']
    assert constraint['kind'] == 'constraint' and 'u1 == u2' in constraint['text'], why


def test_a_held_store_lock_reads_as_held_in_the_release_words(policy_root, tmp_path):
    """Each libsemanage words a held lock its own way (and semanage adds its own): the modules retry only a failure
    that lock_held() recognises, so every release's real words must read as held, and the change must not happen."""
    from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import lock_held
    root = policy_root
    cil = tmp_path / 'fsimatrix_lock.cil'
    cil.write_text('(allow ntpd_t user_home_t (lnk_file (getattr)))\n')
    before, commits = store_digest(root), commit_num(root)
    semodule = ['semodule', '-p', root, '-s', store_type(root)]
    holder = hold_lock(os.path.join(store_dir(root), 'semanage.trans.LOCK'), 600)
    try:
        install = subprocess.run(semodule + ['-X', '400', '-i', str(cil)], capture_output=True, text=True,
                                 env=dict(os.environ, LC_ALL='C'), timeout=120, check=False)
        imported = None
        if not os.environ.get('FLEETSEC_EL_NO_SEMANAGE') and NAMESPACE_TOOLS and namespace_ok():
            imported = subprocess.run(in_store_namespace(root, ['semanage', 'import']), input='permissive -a ntpd_t\n',
                                      capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'), timeout=120,
                                      check=False)
    finally:
        holder.kill()
        holder.wait()
    print('semodule -i, lock held: rc=%s %s%s' % (install.returncode, install.stdout, install.stderr))
    assert install.returncode != 0 and lock_held(install), install
    if imported is not None:
        print('semanage import, lock held: rc=%s %s%s' % (imported.returncode, imported.stdout, imported.stderr))
        assert imported.returncode != 0 and lock_held(imported), imported
    assert store_digest(root) == before and commit_num(root) == commits

    # the listing (every run starts with one) under the other lock libsemanage keeps: it either does not need that
    # lock in this release, or fails in words that read as held
    holder = hold_lock(os.path.join(store_dir(root), 'semanage.read.LOCK'), 600)
    try:
        listed = subprocess.run(semodule + ['-lfull'], capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'),
                                timeout=120, check=False)
    finally:
        holder.kill()
        holder.wait()
    print('semodule -lfull, read lock held: rc=%s %s' % (listed.returncode, listed.stderr))
    assert listed.returncode == 0 or lock_held(listed), listed


# /etc/os-release as each release ships it (the web addresses left out): RHEL 9, a rebuild of RHEL 8, CentOS Stream 10
EL_OS_RELEASE = {
    8: ('NAME="Rocky Linux"\nVERSION="8.10 (Green Obsidian)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
        'VERSION_ID="8.10"\nPLATFORM_ID="platform:el8"\nPRETTY_NAME="Rocky Linux 8.10 (Green Obsidian)"\n'
        'ANSI_COLOR="0;32"\nLOGO="fedora-logo-icon"\nCPE_NAME="cpe:/o:rocky:rocky:8:GA"\n'),
    9: ('NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n'
        'PLATFORM_ID="platform:el9"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\nANSI_COLOR="0;31"\n'
        'LOGO="fedora-logo-icon"\nCPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"\n'),
    10: ('NAME="CentOS Stream"\nVERSION="10 (Coughlan)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="10"\n'
         'PLATFORM_ID="platform:el10"\nPRETTY_NAME="CentOS Stream 10 (Coughlan)"\nANSI_COLOR="0;31"\n'
         'LOGO="fedora-logo-icon"\nCPE_NAME="cpe:/o:centos:centos:10"\n'),
}


@pytest.mark.parametrize('major', sorted(EL_OS_RELEASE))
def test_disabling_warns_from_el9_on_that_the_config_file_is_not_enough(policy_root, tmp_path, major):
    """RHEL 9 and later boot with SELinux enabled whatever SELINUX= says: selinux_mode reads the release from the
    host's own /etc/os-release file (here an EL one over this host's, in the module's mount namespace)."""
    if not NAMESPACE_TOOLS or not namespace_ok():
        pytest.skip('needs unshare -m')
    root = policy_root
    os_release = tmp_path / 'os-release'
    os_release.write_text(EL_OS_RELEASE[major])
    before = store_digest(root)
    planned, rc = run(MODE, root, tmp_path, check_mode=True, namespace=True, binds=[(os_release, '/etc/os-release')],
                      state='disabled', scope='config')
    assert rc == 0 and planned['changed'], planned
    said = json.dumps(planned)
    assert ('grubby --update-kernel ALL --args selinux=0' in said) == (major >= 9), said
    assert store_digest(root) == before
