# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the verdict reads of the installed policy: setools output as recorded here (setools 4.4's formats), and
the protected families read from attributes (the real Debian and EL9 policies: the offline-store tests)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils import _file_contexts as fc
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_model as pm
from ansible_collections.fleetsec.selinux.plugins.module_utils import _power as power


def rules_of(text):
    """{(kind, source, target, class): perms} of sesearch output."""
    return setools.rule_map(setools.parse_rules(text))


SEINFO = '''
Constraints: 2
   constrain file { create relabelfrom relabelto } (u1 == u2 or ( t1 == can_change_object_identity ));
   constrain process { transition } (u1 == u2 or ( t1 == { can_system_change cron_source_domain } ) or ( t1 != ubac_constrained_type ));

Types: 2
   type bin_t alias { sbin_t ls_exec_t }, entry_type, exec_type, file_type;
   type shadow_t, file_type, security_file_type;

Type Attributes: 2
   attribute exec_type;
\tbin_t
   attribute file_type;
\tbin_t
\tshadow_t

Validatetrans: 0
'''


def test_one_seinfo_run_is_split_into_its_sections():
    sections = setools.split_sections(SEINFO)
    assert sorted(sections) == ['Constraints', 'Type Attributes', 'Types', 'Validatetrans']
    types, aliases = setools.parse_types(sections['Types'])
    assert types['bin_t'] == set(['entry_type', 'exec_type', 'file_type'])
    assert aliases == {'sbin_t': 'bin_t', 'ls_exec_t': 'bin_t'}
    assert setools.parse_attributes(sections['Type Attributes']) == {
        'exec_type': set(['bin_t']), 'file_type': set(['bin_t', 'shadow_t'])}


def test_exemptions_are_the_attributes_a_constraint_compares_with_equals():
    found = setools.parse_exemptions(setools.split_sections(SEINFO)['Constraints'])
    assert found == {'can_change_object_identity': ['file'], 'can_system_change': ['process'],
                     'cron_source_domain': ['process']}  # t1 != ubac_constrained_type only adds a constraint


def facts(types, attributes, domain_rules=''):
    return pm.PolicyModel(pm.derive_facts(attributes, types, {}, {}, rules_of(domain_rules), {}), [])


@pytest.mark.parametrize('attrs, name, rules, family', [
    (['file_type', 'security_file_type'], 'shadow_t', '', 'a security file'),
    (['file_type', 'non_auth_file_type'], 'policy_config_t', '', 'a security file'),  # refpolicy: not non_security
    (['file_type', 'non_security_file_type'], 'shadow_t', '', 'an authentication file'),
    (['file_type', 'exec_type', 'non_security_file_type', 'non_auth_file_type'], 'bin_t', '', 'an entry point'),
    (['file_type', 'non_security_file_type', 'non_auth_file_type'], 'lib_t',
     'allow domain lib_t:file { execute map };', 'code every domain runs'),
    (['file_type', 'non_security_file_type', 'non_auth_file_type'], 'locale_t',
     'allow domain locale_t:file { read open };', 'a file every program reads'),
    (['sysctl_type'], 'sysctl_kernel_t', '', 'kernel parameter'),
    (['device_node'], 'fixed_disk_device_t', '', 'a device not open to every domain'),
    (['device_node'], 'null_device_t', 'allow domain null_device_t:chr_file { read write };', None),
    (['file_type', 'non_security_file_type', 'non_auth_file_type', 'user_home_type'], 'ssh_home_t', '', 'ssh keys'),
    (['file_type', 'non_security_file_type', 'non_auth_file_type'], 'var_t', '', None),
    # a rule on a whole attribute says nothing of one family (EL9: allow domain file_type:file map)
    (['file_type', 'non_security_file_type', 'non_auth_file_type'], 'var_t', 'allow domain file_type:file execute;',
     None),
])
def test_protected_families_are_read_from_attributes(attrs, name, rules, family):
    attributes = dict((attr, set([name])) for attr in attrs)
    for attr in ('non_security_file_type', 'non_auth_file_type'):
        attributes.setdefault(attr, set(['other_t']))
    model = facts({name: set(attrs)}, attributes, rules)
    found = power.protection(set(attrs), name, model)
    assert (found is None) if family is None else (family in found), found


@pytest.mark.parametrize('line, expression, type_name', [
    ('/etc/shadow.*\t--\tsystem_u:object_r:shadow_t:s0', '/etc/shadow.*', 'shadow_t'),
    ('/srv(/.*)?    system_u:object_r:var_t:s0', '/srv(/.*)?', 'var_t'),
    ('/proc/.*  <<none>>', None, None),
])
def test_file_contexts_lines(line, expression, type_name):
    found = fc.parse_file_contexts(line)
    assert found == ([(expression, type_name)] if expression else [])


def test_file_contexts_are_read_once_for_the_verdict_and_for_remedy():
    """One reading of the lines: the verdict's (expression, type) and remedy's {(expression, letter): type} agree."""
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy_apply as ra
    text = ('# a comment\n/etc/shadow.*\t--\tsystem_u:object_r:shadow_t:s0\n/var/run\t-l\tsystem_u:object_r:var_run_t:s0\n'
            '/proc/.*  <<none>>\nbroken\n')
    assert fc.file_context_lines(text) == [('/etc/shadow.*', 'f', 'shadow_t'), ('/var/run', 'l', 'var_run_t'),
                                           ('/proc/.*', 'a', None)]
    assert fc.parse_file_contexts(text) == [('/etc/shadow.*', 'shadow_t'), ('/var/run', 'var_run_t')]
    assert ra.parse_file_contexts(text) == {('/etc/shadow.*', 'f'): 'shadow_t', ('/var/run', 'l'): 'var_run_t',
                                            ('/proc/.*', 'a'): None}


# seinfo --genfscon -x: setools 4 (EL8-EL10, Debian) and setools 3 (EL7, wider spacing) print the same words
GENFSCON_4 = """
Genfscon: 4
   genfscon sysfs /  system_u:object_r:sysfs_t:s0
   genfscon proc /sys/kernel  system_u:object_r:sysctl_kernel_t:s0
   genfscon nfs /  system_u:object_r:nfs_t:s0
"""
GENFSCON_3 = """
Genfscon: 2
   genfscon tracefs /      system_u:object_r:tracefs_t:s0
   genfscon 9p /      system_u:object_r:nfs_t:s0
"""


def test_genfscon_of_setools_3_and_4():
    assert setools.parse_genfscon(GENFSCON_4) == [('sysfs', 'sysfs_t'), ('proc', 'sysctl_kernel_t'), ('nfs', 'nfs_t')]
    assert setools.parse_genfscon(GENFSCON_3) == [('tracefs', 'tracefs_t'), ('9p', 'nfs_t')]


def test_kernel_state_is_genfscon_of_the_kernels_file_systems_and_the_contexts_below_sys():
    contexts = [('/sys(/.*)?', 'sysfs_t'), ('/sys/kernel/tracing', 'tracefs_t'), ('/sysroot/ostree(/.*)?', 'root_t'),
                ('/sys', 'sysfs_t'), ('/syslog(/.*)?', 'var_log_t'), ('/srv(/.*)?', 'var_t')]
    found = pm.kernel_state_types(setools.parse_genfscon(GENFSCON_4 + GENFSCON_3), contexts)
    assert found == set(['sysfs_t', 'sysctl_kernel_t', 'tracefs_t'])


def test_the_control_rules_give_both_who_controls_the_policy_and_where_kernel_modules_come_from():
    """One control query answers both: the module_load rules on types named directly are the kernel's module
    files; each control permission is who controls the policy."""
    control = rules_of('allow kmod_t modules_object_t:system module_load;\n'
                       'allow unconfined_domain_type file_type:system module_load;\n'
                       'allow can_load_policy security_t:security load_policy;\n')
    found = pm.derive_facts({'file_type': set(['modules_object_t'])}, {}, {}, {}, {}, control)
    assert found['loaded_modules'] == ['modules_object_t']
    assert found['control'] == {'kmod_t': ['modules_object_t:system module_load'],
                                'unconfined_domain_type': ['file_type:system module_load'],
                                'can_load_policy': ['security_t:security load_policy']}
