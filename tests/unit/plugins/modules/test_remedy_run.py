# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""remedy's run (the module file): when the facts it queried about the policy are kept for the next run (only when
no transaction changed the policy they describe, never in check mode). The keeping itself: test_remedy_apply.py; with
the real tools: tests/integration/pytest/test_remedy_store.py."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy_apply as apply
from ansible_collections.fleetsec.selinux.plugins.modules import remedy


class _Module(object):
    def __init__(self, check_mode):
        self.check_mode = check_mode
        self._diff = False
        self.params = {}


class _Current(object):
    def __init__(self):
        self.kept = 0

    def keep_learnt(self):
        self.kept += 1
        return ['kept']


class _Plan(object):
    def __init__(self, lines):
        self.lines = lines
        self.changed = bool(lines)
        self.changes, self.before, self.after, self.warnings = [], [], [], []
        self.relabel, self.pending = [], []


@pytest.mark.parametrize('check_mode, outcome, kept', [
    (False, [], 1),                            # nothing to change: the facts still describe the policy
    (False, ['boolean -m -1 httpd_can_network_connect'], 0),  # a transaction rebuilds the policy: not kept
    (False, 'refused', 1),                     # refused: nothing changed
    (True, [], 0), (True, 'refused', 0),       # check mode keeps nothing
])
def test_what_a_run_learnt_is_kept_only_while_it_describes_the_policy(monkeypatch, check_mode, outcome, kept):
    current = _Current()

    def plan(wanted, given, runner):
        assert given is current
        if outcome == 'refused':
            raise apply.RemedyError('Refusing: turning boolean httpd_execmem on hands out power')
        return _Plan(outcome)

    monkeypatch.setattr(remedy, 'Runner', lambda module, catalogue: None)
    monkeypatch.setattr(remedy, 'current_state', lambda runner: current)
    monkeypatch.setattr(apply, 'validate', lambda params: type('Wanted', (), {'warnings': [], 'recursive': False})())
    monkeypatch.setattr(apply, 'plan', plan)
    monkeypatch.setattr(apply, 'act', lambda plan, runner, recursive, subs: [])
    monkeypatch.setattr(remedy, 'subs_path', lambda: '/x')
    if outcome == 'refused':
        with pytest.raises(apply.RemedyError):
            remedy.run(_Module(check_mode))
    else:
        result, warnings = remedy.run(_Module(check_mode))
        assert warnings == ['kept'] * kept and result['transactions'] == (0 if check_mode else len(outcome))
    assert current.kept == kept
