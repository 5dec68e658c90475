# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one reader of setools output, on both generations' forms.

setools 4: lines printed by sesearch/seinfo 4.4 on the EL9 targeted policy of the project's store (policy.33).
setools 3: the forms setools-console 3.3.8 prints (secmds/sesearch.c: "%c%c %s %s" with the enabled/branch letters
before a rule shown with -C; libapol's rule render "allow S T : C { P } ;"; secmds/seinfo.c print_bool_state
"   NAME: TRUE", print_users "   NAME" then "      roles:" and one role per line, print_type_attrs "   NAME" then
one attribute per deeper line). The real tools run in the offline-store tests.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as st

RULES4 = """allow domain file_type:file map; [ domain_can_mmap_files ]:True
allow httpd_t httpd_content_type:file { getattr ioctl lock map open read };
allow httpd_t httpd_sys_script_exec_t:file { execute execute_no_trans }; [ httpd_enable_cgi ]:True
allow httpd_t httpd_user_content_t:dir search; [ httpd_enable_homedirs && httpd_builtin_scripting ]:False
type_transition initrc_t ntpd_exec_t:process ntpd_t;
type_transition httpd_t tmp_t:file httpd_tmp_t "cache";
allowxperm a_t b_t:tcp_socket ioctl { 0x8927 };
"""
RULES3 = """Found 5 semantic av rules:
   allow httpd_t httpd_content_type : file { getattr ioctl lock open read } ;
ET allow httpd_t httpd_sys_script_exec_t : file { execute execute_no_trans } ; [ httpd_enable_cgi ]
DF allow httpd_t public_content_rw_t : dir { add_name write } ; [ allow_httpd_anon_write ]
EF allow httpd_t user_home_dir_t : dir search ; [ httpd_enable_homedirs ]
ET [   1234] allow ntpd_t ntp_drift_t : file write ; [ a b && ]

Found 1 semantic te rules:
   type_transition initrc_t ntpd_exec_t : process ntpd_t;
"""


def test_setools4_rules_with_their_conditions():
    rules = st.parse_rules(RULES4)
    assert rules[0] == st.Rule('allow', 'domain', 'file_type', 'file', frozenset(['map']),
                               st.Condition('domain_can_mmap_files', True))
    assert rules[1].condition is None and rules[1].perms == frozenset(['getattr', 'ioctl', 'lock', 'map', 'open', 'read'])
    assert rules[2].condition.boolean() == 'httpd_enable_cgi' and rules[2].condition.branch is True
    assert rules[3].condition == st.Condition('httpd_enable_homedirs && httpd_builtin_scripting', False)
    assert rules[3].condition.boolean() is None
    assert rules[4] == st.Rule('type_transition', 'initrc_t', 'ntpd_exec_t', 'process', frozenset(['ntpd_t']), None)
    assert rules[5].perms == frozenset(['httpd_tmp_t'])
    assert len(rules) == 6  # allowxperm is not a rule of these kinds


def test_setools3_rules_flags_give_the_branch():
    rules = st.parse_rules(RULES3)
    assert [(r.source, r.target, r.tclass) for r in rules] == [
        ('httpd_t', 'httpd_content_type', 'file'), ('httpd_t', 'httpd_sys_script_exec_t', 'file'),
        ('httpd_t', 'public_content_rw_t', 'dir'), ('httpd_t', 'user_home_dir_t', 'dir'),
        ('ntpd_t', 'ntp_drift_t', 'file'), ('initrc_t', 'ntpd_exec_t', 'process')]
    assert rules[0].condition is None
    # the second letter names the list the rule is in (T: the true list), the first whether it is in force now (E)
    # or not (D): DF is a false-list rule out of force because the expression is true
    assert rules[1].condition == st.Condition('httpd_enable_cgi', True)
    assert rules[2].condition == st.Condition('allow_httpd_anon_write', False)
    assert rules[3].condition == st.Condition('httpd_enable_homedirs', False)
    assert rules[4].perms == frozenset(['write']) and rules[4].condition.boolean() is None
    assert rules[5].perms == frozenset(['ntpd_t'])


def test_rule_map_merges_permissions_of_allow_and_type_transition():
    found = st.rule_map(st.parse_rules(RULES4 + 'allow httpd_t httpd_content_type:file write;\n'))
    assert found[('allow', 'httpd_t', 'httpd_content_type', 'file')] == set(
        ['getattr', 'ioctl', 'lock', 'map', 'open', 'read', 'write'])
    assert found[('type_transition', 'initrc_t', 'ntpd_exec_t', 'process')] == set(['ntpd_t'])
    assert st.rule_map(st.parse_rules(RULES3)) == st.rule_map(st.parse_rules(RULES3.replace(' : ', ':')))


def test_booleans_of_both_generations():
    assert st.parse_booleans('\nBooleans: 2\n   bool httpd_enable_cgi true;\n   bool deny_ptrace false;\n') == {
        'httpd_enable_cgi': True, 'deny_ptrace': False}
    assert st.parse_booleans('\nConditional Booleans: 2\n   httpd_enable_cgi: TRUE\n   deny_ptrace: FALSE\n') == {
        'httpd_enable_cgi': True, 'deny_ptrace': False}


def test_users_of_both_generations():
    four = ('\nUsers: 2\n   user staff_u roles { staff_r sysadm_r system_r unconfined_r } level s0 range s0 - '
            's0:c0.c1023;\n   user user_u roles user_r level s0 range s0;\n')
    assert st.parse_users(four) == {'staff_u': set(['staff_r', 'sysadm_r', 'system_r', 'unconfined_r']),
                                    'user_u': set(['user_r'])}
    three = ('\nUsers: 2\n   staff_u\n      default level: s0\n      range: s0 - s0:c0.c1023\n      roles:\n'
             '         object_r\n         staff_r\n         sysadm_r\n   user_u\n      default level: s0\n'
             '      range: s0\n      roles:\n         object_r\n         user_r\n')
    # object_r, which every user has, is left out as setools 4 leaves it out
    assert st.parse_users(three) == {'staff_u': set(['staff_r', 'sysadm_r']), 'user_u': set(['user_r'])}


def test_types_of_both_generations():
    types, aliases = st.parse_types('   type httpd_t alias phpfpm_t, nsswitch_domain, domain;\n'
                                    '   type shadow_t alias { a_t b_t }, file_type;\n   type bare_t;\n')
    assert types == {'httpd_t': set(['nsswitch_domain', 'domain']), 'shadow_t': set(['file_type']),
                     'bare_t': set()}
    assert aliases == {'phpfpm_t': 'httpd_t', 'a_t': 'shadow_t', 'b_t': 'shadow_t'}
    types, aliases = st.parse_types('\nTypes: 2\n   httpd_t\n      domain\n      daemon\n   bare_t\n')
    assert types == {'httpd_t': set(['domain', 'daemon']), 'bare_t': set()} and aliases == {}


def test_names_attributes_portcon():
    assert st.parse_names('\nTypes: 2\n   ntpd_t\n   foo_t, alias bar_t\n') == set(['ntpd_t', 'foo_t'])
    assert st.members_of('\nType Attributes: 1\n   attribute can_setenforce;\n\tsecadm_t\n\tsysadm_t\n') == set(
        ['secadm_t', 'sysadm_t'])
    assert st.parse_portcon('   portcon sctp 1-511 system_u:object_r:reserved_port_t:s0\n'
                            '\tportcon tcp 80 system_u:object_r:http_port_t:s0\n') == [
        ('sctp', 1, 511, 'reserved_port_t'), ('tcp', 80, 80, 'http_port_t')]


def test_search_arguments_in_each_generation_flags():
    assert st.search_args(4, source='domain', direct=True) == ['-A', '-s', 'domain', '-ds']
    assert st.search_args(3, source='domain', direct=True) == ['-A', '-s', 'domain', '-d', '-C']
    assert st.search_args(4, kinds=('-A', '-T'), target='^(a_t|b_t)$', regex=True, direct=True) == [
        '-A', '-T', '-t', '^(a_t|b_t)$', '-rt', '-dt']
    assert st.search_args(3, kinds=('-A', '-T'), target='^(a_t)$', regex=True, direct=True) == [
        '-A', '-T', '-t', '^(a_t)$', '-R', '-d', '-C']
    assert st.search_args(4, source='httpd_t', tclass='tcp_socket', perms='name_bind') == [
        '-A', '-s', 'httpd_t', '-c', 'tcp_socket', '-p', 'name_bind']
    assert st.search_args(4, boolean='httpd_enable_cgi') == ['-A', '-b', 'httpd_enable_cgi']


class _Result(object):
    def __init__(self, stdout, rc=0):
        self.stdout, self.rc = stdout, rc


class _Runner(object):
    """Answers setools with recorded output and counts the runs; ``sesearch``: the file standing for the program."""

    def __init__(self, sesearch):
        self.calls = []
        self.sesearch = sesearch

    def path(self, name, required=True):
        return self.sesearch

    def run(self, name, args=(), check=True, what=None, hint=None):
        self.calls.append((name, list(args)))
        if name == 'seinfo' and '-b' in args:
            return _Result('   bool httpd_enable_cgi true;\n')
        if name == 'sesearch' and '-b' in args and 'no_such' in args:
            return _Result('', rc=1)
        with open(self.sesearch, 'rb') as handle:
            return _Result(RULES3 if handle.read(4) == b'\x7fELF' else RULES4)


def test_one_policy_per_runner_and_file_each_question_once(tmp_path):
    path = tmp_path / 'policy.33'
    path.write_bytes(b'one')
    script = tmp_path / 'sesearch'
    script.write_bytes(b'#!/usr/bin/python3 -s\n')
    runner = _Runner(str(script))
    first = st.policy(runner, str(path))
    assert st.policy(runner, str(path)) is first
    assert first.booleans() == {'httpd_enable_cgi': True} and first.booleans() == {'httpd_enable_cgi': True}
    rules = first.rules(source='httpd_t', tclass='file')
    assert first.rules(source='httpd_t', tclass='file') is rules
    assert runner.calls == [('seinfo', [str(path), '-b', '-x']),
                            ('sesearch', ['-A', '-s', 'httpd_t', '-c', 'file', str(path)])]
    assert first.rules(check=False, boolean='no_such') is None
    # a new policy file (a commit wrote one) is asked again
    os.unlink(str(path))
    path.write_bytes(b'two, longer')
    assert st.policy(runner, str(path)) is not first


def test_setools3_policy_asks_with_its_own_flags(tmp_path):
    program = tmp_path / 'sesearch'
    program.write_bytes(b'\x7fELF\x02\x01\x01')
    runner = _Runner(str(program))
    rules = st.Policy(runner, '/p').rules(source='httpd_t', tclass='file', direct=True)
    assert runner.calls[-1] == ('sesearch', ['-A', '-s', 'httpd_t', '-d', '-C', '-c', 'file', '/p'])
    assert rules[1].condition == st.Condition('httpd_enable_cgi', True)


# Real output, captured on the project's EL7 store (RHEL 7.7's selinux-policy 3.13.1-252.el7_7.6 built with userspace
# 2.5, policy.30): setools 3.3.8 as tools/el/build-setools3.sh builds it (`sesearch -A -T -C`, `seinfo POLICY -u -x`,
# `-a -x`, `-c -x`) and, for the same policy file, the host's setools 4.4.1, whose answers the collection was written
# against. Whole-policy comparison of the two (137,634 rules, 360 distinct conditions, 130 classes, 8 users, 258
# attributes) gave the same answers once these were read alike.
EL7_RULES3 = (  # (each te rule line really ends in a space)
    'Found 107512 semantic av rules:\n'
    'DT allow httpd_t httpd_sys_script_t : process transition ; '
    '[ httpd_enable_cgi httpd_unified && httpd_builtin_scripting && ]\n'
    'DT allow httpd_sys_script_t port_type : udp_socket recv_msg ; [ httpd_enable_cgi httpd_can_network_connect && ]\n'
    '\n'
    'Found 18239 semantic te rules:\n'
    '   type_change auditadm_t ajaxterm_devpts_t : chr_file user_devpts_t; \n'
    '   type_transition postfix_smtp_t tmp_t : file postfix_smtp_tmp_t; \n')
EL7_RULES4 = """allow httpd_t httpd_sys_script_t:process transition; [ ( httpd_builtin_scripting && httpd_unified && httpd_enable_cgi ) ]:True
allow httpd_sys_script_t port_type:udp_socket recv_msg; [ httpd_can_network_connect && httpd_enable_cgi ]:True
"""


def test_setools3_conditions_read_in_setools4_words():
    """setools 3 prints a condition in postfix, setools 4 in infix with the operands the other way round and
    parentheses: the same rule must carry the same condition (it is shown to users, and compared)."""
    three, four = st.parse_rules(EL7_RULES3), st.parse_rules(EL7_RULES4)
    assert three[:2] == four
    assert three[0].condition == st.Condition('( httpd_builtin_scripting && httpd_unified && httpd_enable_cgi )', True)
    assert three[1].condition.text() == '[ httpd_can_network_connect && httpd_enable_cgi ]:True'
    # the other operators, as setools 4's ConditionalExpression.__str__ renders the same postfix
    assert st.infix('a !') == '! a'
    assert st.infix('a b && !') == '! ( b && a )'
    assert st.infix('a b || c &&') == '( c && b || a )'  # setools 4's words, parentheses and all
    assert st.infix('a b == c ^') == 'c ^ b == a'
    assert st.infix('a b') == 'a b' and st.infix('&&') == '&&'  # no valid postfix: as printed


def test_setools3_type_rules_beyond_type_transition_are_not_answered_to_minus_T(tmp_path):
    """setools 3's -T also answers type_change and type_member rules; setools 4's only type_transition rules."""
    program = tmp_path / 'sesearch'
    program.write_bytes(b'\x7fELF\x02\x01\x01')

    class Runner(_Runner):
        def run(self, name, args=(), check=True, what=None, hint=None):
            self.calls.append((name, list(args)))
            return _Result(EL7_RULES3)

    rules = st.Policy(Runner(str(program)), '/p').rules(kinds=('-A', '-T'), source='auditadm_t')
    assert sorted(rule.kind for rule in rules) == ['allow', 'allow', 'type_transition']
    assert len(st.Policy(Runner(str(program)), '/p').rules(kinds=('-A',), source='auditadm_t')) == 4


EL7_USERS3 = """
Users: 8
   sysadm_u
      default level: s0
      range: s0 - s0:c0.c1023
      roles:
         object_r
         sysadm_r
   system_u
      default level: s0
      range: s0 - s0:c0.c1023
      roles:
         object_r
         system_r
         unconfined_r
"""
EL7_USERS4 = """
Users: 8
   user sysadm_u roles sysadm_r level s0 range s0 - s0:c0.c1023;
   user system_u roles { system_r unconfined_r } level s0 range s0 - s0:c0.c1023;
"""


def test_setools3_users_without_the_implicit_object_r():
    assert st.parse_users(EL7_USERS3) == st.parse_users(EL7_USERS4) == {
        'sysadm_u': set(['sysadm_r']), 'system_u': set(['system_r', 'unconfined_r'])}


def test_an_empty_attribute_is_empty_in_both_generations():
    three = '\nAttributes: 258\n   direct_run_init\n   polyparent\n      home_root_t\n'
    four = ('\nType Attributes: 258\n   attribute direct_run_init;\n\t<empty attribute>\n   attribute polyparent;\n'
            '\thome_root_t\n')
    assert st.parse_attributes(three) == st.parse_attributes(four) == {
        'direct_run_init': set(), 'polyparent': set(['home_root_t'])}


EL7_CLASSES3 = """Object classes: 130
   bluetooth_socket
      map
      append
      bind
   file
      map
      append
      create
      execute_no_trans
      entrypoint
"""


def test_setools3_classes_from_one_seinfo_without_common(tmp_path):
    """setools 3's seinfo has no --common ("seinfo: unrecognized option '--common'"): ``-c -x`` lists each class
    with its common's permissions."""
    program = tmp_path / 'sesearch'
    program.write_bytes(b'\x7fELF\x02\x01\x01')

    class Runner(_Runner):
        def run(self, name, args=(), check=True, what=None, hint=None):
            self.calls.append((name, list(args)))
            assert '--common' not in args, 'setools 3: unrecognized option'
            return _Result(EL7_CLASSES3)

    runner = Runner(str(program))
    assert st.Policy(runner, '/p').classes() == {
        'bluetooth_socket': set(['map', 'append', 'bind']),
        'file': set(['map', 'append', 'create', 'execute_no_trans', 'entrypoint'])}
    assert runner.calls == [('seinfo', ['/p', '-c', '-x'])]


FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'setools')


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def _sorted_sets(text):
    return set(' '.join(re.sub(r'\{([^}]*)\}', lambda m: '{ %s }' % ' '.join(sorted(m.group(1).split())), line).split())
               for line in text.splitlines() if line.strip())


def test_setools3_constraints_in_setools4_words_with_their_attributes():
    """setools 3 prints a constraint in postfix with every attribute expanded into its types (fixtures/setools): the
    constraint exemptions of the policy model (t1 == can_change_object_identity) were empty on EL7. Read in setools
    4's words, each type set named by the attribute whose members it is, they are setools 4's lines; where ten
    attributes have exactly the members of setools 4's process_uncond_exempt, all ten are named (more exemptions,
    never fewer)."""
    three = st.split_sections(_fixture('el7-seinfo-a-constrain-x.setools3.txt'))['Constraints']
    four = st.split_sections(_fixture('el7-seinfo-constrain.setools4.txt'))['Constraints']
    ambiguous = ('{ corenet_unconfined_type dbusd_unconfined devices_unconfined_type files_unconfined_type '
                 'filesystem_unconfined_type kern_unconfined process_uncond_exempt selinux_unconfined_type '
                 'storage_unconfined_type unconfined_domain_type }')
    assert ambiguous in three
    assert _sorted_sets(three.replace(ambiguous, 'process_uncond_exempt')) == _sorted_sets(four)
    assert ('constrain bluetooth_socket { create relabelfrom relabelto } (u1 == u2 or ( t1 == '
            'can_change_object_identity ));') in three
    exempt = set(re.findall(r'\bt[123]\s*==\s*([A-Za-z0-9_]+)', three))
    assert exempt >= set(['can_change_object_identity', 'can_change_process_identity', 'can_change_process_role',
                          'cron_job_domain', 'cron_source_domain', 'process_user_target'])
    # the expression alone, in setools 4's order and parentheses; a name no attribute has as its members stays
    assert st.constraint_infix('u1 u2 ==  t1 { a_t b_t } ==  ||', {frozenset(['a_t', 'b_t']): ['ab']}) == (
        'u1 == u2 or ( t1 == ab )')
    assert st.constraint_infix('t1 crond_t ==  t2 { x_t y_t } == &&') == 't1 == crond_t and ( t2 == { x_t y_t } )'
    assert st.constraint_infix('u1 u2 == !') == 'not ( u1 == u2 )'
    assert st.constraint_infix('u1 ==') == 'u1 =='  # no valid postfix: as printed


def test_setools3_boolean_the_policy_lacks_is_a_failed_search(tmp_path):
    """Real: setools 3.3.8's ``sesearch -A -b no_such_bool -C POLICY`` prints nothing and exits 0 on the EL7 store;
    setools 4.4.1 says "no_such_bool is not a valid Boolean" and exits 1, which Policy.rules(check=False) answers
    with None ("cannot be told")."""
    program = tmp_path / 'sesearch'
    program.write_bytes(b'\x7fELF\x02\x01\x01')

    class Runner(_Runner):
        def run(self, name, args=(), check=True, what=None, hint=None):
            self.calls.append((name, list(args)))
            return _Result('   httpd_enable_cgi: TRUE\n' if name == 'seinfo' else '\n')

    runner = Runner(str(program))
    answers = st.Policy(runner, '/p')
    assert answers.rules(check=False, boolean='no_such_bool') is None
    assert answers.rules(check=False, boolean='httpd_enable_cgi') == []
    assert runner.calls == [('seinfo', ['/p', '-b', '-x']), ('sesearch', ['-A', '-C', '-b', 'httpd_enable_cgi', '/p'])]


class _ScanRunner(_Runner):
    """A runner whose setools 4 scan answers ``scan`` (stdout, rc); the command table the scan declares itself in."""

    def __init__(self, sesearch, scan):
        super(_ScanRunner, self).__init__(sesearch)
        self.scan, self.commands = scan, {}

    def run(self, name, args=(), check=True, what=None, hint=None):
        if name == 'setools_python':
            self.calls.append((name, list(args)))
            return _Result(*self.scan)
        return super(_ScanRunner, self).run(name, args, check=check, what=what, hint=hint)


QUERIES = [{'source': 'domain'}, {'perms': ['module_load', 'sys_module']}]
PATTERN = '^(%s)$' % '|'.join(re.escape(name) for name in ('file_type', 'httpd_t', 'x_t'))  # escaped as re escapes


def test_one_pass_answers_each_query_as_sesearch_would(tmp_path):
    """setools 4: one run of sesearch's own interpreter (with its flags) for every query, split back per query."""
    program = tmp_path / 'sesearch'
    program.write_bytes(b'#!/opt/setools/venv/bin/python -Es\nimport setools\n')
    out = ('0\tallow domain file_type:file map; [ domain_can_mmap_files ]:True\n'
           '1\tallow kmod_t self:capability sys_module;\n1\tallow kmod_t kernel_t:system module_load;\n'
           '7\tignored\nno tab\n')
    runner = _ScanRunner(str(program), (out, 0))
    domain, control = st.Policy(runner, '/p').scan(QUERIES, what='w')
    assert runner.commands['setools_python'].binary == '/opt/setools/venv/bin/python'
    assert runner.commands['setools_python'].args == ['-Es']
    name, args = runner.calls[0]
    assert len(runner.calls) == 1 and args[0] == '-c' and args[2:] == ['/p', '[{"source": "domain"}, {"perms": '
                                                                             '["module_load", "sys_module"]}]']
    assert domain == 'allow domain file_type:file map; [ domain_can_mmap_files ]:True\n'
    assert [r.target for r in st.parse_rules(control)] == ['self', 'kernel_t']


@pytest.mark.parametrize('first_bytes, scan, expected', [
    (b'#!/usr/bin/python3\n', ('', 1), [
        ('setools_python', None), ('sesearch', ['-A', '-s', 'domain', '-ds', '/p']),
        ('sesearch', ['-A', '-p', 'module_load,sys_module', '/p'])]),
    (b'\x7fELF\x02\x01\x01', None, [('sesearch', ['-A', '-s', 'domain', '-d', '-C', '/p']),
                                    ('sesearch', ['-A', '-C', '-p', 'module_load,sys_module', '/p'])]),
], ids=['the scan failed: one sesearch per query', 'setools 3: one sesearch per query'])
def test_without_the_one_pass_each_query_is_a_sesearch(tmp_path, first_bytes, scan, expected):
    program = tmp_path / 'sesearch'
    program.write_bytes(first_bytes)
    runner = _ScanRunner(str(program), scan)
    answers = st.Policy(runner, '/p').scan(QUERIES, what='w')
    assert [(n, None if n == 'setools_python' else a) for n, a in runner.calls] == expected
    assert len(answers) == 2 and all(answers)


def test_the_interpreter_of_a_script_is_read_from_its_first_line(tmp_path):
    cases = {b'#!/usr/bin/python3 -Es\n': ['/usr/bin/python3', '-Es'], b'#! /usr/libexec/platform-python\n':
             ['/usr/libexec/platform-python'], b'#!python3\n': None, b'\x7fELF': None, b'': None}
    for index, (first, expected) in enumerate(sorted(cases.items())):
        path = tmp_path / ('s%d' % index)
        path.write_bytes(first)
        assert st.script_interpreter(str(path)) == expected, first
    assert st.script_interpreter(str(tmp_path / 'missing')) is None
    assert st.script_interpreter(None) is None


def test_the_rules_on_each_side_of_names_are_one_pass_over_the_policy(tmp_path):
    """side_rules: one scan for both sides (the rules written on one of the names itself, allow, allowxperm and
    type_transition, as sesearch -A -T reads them), read into each name's rules as source and as target; a name no
    rule names directly has none."""
    program = tmp_path / 'sesearch'
    program.write_bytes(b'#!/usr/bin/python3\n')
    out = ('0\tallow httpd_t httpd_content_type:file { read open };\n'
           '1\tallow domain file_type:file map;\n1\ttype_transition initrc_t ntpd_exec_t:process ntpd_t;\n')
    runner = _ScanRunner(str(program), (out, 0))
    found = st.Policy(runner, '/p').side_rules(set(['httpd_t', 'file_type', 'x_t']))
    assert len(runner.calls) == 1 and runner.calls[0][0] == 'setools_python'
    names = ['file_type', 'httpd_t', 'x_t']
    assert json.loads(runner.calls[0][1][3]) == [{'sources': names, 'kinds': ['-A', '-T']},
                                                 {'targets': names, 'kinds': ['-A', '-T']}]
    assert found[('httpd_t', 'source')] == {('allow', 'httpd_t', 'httpd_content_type', 'file'): set(['read', 'open'])}
    assert found[('file_type', 'target')] == {('allow', 'domain', 'file_type', 'file'): set(['map'])}
    assert found[('x_t', 'source')] == {} and found[('x_t', 'target')] == {} and len(found) == 6


@pytest.mark.parametrize('first_bytes, flags', [
    (b'#!/usr/bin/python3\n', [['-A', '-T', '-s', PATTERN, '-rs', '-ds', '/p'],
                               ['-A', '-T', '-t', PATTERN, '-rt', '-dt', '/p']]),
    (b'\x7fELF\x02\x01\x01', [['-A', '-T', '-s', PATTERN, '-R', '-d', '-C', '/p'],
                              ['-A', '-T', '-t', PATTERN, '-R', '-d', '-C', '/p']]),
], ids=['the scan failed', 'setools 3'])
def test_without_the_one_pass_the_sides_are_two_regex_sesearch_runs(tmp_path, first_bytes, flags):
    program = tmp_path / 'sesearch'
    program.write_bytes(first_bytes)
    runner = _ScanRunner(str(program), ('', 1))
    st.Policy(runner, '/p').side_rules(set(['httpd_t', 'file_type', 'x_t']))
    assert [args for name, args in runner.calls if name == 'sesearch'] == flags


def test_the_loaded_policy_is_asked_without_a_path(tmp_path):
    """Policy(runner, None): setools' default, the policy the kernel has loaded (``seinfo --type``)."""
    program = tmp_path / 'sesearch'
    program.write_bytes(b'#!/usr/bin/python3\n')

    class Runner(_Runner):
        def run(self, name, args=(), check=True, what=None, hint=None):
            self.calls.append((name, list(args), what))
            return _Result('Types: 2\n   httpd_t\n   bin_t, alias sbin_t\n')

    runner = Runner(str(program))
    assert st.policy(runner, None).names('--type', 'type') == set(['httpd_t', 'bin_t'])
    assert runner.calls == [('seinfo', ['--type'], 'type names of the loaded policy')]
    assert st.Policy(runner, None).search_args(source='a_t') == st.search_args(4, source='a_t')


LISTINGS4 = '''
Booleans: 2
   bool httpd_enable_cgi true;
   bool nis_enabled false;

Portcon: 2
   portcon tcp 80 system_u:object_r:http_port_t:s0
   portcon tcp 1024-65535 system_u:object_r:unreserved_port_t:s0
Type Attributes: 1
   attribute port_type;
\thttp_port_t
\tunreserved_port_t
'''


def test_prefetch_reads_the_listings_from_one_seinfo(tmp_path):
    """booleans, attributes and port labels from one ``seinfo -b -a --portcon -x`` (one policy load, setools 4);
    the questions after it run nothing."""
    program = tmp_path / 'sesearch'
    program.write_bytes(b'#!/usr/bin/python3 -s\n')

    class Runner(_Runner):
        def run(self, name, args=(), check=True, what=None, hint=None):
            self.calls.append((name, list(args)))
            return _Result(LISTINGS4)

    runner = Runner(str(program))
    answers = st.Policy(runner, '/p')
    answers.prefetch(['portcon', 'booleans', 'attributes'])
    assert runner.calls == [('seinfo', ['/p', '-b', '-a', '--portcon', '-x'])]
    assert answers.booleans() == {'httpd_enable_cgi': True, 'nis_enabled': False}
    assert answers.members('port_type') == set(['http_port_t', 'unreserved_port_t'])
    assert answers.portcons() == [('tcp', 80, 80, 'http_port_t'), ('tcp', 1024, 65535, 'unreserved_port_t')]
    answers.prefetch(['booleans', 'portcon'])
    assert len(runner.calls) == 1


def test_prefetch_leaves_setools3_one_kind_alone_and_a_missing_section_to_its_own_run(tmp_path):
    program = tmp_path / 'sesearch'
    program.write_bytes(b'\x7fELF\x02\x01\x01')
    runner = _Runner(str(program))
    st.Policy(runner, '/p').prefetch(['booleans', 'portcon'])
    assert runner.calls == []  # setools 3: each listing on its own, when asked
    program.write_bytes(b'#!/usr/bin/python3 -s\n')
    st.Policy(runner, '/p').prefetch(['booleans'])
    assert runner.calls == []  # one kind: nothing to share

    class Runner(_Runner):
        def run(self, name, args=(), check=True, what=None, hint=None):
            self.calls.append((name, list(args)))
            if '-a' in args:
                return _Result(LISTINGS4.split('Portcon', 1)[0])
            return _Result('   portcon tcp 8080 system_u:object_r:http_cache_port_t:s0\n')

    runner = Runner(str(program))
    answers = st.Policy(runner, '/p')
    answers.prefetch(['booleans', 'portcon', 'attributes'])
    assert answers.booleans() == {'httpd_enable_cgi': True, 'nis_enabled': False} and len(runner.calls) == 1
    assert answers.portcons() == [('tcp', 8080, 8080, 'http_cache_port_t')]
    assert runner.calls[1] == ('seinfo', ['/p', '--portcon'])
