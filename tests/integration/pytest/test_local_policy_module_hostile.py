# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""local_policy_module against hostile or faulty input, with the REAL tools on an offline store copy.

Each case is one found by adversarial testing (issue "Hostile input, faults and concurrency"): it failed
before the fix. Every case asserts the user-visible outcome (refused with a clear message, or done) AND that
the store is as it was (``semodule -lfull -m`` before/after) unless the case installs on purpose.
"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from fleetsec_testlib.store_copy import binary_policy, store_type
from fleetsec_testlib.module_helpers import run_module

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_apply
from ansible_collections.fleetsec.selinux.plugins.module_utils import _power
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools
from ansible_collections.fleetsec.selinux.plugins.modules import local_policy_module as lpm

pytestmark = pytest.mark.lanes('el9', 'el8', 'el10')

DEVEL_MAKEFILE = '/usr/share/selinux/devel/Makefile'
TE_OK = """require { type ntpd_t; type user_home_t; class file { read open }; }
allow ntpd_t user_home_t:file { read open };
"""


def run(monkeypatch, args, **kwargs):
    return run_module(monkeypatch, lpm.main, args, **kwargs)


def build_pp(tmp_path, declared, te_body):
    """A real policy package that declares module ``declared`` (checkmodule + semodule_package)."""
    te = tmp_path / ('%s.te' % declared)
    te.write_text('module %s 1.0;\n%s' % (declared, te_body))
    mod, pp = tmp_path / ('%s.mod' % declared), tmp_path / ('%s.pp' % declared)
    subprocess.run(['checkmodule', '-M', '-m', '-o', str(mod), str(te)], check=True, capture_output=True)
    subprocess.run(['semodule_package', '-o', str(pp), '-m', str(mod)], check=True, capture_output=True)
    return str(pp)


def record_dir(root):
    return os.path.join(root, 'var/lib/fleetsec-selinux')


# ------------------------------------------------------------------------------------------------- m4 ---

@pytest.mark.lanes('debian', 'el9')
@pytest.mark.skipif(not os.path.exists(DEVEL_MAKEFILE), reason='needs the refpolicy devel Makefile')
@pytest.mark.parametrize('attack, message', [
    # named directly: refused before m4 runs, with the line
    ("syscmd(`touch {mark}')", 'calls the m4 builtin syscmd() on line 3'),
    # built by expansion, so no text scan can see it: the guard loaded before the source stops it inside m4
    ("define(`mk', `$1$2')mk(`sys', `cmd')(`touch {mark}')", 'the m4 builtin syscmd is not allowed'),
    ("patsubst(`esyQscmd', `Q')(`touch {mark}')", 'the m4 builtin esyscmd is not allowed'),
])
def test_m4_builtins_never_run_even_in_check_mode(monkeypatch, policy_root, store_list, tmp_path, attack, message):
    mark = tmp_path / 'ran-as-root'
    te = 'policy_module(fsitest_m4, 1.0)\nrequire { type ntpd_t; }\n%s\n' % attack.format(mark=mark)
    before = store_list(policy_root)
    for check_mode in (True, False):
        result, failed = run(monkeypatch, dict(name='fsitest_m4', te=te, policy_root=policy_root),
                             check_mode=check_mode)
        assert failed, result
        assert message in result['msg']
        assert not mark.exists()
    assert store_list(policy_root) == before


@pytest.mark.lanes('debian', 'el9')
@pytest.mark.skipif(not os.path.exists(DEVEL_MAKEFILE), reason='needs the refpolicy devel Makefile')
def test_refpolicy_source_with_interfaces_still_builds(monkeypatch, policy_root):
    te = ('policy_module(fsitest_ref, 1.0)\ngen_require(`type ntpd_t;\')\nfiles_read_etc_files(ntpd_t)\n')
    result, failed = run(monkeypatch, dict(name='fsitest_ref', te=te, policy_root=policy_root), check_mode=True)
    assert not failed, result
    assert result['changed'] and result['dangerous'] == []


# ------------------------------------------------------------------------------------------- the gate ---

def test_gate_judges_what_is_granted_after_expansion(monkeypatch, policy_root, store_list, tmp_path):
    """Attributes, aliases, CIL and prebuilt packages no longer walk around the dangerous-rule gate."""
    cil = tmp_path / 'fsitest_cil.cil'
    cil.write_text('(allow ntpd_t shadow_t (file (write)))\n')
    pp = build_pp(tmp_path, 'fsitest_pp', 'require { type ntpd_t; type security_t; class security setenforce; }\n'
                                          'allow ntpd_t security_t:security setenforce;\n')
    modules = [
        {'name': 'fsitest_attr', 'te': 'require { type ntpd_t; attribute can_setenforce; }\n'
                                       'typeattribute ntpd_t can_setenforce;\n'},
        {'name': 'fsitest_ftype', 'te': 'require { type ntpd_t; attribute file_type; class file write; }\n'
                                        'allow ntpd_t file_type:file write;\n'},
        {'name': 'fsitest_alias', 'te': 'require { type ntpd_t; type shadow_t; class file write; }\n'
                                        'typealias shadow_t alias fsitest_x_t;\nallow ntpd_t fsitest_x_t:file write;\n'},
        {'name': 'fsitest_cil', 'cil': str(cil)},
        {'name': 'fsitest_pp', 'pp': pp},
    ]
    before = store_list(policy_root)
    refused, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root), check_mode=True)
    assert failed
    assert "Refusing to load module 'fsitest_attr'" in refused['msg']
    assert 'typeattribute ntpd_t can_setenforce' in refused['msg'] and 'setenforce' in refused['msg']

    judged, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root, allow_dangerous=True),
                         check_mode=True)
    assert not failed, judged
    by_module = {}
    for finding in judged['dangerous']:
        by_module.setdefault(finding['module'], []).append(finding['rule'])
    # Each module is judged on what the batch grants to the types it names (all name ntpd_t here). A policy
    # built with optimize-policy (EL's semanage.conf) drops rules another rule already covers: the alias and CIL
    # writes to shadow_t may then show only through file_type, and the .pp's setenforce through can_setenforce.
    reaches_shadow = set(['allow ntpd_t shadow_t:file write', 'allow ntpd_t file_type:file write'])
    gets_setenforce = set(['allow ntpd_t security_t:security setenforce', 'typeattribute ntpd_t can_setenforce'])
    assert 'typeattribute ntpd_t can_setenforce' in by_module['fsitest_attr']
    assert 'allow ntpd_t file_type:file write' in by_module['fsitest_ftype']
    for name in ('fsitest_alias', 'fsitest_cil'):
        assert reaches_shadow & set(by_module[name]), (name, by_module[name])
    assert gets_setenforce & set(by_module['fsitest_pp']), by_module['fsitest_pp']
    assert store_list(policy_root) == before


FSITEST_TE = 'require { type ntpd_t; class file { write open }; }\ntype fsitest_t;\nallow ntpd_t fsitest_t:file { write open };\n'
# One case per class the verdict judges (issue "The safety gate, complete"): each is refused, before anything is built,
# with a finding a reviewer can read, on the Debian and the EL9 targeted policies alike.
CLASSES = [
    ('file context over a protected file', dict(te=FSITEST_TE, fc='/etc/shadow -- system_u:object_r:fsitest_t:s0\n'),
     'filecon /etc/shadow file fsitest_t', 'shadow_t'),
    ('file context below a daemon binary directory', dict(te=FSITEST_TE, fc='/usr/sbin/.+ -- system_u:object_r:fsitest_t:s0\n'),
     'filecon /usr/sbin/.+ file fsitest_t', 'bin_t'),
    ('port label', dict(cil='(portcon tcp 2222 (system_u object_r ssh_port_t ((s0) (s0))))'),
     'portcon tcp 2222 (system_u object_r ssh_port_t ((s0) (s0)))', 'portcon'),
    ('protected type joins a target attribute', dict(te='require { type bin_t; attribute httpdcontent; }\ntypeattribute bin_t httpdcontent;\n'),
     'typeattribute bin_t httpdcontent', 'may now write bin_t'),
    ('assertion exemption',
     dict(te='require { type ntpd_t; attribute can_relabelto_shadow_passwords; }\ntypeattribute ntpd_t can_relabelto_shadow_passwords;\n'),
     'typeattribute ntpd_t can_relabelto_shadow_passwords', 'can_relabelto_shadow_passwords'),
    ('constraint exemption',
     dict(te='require { type ntpd_t; attribute can_change_object_identity; }\ntypeattribute ntpd_t can_change_object_identity;\n'),
     'typeattribute ntpd_t can_change_object_identity', 'exempts ntpd_t from the constraints'),
    ('dormant optional block', dict(cil='(optional fsitest_o (allow ntpd_t fsitest_dormant_t (file (write))))'),
     'allow ntpd_t fsitest_dormant_t:file write', 'dormant: optional fsitest_o'),
    ('dormant conditional branch',
     dict(te='require { type ntpd_t; type shadow_t; class file write; }\nbool fsitest_b false;\nif (fsitest_b) { allow ntpd_t shadow_t:file write; }\n'),
     'allow ntpd_t shadow_t:file write', 'dormant: booleanif'),
    ('a user gains a role', dict(cil='(userrole staff_u sysadm_r)'), 'userrole staff_u sysadm_r', 'sysadm_r'),
    ('role allow', dict(cil='(roleallow staff_r sysadm_r)'), 'roleallow staff_r sysadm_r', 'review it'),
    ('ptrace of an unconfined domain',
     dict(te='require { type ntpd_t; type unconfined_t; class process ptrace; }\nallow ntpd_t unconfined_t:process ptrace;\n'),
     'allow ntpd_t unconfined_t:process ptrace', 'ptrace of another domain'),
    ('kernel parameters', dict(te='require { type ntpd_t; type sysctl_kernel_t; class file write; }\nallow ntpd_t sysctl_kernel_t:file write;\n'),
     'allow ntpd_t sysctl_kernel_t:file write', 'kernel parameter'),
    ('raw disk',
     dict(te='require { type ntpd_t; type fixed_disk_device_t; class blk_file write; }\nallow ntpd_t fixed_disk_device_t:blk_file write;\n'),
     'allow ntpd_t fixed_disk_device_t:blk_file write', 'device'),
    ('ssh keys', dict(te='require { type ntpd_t; type ssh_home_t; class file append; }\nallow ntpd_t ssh_home_t:file append;\n'),
     'allow ntpd_t ssh_home_t:file append', 'ssh keys'),
    ('a secret file relabelled to a type a daemon may only read',
     dict(te='require { type ntpd_t; class file { read open }; }\ntype fsitest_t;\nallow ntpd_t fsitest_t:file { read open };\n',
          fc='/etc/shadow -- system_u:object_r:fsitest_t:s0\n'),
     'filecon /etc/shadow file fsitest_t', 'which the transaction lets ntpd_t read'),
    ('what an existing domain creates gets another type',
     dict(te='require { type passwd_t; type etc_t; type user_home_t; class file create; }\n'
             'type_transition passwd_t etc_t:file user_home_t;\n'),
     'typetransition passwd_t etc_t file user_home_t', 'instead of what the policy protects'),
    # the policy's /srv/([^/]*/)?www(/.*)? starts shorter than the new tree and still reaches /srv/fsitest/www
    ('a protected context with a shorter literal beginning', dict(te=FSITEST_TE, fc='/srv/fsitest(/.*)? system_u:object_r:fsitest_t:s0\n'),
     'filecon /srv/fsitest(/.*)? any fsitest_t', '/srv/([^/]*/)?www(/.*)?'),
    # the adversarial review of this stop: the permission table is deny-by-default for the capabilities and the
    # kernel's classes
    ('a capability off the short harmless list',
     dict(te='require { type ntpd_t; class capability dac_override; }\nallow ntpd_t self:capability dac_override;\n'),
     'allow ntpd_t self:capability dac_override', 'capability dac_override'),
    ('the kernel loads a module on request',
     dict(te='require { type ntpd_t; type kernel_t; class system module_request; }\nallow ntpd_t kernel_t:system module_request;\n'),
     'allow ntpd_t kernel_t:system module_request', 'system module_request'),
    # genhomedircon writes HOME_DIR out as /root and every home: root's authorized_keys
    ('a home-directory template', dict(te=FSITEST_TE, fc='HOME_DIR/\\.ssh/authorized_keys -- system_u:object_r:fsitest_t:s0\n'),
     'filecon HOME_DIR/\\.ssh/authorized_keys file fsitest_t', 'can relabel files the policy protects'),
    ('a tree labelled with a type trusted by its label',
     dict(te='require { type ntpd_t; type etc_t; class file read; }\nallow ntpd_t etc_t:file read;\n',
          fc='/srv/fsitest(/.*)? system_u:object_r:shadow_t:s0\n'),
     'filecon /srv/fsitest(/.*)? any shadow_t', 'becomes trusted as shadow_t'),
    ('an entry point of a privileged domain on a type unprivileged domains write',
     dict(te='require { type initrc_t; type dhcpc_state_t; class file entrypoint; }\n'
             'allow initrc_t dhcpc_state_t:file entrypoint;\n'),
     'allow initrc_t dhcpc_state_t:file entrypoint', 'may write'),
    # the kernel's own state as files: /sys's types by the file contexts, the kernel file systems' by genfscon
    ('a write to the kernel state in /sys',
     dict(te='require { type ntpd_t; type sysfs_t; class file write; }\nallow ntpd_t sysfs_t:file write;\n'),
     'allow ntpd_t sysfs_t:file write', "the kernel's own state"),
    # entering a confined domain that holds control of the policy (load_policy_t: can_load_policy)
    ('a transition into a domain that controls the policy',
     dict(te='require { type ntpd_t; type load_policy_t; class process transition; }\n'
             'allow ntpd_t load_policy_t:process transition;\n'),
     'allow ntpd_t load_policy_t:process transition', 'controls the security policy'),
    ('a rule on an attribute without members',
     dict(cil='(typeattribute fsitest_attr)(allow fsitest_attr shadow_t (file (write)))'),
     'allow fsitest_attr shadow_t (file (write))', 'which has no member'),
]


@pytest.mark.parametrize('source, rule, word', [c[1:] for c in CLASSES], ids=[c[0] for c in CLASSES])
def test_every_class_of_change_is_judged(monkeypatch, policy_root, store_list, tmp_path, source, rule, word):
    if 'cil' in source:
        path = tmp_path / 'fsitest_class.cil'
        path.write_text(source['cil'] + '\n')
        source = dict(cil=str(path))
    before = store_list(policy_root)
    refused, failed = run(monkeypatch, dict(source, name='fsitest_class', policy_root=policy_root))
    assert failed and "Refusing to load module 'fsitest_class'" in refused['msg'], refused
    findings = dict((d['rule'], d['reason']) for d in refused['dangerous'])
    assert rule in findings and word in findings[rule], findings
    assert store_list(policy_root) == before  # refused before anything was built


@pytest.mark.lanes('debian', 'el9', 'el8', 'el10')
def test_the_one_pass_over_the_rules_answers_what_sesearch_answers(pristine_policy_root):
    """The verdict's one pass over the policy's rules (setools 4's own Python, the release's setools on each EL
    lane) gives, query by query, the very rules sesearch prints: the facts' queries, and the rules written on names
    as source and as target (allow, allowxperm and type_transition: side_rules)."""
    policy = binary_policy(pristine_policy_root)
    interpreter = _setools.script_interpreter(shutil.which('sesearch'))
    assert interpreter, 'sesearch is not a Python script: setools 4 expected on this lane'
    names = ['domain', 'httpd_t', 'initrc_t', 'shadow_t']  # an attribute, types with allow and type_transition rules
    queries = [{'source': 'domain'}, {'perms': sorted(set().union(*_power.CONTROL_PERMS.values()))},
               {'sources': names, 'kinds': ['-A', '-T']}, {'targets': names, 'kinds': ['-A', '-T']}]
    scan = subprocess.run(interpreter + ['-c', _setools.SCAN_SCRIPT, policy, json.dumps(queries)],
                          capture_output=True, text=True, check=True).stdout
    answers = _setools.split_scan(scan, len(queries))
    for query, args, answer in zip(queries, _setools.scan_queries(queries), answers):
        printed = subprocess.run(['sesearch'] + args + [policy], capture_output=True, text=True, check=True).stdout
        expected = set(line for line in printed.splitlines() if line.strip())
        assert expected and set(answer.splitlines()) == expected, query


@pytest.mark.lanes('debian', 'el9', 'el8', 'el10')
def test_the_rules_of_booleans_read_from_the_conditionals_are_what_sesearch_answers(pristine_policy_root):
    """remedy's rules of booleans, read from the policy's conditionals by setools 4's own Python (the release's setools
    on each EL lane), are sesearch's answer line for line: several booleans (-b PATTERN -rb, allow and type rules),
    one boolean (-b NAME, allow rules); a name the policy lacks leaves the answer to sesearch, which refuses it."""
    policy = binary_policy(pristine_policy_root)
    interpreter = _setools.script_interpreter(shutil.which('sesearch'))
    assert interpreter, 'sesearch is not a Python script: setools 4 expected on this lane'
    # guarded alone and in expressions with others (httpd_enable_cgi && httpd_unified ...), on every lane's policy
    names = ['httpd_builtin_scripting', 'httpd_can_network_connect', 'httpd_enable_cgi', 'httpd_unified']

    def script(booleans, kinds):
        return subprocess.run(interpreter + ['-c', _setools.BOOLEAN_SCRIPT, policy,
                                             json.dumps({'booleans': booleans, 'kinds': kinds})],
                              capture_output=True, text=True, check=False)

    def sesearch(args):
        done = subprocess.run(['sesearch'] + args + [policy], capture_output=True, text=True, check=False)
        return done.returncode, [line for line in done.stdout.splitlines() if line.strip()]

    for booleans, kinds, args in ((names, ['-A', '-T'], _setools.search_args(
            kinds=('-A', '-T'), boolean=_setools.name_pattern(names), regex=True)),
            (names[1:2], ['-A'], _setools.search_args(boolean=names[1]))):
        done = script(booleans, kinds)
        rc, expected = sesearch(args)
        assert done.returncode == 0 and rc == 0 and expected, (booleans, done.stderr)
        assert done.stdout.splitlines() == expected, booleans
        assert any(' && ' in line for line in expected) or len(booleans) == 1
    assert script(['fleetsec_no_such_boolean'], ['-A']).returncode == 3
    assert sesearch(_setools.search_args(boolean='fleetsec_no_such_boolean'))[0] != 0


def test_enabling_a_disabled_module_is_judged_like_an_install(monkeypatch, policy_root, store_list):
    te = 'require { type ntpd_t; type shadow_t; class file write; }\nallow ntpd_t shadow_t:file write;\n'
    ack = ['allow ntpd_t shadow_t:file write']
    result, failed = run(monkeypatch, dict(name='fsitest_dis', te=te, state='disabled', allow_dangerous=ack,
                                           policy_root=policy_root))
    assert not failed, result
    assert store_list(policy_root)['fsitest_dis'][2] is False
    before = store_list(policy_root)
    refused, failed = run(monkeypatch, dict(name='fsitest_dis', state='enabled', policy_root=policy_root))
    assert failed and "Refusing to load module 'fsitest_dis'" in refused['msg'], refused
    assert [d['rule'] for d in refused['dangerous']] == ack
    assert store_list(policy_root) == before
    enabled, failed = run(monkeypatch, dict(name='fsitest_dis', state='enabled', allow_dangerous=ack,
                                            policy_root=policy_root), check_mode=True)
    assert not failed and enabled['changed'], enabled


def test_acknowledged_expanded_finding_installs(monkeypatch, policy_root, store_list):
    te = 'require { type ntpd_t; attribute can_setenforce; }\ntypeattribute ntpd_t can_setenforce;\n'
    args = dict(name='fsitest_ack', te=te, policy_root=policy_root, allow_dangerous=['typeattribute ntpd_t can_setenforce'])
    result, failed = run(monkeypatch, args)
    assert not failed, result
    assert result['changed'] and store_list(policy_root)['fsitest_ack'][3] == result['checksum']
    assert [(d['rule'], d['acknowledged']) for d in result['dangerous']] == [('typeattribute ntpd_t can_setenforce', True)]
    again, failed = run(monkeypatch, args)
    assert not failed and not again['changed'] and again['rebuilds'] == 0


def test_pp_declaring_another_module_is_refused(monkeypatch, policy_root, store_list, tmp_path):
    distro = sorted(name for name, entry in store_list(policy_root).items() if entry[0] == 100)[0]
    pp = build_pp(tmp_path, distro, TE_OK.replace('module', ''))
    before = store_list(policy_root)
    for check_mode in (True, False):
        result, failed = run(monkeypatch, dict(name='fsitest_evil', pp=pp, policy_root=policy_root),
                             check_mode=check_mode)
        assert failed and "declares the module '%s'" % distro in result['msg']
    assert store_list(policy_root) == before


# -------------------------------------------------------------------------------------------- records ---

def test_record_planted_in_a_writable_directory_is_not_trusted(monkeypatch, policy_root, store_list):
    distro = sorted(name for name, entry in store_list(policy_root).items() if entry[0] == 100)[0]
    modules_dir = os.path.join(record_dir(policy_root), 'modules')
    os.makedirs(modules_dir)
    os.chmod(record_dir(policy_root), 0o777)
    os.chmod(modules_dir, 0o777)
    planted = os.path.join(modules_dir, '%s.json' % distro)
    with open(planted, 'w') as handle:
        handle.write('{}')
    os.chown(planted, 65534, 65534)
    before = store_list(policy_root)
    result, failed = run(monkeypatch, dict(name=distro, te=TE_OK, policy_root=policy_root))
    assert failed and 'Refusing to trust' in result['msg'] and record_dir(policy_root) in result['msg']
    os.chmod(record_dir(policy_root), 0o700)
    os.chmod(modules_dir, 0o700)
    result, failed = run(monkeypatch, dict(name=distro, te=TE_OK, policy_root=policy_root))
    assert failed and 'Refusing to trust' in result['msg'] and 'owned by uid 65534' in result['msg']
    os.chown(planted, 0, 0)
    # a root-owned "{}" record is corrupt, not a licence: the module stays protected, and the reason is named
    result, failed = run(monkeypatch, dict(name=distro, te=TE_OK, policy_root=policy_root))
    assert failed and 'was not installed by fleetsec.selinux' in result['msg'] and 'is corrupt' in result['msg']
    assert store_list(policy_root) == before


def test_corrupt_record_is_rebuilt_from_the_store(monkeypatch, policy_root, store_list):
    args = dict(name='fsitest_rec', te=TE_OK, policy_root=policy_root)
    first, failed = run(monkeypatch, args)
    assert not failed, first
    path = os.path.join(record_dir(policy_root), 'modules', 'fsitest_rec.json')
    with open(path, 'w') as handle:
        json.dump({'name': 'fsitest_rec', 'priority': '400', 'rules': 'x', 'checksum': 5}, handle)
    again, failed = run(monkeypatch, args)  # wrong field types: no crash; same content: adopted, record rewritten
    assert not failed, again
    assert not again['changed'] and again['rebuilds'] == 0
    with open(path) as handle:
        assert json.load(handle)['checksum'] == first['checksum']
    with open(path, 'w') as handle:
        handle.write('{"name": ')
    changed, failed = run(monkeypatch, dict(args, te=TE_OK.replace('{ read open }', '{ read open getattr }')
                                            .replace('class file { read open getattr }', 'class file { read open getattr }')))
    assert failed and 'is unreadable' in changed['msg'] and path in changed['msg']
    assert store_list(policy_root)['fsitest_rec'][3] == first['checksum']


@pytest.mark.parametrize('sabotage, message', [
    ('record-is-a-directory', 'not a regular file'),
    ('state-dir-is-a-file', 'not a directory'),
])
def test_record_write_problems_are_found_before_the_commit(monkeypatch, bare_policy_root, store_list, sabotage, message):
    policy_root = bare_policy_root  # a store the module never ran on
    if sabotage == 'record-is-a-directory':
        os.makedirs(os.path.join(record_dir(policy_root), 'modules', 'fsitest_w.json'))
        os.chmod(record_dir(policy_root), 0o700)
        os.chmod(os.path.join(record_dir(policy_root), 'modules'), 0o700)
    else:
        os.makedirs(os.path.dirname(record_dir(policy_root)), exist_ok=True)
        with open(record_dir(policy_root), 'w') as handle:
            handle.write('not a directory')
    before = store_list(policy_root)
    result, failed = run(monkeypatch, dict(name='fsitest_w', te=TE_OK, policy_root=policy_root))
    assert failed and message in result['msg'], result
    assert store_list(policy_root) == before  # the module was NOT installed without a record


# -------------------------------------------------------------------------------------- input checks ---

@pytest.mark.lanes('debian')
@pytest.mark.parametrize('args, message', [
    ({'policy_root': ''}, 'policy_root is empty'),
    ({'priority': 0}, 'priority 0 is out of range'),
    ({'priority': 1000}, 'priority 1000 is out of range'),
    ({'name': 'a' * 250}, 'at most 128 are allowed'),
])
def test_bad_options_fail_before_anything_runs(monkeypatch, policy_root, store_list, args, message):
    before = store_list(policy_root)
    full = dict(dict(name='fsitest_opt', te=TE_OK, policy_root=policy_root), **args)
    for check_mode in (True, False):
        result, failed = run(monkeypatch, full, check_mode=check_mode)
        assert failed and message in result['msg'], result
    assert store_list(policy_root) == before


@pytest.mark.lanes('debian')
@pytest.mark.parametrize('broken', [
    TE_OK.replace('{ read open };', '{ read open }'),        # missing ;
    TE_OK.replace('allow ntpd_t user_home_t:file', 'allow ntpd_t user_home_t file'),  # missing :
    TE_OK.replace('allow ntpd_t', 'allow ntpd_t\u00e9'),      # non-ASCII token
])
def test_te_syntax_errors_get_the_compiler_message(monkeypatch, policy_root, store_list, broken):
    before = store_list(policy_root)
    result, failed = run(monkeypatch, dict(name='fsitest_syn', te=broken, policy_root=policy_root))
    assert failed and "Compiling module 'fsitest_syn' failed" in result['msg'], result
    assert store_list(policy_root) == before


# ------------------------------------------------------------------------------------ store name (-s) ---

def test_policy_root_with_another_store_name_than_the_host(monkeypatch, pristine_policy_root, tmp_path, store_list):
    """An EL 'targeted' image root on a host whose own store has another name: semodule needs -s targeted."""
    root = tmp_path / 'image'
    (root / 'etc/selinux').mkdir(parents=True)
    (root / 'var/lib/selinux').mkdir(parents=True)
    host_type = store_type(pristine_policy_root)
    shutil.copytree(str(pristine_policy_root / 'etc/selinux' / host_type), str(root / 'etc/selinux/fsitarget'),
                    symlinks=True)
    shutil.copytree(str(pristine_policy_root / 'var/lib/selinux' / host_type), str(root / 'var/lib/selinux/fsitarget'),
                    symlinks=True)
    shutil.copy(str(pristine_policy_root / 'etc/selinux/semanage.conf'), str(root / 'etc/selinux/semanage.conf'))
    (root / 'etc/selinux/config').write_text('SELINUX=enforcing\nSELINUXTYPE="fsitarget"\n')
    result, failed = run(monkeypatch, dict(name='fsitest_s', te=TE_OK, policy_root=str(root)))
    assert not failed, result
    listed = subprocess.run(['semodule', '-p', str(root), '-s', 'fsitarget', '-lfull'], capture_output=True,
                            text=True, check=True).stdout
    assert '400 fsitest_s' in listed
    assert host_type not in os.listdir(str(root / 'var/lib/selinux'))  # no stray store of the host's name
    record = root / 'var/lib/fleetsec-selinux/modules/fsitest_s.json'
    assert stat.S_IMODE(record.stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------ dropped denials ---

AVC = ('type=AVC msg=audit(1700000000.{n}:{n}): avc:  denied  {{ read }} for  pid=4{n} comm="x" '
       'scontext={scontext} tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0')


@pytest.mark.parametrize('check_mode', [True, False])
def test_a_batch_that_does_not_link_names_the_module_that_breaks_it(monkeypatch, policy_root, store_list, tmp_path,
                                                                    check_mode):
    """One module of a batch names a type no module defines: the one transaction fails at link time. Which module
    broke it is found on private copies (each alone) and named; nothing was installed."""
    bad = tmp_path / 'fsitest_nolink.cil'
    bad.write_text('(allow ntpd_t fsitest_nosuch_t (file (read)))\n')
    modules = [{'name': 'fsitest_good', 'te': TE_OK}, {'name': 'fsitest_nolink', 'cil': str(bad)}]
    before = store_list(policy_root)
    result, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root), check_mode=check_mode)
    assert failed and "module 'fsitest_nolink' fails alone" in result['msg'], result
    assert 'Failed to resolve' in result['msg'] and 'Nothing was changed' in result['msg']
    assert store_list(policy_root) == before


def test_batch_entry_with_only_dropped_denials_does_not_sink_the_others(monkeypatch, policy_root, store_list):
    """Denials of a user, role or MLS level the policy does not define make no rule: say which, skip that entry."""
    bad = [AVC.format(n=1, scontext='nosuch_u:system_r:ntpd_t:s0'),
           AVC.format(n=2, scontext='system_u:system_r:ntpd_t:s9')]
    good = [AVC.format(n=3, scontext='system_u:system_r:ntpd_t:s0')]
    modules = [{'name': 'fsitest_bad', 'denials': bad}, {'name': 'fsitest_good', 'denials': good}]
    result, failed = run(monkeypatch, dict(modules=modules, policy_root=policy_root))
    assert not failed, result
    listed = store_list(policy_root)
    assert 'fsitest_good' in listed and 'fsitest_bad' not in listed
    reasons = sorted(d['reason'] for d in result['dropped'])
    assert reasons == ['not defined in the policy: sensitivity s9', 'not defined in the policy: user nosuch_u']
    assert [m['action'] for m in result['modules']] == ['none', 'install']
    assert not os.path.exists(os.path.join(record_dir(policy_root), 'modules', 'fsitest_bad.json'))
    alone, failed = run(monkeypatch, dict(name='fsitest_bad', denials=bad, policy_root=policy_root))
    assert failed and 'every denial was dropped' in alone['msg'] and 'not defined in the policy' in alone['msg']


# ------------------------------------------------------------------------------ kills and parallel runs ---

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
MODULE = os.path.join(REPO, 'plugins', 'modules', 'local_policy_module.py')


def start_module(args, tmp_path, tag):
    """local_policy_module as Ansible runs it: its own process (and process group) with its JSON arguments."""
    args_file = tmp_path / ('args-%s.json' % tag)
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, 'build', 'collections'), LC_ALL='C')
    return subprocess.Popen([sys.executable, MODULE, str(args_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)


def real_transaction_running(root):
    """True while a semodule transaction on ``root`` itself (not on the module's private trial copy) runs."""
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                argv = handle.read().decode('utf-8', 'replace').split('\0')
        except (IOError, OSError):
            continue
        if argv and os.path.basename(argv[0]) == 'semodule' and root in argv and '-i' in argv:
            return True
    return False


def converged(monkeypatch, args, store_list, root):
    """Run until unchanged (at most twice), then check that the record and the store agree."""
    result, failed = run(monkeypatch, args)
    assert not failed, result
    again, failed = run(monkeypatch, args)
    assert not failed and not again['changed'] and again['rebuilds'] == 0, again
    with open(os.path.join(record_dir(root), 'modules', '%s.json' % args['name'])) as handle:
        assert json.load(handle)['checksum'] == store_list(root)[args['name']][3] == again['checksum']


def test_kill_in_the_middle_of_the_transaction_leaves_a_loadable_store(monkeypatch, policy_root, store_list, tmp_path):
    args = dict(name='fsitest_kill', te=TE_OK, policy_root=policy_root)
    proc = start_module(args, tmp_path, 'kill')
    deadline = time.time() + 600  # a guard against a hang only: the trial and the gate come first (minutes under load)
    while not real_transaction_running(policy_root):
        assert proc.poll() is None and time.time() < deadline, 'the real transaction never started'
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the policy rebuild (several seconds here)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    listed = subprocess.run(['semodule', '-p', policy_root, '-s', store_type(policy_root), '-lfull'], capture_output=True,
                            text=True, check=False)
    assert listed.returncode == 0, listed.stderr  # the store still loads
    converged(monkeypatch, args, store_list, policy_root)


@pytest.mark.lanes('debian')
def test_kill_between_commit_and_record_converges_on_the_next_run(monkeypatch, policy_root, store_list):
    first = dict(name='fsitest_stale', te=TE_OK, policy_root=policy_root)
    result, failed = run(monkeypatch, first)
    assert not failed, result
    changed = dict(first, te=TE_OK.replace('{ read open };', '{ read };'))

    def killed(store, name, data):
        raise KeyboardInterrupt('killed after the commit, before the record')
    with monkeypatch.context() as patched:
        patched.setattr(_policy_apply, 'write_record', killed)
        with pytest.raises(KeyboardInterrupt):
            run(patched, changed)
    # the store has the new module, the record still describes the old one: the next runs repair the record
    converged(monkeypatch, changed, store_list, policy_root)
    converged(monkeypatch, first, store_list, policy_root)


@pytest.mark.lanes('debian')
def test_parallel_runs_on_one_store_end_consistent(monkeypatch, policy_root, store_list, tmp_path):
    procs = [start_module(dict(name='fsitest_par%d' % n, te=TE_OK, policy_root=policy_root), tmp_path, 'par%d' % n)
             for n in range(3)]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        outcomes.append((proc.returncode, json.loads(out)))
    for rc, result in outcomes:
        # each run either installed its module or failed cleanly on the store lock after its bounded retries
        assert rc == 0 or 'lock' in result.get('msg', ''), result
    listed = store_list(policy_root)
    for n in range(3):
        converged(monkeypatch, dict(name='fsitest_par%d' % n, te=TE_OK, policy_root=policy_root), store_list,
                  policy_root)
    assert len([name for name in store_list(policy_root) if name.startswith('fsitest_par')]) == 3
    assert all(listed.get('fsitest_par%d' % n) is None or listed['fsitest_par%d' % n][0] == 400 for n in range(3))
