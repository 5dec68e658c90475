# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import (
    CheckModeViolation, Command, CommandFailed, CommandNotFound, Runner,
)


class FakeModule(object):
    """Records run_command calls and answers from a script of (rc, out, err)."""

    def __init__(self, answers, check_mode=False, bins=None):
        self.answers = list(answers)
        self.check_mode = check_mode
        self.calls = []
        self.bins = bins if bins is not None else {'semodule': '/usr/sbin/semodule', 'getenforce': '/usr/sbin/getenforce'}

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return self.bins.get(name)

    def run_command(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        return self.answers.pop(0)


COMMANDS = {
    'semodule': Command('semodule', package_hint='policycoreutils'),
    'getenforce': Command('getenforce'),
    'absent': Command('no-such-tool', package_hint='some-package'),
}


def test_argv_is_a_list_and_locale_is_forced():
    module = FakeModule([(0, 'Enforcing\n', '')])
    result = Runner(module, COMMANDS).run('getenforce')
    cmd, kwargs = module.calls[0]
    assert cmd == ['/usr/sbin/getenforce']
    assert kwargs['environ_update']['LC_ALL'] == 'C'
    assert kwargs['check_rc'] is False
    assert result.stdout == 'Enforcing\n'


def test_mutating_command_in_check_mode_is_an_error_not_a_fake_success():
    # check mode is decided by the caller; the runner used to answer rc 0 silently, so a caller that forgot to
    # check went on as if the host had changed
    module = FakeModule([], check_mode=True)
    runner = Runner(module, COMMANDS)
    with pytest.raises(CheckModeViolation) as exc:
        runner.change('semodule', ['-i', 'x.pp'])
    assert 'would change the host in check mode' in exc.value.msg and 'nothing was changed' in exc.value.msg
    with pytest.raises(CheckModeViolation):
        runner.run_with_retry('semodule', ['-i', 'x.pp'], changes=True)
    assert module.calls == [] and runner.history == []


def test_the_same_binary_reads_in_check_mode():
    # one declaration per binary: whether a call changes the host is said at the call
    module = FakeModule([(0, 'ntpd 400 pp\n', '')], check_mode=True)
    assert Runner(module, COMMANDS).run('semodule', ['-lfull']).stdout == 'ntpd 400 pp\n'


def test_every_binary_is_declared_once_in_the_catalogue():
    binaries = [command.binary for command in CATALOGUE.values()]
    assert sorted(set(binaries)) == sorted(binaries)


def test_read_only_command_runs_in_check_mode():
    module = FakeModule([(0, 'Permissive\n', '')], check_mode=True)
    assert Runner(module, COMMANDS).run('getenforce').stdout == 'Permissive\n'


def test_failure_message_names_command_target_rc_and_stderr():
    module = FakeModule([(1, '', 'libsemanage.semanage_direct_install_info: bad module\n')])
    with pytest.raises(CommandFailed) as exc:
        Runner(module, COMMANDS).run('semodule', ['-i', 'x.pp'], what="'x'")
    err = exc.value
    assert err.msg == "semodule -i failed for 'x' (rc=1): libsemanage.semanage_direct_install_info: bad module"
    kwargs = err.fail_kwargs()
    assert kwargs['rc'] == 1 and kwargs['cmd'] == ['/usr/sbin/semodule', '-i', 'x.pp']


def test_missing_binary_names_the_package():
    with pytest.raises(CommandNotFound) as exc:
        Runner(FakeModule([]), COMMANDS).run('absent')
    assert 'no-such-tool' in exc.value.msg and 'some-package' in exc.value.msg


def test_retry_is_bounded_and_retries_only_when_asked():
    lock = (1, '', 'libsemanage.semanage_get_active_lock: Could not get direct transaction lock\n')
    module = FakeModule([lock, lock, (0, '', '')])
    sleeps = []
    runner = Runner(module, COMMANDS, sleep=sleeps.append)
    result = runner.run_with_retry('semodule', ['-i', 'x.pp'], retry_if=lambda r: 'lock' in r.stderr, attempts=5, delay=2)
    assert result.rc == 0 and len(module.calls) == 3 and sleeps == [2, 2]

    module = FakeModule([lock] * 3)
    runner = Runner(module, COMMANDS, sleep=sleeps.append)
    with pytest.raises(CommandFailed):
        runner.run_with_retry('semodule', ['-i', 'x.pp'], retry_if=lambda r: 'lock' in r.stderr, attempts=3, delay=1)
    assert len(module.calls) == 3

    module = FakeModule([(1, '', 'syntax error')])
    with pytest.raises(CommandFailed):
        Runner(module, COMMANDS, sleep=sleeps.append).run_with_retry('semodule', ['-i', 'x.pp'], retry_if=lambda r: 'lock' in r.stderr)
    assert len(module.calls) == 1


def test_binaries_are_found_on_path_before_the_sbin_directories(tmp_path, monkeypatch):
    """A semodule first on PATH (another userspace release) must win over /usr/sbin/semodule."""
    from ansible.module_utils.common.process import get_bin_path
    tool = tmp_path / 'semodule'
    tool.write_text(u'#!/bin/sh\n')
    tool.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:/usr/bin:/bin' % tmp_path)

    class Module(object):
        check_mode = False

        def get_bin_path(self, arg, required=False, opt_dirs=None):
            return get_bin_path(arg, opt_dirs=opt_dirs)
    runner = Runner(Module(), {'semodule': Command('semodule')})
    assert runner.path('semodule') == str(tool)
