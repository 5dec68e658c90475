# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""audit2why output mapping, on output recorded from the real tool (fixtures/avc/README.md)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils import _audit2why as a2w
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, Runner

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'avc')


def read(name):
    with io.open(os.path.join(FIXTURES, name), encoding='utf-8') as f:
        return f.read()


def recorded():
    lines = [line for line in read('audit2why_input.txt').splitlines() if line]
    return lines, a2w.parse_output(read('audit2why_output.txt'), lines)


def kind_of(result, marker):
    return [v for k, v in result.items() if marker in k][0]


def test_every_verdict_is_classified():
    lines, result = recorded()
    assert set(result) == set(lines)
    assert kind_of(result, 'ntpd_t')['kind'] == 'missing_rule'
    assert kind_of(result, 'httpd_sys_content_t')['kind'] == 'missing_rule'
    boolean = kind_of(result, 'postgresql_port_t')
    assert boolean['kind'] == 'boolean'
    assert boolean['booleans'] == ['httpd_can_network_connect', 'httpd_can_network_connect_db']
    assert kind_of(result, 'user_home_dir_t')['kind'] == 'reload'
    constraint = kind_of(result, 'staff_u:object_r:user_home_t')
    assert constraint['kind'] == 'constraint' and 'Constraint DENIED' in constraint['text']
    assert constraint['booleans'] == []


def test_denials_audit2why_cannot_analyse_are_unknown():
    lines, result = recorded()
    unknown = [k for k, v in result.items() if v['kind'] == 'unknown']
    assert len(unknown) == 3
    assert any('resolvconf_t' in k for k in unknown)
    assert any('s15:c0.c1023' in k for k in unknown)


def test_text_keeps_the_analysis_without_the_header():
    lines, result = recorded()
    text = kind_of(result, 'ntpd_t')['text']
    assert text.startswith('Missing type enforcement (TE) allow rule.')
    assert 'Was caused by' not in text


class FakeModule(object):
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []
        self.check_mode = True

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/bin/' + name

    def run_command(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        return self.answers.pop(0)


def test_explain_runs_audit2why_once_with_the_policy_even_in_check_mode():
    lines, expected = recorded()
    module = FakeModule([(0, read('audit2why_output.txt'), '')])
    result = a2w.explain(Runner(module, CATALOGUE), lines, '/etc/selinux/default/policy/policy.33')
    cmd, kwargs = module.calls[0]
    assert cmd == ['/usr/bin/audit2why', '-p', '/etc/selinux/default/policy/policy.33']
    assert kwargs['data'] == '\n'.join(lines) + '\n'
    assert result == expected
    assert a2w.explain(Runner(FakeModule([]), CATALOGUE), []) == {}


def test_explain_failure_says_what_to_do():
    module = FakeModule([(1, '', 'You must specify the -p option with the path to the policy file.\n')])
    with pytest.raises(CommandFailed) as exc:
        a2w.explain(Runner(module, CATALOGUE), ['type=AVC x'])
    assert 'audit2why failed' in exc.value.msg and 'policy=' in exc.value.msg
