# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""avc_collect module: end to end in-process on fixture logs (commands mocked where needed)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json
import os
import shutil

from ansible.module_utils import basic

from ansible_collections.fleetsec.selinux.plugins.modules import avc_collect
from ansible_collections.fleetsec.selinux.plugins.module_utils import _audit2why as a2w
from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_capture as avc_capture
from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_sources as sources

from fleetsec_testlib.checkpoints import bad_checkpoints
from fleetsec_testlib.module_helpers import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'avc')
KEYS = set(['changed', 'denials', 'lines', 'allow_lines', 'records', 'skipped_lines', 'errors', 'checkpoint_updated', 'source'])


def fixture(name):
    return os.path.join(FIXTURES, name)


def test_file_source_returns_the_contract(monkeypatch):
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [fixture('ntpd.log')]})
    assert not failed
    assert KEYS <= set(result)
    assert result['changed'] is False and result['source'] == 'file'
    ntpd = result['denials'][0]
    assert sorted(ntpd) == sorted([
        'source_type', 'target_type', 'tclass', 'permissions', 'scontext', 'tcontext', 'comm', 'exe', 'path',
        'name', 'port', 'count', 'first_seen', 'last_seen', 'permissive', 'record_type', 'node'])
    assert ntpd['permissions'] == ['open', 'read'] and ntpd['count'] == 2 and ntpd['port'] is None
    httpd = [d for d in result['denials'] if d['tclass'] == 'tcp_socket'][0]
    assert (httpd['source_type'], httpd['target_type'], httpd['port']) == ('httpd_t', 'postgresql_port_t', 5432)
    assert ntpd['first_seen'] == '2025-11-26T00:10:00Z' and ntpd['last_seen'] == '2025-11-26T00:10:30Z'
    assert ntpd['exe'] == '/usr/local/sbin/avctest'
    assert len(result['lines']) == len(result['denials']) == 2
    assert result['allow_lines'] == result['lines']  # without triage every denial needs a rule
    assert result['records'] == 3
    assert result['skipped_lines'] == {'count': 0, 'samples': []}
    assert result['checkpoint_updated'] is False
    json.dumps(result)


def test_a_missing_path_among_others_is_a_warning(monkeypatch, tmp_path):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'file', 'paths': [fixture('ntpd.log'), str(tmp_path / 'gone.log')]})
    assert not failed and len(result['denials']) == 2
    assert warnings == ['No file matches %s.' % (tmp_path / 'gone.log')]


def test_skipped_lines_and_errors_are_reported(monkeypatch):
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'file', 'paths': [fixture('bad.log'), fixture('raw_audit.log')], 'include_rotated': False})
    assert not failed
    assert result['skipped_lines']['count'] == 6 and len(result['skipped_lines']['samples']) == 5
    assert [e['op'] for e in result['errors']] == ['security_compute_sid']


def test_checkpoint_not_advanced_in_check_mode_then_advanced(monkeypatch, tmp_path):
    log = str(tmp_path / 'audit.log')
    shutil.copy(fixture('ntpd.log'), log)
    state = str(tmp_path / 'avc.state')
    args = {'source': 'file', 'paths': [log], 'checkpoint': state}
    check, failed = run_module(monkeypatch, avc_collect.main, args, check_mode=True)
    assert not failed and check['checkpoint_updated'] is False and not os.path.exists(state)
    assert set(check) == set(run_module(monkeypatch, avc_collect.main, args, check_mode=True)[0])
    real, failed = run_module(monkeypatch, avc_collect.main, args)
    assert real['checkpoint_updated'] is True and os.path.exists(state)
    assert real['denials'] == check['denials'] and real['lines'] == check['lines']
    again, failed = run_module(monkeypatch, avc_collect.main, args)
    assert again['denials'] == [] and again['checkpoint_updated'] is False and again['changed'] is False
    with io.open(log, 'ab') as f:
        f.write(b'type=AVC msg=audit(1764115900.000:4300): avc:  denied  { write } for  pid=9 comm="avctest" '
                b'name="secret.txt" scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:user_home_t:s0 '
                b'tclass=file permissive=0\n')
    new, failed = run_module(monkeypatch, avc_collect.main, args)
    assert [d['permissions'] for d in new['denials']] == [['write']] and new['checkpoint_updated'] is True


def test_explain_adds_explanations(monkeypatch, tmp_path):
    policy = tmp_path / 'policy.33'
    policy.write_bytes(b'binary policy')
    monkeypatch.setattr(facts, 'selinux_active', lambda: False)
    monkeypatch.setattr(facts, 'binary_policy', lambda: str(policy))
    calls = []

    def explain(runner, lines, policy):
        calls.append(policy)
        return dict((line, a2w.explanation('boolean' if 'httpd' in line else 'missing_rule')) for line in lines)
    monkeypatch.setattr(a2w, 'explain', explain)
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'file', 'paths': [fixture('ntpd.log')], 'explain': True})
    assert not failed
    assert calls == [str(policy)]
    assert [d['explanation']['kind'] for d in result['denials']] == ['missing_rule', 'boolean']


def triage_offline(monkeypatch, tmp_path):
    """Triage with no policy to read: explanations empty, the evidence never consulted (the test sets the remedy)."""
    policy = tmp_path / 'policy.33'
    policy.write_bytes(b'binary policy')
    monkeypatch.setattr(facts, 'selinux_active', lambda: False)
    monkeypatch.setattr(facts, 'binary_policy', lambda: str(policy))
    monkeypatch.setattr(a2w, 'explain', lambda runner, lines, policy: dict((line, None) for line in lines))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: '/usr/bin/' + name)
    monkeypatch.setattr(avc_capture.remedy, 'Evidence', lambda *args, **kwargs: None)


def test_triage_keeps_for_the_module_only_the_lines_no_other_remedy_fixes(monkeypatch, tmp_path):
    """The role and the rollout take the module's denials from allow_lines (they each zipped denials with lines
    in Jinja before): a relabel, port or boolean remedy and a denial the policy allows now need no rule."""
    triage_offline(monkeypatch, tmp_path)
    chosen = {'file': 'allow', 'tcp_socket': 'port'}
    monkeypatch.setattr(avc_capture.remedy, 'triage', lambda denial, evidence: {'remedy': chosen[denial['tclass']]})
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'file', 'paths': [fixture('ntpd.log')], 'triage': True})
    assert not failed, result
    assert [d['remedy']['remedy'] for d in result['denials']] == ['allow', 'port']
    assert result['allow_lines'] == [result['lines'][0]] and 'tclass=file' in result['allow_lines'][0]
    chosen['file'] = 'none'
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'file', 'paths': [fixture('ntpd.log')], 'triage': True})
    assert not failed and result['allow_lines'] == []


def test_an_allow_line_gets_every_permission_its_type_was_denied_on_any_object(monkeypatch, tmp_path):
    """make demo on the EL9-like VM: ntpd_t read /etc/ntp.conf and /root/secret.txt, both admin_home_t. In permissive
    mode the kernel logged { open read } for the first and only { read } for the second (one log per access vector
    cache entry); the first was relabelled, the module allowed read alone, and the application was denied open."""
    log = tmp_path / 'audit.log'
    avc = ('type=AVC msg=audit(1796020333.{n}:{n}): avc:  denied  {{ {perms} }} for  pid=416 comm="avctest" '
           'name="{name}" scontext=system_u:system_r:ntpd_t:s0 tcontext=unconfined_u:object_r:admin_home_t:s0 '
           'tclass=file permissive=1\n')
    log.write_bytes((avc.format(n=1, perms='open read', name='ntp.conf')
                     + avc.format(n=2, perms='read', name='secret.txt')).encode('ascii'))
    triage_offline(monkeypatch, tmp_path)
    monkeypatch.setattr(avc_capture.remedy, 'triage', lambda denial, evidence: {
        'remedy': 'relabel' if denial['name'] == 'ntp.conf' else 'allow'})
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [str(log)], 'triage': True})
    assert not failed, result
    assert [d['permissions'] for d in result['denials']] == [['open', 'read'], ['read']]
    assert len(result['allow_lines']) == 1
    assert '{ open read }' in result['allow_lines'][0] and 'name="secret.txt"' in result['allow_lines'][0]
    assert '{ read }' in result['lines'][1]  # the record itself is reported as read


def test_auto_source_choice(monkeypatch):
    class R(object):
        def __init__(self, has):
            self._has = has

        def has(self, name):
            return self._has
    params = {'source': 'auto', 'paths': None}
    assert avc_capture.choose_source(params, R(True), exists=lambda p: True) == 'ausearch'
    assert avc_capture.choose_source(params, R(False), exists=lambda p: True) == 'file'
    assert avc_capture.choose_source(params, R(True), exists=lambda p: False) == 'journal'
    assert avc_capture.choose_source(dict(params, paths=['/x']), R(True), exists=lambda p: True) == 'file'
    assert avc_capture.choose_source(dict(params, source='journal'), R(True), exists=lambda p: True) == 'journal'


def ausearch_answers(monkeypatch):
    """Every command the module runs answers with the records of ntpd.log, every tool is in /usr/sbin; returns the
    list the commands are appended to."""
    calls = []

    def run_command(self, cmd, **kwargs):
        calls.append(cmd)
        with io.open(fixture('ntpd.log'), encoding='utf-8') as f:
            return 0, f.read(), ''
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, **kw: '/usr/sbin/' + name)
    return calls


def test_ausearch_source_through_the_runner(monkeypatch):
    calls = ausearch_answers(monkeypatch)
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'ausearch'})
    assert not failed, result
    assert calls == [['/usr/sbin/ausearch', '-m', sources.AUSEARCH_TYPES, '--raw', '--input-logs']]
    assert result['source'] == 'ausearch' and len(result['denials']) == 2
    # since=today is passed to ausearch and applied again to what it returns (2025 records are older)
    del calls[:]
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'ausearch', 'since': 'today'})
    assert calls == [['/usr/sbin/ausearch', '-m', sources.AUSEARCH_TYPES, '--raw', '-ts', 'today', '--input-logs']]
    assert result['denials'] == []


def test_errors_become_one_clear_failure(monkeypatch, tmp_path):
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [str(tmp_path / 'x.log')]})
    assert failed and 'No audit log file matches' in result['msg']
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'file', 'paths': [fixture('ntpd.log')], 'since': 'last tuesday'})
    assert failed and "since='last tuesday'" in result['msg']
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, **kw: None)
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'journal'})
    assert failed and "'journalctl' was not found" in result['msg']


def test_checkpoint_last_event_never_goes_back(monkeypatch, tmp_path):
    log = str(tmp_path / 'audit.log')
    state = str(tmp_path / 'avc.state')
    line = (u'type=AVC msg=audit(%d.000:%d): avc:  denied  { read } for  pid=1 comm="c" name="n" '
            u'scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n')
    with io.open(log, 'w') as f:
        f.write(line % (200, 7))
    args = {'source': 'file', 'paths': [log], 'checkpoint': state}
    first, failed = run_module(monkeypatch, avc_collect.main, args)
    assert first['records'] == 1
    with io.open(log, 'a') as f:
        f.write(line % (100, 8))        # an older time (clock set back): dropped, and the mark stays
    second, failed = run_module(monkeypatch, avc_collect.main, args)
    assert second['records'] == 0
    with io.open(state) as f:
        assert json.load(f)['last_event'] == [200.0, 7]


# -- hostile input (adversarial testing) ----------------------------------------------

def test_checkpoint_with_wrong_field_types_fails_clearly_and_is_not_written(monkeypatch, tmp_path):
    log = str(tmp_path / 'audit.log')
    shutil.copy(fixture('ntpd.log'), log)
    state = tmp_path / 'avc.state'
    for field, content in bad_checkpoints(log):
        text = json.dumps(content).encode('ascii')
        state.write_bytes(text)
        for check_mode in (True, False):
            result, failed = run_module(monkeypatch, avc_collect.main,
                                        {'source': 'file', 'paths': [log], 'checkpoint': str(state)},
                                        check_mode=check_mode)
            assert failed, (field, result)
            assert 'Checkpoint %s' % state in result['msg'] and field in result['msg'], result['msg']
            assert state.read_bytes() == text


def test_impossible_since_is_refused_before_anything_is_read(monkeypatch, tmp_path):
    for since in ('2026-02-30T25:61:61Z', '2026-11-26T00:10:00+99:99'):
        result, failed = run_module(monkeypatch, avc_collect.main, {
            'source': 'file', 'paths': [str(tmp_path / 'none.log')], 'since': since})
        assert failed and result['msg'].startswith('since=%r' % since), result['msg']


def test_ausearch_never_runs_on_directories_and_names_each_bad_path(monkeypatch, tmp_path):
    calls = ausearch_answers(monkeypatch)
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    (tmp_path / 'd1').mkdir()
    (tmp_path / 'd2').mkdir()
    bad = [str(tmp_path / 'd1'), str(tmp_path / 'd2')]
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'ausearch', 'paths': bad})
    assert failed and calls == []
    assert '%s: is a directory' % bad[0] in result['msg'] and '%s: is a directory' % bad[1] in result['msg']
    assert 'run as root' not in result['msg']
    good = str(tmp_path / 'audit.log')
    shutil.copy(fixture('ntpd.log'), good)
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'ausearch', 'paths': [bad[0], good], 'include_rotated': False})
    assert not failed and len(result['denials']) == 2
    assert [c[-1] for c in calls] == [good]
    assert warnings == ['Cannot read %s: is a directory' % bad[0]]


def test_explain_refuses_a_policy_that_is_no_regular_file_before_reading(monkeypatch, tmp_path):
    def explain(runner, lines, policy):
        raise AssertionError('audit2why must not run')
    monkeypatch.setattr(a2w, 'explain', explain)
    result, failed = run_module(monkeypatch, avc_collect.main, {
        'source': 'file', 'paths': [str(tmp_path / 'none.log')], 'explain': True, 'policy': str(tmp_path)})
    assert failed and result['msg'].startswith('policy %s is a directory' % tmp_path), result['msg']
