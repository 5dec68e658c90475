# SPDX-License-Identifier: GPL-3.0-or-later
# Controller-side filter: runs on the controller Python only.
import sys

import pytest

if sys.version_info < (3, 8):  # controller code; the py2.7/3.6 runs only cover target-side code
    pytest.skip('controller-side plugin', allow_module_level=True)

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.filter.fleet_report import fleet_report, parse_rules  # noqa: E402


def denial(src, tgt, cls, perms, count=1, kind='missing_rule', booleans=()):
    return {'source_type': src, 'target_type': tgt, 'tclass': cls, 'permissions': list(perms), 'count': count,
            'first_seen': '2026-11-26T00:00:00Z', 'last_seen': '2026-11-26T00:05:00Z', 'comm': 'avctest',
            'path': '/root/secret.txt', 'explanation': {'kind': kind, 'booleans': list(booleans)}}


HOSTVARS = {
    'web1': {'fleetsec_avc': {'denials': [denial('ntpd_t', 'user_home_t', 'file', ['read', 'open'], 3)], 'records': 5,
                              'skipped_lines': {'count': 1}},
             'fleetsec_mode': {'runtime_before': 'enforcing', 'config_before': 'enforcing', 'permissive_domains': []}},
    'web2': {'fleetsec_avc': {'denials': [denial('ntpd_t', 'user_home_t', 'file', ['getattr']),
                                          denial('httpd_t', 'port_t', 'tcp_socket', ['name_connect'], kind='boolean',
                                                 booleans=['httpd_can_network_connect'])], 'records': 2},
             'fleetsec_mode': {'runtime_before': 'permissive', 'config_before': 'enforcing', 'permissive_domains': ['ntpd_t']}},
    'down': {},
}


def test_rules_parse_braced_and_single_permissions():
    allowed = parse_rules(['allow ntpd_t user_home_t:file { open read };', '#x', 'allow a_t b_t:dir search;'])
    assert allowed == {('ntpd_t', 'user_home_t', 'file'): {'open', 'read'}, ('a_t', 'b_t', 'dir'): {'search'}}


def test_report_rows_coverage_and_permissive_hosts():
    report = fleet_report(HOSTVARS, hosts=['web2', 'web1', 'down'], rules=['allow ntpd_t user_home_t:file { open read };'])
    assert [h['name'] for h in report['hosts']] == ['down', 'web1', 'web2']
    assert report['hosts'][0]['reachable'] is False
    assert report['permissive_hosts'] == ['web2']
    by_key = dict(((r['host'], r['domain'], tuple(r['permissions'])), r) for r in report['rows'])
    assert by_key[('web1', 'ntpd_t', ('open', 'read'))]['covered'] is True
    assert by_key[('web2', 'ntpd_t', ('getattr',))]['covered'] is False  # read/open allowed, getattr not
    assert by_key[('web2', 'httpd_t', ('name_connect',))]['booleans'] == ['httpd_can_network_connect']
    assert report['domains'] == {'httpd_t': {'hosts': 1, 'denials': 1}, 'ntpd_t': {'hosts': 2, 'denials': 2}}
    assert report['totals'] == {'hosts': 3, 'denials': 3, 'uncovered': 2, 'booleans': 1, 'remedies': {
        'relabel': 0, 'fcontext': 0, 'boolean': 0, 'port': 0, 'dac': 0, 'allow': 0, 'none': 0, 'not triaged': 3}}
    assert report['hosts'][1]['skipped'] == 1


def test_the_remedy_of_a_triaged_denial_is_a_column():
    triaged = denial('httpd_t', 'admin_home_t', 'file', ['read'])
    triaged['remedy'] = {'remedy': 'relabel', 'reason': '/var/www/html/a is admin_home_t, ...', 'evidence': {}}
    report = fleet_report({'web': {'fleetsec_avc': {'denials': [triaged, denial('ntpd_t', 'ntpd_t', 'capability', ['sys_time'])]}}})
    assert [(r['remedy'], r['remedy_reason']) for r in report['rows']] == [
        ('relabel', '/var/www/html/a is admin_home_t, ...'), ('not triaged', None)]
    assert report['totals']['remedies']['relabel'] == 1 and report['totals']['remedies']['not triaged'] == 1


def test_self_rules_and_type_sets_cover_like_the_module():
    """audit2allow writes "allow x_t self:..." often; the report said such denials were not covered."""
    hostvars = {'h': {'fleetsec_avc': {'denials': [denial('ntpd_t', 'ntpd_t', 'capability', ['net_admin']),
                                                   denial('b_t', 'x_t', 'file', ['read']),
                                                   denial('c_t', 'x_t', 'file', ['read'])]},
                      'fleetsec_mode': {'runtime_before': 'enforcing'}}}
    rules = ['allow ntpd_t self:capability net_admin;', 'allow { a_t b_t } x_t:file { read open };']
    rows = dict((r['domain'], r['covered']) for r in fleet_report(hostvars, rules=rules)['rows'])
    assert rows == {'ntpd_t': True, 'b_t': True, 'c_t': False}


def test_report_is_deterministic():
    assert fleet_report(HOSTVARS) == fleet_report(dict(reversed(list(HOSTVARS.items()))))


def test_bad_input_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match='mapping of host name'):
        fleet_report(['web1'])


def test_one_entry_per_unique_denial_across_the_fleet():
    """At fleet scale the same denial on 40 hosts is one row with 40 hosts, not 40 rows."""
    same = dict(denial('ntpd_t', 'user_home_t', 'file', ['read', 'open'], 2), exe='/usr/sbin/ntpd')
    later = dict(same, first_seen='2026-11-27T00:00:00Z', last_seen='2026-11-28T00:00:00Z', path='/home/a/x',
                 comm='ntpd', remedy={'remedy': 'allow', 'reason': 'no narrower fix'})
    hostvars = dict(('h%02d' % n, {'fleetsec_avc': {'denials': [later if n % 2 else same]},
                                   'fleetsec_mode': {'runtime_before': 'enforcing'}}) for n in range(40))
    hostvars['h00']['fleetsec_avc']['denials'].append(denial('httpd_t', 'port_t', 'tcp_socket', ['name_bind']))
    report = fleet_report(hostvars, rules=['allow ntpd_t user_home_t:file { open read };'],
                          generated_at='2026-11-30T06:00:00Z')
    assert len(report['rows']) == 41 and len(report['unique']) == 2
    top = report['unique'][0]
    assert (top['domain'], top['host_count'], top['count'], top['covered']) == ('ntpd_t', 40, 80, True)
    assert top['hosts'][:2] == ['h00', 'h01'] and top['permissions'] == ['open', 'read']
    assert (top['first_seen'], top['last_seen']) == ('2026-11-26T00:00:00Z', '2026-11-28T00:00:00Z')
    assert top['comms'] == ['avctest', 'ntpd'] and top['exes'] == ['/usr/sbin/ntpd']
    assert top['paths'] == ['/home/a/x', '/root/secret.txt']
    assert top['remedies'] == ['allow', 'not triaged'] and top['remedy_reasons'] == ['no narrower fix']
    assert report['unique'][1]['host_count'] == 1 and report['unique'][1]['covered'] is False
    assert report['window'] == {'first_seen': '2026-11-26T00:00:00Z', 'last_seen': '2026-11-28T00:00:00Z',
                                'generated_at': '2026-11-30T06:00:00Z'}


def test_unreachable_failed_disabled_and_permissive_hosts_are_told_apart():
    """A host that was never observed must not look like a clean one."""
    hostvars = {
        'clean': {'fleetsec_avc': {'denials': []}, 'fleetsec_mode': {'runtime_before': 'enforcing'}},
        'down': {},
        'broke': {'fleetsec_mode': {'runtime_before': 'enforcing'}},
        'off': {'fleetsec_avc': {'denials': []}, 'fleetsec_mode': {'runtime_before': 'disabled'}},
        'soft': {'fleetsec_avc': {'denials': []}, 'fleetsec_mode': {'runtime_before': 'enforcing',
                                                                    'permissive_domains': ['httpd_t']}},
    }
    report = fleet_report(hostvars, failed_hosts=['down', 'broke'])
    assert report['states'] == {'unreachable': ['down'], 'unreadable': [], 'failed': ['broke'], 'disabled': ['off'],
                                'permissive': ['soft'], 'enforcing': ['clean']}
    assert dict((h['name'], h['state']) for h in report['hosts'])['down'] == 'unreachable'


def test_domains_the_policy_ships_permissive_do_not_make_a_host_permissive():
    """EL9's targeted policy ships coreos_installer_t permissive: every EL9 host was reported permissive."""
    el9 = {'fleetsec_avc': {'denials': []},
           'fleetsec_mode': {'runtime_before': 'enforcing', 'permissive_domains': ['coreos_installer_t'],
                             'permissive_builtin': ['coreos_installer_t']}}
    local = {'fleetsec_avc': {'denials': []},
             'fleetsec_mode': {'runtime_before': 'enforcing', 'permissive_domains': ['coreos_installer_t', 'httpd_t'],
                               'permissive_builtin': ['coreos_installer_t']}}
    report = fleet_report({'el9': el9, 'app': local})
    assert report['permissive_hosts'] == ['app'] and report['states']['enforcing'] == ['el9']
    assert [h['permissive_domains'] for h in report['hosts']] == [['httpd_t'], []]


GOOD = HOSTVARS['web1']


def hostile(path, value):
    """web1's result with the value at ``path`` (keys, or an index into denials) replaced."""
    import copy
    data = copy.deepcopy(GOOD)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


# what root on a compromised host can send instead of a module result: a wrong type anywhere
HOSTILE = [
    (('fleetsec_avc', 'records'), '<img src=x onerror=alert(1)>', '(a str), expected a count'),
    (('fleetsec_avc', 'records'), 8089.9, 'records is 8089.9 (a float), expected a count'),
    (('fleetsec_avc', 'records'), -1, 'expected a count'),
    (('fleetsec_avc', 'records'), True, 'expected a count'),
    (('fleetsec_avc', 'skipped_lines'), 'x', 'skipped_lines is a str, expected a mapping'),
    (('fleetsec_avc', 'skipped_lines', 'count'), '<script>', 'skipped_lines.count is'),
    (('fleetsec_avc', 'denials'), 'abc', 'denials is a str, expected a list'),
    (('fleetsec_avc', 'denials', 0), 'abc', 'denials[0] is a str, expected a mapping'),
    (('fleetsec_avc', 'denials', 0, 'count'), '3', 'denials[0].count is'),
    (('fleetsec_avc', 'denials', 0, 'permissions'), 'read', 'denials[0].permissions is a str, expected a list'),
    (('fleetsec_avc', 'denials', 0, 'comm'), ['x'], 'denials[0].comm is a list, expected text'),
    (('fleetsec_avc', 'denials', 0, 'explanation'), ['x'], 'denials[0].explanation is a list, expected a mapping'),
    (('fleetsec_mode', 'permissive_domains'), {'a': 1}, 'permissive_domains is a dict, expected a list'),
    (('fleetsec_mode',), 'enforcing', 'fleetsec_mode is a str, expected a mapping'),
    (('fleetsec_mode', 'runtime_before'), 5, 'runtime_before is a int, expected text'),
]


@pytest.mark.parametrize('path, value, problem', HOSTILE, ids=['%s=%r' % ('.'.join(map(str, h[0])), h[1]) for h in HOSTILE])
def test_a_host_with_a_malformed_result_is_flagged_and_the_others_are_reported(path, value, problem):
    report = fleet_report(dict(HOSTVARS, evil=hostile(path, value)), hosts=['web1', 'web2', 'evil'])
    hosts = dict((h['name'], h) for h in report['hosts'])
    assert hosts['evil']['state'] == 'unreadable' and problem in hosts['evil']['problem'], hosts['evil']
    assert report['states']['unreadable'] == ['evil']
    assert (hosts['web1']['denials'], hosts['web2']['denials']) == (1, 2)
    assert all(row['host'] != 'evil' for row in report['rows'])
    assert all(isinstance(h[k], int) for h in report['hosts'] for k in ('records', 'skipped', 'denials'))
