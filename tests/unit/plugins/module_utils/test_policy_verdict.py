# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verdict over a transaction: a case per class of what a module can change (decision table).

The policy here is a small model built in the test (attributes, aliases, constraints, file contexts as the real
policies name them); the offline-store tests run the same classes against the real Debian and EL9 policies.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_model as pm
from ansible_collections.fleetsec.selinux.plugins.module_utils import _file_contexts as fc
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_verdict as pv


def sesearch(text):
    """{(kind, source, target, class): perms} of sesearch output."""
    return setools.rule_map(setools.parse_rules(text))


ATTRIBUTES = {
    'file_type': ['etc_t', 'shadow_t', 'user_home_t', 'ntpd_exec_t', 'bin_t', 'var_t', 'xdg_t', 'ssh_home_t',
                  'sudo_exec_t'],
    'non_security_file_type': ['etc_t', 'user_home_t', 'ntpd_exec_t', 'bin_t', 'var_t', 'xdg_t', 'ssh_home_t',
                               'sudo_exec_t'],
    'non_auth_file_type': ['etc_t', 'user_home_t', 'ntpd_exec_t', 'bin_t', 'var_t', 'xdg_t', 'ssh_home_t',
                           'sudo_exec_t'],
    'exec_type': ['ntpd_exec_t', 'bin_t', 'sudo_exec_t'],
    'configfile': ['etc_t'],
    'can_setenforce': ['secadm_t'],
    'unconfined_domain_type': ['unconfined_t'],
    'domain': ['ntpd_t', 'unconfined_t', 'secadm_t', 'staff_t', 'passwd_t'],
    'xdg_config_type': ['xdg_t'],
    'user_home_content_type': ['user_home_t', 'ssh_home_t'],
    'sysctl_type': ['sysctl_kernel_t'],
    'device_node': ['fixed_disk_device_t', 'null_device_t', 'virt_content_t'],
    'can_relabelto_shadow_passwords': ['passwd_t'],
    'can_change_object_identity': ['passwd_t'],
    'empty_attr': [],
    'can_load_policy': ['load_policy_t'],
}
# what the policy's query for CONTROL_PERMS answers: load_policy_t through its attribute, kmod_t directly
CONTROL_RULES = ('allow can_load_policy security_t:security load_policy;\n'
                 'allow kmod_t kmod_t:capability { sys_module chown };\n'
                 'allow system_mail_t system_mail_t:capability dac_override;\n')
RULES = {
    ('can_setenforce', 'source'): 'allow can_setenforce security_t:security setenforce;\n',
    ('xdg_config_type', 'target'): 'allow staff_t xdg_config_type:file { read write create };\n',
    ('sudo_exec_t', 'target'): 'allow unconfined_t sudo_exec_t:file { entrypoint execute };\n',
    ('unconfined_domain_type', 'source'): 'allow unconfined_domain_type file_type:file write;\n',
    ('domain', 'source'): 'allow domain null_device_t:chr_file { read write };\n',
    ('file_type', 'target'): 'allow unconfined_t file_type:file { read write };\n',
    ('non_security_file_type', 'target'): 'allow staff_t non_security_file_type:file read;\n',
    ('non_auth_file_type', 'target'): 'allow staff_t non_auth_file_type:file read;\n',
    ('exec_type', 'target'): 'allow unconfined_t exec_type:file { read write };\n',
    # passwd_t writes /etc/shadow through a new file it creates in /etc (the policy's own type rule)
    ('passwd_t', 'source'): 'type_transition passwd_t etc_t:file shadow_t;\n',
}
FILE_CONTEXTS = [('/etc/shadow.*', 'shadow_t'), ('/usr/sbin(/.*)?', 'bin_t'), ('/usr/sbin/ntpd', 'ntpd_exec_t'),
                 ('/etc(/.*)?', 'etc_t'), ('/srv(/.*)?', 'var_t'), ('/[^/]+', 'etc_t'),
                 ('/home/[^/]+/\\.ssh(/.*)?', 'ssh_home_t'), ('/sys(/.*)?', 'sysfs_t'),
                 ('/sys/firmware/efi/efivars', 'efivarfs_t'), ('/sysroot/ostree(/.*)?', 'sysroot_t')]
# genfscon of the fake policy: tracefs is the kernel's, nfs is not
GENFSCON = [('tracefs', 'tracefs_t'), ('nfs', 'nfs_t')]


def default_type(path):
    """What libselinux would answer for the paths of these tests (the longest matching tree of FILE_CONTEXTS)."""
    for prefix, type_name in (('/etc/shadow', 'shadow_t'), ('/usr/sbin', 'bin_t'), ('/etc', 'etc_t'),
                              ('/srv', 'var_t'), ('/home', 'user_home_t')):
        if path.startswith(prefix):
            return type_name
    return 'default_t'


def model(calls=None):
    types = {}
    for attribute, members in ATTRIBUTES.items():
        for member in members:
            types.setdefault(member, set()).add(attribute)
    for name in ('security_t', 'sysctl_kernel_t', 'fixed_disk_device_t', 'null_device_t', 'ntpd_t', 'staff_t',
                 'sysadm_t', 'ntp_port_t', 'default_t', 'kmod_t', 'system_mail_t', 'sysfs_t', 'efivarfs_t', 'tracefs_t', 'nfs_t', 'sysroot_t'):
        types.setdefault(name, set())

    def rules_of(names):
        if calls is not None:
            calls.append(sorted(names))
        return dict(((name, side), sesearch(RULES.get((name, side), '')))
                    for name in names for side in ('source', 'target'))
    facts = pm.derive_facts(dict((k, set(v)) for k, v in ATTRIBUTES.items()), types, {'sbin_t': 'bin_t'},
                            {'can_change_object_identity': ['file', 'dir']},
                            sesearch('allow domain null_device_t:chr_file { read write };\n'), sesearch(CONTROL_RULES), GENFSCON)
    return pm.PolicyModel(facts, FILE_CONTEXTS, rules_of=rules_of,
                          default_types=lambda paths: dict((p, default_type(p)) for p in paths))


def verdict(text, name='acme', more=()):
    found = pv.judge(model(), [(name, text)] + list(more))
    return [(f['rule'], f['reason']) for f in found[name]]


def rules(text):
    return [rule for rule, dummy in verdict(text)]


WRITABLE = '(type fsx_t)(allow ntpd_t fsx_t (file (write)))'
CASES = [
    # (id, CIL, expected rules, a word every reason holds)
    ('harmless read', '(allow ntpd_t user_home_t (file (read open)))', [], None),
    ('write to a security file', '(allow ntpd_t shadow_t (file (write)))', ['allow ntpd_t shadow_t:file write'],
     'a security file'),
    ('write through an attribute', '(allow ntpd_t file_type (file (append)))', ['allow ntpd_t file_type:file append'],
     'more through the attribute file_type'),
    ('an alias of the module', '(typealias x_t)(typealiasactual x_t shadow_t)(allow ntpd_t x_t (file (write)))',
     ['allow ntpd_t x_t:file write'], 'shadow_t'),
    ('an alias of the policy', '(allow ntpd_t sbin_t (file (write)))', ['allow ntpd_t sbin_t:file write'],
     'an entry point of domains'),
    ('a source attribute', '(allow domain shadow_t (file (write)))', ['allow domain shadow_t:file write'],
     'for every member of domain'),
    ('every permission', '(allow ntpd_t var_t (file (all)))', ['allow ntpd_t var_t:file (all)'], 'every permission'),
    ('a named permission set', '(allow ntpd_t var_t cps)', ['allow ntpd_t var_t cps'], 'not judged'),
    ('ptrace of another domain', '(allow ntpd_t unconfined_t (process (ptrace)))',
     ['allow ntpd_t unconfined_t:process ptrace'], 'ptrace'),
    ('ptrace of itself', '(allow ntpd_t self (process (ptrace)))', [], None),
    ('a kernel parameter', '(allow ntpd_t sysctl_kernel_t (file (write)))', ['allow ntpd_t sysctl_kernel_t:file write'],
     'sysctl'),
    # the kernel's own state: what the file contexts label below /sys, what genfscon gives the kernel's file systems
    ('sysfs', '(allow ntpd_t sysfs_t (file (write)))', ['allow ntpd_t sysfs_t:file write'], "the kernel's own state"),
    ('firmware variables', '(allow ntpd_t efivarfs_t (file (append)))', ['allow ntpd_t efivarfs_t:file append'],
     "the kernel's own state"),
    ('tracefs through genfscon', '(allow ntpd_t tracefs_t (file (write)))', ['allow ntpd_t tracefs_t:file write'],
     "the kernel's own state"),
    ('a network file system is no kernel state', '(allow ntpd_t nfs_t (file (write)))', [], None),
    ('/sysroot is not below /sys', '(allow ntpd_t sysroot_t (file (write)))', [], None),
    ('reading sysfs', '(allow ntpd_t sysfs_t (file (read open)))', [], None),
    ('a raw disk', '(allow ntpd_t fixed_disk_device_t (blk_file (write)))',
     ['allow ntpd_t fixed_disk_device_t:blk_file write'], 'a device not open to every domain'),
    ('a device every domain may write', '(allow ntpd_t null_device_t (chr_file (write)))', [], None),
    ('ssh keys', '(allow ntpd_t ssh_home_t (file (append)))', ['allow ntpd_t ssh_home_t:file append'], 'ssh keys'),
    ('a capability', '(allow ntpd_t self (capability (sys_admin)))', ['allow ntpd_t self:capability sys_admin'],
     'capability'),
    ('transition into an unconfined domain', '(typetransition ntpd_t bin_t process unconfined_t)',
     ['typetransition ntpd_t bin_t process unconfined_t'], 'privileged domain unconfined_t'),
    ('permissive', '(type fsx_t)(typepermissive fsx_t)', ['permissive fsx_t'], 'permissive'),
    # entering a confined domain that controls the policy or the kernel's code
    ('transition into a domain that loads the policy', '(allow ntpd_t load_policy_t (process (transition)))',
     ['allow ntpd_t load_policy_t:process transition'],
     'load_policy_t, which controls the security policy or the kernel (allow can_load_policy security_t:security '
     'load_policy)'),
    ('a type transition into a domain that loads kernel modules', '(typetransition ntpd_t bin_t process kmod_t)',
     ['typetransition ntpd_t bin_t process kmod_t'], 'allow kmod_t kmod_t:capability sys_module'),
    ('a transition into a daemon domain', '(allow ntpd_t system_mail_t (process (transition)))', [], None),
    ('a domain of the module', '(type fsd_t)(allow ntpd_t fsd_t (process (transition)))', [], None),
    # attribute joins, both sides
    ('source attribute join', '(typeattributeset can_setenforce (ntpd_t))', ['typeattribute ntpd_t can_setenforce'],
     'setenforce on the security server'),
    ('target attribute join', '(typeattributeset xdg_config_type (bin_t))', ['typeattribute bin_t xdg_config_type'],
     'every domain that may write xdg_config_type may now write bin_t'),
    ('an assertion exemption', '(typeattributeset can_relabelto_shadow_passwords (ntpd_t))',
     ['typeattribute ntpd_t can_relabelto_shadow_passwords'], 'has no rule in the installed policy'),
    ('a constraint exemption', '(typeattributeset can_change_object_identity (ntpd_t))',
     ['typeattribute ntpd_t can_change_object_identity'], 'exempts ntpd_t from the constraints'),
    ('unconfined', '(typeattributeset unconfined_domain_type (ntpd_t))',
     ['typeattribute ntpd_t unconfined_domain_type'], 'unconfined'),
    ('an empty attribute', '(typeattributeset empty_attr (ntpd_t))', ['typeattribute ntpd_t empty_attr'],
     'no member'),
    ('a computed set', '(typeattributeset xdg_config_type (not (shadow_t)))',
     ['typeattributeset xdg_config_type (not (shadow_t))'], 'not judged'),
    ('an attribute the policy lacks', '(typeattributeset nosuch_attr (ntpd_t))', ['typeattribute ntpd_t nosuch_attr'],
     'does not define'),
    ('the module declares and fills its own attribute',
     '(typeattribute acme_domain)(typeattributeset acme_domain (ntpd_t))(allow acme_domain var_t (file (write)))',
     [], None),
    # dormant content, judged as if active
    ('an optional block on a missing type', '(optional o (allow ntpd_t nosuch_t (file (write))))',
     ['allow ntpd_t nosuch_t:file write'], 'dormant: optional o'),
    ('the false branch of a conditional', '(booleanif b (true (allow ntpd_t var_t (file (read)))) '
                                          '(false (allow ntpd_t shadow_t (file (write)))))',
     ['allow ntpd_t shadow_t:file write'], 'booleanif b false'),
    # roles and users
    ('a user gains a role', '(userrole staff_u sysadm_r)', ['userrole staff_u sysadm_r'], 'gains the role sysadm_r'),
    ('roleallow', '(roleallow staff_r sysadm_r)', ['roleallow staff_r sysadm_r'], 'review it'),
    ('an existing role runs an existing domain', '(roletype staff_r unconfined_t)', ['roletype staff_r unconfined_t'],
     'may now run the existing domain'),
    ('a new domain in system_r', '(type fsx_t)(roletype system_r fsx_t)(roletype object_r fsx_t)', [], None),
    # labels
    ('a file context over a protected file', WRITABLE + '(filecon "/etc/shadow" file (system_u object_r fsx_t '
                                                        '((s0) (s0))))',
     ['filecon /etc/shadow file fsx_t'], 'shadow_t'),
    ('a file context below a protected directory', WRITABLE + '(filecon "/usr/sbin/.+" file '
                                                              '(system_u object_r fsx_t ((s0) (s0))))',
     ['filecon /usr/sbin/.+ file fsx_t'], 'bin_t'),
    ('an application tree', WRITABLE + '(filecon "/srv/acme(/.*)?" any (system_u object_r fsx_t ((s0) (s0))))',
     [], None),
    # a new type nobody may write protects nothing the relabel could hand out: the app's own binary, for one
    ('the module labels its own binary', '(type fsx_exec_t)(filecon "/usr/sbin/fsx" file (system_u object_r fsx_exec_t '
                                         '((s0) (s0))))', [], None),
    ('an expression inside a name reaches its directory',
     WRITABLE + '(filecon "/usr/s?bin/ntpd" file (system_u object_r fsx_t ((s0) (s0))))',
     ['filecon /usr/s?bin/ntpd file fsx_t'], 'ntpd_exec_t'),
    ('ssh keys in every home', WRITABLE + '(filecon "/home/[^/]+/\\.ssh(/.*)?" any (system_u object_r fsx_t '
                                          '((s0) (s0))))',
     ['filecon /home/[^/]+/\\.ssh(/.*)? any fsx_t'], 'ssh_home_t'),
    ('from the root', '(type fsx_t)(filecon "/(etc|srv)/x" file (system_u object_r fsx_t ((s0) (s0))))',
     ['filecon /(etc|srv)/x file fsx_t'], 'root of the file system'),
    ('an entry point of a privileged domain', '(filecon "/srv/acme/run" file (system_u object_r sudo_exec_t '
                                              '((s0) (s0))))',
     ['filecon /srv/acme/run file sudo_exec_t'], 'privileged domain(s) unconfined_t'),
    # a relabel to a type the module lets READ exposes what is secret, not what every program reads anyway
    ('a secret file to a type the module lets read',
     '(type fsx_t)(allow ntpd_t fsx_t (file (read open)))(filecon "/etc/shadow" file (system_u object_r fsx_t ((s0) (s0))))',
     ['filecon /etc/shadow file fsx_t'], 'lets ntpd_t read'),
    ('its own configuration file, read by its domain', '(type fsx_t)(allow ntpd_t fsx_t (file (read open)))'
                                                       '(filecon "/etc/fsx\\.conf" file (system_u object_r fsx_t '
                                                       '((s0) (s0))))', [], None),
    # type rules for objects label what a domain creates: judged like file contexts
    ('what passwd creates in /etc gets a type users write', '(typetransition passwd_t etc_t file "shadow" user_home_t)',
     ['typetransition passwd_t etc_t file "shadow" user_home_t'], 'instead of what the policy protects'),
    ('what passwd creates in /etc gets a type the module lets read',
     '(type fsx_t)(allow ntpd_t fsx_t (file (read)))(typetransition passwd_t etc_t file "nshadow" fsx_t)',
     ['typetransition passwd_t etc_t file "nshadow" fsx_t'], 'shadow_t'),
    ('a relabel rule on what a domain changes', '(typechange passwd_t shadow_t file user_home_t)',
     ['typechange passwd_t shadow_t file user_home_t'], 'shadow_t'),
    ('its own domain labels its own files', '(type fsx_t)(type fsx_tmp_t)(allow fsx_t fsx_tmp_t (file (read write)))'
                                            '(typetransition fsx_t var_t file fsx_tmp_t)', [], None),
    ('an unescaped dot reaches the directory', '(type fsx_t)(allow ntpd_t fsx_t (file (read open)))'
                                               '(filecon "/etc/fsx.conf" file (system_u object_r fsx_t ((s0) (s0))))',
     ['filecon /etc/fsx.conf file fsx_t'], 'shadow_t'),
    ('a type nobody may use', '(type fsx_t)(typetransition passwd_t etc_t file fsx_t)', [], None),
    # an adversarial review's classes (each failed before its fix)
    ('a computed set in an attribute of the module (what the .pp converter writes for { domain -unconfined_t })',
     '(allow acme_typeattr_1 shadow_t (file (write)))(typeattribute acme_typeattr_1)'
     '(typeattributeset acme_typeattr_1 (and (domain) (not (unconfined_t))))',
     ['allow acme_typeattr_1 shadow_t:file write'], 'for every member of acme_typeattr_1'),
    ('every type through all', '(typeattribute acme_all)(typeattributeset acme_all (all))'
                               '(allow acme_all self (capability (sys_module)))',
     ['allow acme_all self:capability sys_module'], 'capability sys_module'),
    ('an attribute filled before it is declared', '(typeattributeset acme_a (ntpd_t))(typeattribute acme_a)'
                                                  '(allow acme_a shadow_t (file (write)))',
     ['allow acme_a shadow_t:file write'], 'shadow_t'),
    ('every type but itself (notself)', '(allow ntpd_t notself (process (dyntransition)))',
     ['allow ntpd_t notself:process dyntransition'], 'dyntransition into'),
    ('a new type that joins an attribute another domain reads',
     '(type fsx_t)(typeattributeset file_type (fsx_t))(typeattributeset non_security_file_type (fsx_t))'
     '(typeattributeset non_auth_file_type (fsx_t))(filecon "/etc/shadow" file (system_u object_r fsx_t ((s0) (s0))))',
     ['filecon /etc/shadow file fsx_t'], 'lets staff_t read'),
    ('an alternation hidden by quoting', WRITABLE + '(filecon "/srv/a\\Q(\\E|/etc/shadow|x\\Q)\\E" file '
                                                    '(system_u object_r fsx_t ((s0) (s0))))',
     ['filecon /srv/a\\Q(\\E|/etc/shadow|x\\Q)\\E file fsx_t'], 'root of the file system'),
    ('a type rule of an attribute the module fills with a policy domain',
     '(typeattribute acme_a)(typeattributeset acme_a (passwd_t))(typetransition acme_a etc_t file "shadow" user_home_t)',
     ['typetransition acme_a etc_t file "shadow" user_home_t'], 'instead of what the policy protects'),
    ('reading an authentication file', '(allow ntpd_t shadow_t (file (read open)))', ['allow ntpd_t shadow_t:file read'],
     'secret'),
    ('reading a raw disk', '(allow ntpd_t fixed_disk_device_t (blk_file (read open)))',
     ['allow ntpd_t fixed_disk_device_t:blk_file read'], 'secret'),
    # a device type's plain files (a virtual machine's image) are not the device's content
    ('reading a file of a device type', '(allow ntpd_t virt_content_t (file (read open)))', [], None),
    ('reading a type the installed policy lacks', '(allow ntpd_t nosuch_t (file (read open)))', [], None),
    ('a new entry point of a privileged domain that a confined one writes',
     '(type fsx_t)(allow ntpd_t fsx_t (file (write create)))(allow unconfined_t fsx_t (file (entrypoint)))',
     ['allow unconfined_t fsx_t:file entrypoint'], 'which ntpd_t may write'),
    ('a protected file left without a label', '(filecon "/etc/shadow" file ())', ['filecon /etc/shadow file <<none>>'],
     'takes the label of files the policy protects away'),
    ('a port label', '(portcon tcp 22 (system_u object_r ntp_port_t ((s0) (s0))))',
     ['portcon tcp 22 (system_u object_r ntp_port_t ((s0) (s0)))'], 'review it'),
    ('a filesystem label', '(genfscon proc "/sys" (system_u object_r var_t ((s0) (s0))))',
     ['genfscon proc "/sys" (system_u object_r var_t ((s0) (s0)))'], 'review it'),
    # what this reader does not judge is refused
    ('a namespace', '(block b (allow ntpd_t shadow_t (file (write))))', ['block b'], 'cannot be judged'),
    ('a policy capability', '(policycap open_perms)', ['policycap open_perms'], 'not judged'),
]


@pytest.mark.parametrize('text, expected, word', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_verdict_per_class(text, expected, word):
    found = verdict(text)
    assert [rule for rule, dummy in found] == expected, found
    for dummy, reason in found:
        assert word in reason, reason


NEW_DOMAIN = """(type myapp_t)(type myapp_exec_t)(type myapp_var_t)
(roletype system_r myapp_t)(roletype object_r myapp_exec_t)
(typeattributeset domain (myapp_t))
(typeattributeset file_type (myapp_exec_t myapp_var_t))
(typeattributeset non_security_file_type (myapp_exec_t myapp_var_t))
(typeattributeset non_auth_file_type (myapp_exec_t myapp_var_t))
(typeattributeset exec_type (myapp_exec_t))
(allow myapp_t myapp_exec_t (file (entrypoint read execute)))
(allow myapp_t myapp_var_t (file (read write create unlink)))
(typetransition unconfined_t myapp_exec_t process myapp_t)
(filecon "/usr/sbin/myapp" file (system_u object_r myapp_exec_t ((s0) (s0))))
(filecon "/srv/myapp(/.*)?" any (system_u object_r myapp_var_t ((s0) (s0))))
"""


def test_a_module_for_a_new_daemon_hands_out_nothing():
    """The usual module of a new application (its domain, entry point, data tree, the attributes every domain and
    file type joins) is no finding: the new types protect nothing yet, and domain's grants are every domain's."""
    assert verdict(NEW_DOMAIN) == []


def test_an_existing_member_joining_again_changes_nothing():
    assert verdict('(typeattributeset exec_type (bin_t))') == []


def test_findings_are_per_module_of_the_transaction():
    # B fills A's attribute: the grant is A's (for every member), B's join of a declared attribute grants nothing
    found = pv.judge(model(), [('a', '(typeattribute acme_attr)(allow acme_attr shadow_t (file (write)))'),
                               ('b', '(typeattributeset acme_attr (ntpd_t))')])
    assert [f['rule'] for f in found['a']] == ['allow acme_attr shadow_t:file write']
    assert 'for every member of acme_attr' in found['a'][0]['reason']
    assert found['b'] == []


def test_every_join_is_read_in_one_query_pair():
    calls = []
    pv.judge(model(calls), [('a', '(typeattributeset can_setenforce (ntpd_t))(typeattributeset xdg_config_type (bin_t))'
                                  '(filecon "/srv/acme/run" file (system_u object_r sudo_exec_t ((s0) (s0))))')])
    assert len(calls) == 1 and set(['can_setenforce', 'xdg_config_type', 'sudo_exec_t']) <= set(calls[0])
    # who may use a relabel's new type (the attributes it joins) and a type rule's domain: in the same pair
    calls = []
    pv.judge(model(calls), [('a', '(type fsx_t)(typeattributeset non_security_file_type (fsx_t))'
                                  '(filecon "/etc/shadow" file (system_u object_r fsx_t ((s0) (s0))))'
                                  '(typetransition passwd_t etc_t file fsx_t)')])
    assert len(calls) == 1 and set(['non_security_file_type', 'passwd_t']) <= set(calls[0]), calls


def test_judgements_against_one_policy_share_its_rule_queries():
    # remedy judges each file-context rule of a batch on its own: the second asks the policy nothing new (the rules
    # of an entry type were queried again for every rule, two sesearch runs each, seconds on the targeted policy)
    calls, shared = [], None
    shared = model(calls)
    first = pv.label_findings(shared, '/srv/acme(/.*)?', 'sudo_exec_t')
    second = pv.label_findings(shared, '/srv/other(/.*)?', 'sudo_exec_t')
    assert first and second and len(calls) == 1 and 'sudo_exec_t' in calls[0], calls


def test_a_top_level_alternation_reaches_from_the_root():
    found = verdict('(type fsx_t)(filecon "/srv/acme|/etc/shadow" file (system_u object_r fsx_t ((s0) (s0))))')
    assert [rule for rule, dummy in found] == ['filecon /srv/acme|/etc/shadow file fsx_t']
    assert 'root of the file system' in found[0][1]


def test_label_findings_judge_a_file_context_rule_like_a_module_does():
    assert pv.label_findings(model(), '/srv/acme(/.*)?', 'var_t') == []
    assert 'shadow_t' in pv.label_findings(model(), '/etc/shadow', 'var_t')[0]


def test_labels_are_refused_when_their_trees_cannot_be_read():
    policy = model()
    policy.default_types = lambda paths: None
    found = pv.judge(policy, [('a', WRITABLE + '(filecon "/srv/acme(/.*)?" any (system_u object_r fsx_t '
                                               '((s0) (s0))))')])['a']
    assert [f['rule'] for f in found] == ['filecon /srv/acme(/.*)? any fsx_t'] and 'not judged' in found[0]['reason']


def test_unreadable_cil_names_the_module():
    with pytest.raises(pv.cil.CilSyntaxError) as info:
        pv.judge(model(), [('acme', '(allow a b (file (read))')])
    assert "Module 'acme'" in info.value.msg and 'Nothing was changed' in info.value.msg


@pytest.mark.parametrize('regex, prefix, scope', [
    ('/srv/acme(/.*)?', '/srv/acme', '/srv/acme'),
    ('/usr/sbin/.+', '/usr/sbin/', '/usr/sbin/'),
    ('/usr/s?bin/x', '/usr/', '/usr/'),
    ('/srv/*secret', '/srv', '/'),
    ('/etc/ld\\.so\\.cache', '/etc/ld.so.cache', '/etc/ld.so.cache'),
    ('/etc/myapp\\.conf(/.*)?', '/etc/myapp.conf', '/etc/myapp.conf'),
    ('/etc/shado\\w', '/etc/shado', '/etc/'),
    ('/etc/ld.so.cache', '/etc/ld', '/etc/'),
    ('/[[:alpha:]]+/x', '/', '/'),
    ('/srv/acme|/etc/shadow', '/srv/acme', ''),
    ('/srv/(a|b)(/.*)?', '/srv/', '/srv/'),
    ('/srv/[|]x', '/srv/', '/srv/'),
    ('/srv/a\\|b', '/srv/a', '/srv/'),
    ('/srv/a)|(/etc', '/srv/a', ''),
])
def test_label_scope(regex, prefix, scope):
    assert fc.literal_prefix(regex) == prefix
    assert fc.label_scope(regex) == scope


def test_an_attribute_declared_in_one_module_and_filled_in_another():
    found = pv.judge(model(), [('a', '(typeattributeset acme_attr (ntpd_t))'),
                               ('b', '(typeattribute acme_attr)(allow acme_attr self (capability (sys_module)))')])
    assert [f['rule'] for f in found['b']] == ['allow acme_attr self:capability sys_module'], found


@pytest.mark.parametrize('protected, reached', [
    ('/srv/[^/]+/\\.secret', True),          # a shorter literal beginning that reaches inside /srv/acme
    ('/srv/([^/]*/)?secret(/.*)?', True),
    ('/srv/(.*/)?\\.secret', True),
    ('/srv/b[^/]*/\\.secret', False),        # /srv/b...: never inside /srv/acme
    ('/srv/[^/]x', False),                    # two characters: never /srv/acme nor a path in it
    ('/srv/[^/]+/\\1', True),                 # a back reference: not read, so it may reach
    ('/nowhere|/srv/acme/y', True),             # a top-level |: libselinux reads ^/nowhere|/srv/acme/y$
])
def test_a_protected_context_with_a_shorter_literal_beginning(protected, reached):
    """The probe paths (the tree and one file in it) do not meet /srv/[^/]+/\\.secret: what the two expressions have
    in common does."""
    policy = model()
    policy.file_contexts = list(FILE_CONTEXTS) + [(protected, 'shadow_t')]
    for label in ('(system_u object_r fsx_t ((s0) (s0)))', '()'):
        found = pv.judge(policy, [('a', WRITABLE + '(filecon "/srv/acme(/.*)?" any %s)' % label)])['a']
        hit = [f for f in found if 'shadow_t' in f['reason']]
        assert bool(hit) == reached, (label, found)
        assert not hit or hit[0]['rule'].startswith('filecon /srv/acme(/.*)? any')


def test_a_relabel_whose_type_the_same_domain_reaches_two_ways():
    """staff_t writes the new type by the module's own rule and through the policy's xdg_config_type: one finding
    (the two ways were compared as None and a name, which Python 3 cannot order: a TypeError)."""
    found = verdict('(type fsx_t)(typeattributeset xdg_config_type (fsx_t))(allow staff_t fsx_t (file (write)))'
                    '(filecon "/etc/shadow" file (system_u object_r fsx_t ((s0) (s0))))')
    assert [rule for rule, dummy in found] == ['filecon /etc/shadow file fsx_t'], found
    assert 'staff_t' in found[0][1] and 'shadow_t' in found[0][1]


@pytest.mark.parametrize('text, word', [
    # CIL resolves a quoted token as the name itself
    ('(allow ntpd_t "shadow_t" (file (write)))', 'shadow_t'),
    ('(allow ntpd_t shadow_t ("file" ("write")))', 'shadow_t'),
    ('(allow ntpd_t self (capability ("sys_module")))', 'sys_module'),
    ('(allow ntpd_t security_t ("security" (setenforce)))', 'setenforce'),
    # and a leading dot as "the global namespace": the same name
    ('(allow ntpd_t .shadow_t (.file (write)))', 'shadow_t'),
    ('(allow ntpd_t ntpd_t (.capability (sys_module)))', 'sys_module'),
    ('("allow" ntpd_t shadow_t (file (write)))', 'shadow_t'),
])
def test_names_are_read_as_the_compiler_resolves_them(text, word):
    found = verdict(text)
    assert found and word in ' '.join(rule + ' ' + reason for rule, reason in found), found


def test_a_pcre2_verb_in_a_file_context_counts_as_reaching():
    """(*ACCEPT) ends the match where it stands: /srv/acme/(*ACCEPT) labels everything below /srv/acme/."""
    policy = model()
    policy.file_contexts = list(FILE_CONTEXTS) + [('/srv/[^/]+/\\.secret', 'shadow_t')]
    found = pv.judge(policy, [('a', WRITABLE + '(filecon "/srv/acme/(*ACCEPT)" any (system_u object_r fsx_t '
                                               '((s0) (s0))))')])['a']
    assert any('shadow_t' in f['reason'] for f in found), found


def test_deep_nesting_is_refused_clearly():
    text = '(optional o ' * 200 + '(allow ntpd_t shadow_t (file (write)))' + ')' * 200
    with pytest.raises(pv.cil.CilSyntaxError) as info:
        pv.judge(model(), [('acme', text)])
    assert 'nested deeper' in info.value.msg


def test_a_home_directory_template_is_judged_over_every_home():
    """genhomedircon writes HOME_DIR/\\.ssh/... out as /root/\\.ssh/... and /home/[^/]+/\\.ssh/...: a module labelling
    authorized_keys with a type a daemon may write took root's ssh login (the literal path was refused, the template
    reached nothing)."""
    found = verdict(WRITABLE + '(filecon "HOME_DIR/\\.ssh/authorized_keys" file (system_u object_r fsx_t '
                               '((s0) (s0))))')
    assert [rule for rule, dummy in found] == ['filecon HOME_DIR/\\.ssh/authorized_keys file fsx_t']
    assert 'ssh_home_t' in found[0][1] and 'ntpd_t write' in found[0][1], found
    assert fc.home_expansions('HOME_DIR/\\.ssh(/.*)?') == ['/home/[^/]+/\\.ssh(/.*)?', '/root/\\.ssh(/.*)?']
    assert fc.home_expansions('/tmp/gconfd-USER(/.*)?') == ['/tmp/gconfd-[^/]+(/.*)?']
    assert fc.home_expansions('/srv/acme(/.*)?') == ['/srv/acme(/.*)?']


def test_a_path_that_is_neither_absolute_nor_a_template_is_not_judged():
    found = verdict(WRITABLE + '(filecon "SOMEWHERE/x" file (system_u object_r fsx_t ((s0) (s0))))')
    assert len(found) == 1 and 'no absolute path' in found[0][1]


@pytest.mark.parametrize('new_type, refused', [
    ('shadow_t', True),      # an authentication file
    ('bin_t', False),        # an entry point of domains: the ordinary remedy for an application's binaries
    ('etc_t', False),        # a file every program reads
    ('user_home_t', False),  # a login's home content: trusted by its path, not its label
    ('var_t', False),        # no family
])
def test_labelling_a_tree_with_a_type_trusted_by_its_label_is_a_finding(new_type, refused):
    """What may be written under /srv/data's present label (var_t) becomes trusted as the new type: a tree labelled
    shadow_t was accepted, because only the old labels were judged. Entry points and system files are the ordinary
    remedies (web content is an entry type on EL9): not findings by their family."""
    reasons = pv.label_findings(model(), '/srv/data(/.*)?', new_type)
    assert bool([r for r in reasons if 'becomes trusted' in r]) is refused, reasons


def test_labelling_a_tree_with_the_type_it_already_has_is_no_finding():
    assert pv.label_findings(model(), '/etc/acme(/.*)?', 'etc_t') == []


def test_nnp_transition_into_a_privileged_domain_is_judged_like_transition():
    found = verdict('(allow ntpd_t unconfined_t (process2 (nnp_transition)))')
    assert len(found) == 1 and 'nnp_transition into the privileged domain unconfined_t' in found[0][1], found


def test_an_entrypoint_on_an_existing_type_that_unprivileged_domains_write_is_a_finding():
    """What staff_t may write (xdg_t, through xdg_config_type) made the entry point of unconfined_t: staff_t's
    content runs unconfined. Only a type the transaction declared was asked who writes it."""
    found = verdict('(allow unconfined_t xdg_t (file (entrypoint)))')
    assert len(found) == 1 and 'entrypoint of the privileged domain unconfined_t on xdg_t, which staff_t may write' \
        in found[0][1], found


@pytest.mark.parametrize('text', [
    '(typeattribute fsi_attr)(allow fsi_attr shadow_t (file (write)))',
    '(allow ntpd_t empty_attr (file (write)))',
])
def test_a_rule_on_an_attribute_without_members_is_not_judged(text):
    """A rule on an empty attribute granted nothing to judge; a later run filling the attribute could not see it
    (the binary policy drops an empty attribute's rules): the rule is a finding now."""
    found = verdict(text)
    assert len(found) == 1 and 'which has no member' in found[0][1] and 'not judged' in found[0][1], found


def test_a_rule_on_an_attribute_the_transaction_fills_is_judged_per_member():
    assert verdict('(typeattribute fsi_attr)(typeattributeset fsi_attr (ntpd_t))(allow fsi_attr var_t (file (read)))') == []
