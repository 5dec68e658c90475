# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a transaction grants, judged on the policy before and after it (setools output as recorded here).

The outputs below are the formats of setools 4 (``sesearch -A -T``, ``seinfo POLICY -a -x``, ``seinfo POLICY --permissive``)
as printed on this project's testbed, and of setools 3 (EL7). The real tools run in the offline-store tests.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_grants as grants

OLD_RULES = """allow can_setenforce security_t:security setenforce; [ secure_mode_policyload ]:False
allow ntpd_t ntpd_t:capability { net_admin sys_time };
allow ntpd_t user_home_t:file read;
allow unconfined_domain_type shadow_t:file { read write };
type_transition initrc_t ntpd_exec_t:process ntpd_t;
"""
OLD_ATTRS = (
    '\n'
    'Type Attributes: 3\n'
    '   attribute can_setenforce;\n'
    '\tsecadm_t\n'
    '\tsysadm_t\n'
    '   attribute file_type;\n'
    '\tetc_t\n'
    '\tshadow_t\n'
    '\tuser_home_t\n'
    '\tntpd_exec_t\n'
    '   attribute unconfined_domain_type;\n'
    '\tunconfined_t\n'
)
OLD_PERMISSIVE = "\nPermissive Types: 0\n"


def dump(rules=OLD_RULES, attrs=OLD_ATTRS, permissive=OLD_PERMISSIVE):
    return grants.Dump(grants.parse_rules(rules), grants.parse_attributes(attrs), grants.parse_permissive(permissive))


def test_parse_rules_merges_permissions_and_drops_conditions():
    rules = grants.parse_rules(OLD_RULES)
    assert rules[('allow', 'ntpd_t', 'ntpd_t', 'capability')] == set(['net_admin', 'sys_time'])
    assert rules[('allow', 'can_setenforce', 'security_t', 'security')] == set(['setenforce'])
    assert rules[('type_transition', 'initrc_t', 'ntpd_exec_t', 'process')] == set(['ntpd_t'])


def test_parse_setools3_formats():
    rules = grants.parse_rules('   allow ntpd_t shadow_t : file { read write } ; \nET allow a_t b_t : dir search ; [ x ]\n')
    assert rules == {('allow', 'ntpd_t', 'shadow_t', 'file'): set(['read', 'write']),
                     ('allow', 'a_t', 'b_t', 'dir'): set(['search'])}
    attrs = grants.parse_attributes('\nAttributes: 2\n   file_type\n      shadow_t\n      etc_t\n   domain\n      ntpd_t\n')
    assert attrs == {'file_type': set(['shadow_t', 'etc_t']), 'domain': set(['ntpd_t'])}
    assert grants.parse_permissive('\n   Permissive Types: 2\n      ntpd_t\n      httpd_t\n') == set(['ntpd_t', 'httpd_t'])


def test_nothing_new_nothing_found():
    assert grants.judge(dump(), dump()) == []


def test_harmless_addition_is_not_a_finding():
    new = dump(OLD_RULES + 'allow ntpd_t user_home_t:file { open getattr };\n')
    assert grants.judge(dump(), new) == []


def test_new_permission_on_an_existing_rule_is_judged_alone():
    # sys_admin is new; net_admin/sys_time were granted before and are not reported
    new = dump(OLD_RULES.replace('{ net_admin sys_time }', '{ net_admin sys_admin sys_time }'))
    assert [(f['rule'], f['reason']) for f in grants.judge(dump(), new)] == [
        ('allow ntpd_t self:capability sys_admin', 'capability sys_admin')]


def test_write_through_an_attribute_reaches_the_protected_types():
    new = dump(OLD_RULES + 'allow ntpd_t file_type:file write;\n')
    found = grants.judge(dump(), new)
    assert [f['rule'] for f in found] == ['allow ntpd_t file_type:file write']
    assert found[0]['reason'] == 'write (write) to etc_t, and 2 more through the attribute file_type'
    assert found[0]['subject'] == 'ntpd_t'


def test_joining_an_attribute_is_judged_on_the_attribute_rules():
    new = dump(attrs=OLD_ATTRS.replace('\tsecadm_t\n', '\tntpd_t\n\tsecadm_t\n'))
    found = grants.judge(dump(), new)
    assert [(f['rule'], f['subject'], f['via']) for f in found] == [
        ('typeattribute ntpd_t can_setenforce', 'ntpd_t', 'attribute')]
    assert 'allow can_setenforce security_t:security setenforce (setenforce on the security server)' in found[0]['reason']


def test_joining_the_unconfined_attribute_is_a_finding():
    new = dump(attrs=OLD_ATTRS.replace('\tunconfined_t\n', '\tntpd_t\n\tunconfined_t\n'))
    assert [f['rule'] for f in grants.judge(dump(), new)] == ['typeattribute ntpd_t unconfined_domain_type']


def test_alias_resolves_to_the_real_type_in_the_binary_policy():
    # "typealias shadow_t alias x_t; allow ntpd_t x_t:file write;" is stored with the real type
    new = dump(OLD_RULES + 'allow ntpd_t shadow_t:file write;\n')
    assert [(f['rule'], f['reason']) for f in grants.judge(dump(), new)] == [
        ('allow ntpd_t shadow_t:file write', 'write (write) to shadow_t')]


def test_transition_into_an_unconfined_domain_and_permissive_domain():
    new = dump(OLD_RULES + 'type_transition ntpd_t bin_t:process unconfined_t;\n',
               permissive='\nPermissive Types: 1\n   ntpd_t\n')
    assert [f['rule'] for f in grants.judge(dump(), new)] == [
        'type_transition ntpd_t bin_t:process unconfined_t', 'permissive ntpd_t']


def test_new_type_added_to_the_unconfined_attribute_counts_as_unconfined():
    new = dump(OLD_RULES + 'allow ntpd_t evil_t:process transition;\n',
               attrs=OLD_ATTRS.replace('\tunconfined_t\n', '\tevil_t\n\tunconfined_t\n'))
    rules = [f['rule'] for f in grants.judge(dump(), new)]
    assert 'allow ntpd_t evil_t:process transition' in rules
    assert 'typeattribute evil_t unconfined_domain_type' in rules


def test_mentions():
    assert set(['ntpd_t', 'x_t', 'file']) <= grants.mentions('(allow ntpd_t x_t (file (write)))')


def test_parse_names_drops_headers():
    assert grants.parse_names('\nUsers: 2\n   system_u\n   staff_u\n') == set(['system_u', 'staff_u'])
    assert grants.parse_names('\nSensitivities: 1\n   s0\n') == set(['s0'])


class _Seinfo(object):
    """A runner answering seinfo's class queries with recorded output (setools 4.4, EL8's f28 policy, shortened)."""
    OUT = {'--common': '\nCommons: 2\n   common file\n{\n\tappend\n\tgetattr\n\tread\n}\n   common socket\n{\n'
                       '\tbind\n}\n',
           '-c': '\nClasses: 3\n   class alg_socket\ninherits socket\n\n   class dir\ninherits file\n{\n'
                 '\tadd_name\n\tsearch\n}\n   class filesystem\n{\n\tgetattr\n\tmount\n}\n'}

    def run(self, name, args, what=None):
        assert name == 'seinfo' and args[0] == 'POLICY' and args[2] == '-x'
        return type('Result', (), {'stdout': self.OUT[args[1]]})


def test_defined_classes_include_the_permissions_of_their_common():
    assert grants.defined_classes(_Seinfo(), 'POLICY') == {
        'alg_socket': set(['bind']), 'dir': set(['add_name', 'search', 'append', 'getattr', 'read']),
        'filesystem': set(['getattr', 'mount'])}


DEFINED = {'user': set(['system_u']), 'role': set(['system_r', 'object_r']), 'type': set(['ntpd_t']),
           'sensitivity': set(['s0']), 'category': set('c%d' % n for n in range(1024))}


@pytest.mark.parametrize('context, problems', [
    ('system_u:system_r:ntpd_t:s0', []),
    ('system_u:system_r:ntpd_t:s0-s0:c0.c1023', []),
    ('nosuch_u:system_r:ntpd_t:s0', ['user nosuch_u']),
    ('system_u:nosuch_r:ntpd_t:s0', ['role nosuch_r']),
    ('system_u:system_r:nosuch_t:s0', ['type nosuch_t']),
    ('system_u:system_r:ntpd_t:s9', ['sensitivity s9']),
    ('system_u:system_r:ntpd_t:s0:c1,c2000', ['category c2000']),
    ('ntpd_t', ['malformed context ntpd_t']),
])
def test_context_problems(context, problems):
    assert grants.context_problems(context, DEFINED) == problems
