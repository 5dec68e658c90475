# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's local customisations: read into the remedy's option shape, grouped across the fleet (who has each
setting, who lacks it) from what hosts SENT (untrusted: every field checked with the remedy's grammar), and adopted
as a change set whose deployment gives back exactly those options."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 8):  # controller-side grouping; the reader is covered by the store tests
    pytest.skip('controller-side plugin', allow_module_level=True)

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.filter.change_set_adopt import change_set_adopt  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.filter.fleet_report import fleet_report  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.module_utils import _customisations as cust  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.module_utils._change_set import (  # noqa: E402
    ChangeSetError, build, load,
)
from ansible_collections.fleetsec.selinux.plugins.module_utils._remedy_apply import parse_export  # noqa: E402

EXPORT = '''boolean -D
login -D
port -D
fcontext -D
boolean -m -1 httpd_can_network_connect
boolean -m -0 httpd_enable_cgi
port -a -t http_port_t -r 's0' -p tcp 8089
port -a -t http_port_t -r 's0' -p tcp 8090-8092
fcontext -a -f a -t httpd_sys_content_t -r 's0' '/srv/app(/.*)?'
fcontext -a -e /var/www /srv/www
login -a -s user_u -r 's0' '%clerks'
'''


def _items(item):
    return sorted(item.items())


def customisations(export=EXPORT, modules=None):
    return {'customisations': cust.options(parse_export(export)), 'modules': modules or []}


def test_export_becomes_the_remedy_options_that_reproduce_it():
    found = cust.options(parse_export(EXPORT))
    assert found['booleans'] == [{'name': 'httpd_can_network_connect', 'state': True},
                                 {'name': 'httpd_enable_cgi', 'state': False}]
    assert found['ports'] == [{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'},
                              {'ports': '8090-8092', 'proto': 'tcp', 'setype': 'http_port_t'}]
    assert found['fcontexts'] == [{'target': '/srv/app(/.*)?', 'ftype': 'a', 'setype': 'httpd_sys_content_t'}]
    assert found['equivalences'] == [{'path': '/srv/www', 'equal': '/var/www'}]
    assert found['logins'] == [{'login': '%clerks', 'seuser': 'user_u', 'range': 's0'}]


def test_local_modules_are_those_beyond_the_policy_package():
    modules = {'base': [{'priority': 100, 'kind': 'pp', 'enabled': True, 'checksum': None}],
               'acme': [{'priority': 400, 'kind': 'cil', 'enabled': True, 'checksum': 'sha256:ab'}],
               'container': [{'priority': 200, 'kind': 'cil', 'enabled': True, 'checksum': None}],
               'games': [{'priority': 100, 'kind': 'pp', 'enabled': False, 'checksum': None}]}
    assert [(m['name'], m['priority'], m['enabled']) for m in cust.local_modules(modules)] == [
        ('acme', 400, True), ('container', 200, True), ('games', 100, False)]


def test_the_fleet_view_puts_drift_first_and_names_who_lacks_each_setting():
    other = EXPORT.replace('boolean -m -0 httpd_enable_cgi\n', '')
    hostvars = {'web1': {'fleetsec_customisations': customisations()},
                'web2': {'fleetsec_customisations': customisations(other, [
                    {'name': 'acme', 'priority': 400, 'kind': 'cil', 'enabled': True, 'checksum': 'sha256:ab'}])},
                'web3': {}}
    found = cust.fleet(hostvars, ['web1', 'web2', 'web3'])
    assert found['hosts'] == ['web1', 'web2']
    first = found['settings'][0]
    assert first['setting'] == 'boolean httpd_enable_cgi off' and first['missing'] == ['web2']
    assert all(s['missing'] == [] for s in found['settings'][1:])
    assert found['modules'][1] == {'host': 'web2', 'modules': [
        {'name': 'acme', 'priority': 400, 'enabled': True, 'checksum': 'sha256:ab'}]}


@pytest.mark.parametrize('bad, field', [
    ({'customisations': {'booleans': [{'name': 'x; reboot', 'state': True}]}}, 'booleans[0]'),
    ({'customisations': {'fcontexts': [{'target': "/srv/a' -t shadow_t '/x", 'setype': 'httpd_sys_content_t'}]}},
     'fcontexts[0]'),
    ({'customisations': {'ports': 'tcp/80'}}, 'ports: expected a list'),
    ({'customisations': {'logins': [{'login': 'alice\nboolean -m -1 x', 'seuser': 'user_u'}]}}, 'logins[0]'),
    ({'customisations': {'equivalences': [{'path': '/srv/a b', 'equal': '/var/www'}]}}, 'equivalences[0]'),
    ({'customisations': []}, 'no customisations'),
    # a removal is not a setting a host has (it crashed the grouping with an IndexError)
    ({'customisations': {'ports': [{'ports': '8089', 'proto': 'tcp', 'state': 'absent'}]}}, 'ports[0]: not a setting'),
    ({'customisations': {'booleans': [{'name': 'httpd_enable_cgi', 'state': 'absent'}]}}, 'booleans[0]: not a setting'),
    ({'customisations': {}, 'modules': [{'name': 7}]}, 'modules[0]'),
])
def test_what_a_host_sends_is_checked_and_a_bad_host_is_named_not_guessed(bad, field):
    hostvars = {'good': {'fleetsec_customisations': customisations()}, 'evil': {'fleetsec_customisations': bad}}
    found = cust.fleet(hostvars, ['good', 'evil'])
    assert found['hosts'] == ['good'] and field in found['problems']['evil'], found['problems']
    with pytest.raises(AnsibleFilterError, match='evil'):
        change_set_adopt(hostvars, ['good', 'evil'])


def test_a_host_whose_reading_failed_is_a_problem_of_the_report_not_of_the_run():
    hostvars = {'a': {'fleetsec_customisations': {'failed': True, 'msg': 'semanage: command not found'}},
                'b': {'fleetsec_mode': {'runtime': 'enforcing'}}}
    report = fleet_report(hostvars, hosts=['a', 'b'])
    assert report['customisations']['problems'] == {'a': 'not read: semanage: command not found'}
    assert report['customisations']['hosts'] == []


def test_adopted_change_set_deploys_exactly_the_options_it_read():
    hostvars = {'web1': {'fleetsec_customisations': customisations(modules=[
        {'name': 'acme', 'priority': 400, 'kind': 'cil', 'enabled': True, 'checksum': 'sha256:ab'}])}}
    planned = change_set_adopt(hostvars, ['web1'])
    change_set = build('adopted', planned, policy={'host': 'web1'})
    assert change_set['module'] is None and change_set['local_modules'][0]['name'] == 'acme'
    deployed = load(change_set, change_set['digest'])
    assert deployed['te'] is None
    mine = deployed['remedies']['web1']
    expected = customisations()['customisations']
    for option in ('booleans', 'ports', 'fcontexts', 'equivalences', 'logins'):
        assert sorted(mine[option], key=_items) == sorted(expected[option], key=_items), option
    assert mine['restorecon'] == [] and deployed['all_remedies']['logins'] == expected['logins']
    commands = [r['command'] for r in change_set['remedies']]
    assert 'setsebool -P httpd_enable_cgi off' in commands
    assert 'semanage fcontext -a -e /var/www /srv/www' in commands
    assert "semanage login -a -s user_u -r s0 %clerks" in commands


@pytest.mark.parametrize('kind, change, message', [
    ('boolean', {'boolean': 'httpd_enable_cgi', 'state': 'yes'}, 'true or false'),
    ('login', {'login': 'root', 'seuser': 'unconfined_u; id'}, 'Invalid SELinux user'),
    ('equivalence', {'equivalence': '/srv/www', 'equal': '/var/www\n/etc'}, 'equivalence'),
    ('fcontext', {'fcontext': '/srv/a(/.*)?', 'ftype': 'q', 'setype': 'httpd_sys_content_t'}, 'ftype'),
    ('module', {'name': 'x'}, 'kind'),
])
def test_a_forged_adopted_change_set_is_checked_field_by_field(kind, change, message):
    change_set = build('adopted', {'remedies': [{'kind': kind, 'change': change, 'command': 'x', 'reason': 'r',
                                                 'hosts': ['web1'], 'denials': []}]})
    with pytest.raises(ChangeSetError, match=message):
        load(change_set, change_set['digest'])


@pytest.mark.parametrize('kind, change, line, typed', [
    ('boolean', {'boolean': 'httpd_enable_cgi', 'state': False}, 'boolean httpd_enable_cgi off',
     'setsebool -P httpd_enable_cgi off'),
    ('port', {'proto': 'tcp', 'port': '8089', 'setype': 'http_port_t'}, 'port tcp/8089 http_port_t',
     'semanage port -a -t http_port_t -p tcp 8089'),
    ('fcontext', {'fcontext': '/srv/a(/.*)?', 'ftype': 'a', 'setype': 'var_t'}, 'fcontext /srv/a(/.*)? (a) var_t',
     "semanage fcontext -a -f a -t var_t '/srv/a(/.*)?'"),
    ('equivalence', {'equivalence': '/srv/www', 'equal': '/var/www'}, 'equivalence /srv/www = /var/www',
     'semanage fcontext -a -e /var/www /srv/www'),
    ('login', {'login': '%clerks', 'seuser': 'user_u', 'range': 's0'}, 'login %clerks -> user_u s0',
     'semanage login -a -s user_u -r s0 %clerks'),
    ('login', {'login': 'joe', 'seuser': 'user_u'}, 'login joe -> user_u', 'semanage login -a -s user_u joe'),
])
def test_each_setting_reads_and_types_as_one_table_says(kind, change, line, typed):
    assert cust.describe(kind, change) == line and cust.command(kind, change) == typed
