# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Triage decisions on real records, with the evidence the tools would give (each case says which)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy as rem
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


class Evidence(object):
    """What matchpathcon, sesearch, seinfo --portcon and getsebool answer, as tables."""

    def __init__(self, defaults=None, rules=None, portcons=None, booleans=None, fail=False, attributes=None,
                 uses=None, owners=None):
        self.attributes = attributes or {}
        self.uses = uses or {}
        self.owners = owners or {}
        self.defaults = defaults or {}
        self._rules = rules or []
        self._portcons = portcons or []
        self.booleans = booleans or {}
        self.fail = fail
        self.rule_counts = {'httpd_can_network_connect_db': 12, 'httpd_can_network_connect': 40, 'nis_enabled': 900}

    def default_type(self, path, tclass):
        if self.fail:
            raise FleetsecError('matchpathcon failed')
        return self.defaults.get(path)

    def rules(self, source, tclass, target=None, perm=None):
        # like sesearch -t TYPE without -dt: a rule on an attribute that holds the type matches too; the table's rows
        # (source, target, class, perms, condition) are printed as setools 4 does and read by the real reader
        lines = ['allow %s %s:%s { %s };%s' % (r[0], r[1], r[2], ' '.join(sorted(r[3])), ' ' + r[4] if r[4] else '')
                 for r in self._rules if r[0] == source and r[2] == tclass
                 and (target is None or r[1] == target or target in self.attributes.get(r[1], ()))
                 and (perm is None or perm in r[3])]
        return setools.parse_rules('\n'.join(lines))

    def portcons(self):
        return self._portcons

    def members(self, attribute):
        return self.attributes.get(attribute, set())

    def file_context_uses(self):
        return self.uses

    def package_owner(self, path):
        return self.owners.get(path)

    def policy_booleans(self):
        return {'httpd_read_user_content': False, 'httpd_builtin_scripting': True}

    def boolean_values(self, names):
        return dict((n, self.booleans.get(n)) for n in names)

    def boolean_rule_count(self, name):
        return self.rule_counts.get(name)


def denial(source, target, tclass, perms, **extra):
    d = {'source_type': source, 'target_type': target, 'tclass': tclass, 'permissions': perms}
    d.update(extra)
    return d


HTTPD_CONTENT = [('httpd_t', 'httpd_sys_content_t', 'file', {'getattr', 'open', 'read', 'map'}, None)]
PORTS = [('tcp', 80, 80, 'http_port_t'), ('tcp', 8008, 8008, 'http_port_t'), ('tcp', 1024, 32767, 'unreserved_port_t'),
         ('tcp', 5432, 5432, 'postgresql_port_t'), ('tcp', 3128, 3128, 'http_cache_port_t')]
BIND = [('httpd_t', 'http_port_t', 'tcp_socket', {'name_bind'}, None),
        ('httpd_t', 'http_cache_port_t', 'tcp_socket', {'name_bind'}, None),
        ('httpd_t', 'ftp_port_t', 'tcp_socket', {'name_bind'}, '[ httpd_enable_ftp_server ]:True')]


def test_a_file_moved_with_mv_is_relabelled():
    # index.html created in /root and moved to /var/www/html keeps admin_home_t; the policy gives the path
    # httpd_sys_content_t, which httpd_t may read
    d = denial('httpd_t', 'admin_home_t', 'file', ['read'], path='/var/www/html/index.html')
    found = rem.triage(d, Evidence({'/var/www/html/index.html': 'httpd_sys_content_t'}, HTTPD_CONTENT))
    assert found['remedy'] == 'relabel'
    assert found['evidence'] == {'path': '/var/www/html/index.html', 'current_type': 'admin_home_t',
                                 'default_type': 'httpd_sys_content_t',
                                 'command': 'restorecon -v /var/www/html/index.html'}


def test_an_object_with_its_default_type_is_no_relabel():
    # the demo's case: /root/secret.txt IS admin_home_t by the policy: only an allow rule (or moving the file) helps
    d = denial('ntpd_t', 'admin_home_t', 'file', ['read'], path='/root/secret.txt')
    found = rem.triage(d, Evidence({'/root/secret.txt': 'admin_home_t'}))
    assert found['remedy'] == 'allow' and 'a relabel changes nothing' in found['reason']


# what httpd_t's own rules give on files: a content type, its read-write sibling, the configuration, an attribute
# of content types (its members), its entry point, and a conditional rule
WEB_RULES = [
    ('httpd_t', 'httpd_sys_content_t', 'file', {'getattr', 'ioctl', 'lock', 'map', 'open', 'read'}, None),
    ('httpd_t', 'httpd_sys_rw_content_t', 'file', {'append', 'create', 'getattr', 'ioctl', 'lock', 'map', 'open',
                                                   'read', 'rename', 'setattr', 'unlink', 'write'}, None),
    ('httpd_t', 'httpd_config_t', 'file', {'getattr', 'ioctl', 'lock', 'map', 'open', 'read'}, None),
    ('httpd_t', 'httpd_content_type', 'file', {'getattr', 'ioctl', 'lock', 'map', 'open', 'read'}, None),
    ('httpd_t', 'httpd_exec_t', 'file', {'entrypoint', 'execute', 'getattr', 'map', 'open', 'read'}, None),
    ('httpd_t', 'user_home_t', 'file', {'getattr', 'open', 'read'}, '[ httpd_read_user_content ]:True'),
    ('domain', 'etc_t', 'file', {'getattr', 'open', 'read'}, None),
    ('httpd_t', 'file_type', 'dir', {'getattr', 'open', 'search'}, None),
]
WEB = dict(
    attributes={'file_type': {'httpd_sys_content_t', 'httpd_sys_rw_content_t', 'httpd_config_t', 'httpd_exec_t',
                              'httpd_user_content_t', 'user_home_t', 'etc_t', 'var_t'},
                'exec_type': {'httpd_exec_t'}, 'httpd_content_type': {'httpd_user_content_t', 'httpd_sys_content_t'}},
    uses={'httpd_sys_content_t': 40, 'httpd_sys_rw_content_t': 12, 'httpd_config_t': 9, 'httpd_exec_t': 6,
          'httpd_user_content_t': 3, 'etc_t': 300})


def test_an_application_tree_outside_the_default_paths_gets_a_file_context_rule():
    # the site lives in /srv/acme (var_t by default), which httpd_t may not read: the tree gets the content type,
    # not a rule that gives httpd_t every var_t file
    d = denial('httpd_t', 'var_t', 'file', ['getattr', 'open', 'read'], path='/srv/acme/index.html')
    found = rem.triage(d, Evidence({'/srv/acme/index.html': 'var_t'}, WEB_RULES, **WEB))
    assert found['remedy'] == 'fcontext', found
    assert found['evidence'] == {
        'booleans': [], 'path': '/srv/acme/index.html', 'current_type': 'var_t', 'default_type': 'var_t', 'tree': '/srv/acme',
        'target': '/srv/acme(/.*)?', 'setype': 'httpd_sys_content_t',
        'command': "semanage fcontext -a -t httpd_sys_content_t '/srv/acme(/.*)?' && restorecon -R -v /srv/acme"}


def test_a_write_gets_the_read_write_sibling_and_a_directory_is_its_own_tree():
    d = denial('httpd_t', 'var_t', 'dir', ['add_name', 'write'], path='/opt/acme.d/uploads')
    rules = WEB_RULES + [('httpd_t', 'httpd_sys_rw_content_t', 'dir', {'add_name', 'write', 'search'}, None),
                         ('httpd_t', 'httpd_sys_content_t', 'dir', {'search'}, None)]
    found = rem.triage(d, Evidence({'/opt/acme.d/uploads': 'usr_t'}, rules, **WEB))
    assert (found['remedy'], found['evidence']['setype'], found['evidence']['tree'], found['evidence']['target']) == (
        'fcontext', 'httpd_sys_rw_content_t', '/opt/acme.d/uploads', '/opt/acme\\.d/uploads(/.*)?')


@pytest.mark.parametrize('path, owners, said', [
    ('/srv/index.html', {}, 'its tree /srv is a system directory'),
    ('/etc/acme.conf', {}, 'its tree /etc is a system directory'),
    ('/usr/share/acme/index.html', {'/usr/share/acme': 'acme-web'}, 'belongs to the package acme-web'),
    ('/srv/ac me/index.html', {}, 'not a plain path'),
])
def test_no_rule_is_proposed_for_a_system_tree_a_package_tree_or_an_odd_name(path, owners, said):
    d = denial('httpd_t', 'var_t', 'file', ['read'], path=path)
    found = rem.triage(d, Evidence({path: 'var_t'}, WEB_RULES, owners=owners, **WEB))
    assert found['remedy'] == 'allow' and said in found['reason'], found


def test_no_rule_is_proposed_when_no_own_type_of_the_domain_gives_the_access():
    # only a conditional rule or another domain's rule would: the allow rule stays, and says why
    d = denial('httpd_t', 'var_t', 'file', ['execute'], path='/srv/acme/run.sh')
    found = rem.triage(d, Evidence({'/srv/acme/run.sh': 'var_t'}, WEB_RULES, **WEB))
    assert found['remedy'] == 'allow' and "no file type of httpd_t's own" in found['reason'], found
    assert 'gives it execute' in found['reason']


@pytest.mark.parametrize('extra, said', [
    ({'name': 'secret.txt'}, "only as 'secret.txt'"),   # most AVCs of a read carry name= only
    ({}, "only as 'nothing'"),
])
def test_no_full_path_is_never_guessed(extra, said):
    found = rem.triage(denial('httpd_t', 'admin_home_t', 'file', ['read'], **extra), Evidence())
    assert found['remedy'] == 'allow' and said in found['reason'] and 'not guessed' in found['reason']


def test_a_mislabelled_file_wins_over_a_boolean_that_would_open_more():
    d = denial('httpd_t', 'user_home_t', 'file', ['read'], path='/var/www/html/a.html',
               explanation={'kind': 'boolean', 'booleans': ['httpd_read_user_content']})
    found = rem.triage(d, Evidence({'/var/www/html/a.html': 'httpd_sys_content_t'}, HTTPD_CONTENT))
    assert found['remedy'] == 'relabel'


def test_a_boolean_named_by_audit2why_with_its_current_value():
    d = denial('httpd_t', 'postgresql_port_t', 'tcp_socket', ['name_connect'], port=5432,
               explanation={'kind': 'boolean', 'booleans': ['httpd_can_network_connect_db', 'httpd_can_network_connect']})
    found = rem.triage(d, Evidence(portcons=PORTS, booleans={'httpd_can_network_connect_db': False}))
    assert found['remedy'] == 'boolean'
    assert found['evidence']['booleans'] == [{'name': 'httpd_can_network_connect_db', 'current': False, 'rules': 12}]
    assert found['evidence']['alternatives'] == [{'name': 'httpd_can_network_connect', 'current': None, 'rules': 40}]


def test_of_several_booleans_the_one_with_the_fewest_rules_whatever_the_order():
    # audit2why on the EL9-like VM: httpd_t connecting to sshd's port
    d = denial('httpd_t', 'ssh_port_t', 'tcp_socket', ['name_connect'], port=22,
               explanation={'kind': 'boolean', 'booleans': ['nis_enabled', 'httpd_can_network_connect']})
    found = rem.triage(d, Evidence(portcons=PORTS + [('tcp', 22, 22, 'ssh_port_t')]))
    assert found['remedy'] == 'boolean' and found['evidence']['booleans'][0]['name'] == 'httpd_can_network_connect'


def test_a_port_label_wins_over_a_boolean_that_opens_every_unreserved_port():
    # audit2why on the EL9-like VM names nis_enabled for httpd_t binding tcp/8089
    d = denial('httpd_t', 'unreserved_port_t', 'tcp_socket', ['name_bind'], port=8089,
               explanation={'kind': 'boolean', 'booleans': ['nis_enabled']})
    found = rem.triage(d, Evidence(rules=BIND, portcons=PORTS))
    assert found['remedy'] == 'port' and found['evidence']['proposed_type'] == 'http_port_t'


def test_a_daemon_on_a_non_standard_port_gets_a_port_label():
    d = denial('httpd_t', 'unreserved_port_t', 'tcp_socket', ['name_bind'], port=8081)
    found = rem.triage(d, Evidence(rules=BIND, portcons=PORTS))
    assert found['remedy'] == 'port'
    assert found['evidence']['proposed_type'] == 'http_port_t'   # the one named like the domain, conditional ftp_port_t left out
    assert found['evidence']['candidates'] == ['http_cache_port_t', 'http_port_t']
    assert found['evidence']['command'] == 'semanage port -a -t http_port_t -p tcp 8081'
    assert found['evidence']['current_type'] == 'unreserved_port_t'


def test_a_port_that_belongs_to_another_service_is_not_taken():
    d = denial('httpd_t', 'postgresql_port_t', 'tcp_socket', ['name_bind'], port=5432)
    found = rem.triage(d, Evidence(rules=BIND, portcons=PORTS))
    assert found['remedy'] == 'allow' and 'already labelled postgresql_port_t' in found['reason']


def test_a_socket_denial_without_a_port_is_an_allow_rule():
    found = rem.triage(denial('httpd_t', 'unreserved_port_t', 'tcp_socket', ['name_bind']), Evidence(BIND, PORTS))
    assert found['remedy'] == 'allow' and 'names no port' in found['reason']


def test_a_missing_rule_is_the_residue():
    found = rem.triage(denial('ntpd_t', 'ntpd_t', 'capability', ['net_admin']), Evidence())
    assert found['remedy'] == 'allow' and 'no narrower remedy' in found['reason']


def test_a_failed_lookup_falls_back_to_allow_and_says_why():
    found = rem.triage(denial('httpd_t', 'admin_home_t', 'file', ['read'], path='/var/www/x'), Evidence(fail=True))
    assert found['remedy'] == 'allow' and 'matchpathcon failed' in found['reason']


def test_parsers():
    assert setools.parse_rules('allow httpd_t http_port_t:tcp_socket name_bind;\n'
                               'allow httpd_t ftp_port_t:tcp_socket name_bind; [ httpd_enable_ftp_server ]:True\n') == [
        ('allow', 'httpd_t', 'http_port_t', 'tcp_socket', {'name_bind'}, None),
        ('allow', 'httpd_t', 'ftp_port_t', 'tcp_socket', {'name_bind'}, ('httpd_enable_ftp_server', True))]
    cons = setools.parse_portcon('   portcon tcp 1024-32767 system_u:object_r:unreserved_port_t:s0\n'
                                 '   portcon tcp 8080 system_u:object_r:http_cache_port_t:s0\n')
    assert cons == [('tcp', 1024, 32767, 'unreserved_port_t'), ('tcp', 8080, 8080, 'http_cache_port_t')]
    assert rem.port_label(cons, 'tcp', 8080) == 'http_cache_port_t' and rem.port_label(cons, 'tcp', 9999) == 'unreserved_port_t'
    assert rem.port_label(cons, 'udp', 8080) is None


def test_a_denial_the_loaded_policy_allows_now_needs_nothing():
    # a record read again after the boolean was turned on (audit2why: would be allowed by the active policy)
    d = denial('httpd_t', 'ssh_port_t', 'tcp_socket', ['name_connect'], port=22,
               explanation={'kind': 'reload', 'booleans': []})
    assert rem.triage(d, Evidence(portcons=PORTS))['remedy'] == 'none'


def test_a_port_already_labelled_with_a_type_the_domain_may_use_stays_a_port_remedy():
    # the record of tcp/8089 on unreserved_port_t, read again after the label was added: no allow rule for it
    d = denial('httpd_t', 'unreserved_port_t', 'tcp_socket', ['name_bind'], port=8089)
    found = rem.triage(d, Evidence(rules=BIND, portcons=PORTS + [('tcp', 8089, 8089, 'http_port_t')]))
    assert found['remedy'] == 'port' and found['evidence']['proposed_type'] == 'http_port_t'


NTP_RULES = [
    ('ntpd_t', 'ntp_conf_t', 'file', {'getattr', 'ioctl', 'lock', 'open', 'read'}, None),
    ('ntpd_t', 'ntp_drift_t', 'file', {'append', 'create', 'getattr', 'open', 'read', 'rename', 'unlink', 'write'}, None),
    ('ntpd_t', 'ntp_drift_t', 'dir', {'add_name', 'getattr', 'open', 'remove_name', 'search', 'write'}, None),
]
NTP = dict(attributes={'file_type': {'ntp_conf_t', 'ntp_drift_t', 'var_t'}}, uses={'ntp_conf_t': 4, 'ntp_drift_t': 2})


def test_a_type_whose_directories_the_domain_cannot_search_or_that_adds_writes_is_not_proposed():
    """Found on the enforcing VM: the tree got ntp_conf_t, a type ntpd_t may read as a file but not search as a
    directory - the relabelled tree locked the application out. And its read-write type would have given it writes it
    never asked for: no file-context rule then, the allow rule stays."""
    d = denial('ntpd_t', 'var_t', 'file', ['getattr', 'open', 'read'], path='/srv/ntp-app/data.txt')
    found = rem.triage(d, Evidence({'/srv/ntp-app/data.txt': 'var_t'}, NTP_RULES, **NTP))
    assert found['remedy'] == 'allow' and 'without writes it did not ask for and with search' in found['reason']
    searchable = NTP_RULES + [('ntpd_t', 'ntp_conf_t', 'dir', {'getattr', 'open', 'search'}, None)]
    found = rem.triage(d, Evidence({'/srv/ntp-app/data.txt': 'var_t'}, searchable, **NTP))
    assert (found['remedy'], found['evidence']['setype']) == ('fcontext', 'ntp_conf_t')


@pytest.mark.parametrize('comm, find', [
    ('php-fpm', 'ausearch -m AVC,SYSCALL,PATH -i --success no -c php-fpm'),
    ('$(reboot)', 'ausearch -m AVC,SYSCALL,PATH -i --success no'),  # a name a user chose is not put in a command
])
def test_dac_override_is_advice_about_owner_and_mode_never_a_rule(comm, find):
    d = denial('httpd_t', 'httpd_t', 'capability', ['dac_override'], comm=comm)
    found = rem.triage(d, Evidence())
    assert found['remedy'] == 'dac' and 'fix the file\'s owner or mode' in found['reason']
    assert found['evidence'] == {'capabilities': ['dac_override'], 'command': find}
    # any other capability is not advice
    assert rem.triage(denial('httpd_t', 'httpd_t', 'capability', ['dac_override', 'chown']), Evidence())['remedy'] == 'allow'


class _Setools3Runner(object):
    """setools-console 3.3.8's answers (its print formats, see test_setools.py), for a sesearch that is a program."""
    RULES = ('Found 2 semantic av rules:\n'
             '   allow httpd_t httpd_sys_content_t : file { getattr open read } ;\n'
             'ET allow httpd_t httpd_sys_script_exec_t : file { execute execute_no_trans } ; [ httpd_enable_cgi ]\n')
    BOOLEANS = '\nConditional Booleans: 2\n   httpd_enable_cgi: TRUE\n   deny_ptrace: FALSE\n'

    def __init__(self, sesearch):
        self.sesearch = sesearch
        self.calls = []

    def path(self, name, required=True):
        return self.sesearch

    def has(self, name):
        return True

    def run(self, name, args=(), check=True, what=None, hint=None):
        self.calls.append([name] + list(args))
        return type('Result', (), {'rc': 0, 'stdout': self.BOOLEANS if name == 'seinfo' else self.RULES})()


def test_evidence_reads_what_setools_3_prints(tmp_path):
    program = tmp_path / 'sesearch'
    program.write_bytes(b'\x7fELF\x02\x01\x01\x00')
    runner = _Setools3Runner(str(program))
    evidence = rem.Evidence(runner, str(tmp_path / 'policy.31'))
    rules = evidence.rules('httpd_t', 'file')
    assert len(rules) == 2
    assert rules[0].condition is None and rules[0].perms == frozenset(['getattr', 'open', 'read'])
    assert rules[1].condition.boolean() == 'httpd_enable_cgi' and rules[1].condition.branch is True
    # setools 3 shows a rule's condition only with -C, and has no -ds/-dt
    assert runner.calls[-1][:6] == ['sesearch', '-A', '-s', 'httpd_t', '-C', '-c']
    assert evidence.policy_booleans() == {'httpd_enable_cgi': True, 'deny_ptrace': False}
    assert evidence.boolean_rule_count('httpd_enable_cgi') == 2
