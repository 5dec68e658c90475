# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of local_policy_module: src read/templated on the controller, dest written there.

Runs on the controller Python only (3.11), with ansible-core 2.19 (and 2.16 in the compat venv).
"""
import os
import stat
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.fleetsec.selinux.plugins.action import local_policy_module as action_mod

TE = 'module acme 1.0;\nrequire { type {{ domain }}; type user_home_t; class file read; }\nallow {{ domain }} user_home_t:file read;\n'


def make_action(tmp_path, args, check_mode=False, module_result=None):
    loader = DataLoader()
    loader.set_basedir(str(tmp_path))
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.diff = False
    action = action_mod.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader, Templar(loader=loader), None)
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        calls.append((module_name, module_args))
        if module_result is not None:
            return module_result(module_args)
        return {'changed': False, 'modules': []}

    action._execute_module = execute_module
    action._find_needle = lambda dirname, needle: os.path.join(str(tmp_path), dirname, needle)
    return action, calls


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / 'files'
    folder.mkdir()
    (folder / 'acme.te').write_text(TE)
    (folder / 'acme.te.j2').write_text(TE)
    (folder / 'acme.fc').write_text('/opt/acme(/.*)?  system_u:object_r:user_home_t:s0\n')
    return folder


def echo_modules(module_args):
    entries = module_args.get('modules') or [module_args]
    return {'changed': True, 'modules': [{'name': e['name'], 'te': e.get('te')} for e in entries]}


def test_src_is_read_on_the_controller_and_passed_as_te(tmp_path, files):
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': 'acme.te', 'priority': 300})
    action.run(task_vars={'domain': 'ntpd_t'})
    name, args = calls[0]
    assert name == 'fleetsec.selinux.local_policy_module'
    assert 'src' not in args and args['te'] == TE  # not a .j2: not templated
    assert args['fc'].startswith('/opt/acme') and args['priority'] == 300


def test_j2_src_is_templated_with_the_task_vars(tmp_path, files):
    action, calls = make_action(tmp_path, {'modules': [{'name': 'acme', 'src': 'acme.te.j2'}, {'name': 'old', 'state': 'absent'}]})
    action.run(task_vars={'domain': 'ntpd_t'})
    entries = calls[0][1]['modules']
    assert 'allow ntpd_t user_home_t:file read;' in entries[0]['te'] and '{{' not in entries[0]['te']
    assert entries[0]['fc'].startswith('/opt/acme')
    assert entries[1] == {'name': 'old', 'state': 'absent'}


def test_remote_src_is_left_to_the_module(tmp_path, files):
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': '/etc/acme.te', 'remote_src': True})
    action.run(task_vars={})
    assert calls[0][1] == {'name': 'acme', 'src': '/etc/acme.te', 'remote_src': True}


def test_src_and_te_together_are_refused(tmp_path, files):
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': 'acme.te', 'te': 'x'})
    with pytest.raises(AnsibleActionFail):
        action.run(task_vars={})
    assert calls == []


def test_dest_written_with_mode_0600_then_unchanged(tmp_path, files):
    args = {'name': 'acme', 'src': 'acme.te.j2', 'dest': 'out/policy'}
    action, calls = make_action(tmp_path, dict(args), module_result=echo_modules)
    first = action.run(task_vars={'domain': 'ntpd_t'})
    te_path = tmp_path / 'out' / 'policy' / 'acme.te'
    assert first['changed'] and first['dest_files'] == sorted([str(te_path), str(te_path.with_suffix('.fc'))])
    assert 'dest' not in calls[0][1]
    assert 'allow ntpd_t user_home_t:file read;' in te_path.read_text()
    assert stat.S_IMODE(te_path.stat().st_mode) == 0o600
    action, calls = make_action(tmp_path, dict(args), module_result=lambda a: dict(echo_modules(a), changed=False))
    again = action.run(task_vars={'domain': 'ntpd_t'})
    assert again['changed'] is False


def test_dest_not_written_in_check_mode(tmp_path, files):
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': 'acme.te', 'dest': str(tmp_path / 'd')}, check_mode=True,
                                module_result=lambda a: dict(echo_modules(a), changed=False))
    result = action.run(task_vars={})
    assert not (tmp_path / 'd').exists()
    assert result['dest_files'] == [str(tmp_path / 'd' / 'acme.fc'), str(tmp_path / 'd' / 'acme.te')]


def test_module_failure_writes_nothing(tmp_path, files):
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': 'acme.te', 'dest': str(tmp_path / 'd')},
                                module_result=lambda a: {'failed': True, 'msg': 'Compiling failed'})
    result = action.run(task_vars={})
    assert result['failed'] and not (tmp_path / 'd').exists()


@pytest.mark.parametrize('sabotage', ['dest-is-a-file', 'te-is-a-directory'])
def test_unusable_dest_is_refused_before_the_module_runs(tmp_path, files, sabotage):
    """The module used to install first and the action then crashed on dest: a loaded module without its copy."""
    dest = tmp_path / 'review'
    if sabotage == 'dest-is-a-file':
        dest.write_text('not a folder')
    else:
        (dest / 'acme.te').mkdir(parents=True)
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': 'acme.te', 'dest': str(dest)},
                                module_result=echo_modules)
    with pytest.raises(AnsibleActionFail, match='nothing was run'):
        action.run(task_vars={'domain': 'ntpd_t'})
    assert calls == []


@pytest.mark.parametrize('data', [b'\x8f\xff|\xf9\x01\x00\x00\x00binary policy package', b'module acme 1.0;\x00\n'])
def test_binary_src_is_a_clear_error_before_the_module_runs(tmp_path, files, data):
    """A compiled .pp passed as src used to crash the action plugin (surrogates in the module's JSON)."""
    (files / 'acme.pp').write_bytes(data)
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': 'acme.pp'})
    with pytest.raises(AnsibleActionFail, match='Nothing was run|nothing was run'):
        action.run(task_vars={})
    assert calls == []


def test_huge_src_is_refused_without_reading_it_whole(tmp_path, files, monkeypatch):
    """A 300 MB src used to be read whole (2.4 GB RSS): now at most the limit plus one byte is read."""
    from ansible_collections.fleetsec.selinux.plugins.action import local_policy_module as action_plugin
    monkeypatch.setattr(action_plugin, 'MAX_SOURCE_BYTES', 1024)
    (files / 'acme.te').write_bytes(b'allow a_t b_t:file read;\n' * 100)
    action, calls = make_action(tmp_path, {'name': 'acme', 'src': 'acme.te'})
    with pytest.raises(AnsibleActionFail, match='larger than 0 MiB|larger than'):
        action.run(task_vars={})
    assert calls == []
