# SPDX-License-Identifier: GPL-3.0-or-later
"""The reviewed change set: planning from what hosts send (untrusted), the digest that binds an approval to the
content, the refusals at deployment, and the file's YAML round trip. Controller side only."""
import copy
import sys

import pytest

if sys.version_info < (3, 8):  # controller code; the py2.7/3.6 runs only cover target-side code
    pytest.skip('controller-side plugin', allow_module_level=True)

import yaml  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.action.change_set import render  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.filter.change_set_plan import change_set_plan  # noqa: E402
from ansible_collections.fleetsec.selinux.plugins.module_utils._change_set import (  # noqa: E402
    ChangeSetError, build, denial_key, digest, load, unreviewed,
)


def line(src, tgt, cls, perms, ts=1796393247, extra=''):
    return ('type=AVC msg=audit(%d.689:100): avc:  denied  { %s } for  pid=4242 comm="app"%s '
            'scontext=system_u:system_r:%s:s0 tcontext=system_u:object_r:%s:s0 tclass=%s permissive=1'
            % (ts, ' '.join(perms), extra, src, tgt, cls))


READ = line('httpd_t', 'var_t', 'file', ['read'])
BIND = line('httpd_t', 'unreserved_port_t', 'tcp_socket', ['name_bind'], extra=' src=8089')
PORT_DENIAL = {'source_type': 'httpd_t', 'remedy': {
    'remedy': 'port', 'reason': 'tcp/8089 is unreserved_port_t; httpd_t may name_bind on http_port_t',
    'evidence': {'protocol': 'tcp', 'port': 8089, 'proposed_type': 'http_port_t'}}}
RELABEL_DENIAL = {'remedy': {'remedy': 'relabel', 'reason': '/etc/app.conf is admin_home_t',
                             'evidence': {'path': '/etc/app.conf'}}}
# the host's own command text is never what the change set shows: it is rebuilt from the denial's plain comm
DAC_DENIAL = {'comm': 'httpd', 'remedy': {'remedy': 'dac', 'reason': 'httpd_t was refused dac_override',
                                          'evidence': {'capabilities': ['dac_override'],
                                                       'command': 'sh -c id; rm -rf /srv'}}}
FCONTEXT_DENIAL = {'remedy': {'remedy': 'fcontext', 'reason': '/srv/acme/index.html is var_t',
                              'evidence': {'path': '/srv/acme/index.html', 'tree': '/srv/acme',
                                           'target': '/srv/acme(/.*)?', 'setype': 'httpd_sys_content_t'}}}


def avc(allow_lines, denials=(), lines=()):
    return {'fleetsec_avc': {'allow_lines': list(allow_lines), 'denials': list(denials), 'lines': list(lines)}}


def test_same_denial_on_two_hosts_is_one_rule_with_both_hosts():
    hostvars = {'web1': avc([READ]), 'web2': avc([line('httpd_t', 'var_t', 'file', ['read', 'open'], ts=1)])}
    found = change_set_plan(hostvars, ['web1', 'web2'])
    assert [(d['rule'], d['hosts'], d['flags']) for d in found['denials']] == [
        ('allow httpd_t var_t:file { open read };', ['web1', 'web2'], [])]
    assert len(found['lines']) == 2 and found['held'] == []


def test_a_denial_of_one_host_outside_the_canary_and_a_login_domain_are_flagged():
    hostvars = {'web1': avc([READ]), 'web2': avc([line('staff_t', 'shadow_t', 'file', ['read'])]), 'canary1': avc([])}
    found = change_set_plan(hostvars, ['web1', 'web2', 'canary1'], canary=['web1'])
    flags = dict((d['rule'], d['flags']) for d in found['denials'])
    assert flags['allow httpd_t var_t:file { read };'] == []  # web1 is a canary host
    staff = flags['allow staff_t shadow_t:file { read };']
    assert any(f.startswith('login_domain') for f in staff) and any(f.startswith('single_host: only web2') for f in staff)


def test_min_hosts_holds_back_what_too_few_hosts_outside_the_canary_reported():
    hostvars = {'web1': avc([READ]), 'web2': avc([READ, BIND]), 'web3': avc([line('ntpd_t', 'etc_t', 'file', ['write'])])}
    found = change_set_plan(hostvars, ['web1', 'web2', 'web3'], canary=['web3'], min_hosts=2)
    assert [d['rule'] for d in found['denials']] == ['allow httpd_t var_t:file { read };',
                                                     'allow ntpd_t etc_t:file { write };']  # 2 hosts; a canary host
    assert [d['rule'] for d in found['held']] == ['allow httpd_t unreserved_port_t:tcp_socket { name_bind };']
    assert BIND not in found['lines'] and 'fewer than min_hosts=2' in found['held'][0]['reason']


def test_denials_accepted_by_an_earlier_review_stay_in_the_module():
    found = change_set_plan({'web1': avc([])}, ['web1'], record=[READ], min_hosts=5)
    assert found['lines'] == [READ] and found['denials'][0]['hosts'] == [] and found['held'] == []


def test_remedies_are_grouped_by_change_with_hosts_command_and_denials():
    hostvars = {'web1': avc([], [PORT_DENIAL, {'remedy': {'remedy': 'allow', 'reason': 'x'}}], [BIND, READ]),
                'web2': avc([], [PORT_DENIAL], [BIND])}
    remedies = change_set_plan(hostvars, ['web1', 'web2'])['remedies']
    assert remedies == [{'kind': 'port', 'change': {'port': '8089', 'proto': 'tcp', 'setype': 'http_port_t'},
                         'command': 'semanage port -a -t http_port_t -p tcp 8089',
                         'reason': PORT_DENIAL['remedy']['reason'], 'hosts': ['web1', 'web2'], 'denials': [BIND]}]


@pytest.mark.parametrize('hostvars, message', [
    ({'web1': {'fleetsec_avc': 'not a mapping'}}, 'host web1: fleetsec_avc: expected a mapping, got str'),
    ({'web1': {'fleetsec_avc': {'allow_lines': 'x'}}}, 'host web1: fleetsec_avc.allow_lines: expected a list'),
    ({'web1': avc([42])}, 'host web1: allow_lines[0]: expected a text'),
    ({'web1': avc(['rm -rf /'])}, 'host web1: allow_lines[0]: not an AVC denial line'),
    ({'web1': avc([line('httpd_t', 'var_t;allow', 'file', ['read'])])}, 'not an AVC denial line'),
    ({'web1': avc([], [{'remedy': {'remedy': 'port', 'reason': 'r',
                                   'evidence': {'port': 'x', 'protocol': 'tcp', 'proposed_type': 'a_t'}}}])},
     "Invalid port 'x'"),
    ({'web1': avc([], [{'remedy': {'remedy': 'boolean', 'reason': 'r',
                                   'evidence': {'booleans': [{'name': 'x; reboot'}]}}}])}, 'Invalid boolean name'),
    ({'web1': avc([], [{'remedy': {'remedy': 'relabel', 'reason': 'r', 'evidence': {'path': 'etc/x'}}}])},
     'expected an absolute path'),
])
def test_what_a_host_sends_is_checked_and_the_host_named(hostvars, message):
    with pytest.raises(AnsibleFilterError, match='change_set_plan: .*%s' % __import__('re').escape(message)):
        change_set_plan(hostvars, ['web1'])


def test_denial_key_ignores_times_and_pids_and_rejects_a_type_that_is_not_a_name():
    assert denial_key(READ) == denial_key(line('httpd_t', 'var_t', 'file', ['read'], ts=5)) == (
        'httpd_t', 'var_t', 'file', ('read',))
    assert denial_key(line('httpd_t', 'var_t', 'file', ['read', '$(id)'])) is None


def _change_set():
    hostvars = {'web1': avc([READ], [RELABEL_DENIAL, PORT_DENIAL], ['x', BIND]), 'web2': avc([READ], [FCONTEXT_DENIAL, DAC_DENIAL])}
    planned = change_set_plan(hostvars, ['web1', 'web2'])
    module = {'te': 'module app 1.0;\n\nrequire {\n\ttype httpd_t;\n}\nallow httpd_t var_t:file read;\n',
              'rules': ['allow httpd_t var_t:file read;'], 'checksum': 'sha256:' + 'a' * 64,
              'dangerous': [{'rule': 'r', 'reason': 'why', 'acknowledged': True, 'module': 'app'}]}
    return build('app', planned, module, {'host': 'web1', 'name': 'targeted'}, {'module': ['r'], 'remedies': []})


def test_the_file_reads_back_as_written_with_the_module_as_a_literal_block():
    change_set = _change_set()
    text = render(change_set)
    assert '  te: |\n    module app 1.0;\n' in text and '\ttype httpd_t;' in text
    assert yaml.safe_load(text) == change_set and digest(yaml.safe_load(text)) == change_set['digest']
    assert '-e approve=%s' % change_set['digest'] in text


def test_an_approved_change_set_gives_each_host_its_remedies_and_the_module():
    change_set = _change_set()
    found = load(yaml.safe_load(render(change_set)), change_set['digest'])
    assert found['te'] == change_set['module']['te'] and found['name'] == 'app'
    assert found['remedies'] == {
        'web1': {'booleans': [], 'restorecon': ['/etc/app.conf'], 'fcontexts': [], 'restorecon_recursive': False,
                 'equivalences': [], 'logins': [],
                 'ports': [{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'}]},
        'web2': {'booleans': [], 'ports': [], 'restorecon': ['/srv/acme'], 'restorecon_recursive': True,
                 'equivalences': [], 'logins': [],
                 'fcontexts': [{'target': '/srv/acme(/.*)?', 'ftype': 'a', 'setype': 'httpd_sys_content_t'}]}}
    assert sorted(found['all_remedies']['restorecon']) == ['/etc/app.conf', '/srv/acme']
    # the advice is in the change set, for the reviewer; nothing is deployed for it
    dac = _kind(change_set, 'dac')
    assert (dac['hosts'], dac['command'], dac['change']['capabilities']) == (
        ['web2'], 'ausearch -m AVC,SYSCALL,PATH -i --success no -c httpd', ['dac_override'])
    assert found['acknowledged'] == {'module': ['r'], 'remedies': []}
    assert 'httpd_t var_t:file read' in found['known'] and 'httpd_t unreserved_port_t:tcp_socket name_bind' in found['known']


def _kind(data, kind):
    return [entry for entry in data['remedies'] if entry['kind'] == kind][0]


def _edited(change, approve=None):
    data = yaml.safe_load(render(_change_set()))
    right = data['digest']
    change(data)
    return data, approve or right


@pytest.mark.parametrize('change, approve, message', [
    (lambda d: None, 'sha256:' + '0' * 64, 'does not name this change set'),
    (lambda d: None, True, 'is not a change set digest'),
    (lambda d: None, 'true', 'is not a change set digest'),
    (lambda d: _kind(d, 'relabel')['hosts'].append('web9'), None, 'changed after it was written'),
    (lambda d: d['module'].update(te=d['module']['te'] + 'allow httpd_t shadow_t:file read;\n'), None,
     'changed after it was written'),
    (lambda d: d.update(format='other/1'), None, 'format'),
])
def test_a_wrong_digest_or_a_file_edited_after_the_review_is_refused(change, approve, message):
    data, approved = _edited(change, approve)
    with pytest.raises(ChangeSetError, match=message):
        load(data, approved)


def test_a_consistent_forgery_is_refused_unless_its_own_digest_is_approved():
    """Re-computing the digest after an edit makes the file consistent, but the approval names the reviewed
    content: the edited file is refused with the digest the reviewer approved."""
    data = yaml.safe_load(render(_change_set()))
    approved = data['digest']
    data['module']['te'] += 'allow httpd_t shadow_t:file read;\n'
    data['module']['sha256'] = __import__('hashlib').sha256(data['module']['te'].encode()).hexdigest()
    data['digest'] = digest(data)
    with pytest.raises(ChangeSetError, match='does not name this change set'):
        load(data, approved)


@pytest.mark.parametrize('change, message', [
    (lambda d: _kind(d, 'relabel')['change'].update(restorecon='relative'), 'expected an absolute path'),
    (lambda d: _kind(d, 'fcontext')['change'].update(fcontext='/srv/x; reboot'), 'Invalid file-context target'),
    (lambda d: _kind(d, 'port').update(kind='shell'), "'shell' is not one of"),
    (lambda d: d['module'].update(sha256='0' * 64), 'module.sha256 is not the sha256'),
    (lambda d: _kind(d, 'port')['change'].update(setype='x y'), 'Invalid port type'),
])
def test_a_forged_field_is_refused_even_with_its_digest_approved(change, message):
    data = yaml.safe_load(render(_change_set()))
    change(data)
    data['digest'] = digest(data)
    with pytest.raises(ChangeSetError, match=message):
        load(data, data['digest'])


def test_denials_logged_after_the_review_are_the_unreviewed_ones():
    known = load(yaml.safe_load(render(_change_set())), _change_set()['digest'])['known']
    later = line('httpd_t', 'var_t', 'file', ['read', 'write'], ts=1796400000)
    host = {'lines': [line('httpd_t', 'var_t', 'file', ['read'], ts=1796400000), later, BIND]}
    assert unreviewed(host, known) == [later]
    assert unreviewed({'lines': 'x'}, known) == [] and unreviewed(None, known) == []


def test_the_digest_does_not_depend_on_key_order():
    change_set = _change_set()
    shuffled = dict(reversed(list(copy.deepcopy(change_set).items())))
    assert digest(shuffled) == change_set['digest']
