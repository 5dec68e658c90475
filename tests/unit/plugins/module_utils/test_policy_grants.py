# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a binary policy defines and grants, read from setools output as recorded here.

The outputs below are the formats of setools 4 (``sesearch -A -T``, ``seinfo POLICY -a -x``) as printed on this
project's testbed, and of setools 3 (EL7). The real tools run in the offline-store tests.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_grants as grants
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools


def rules_of(text):
    """{(kind, source, target, class): perms} of sesearch output."""
    return setools.rule_map(setools.parse_rules(text))


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


def test_parse_rules_merges_permissions_and_drops_conditions():
    rules = rules_of(OLD_RULES)
    assert rules[('allow', 'ntpd_t', 'ntpd_t', 'capability')] == set(['net_admin', 'sys_time'])
    assert rules[('allow', 'can_setenforce', 'security_t', 'security')] == set(['setenforce'])
    assert rules[('type_transition', 'initrc_t', 'ntpd_exec_t', 'process')] == set(['ntpd_t'])


def test_parse_setools4_attributes():
    attrs = setools.parse_attributes(OLD_ATTRS)
    assert attrs['can_setenforce'] == set(['secadm_t', 'sysadm_t'])
    assert attrs['unconfined_domain_type'] == set(['unconfined_t'])


def test_parse_setools3_formats():
    rules = rules_of('   allow ntpd_t shadow_t : file { read write } ; \nET allow a_t b_t : dir search ; [ x ]\n')
    assert rules == {('allow', 'ntpd_t', 'shadow_t', 'file'): set(['read', 'write']),
                     ('allow', 'a_t', 'b_t', 'dir'): set(['search'])}
    attrs = setools.parse_attributes('\nAttributes: 2\n   file_type\n      shadow_t\n      etc_t\n   domain\n      ntpd_t\n')
    assert attrs == {'file_type': set(['shadow_t', 'etc_t']), 'domain': set(['ntpd_t'])}


def test_parse_names_drops_headers():
    assert setools.parse_names('\nUsers: 2\n   system_u\n   staff_u\n') == set(['system_u', 'staff_u'])
    assert setools.parse_names('\nSensitivities: 1\n   s0\n') == set(['s0'])


class _Seinfo(object):
    """A runner answering seinfo's class query with recorded output (setools 4.4, EL8's f28 policy, shortened): one
    run lists both components, classes first, as seinfo orders them."""
    OUT = ('\nClasses: 3\n   class alg_socket\ninherits socket\n\n   class dir\ninherits file\n{\n'
           '\tadd_name\n\tsearch\n}\n   class filesystem\n{\n\tgetattr\n\tmount\n}\n'
           '\nCommons: 2\n   common file\n{\n\tappend\n\tgetattr\n\tread\n}\n   common socket\n{\n'
           '\tbind\n}\n')

    def __init__(self):
        self.calls = []

    def run(self, name, args, what=None):
        self.calls.append([name] + list(args))
        assert name == 'seinfo' and args == ['POLICY', '--common', '-c', '-x']
        return type('Result', (), {'stdout': self.OUT})


def test_defined_classes_include_the_permissions_of_their_common():
    runner = _Seinfo()
    assert grants.defined_classes(runner, 'POLICY') == {
        'alg_socket': set(['bind']), 'dir': set(['add_name', 'search', 'append', 'getattr', 'read']),
        'filesystem': set(['getattr', 'mount'])}
    assert len(runner.calls) == 1  # one seinfo, one load of the policy


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
