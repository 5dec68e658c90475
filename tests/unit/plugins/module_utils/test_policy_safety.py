# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_te import parse_te
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


def findings(te):
    return [(f['rule'], f['reason']) for f in safety.analyse(parse_te(te))]


@pytest.mark.parametrize('rule, expected', [
    # what a rule grants on which TYPES is the verdict's (test_policy_verdict.py): the text check says nothing of it
    ('allow a_t shadow_t:file write;', []),
    ('allow a_t shadow_t:file { read getattr };', []),

    ('allow a_t security_t:security setenforce;', [('allow a_t security_t:security setenforce', 'setenforce on the security server')]),
    ('allow a_t security_t:security { load_policy setbool };', [
        ('allow a_t security_t:security load_policy', 'load_policy on the security server'),
        ('allow a_t security_t:security setbool', 'setbool on the security server')]),
    ('allow a_t tmp_t:file relabelfrom;', []),

    ('allow a_t self:capability { sys_admin setuid };', [('allow a_t self:capability sys_admin', 'capability sys_admin')]),
    # deny-by-default: every capability but the harmless ones (chown gives away anyone's files)
    ('allow a_t self:capability { chown setgid net_bind_service };', [('allow a_t self:capability chown', 'capability chown')]),
    ('allow a_t self:capability2 mac_admin;', [('allow a_t self:capability2 mac_admin', 'capability mac_admin')]),
    ('allow a_t self:capability { sys_module sys_rawio sys_ptrace mac_override };', [
        ('allow a_t self:capability sys_module', 'capability sys_module'),
        ('allow a_t self:capability sys_rawio', 'capability sys_rawio'),
        ('allow a_t self:capability sys_ptrace', 'capability sys_ptrace'),
        ('allow a_t self:capability mac_override', 'capability mac_override')]),
    ('allow a_t self:process { execmem execstack execheap };', [
        ('allow a_t self:process execmem', 'execmem (executable memory or stack)'),
        ('allow a_t self:process execstack', 'execstack (executable memory or stack)'),
        ('allow a_t self:process execheap', 'execheap (executable memory or stack)')]),
    ('allow a_t lib_t:file execmod;', [('allow a_t lib_t:file execmod', 'execmod (executable memory or stack)')]),

    ('allow a_t b_t:process transition;', []),
    ('allow a_t tmp_t:file *;', [('allow a_t tmp_t:file *;', 'wildcard (* or ~) permission set grants every permission')]),
    ('allow a_t tmp_t:file ~{ read };', [('allow a_t tmp_t:file ~{ read };', 'wildcard (* or ~) permission set grants every permission')]),
    ('allow a_t ~{ tmp_t }:file read;', [('allow a_t ~{ tmp_t }:file read;', 'wildcard (* or ~) type or class set')]),
    ('dontaudit a_t shadow_t:file write;', []),
    ('allow a_t user_home_t:file { read open getattr };', []),
    ('allow { a_t b_t } self:capability sys_module;', [
        ('allow a_t self:capability sys_module', 'capability sys_module'),
        ('allow b_t self:capability sys_module', 'capability sys_module')]),
])
def test_findings_table(rule, expected):
    assert findings(rule) == expected


def test_duplicate_findings_are_reported_once():
    assert len(findings('allow a_t self:process execmem;\nallow a_t self:process { execmem fork };')) == 1


@pytest.mark.parametrize('value, expected', [
    (None, []), (False, []), (True, True), ('true', True), ('yes', True), ('no', []), ('', []),
    (['allow a_t b_t:file write'], ['allow a_t b_t:file write']), ('allow a_t b_t:file write', ['allow a_t b_t:file write']),
])
def test_parse_allow_dangerous(value, expected):
    assert safety.parse_allow_dangerous(value) == expected


TWO = 'allow a_t security_t:security setenforce;\nallow a_t self:capability sys_admin;'


@pytest.mark.parametrize('acks, missing', [
    ([], ['allow a_t security_t:security setenforce', 'allow a_t self:capability sys_admin']),
    (['allow a_t security_t:security setenforce'], ['allow a_t self:capability sys_admin']),
    (['allow  a_t   security_t:security setenforce;'], ['allow a_t self:capability sys_admin']),
    (['allow a_t self:capability sys_admin (capability sys_admin)', 'allow a_t security_t:security setenforce'], []),
    (['allow a_t security_t:security setbool'], ['allow a_t security_t:security setenforce',
                                                 'allow a_t self:capability sys_admin']),
    (True, []),
])
def test_acknowledge(acks, missing):
    found = safety.analyse(parse_te(TWO))
    assert [f['rule'] for f in safety.acknowledge(found, acks)] == missing
    assert [f['acknowledged'] for f in found] == [f['rule'] not in missing for f in found]


def test_acknowledged_is_one_value_for_every_key():
    acked = safety.Acknowledged(['allow  a_t a_t:capability sys_admin;', 'tcp/600'])
    assert 'allow a_t self:capability sys_admin' in acked and ' tcp/600 ' in acked
    assert 'tcp/601' not in acked and 'allow a_t self:capability sys_module' not in acked
    assert 'anything' in safety.Acknowledged(True) and 'anything' not in safety.Acknowledged(False)
    assert safety.Acknowledged('yes') == safety.Acknowledged(True) and safety.Acknowledged(None) == []


def test_gate_without_allow_dangerous_reads_the_marks_acknowledge_made():
    """The judgement acknowledges once; the gate then refuses what is left unmarked."""
    found = safety.analyse(parse_te(TWO))
    safety.acknowledge(found, ['allow a_t self:capability sys_admin'])
    with pytest.raises(safety.DangerousRules) as info:
        safety.gate('acme', found)
    assert info.value.fail_kwargs()['acknowledge'] == ['allow a_t security_t:security setenforce']
    safety.acknowledge(found, True)
    safety.gate('acme', found)


def test_gate_names_every_unacknowledged_rule():
    found = safety.analyse(parse_te(TWO))
    with pytest.raises(safety.DangerousRules) as info:
        safety.gate('acme', found, ['allow a_t security_t:security setenforce'])
    msg = info.value.msg
    assert "module 'acme'" in msg and '1 dangerous rule(s)' in msg
    assert 'allow a_t self:capability sys_admin (capability sys_admin)' in msg
    assert info.value.fail_kwargs()['dangerous'] == found
    safety.gate('acme', found, True)


def test_gate_names_what_acknowledges_each_refused_rule_and_that_acknowledges_it():
    """The vocabulary remedy shares: ``acknowledge`` holds the strings to list in allow_dangerous."""
    found = safety.analyse(parse_te(TWO))
    with pytest.raises(safety.DangerousRules) as info:
        safety.gate('acme', found, [])
    keys = info.value.fail_kwargs()['acknowledge']
    assert keys == [f['rule'] for f in found] and len(keys) == 2
    safety.gate('acme', found, keys)


def test_rules_inside_conditional_and_optional_blocks_are_checked():
    te = """module x 1.0;
require { type a_t; type security_t; class security setenforce; class capability sys_admin; bool b; }
if (b) {
    allow a_t security_t:security setenforce;
} else {
    optional {
        allow a_t self:capability sys_admin;
    }
}
"""
    assert [f[0] for f in findings(te)] == ['allow a_t security_t:security setenforce',
                                            'allow a_t self:capability sys_admin']


@pytest.mark.parametrize('tclass, perm, finding', [
    ('capability2', 'bpf', True), ('capability2', 'perfmon', True), ('capability', 'dac_override', True),
    ('capability', 'dac_read_search', True), ('capability', 'fowner', True), ('capability', 'setpcap', True),
    ('capability', 'linux_immutable', True), ('capability', 'audit_control', True), ('capability', 'net_admin', True),
    ('capability2', 'syslog', True), ('capability2', 'checkpoint_restore', True), ('cap_userns', 'sys_admin', True),
    ('capability2', 'a_capability_of_a_later_kernel', True),
    ('bpf', 'prog_load', True), ('bpf', 'map_read', True), ('perf_event', 'kernel', True), ('perf_event', 'open', True),
    ('lockdown', 'integrity', True), ('lockdown', 'confidentiality', True),
    ('kernel_service', 'use_as_override', True), ('kernel_service', 'create_files_as', True),
    ('system', 'module_request', True), ('system', 'syslog_mod', True), ('system', 'start', True),
    ('system', 'reload', True), ('system', 'halt', True), ('system', 'reboot', True),
    ('netlink_audit_socket', 'nlmsg_write', True), ('netlink_route_socket', 'nlmsg_write', True),
    ('netlink_xfrm_socket', 'nlmsg_write', True), ('process2', 'nnp_transition', None),
    # harmless: a daemon's own identity, ports, scheduling and limits; reading its own netlink state
    ('capability', 'net_bind_service', False), ('capability', 'setuid', False), ('capability', 'setgid', False),
    ('capability', 'sys_nice', False), ('capability', 'sys_resource', False), ('capability', 'ipc_lock', False),
    ('system', 'status', False), ('netlink_route_socket', 'nlmsg_read', False), ('file', 'write', False),
])
def test_the_permission_table_is_deny_by_default_for_power_classes(tclass, perm, finding):
    """Issue of the adversarial review: the table listed 8 capabilities and missed bpf, perfmon, dac_override and
    whole classes (bpf, perf_event, lockdown, kernel_service, systemd's system permissions, netlink writes).
    nnp_transition is judged by its target (a transition permission), not here."""
    from ansible_collections.fleetsec.selinux.plugins.module_utils._power import permission_reason
    assert bool(permission_reason(tclass, perm)) is bool(finding)


def test_acknowledged_reads_text_beyond_ascii_and_drops_empty_keys():
    """A file-context target may hold any character but whitespace and quotes: asking for it never fails (Python 2
    too), and an empty entry acknowledges nothing."""
    acked = safety.Acknowledged([u'/srv/caf\u00e9(/.*)?', '', ' ', ';'])
    assert u'/srv/caf\u00e9(/.*)?' in acked and u'/srv/na\u00efve' not in acked and '' not in acked
    assert acked.keys == frozenset([u'/srv/caf\u00e9(/.*)?'])
    assert (safety.Acknowledged([]) == {'not': 'valid'}) is False


@pytest.mark.parametrize('value', [[True], [600], [None], [['tcp/600']]])
def test_an_entry_that_is_not_a_string_is_refused(value):
    with pytest.raises(FleetsecError) as err:
        safety.Acknowledged(value)
    assert err.value.msg.startswith('allow_dangerous: each entry is a string')
