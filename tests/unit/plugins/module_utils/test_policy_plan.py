# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os
import time

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_apply as apply_stage
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_plan as plan
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_context as source
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_request as request_stage
from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import PolicyStore
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner


def test_rules_diff():
    assert plan.rules_diff('acme', ['allow a b:c d;'], [], 400) == {
        'before_header': 'acme (priority 400, installed)', 'after_header': 'acme (priority 400, requested)',
        'before': 'allow a b:c d;\n', 'after': ''}


class FakeModule(object):
    def __init__(self, tmpdir, check_mode):
        self.tmpdir = tmpdir
        self.check_mode = check_mode
        self.calls = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/bin/' + name

    def run_command(self, cmd, **kwargs):
        self.calls.append(cmd)
        with io.open(cmd[cmd.index('-o') + 1], 'w') as handle:
            handle.write(u'iface')
        return 0, '', ''

    def atomic_move(self, src, dest):
        os.rename(src, dest)


def make_planner(tmpdir, check_mode, headers):
    root = str(tmpdir.mkdir('root'))
    os.makedirs(os.path.join(root, 'etc/selinux/default/policy'))
    io.open(os.path.join(root, 'etc/selinux/default/policy/policy.33'), 'w').close()
    with io.open(os.path.join(root, 'etc/selinux/config'), 'w') as handle:
        handle.write(u'SELINUXTYPE=default\n')
    module = FakeModule(str(tmpdir.mkdir('tmp')), check_mode)
    runner = Runner(module, CATALOGUE)
    return source.Context(module, runner, PolicyStore(module, runner, policy_root=root)), module, root


def make_context(ctx):
    """A new run's context on the same module and store (what one run read is not read again in it)."""
    return source.Context(ctx.module, ctx.runner, ctx.store)


@pytest.fixture
def headers(tmpdir, monkeypatch):
    folder = tmpdir.mkdir('include')
    folder.join('x.if').write('interface(`x')
    monkeypatch.setattr(source, 'DEVEL_INCLUDE', str(folder))
    return folder


def test_interface_info_is_generated_when_missing_and_reused_while_fresh(tmpdir, headers):
    planner, module, root = make_planner(tmpdir, False, headers)
    target = os.path.join(root, 'var/lib/fleetsec-selinux/interface_info')
    made = planner.interface_info()
    # planning writes only in its private directory; the apply stage keeps the file for the next runs
    assert made.startswith(module.tmpdir) and not os.path.exists(target)
    apply_stage.apply(planner, [], {})
    planner = make_context(planner)
    assert planner.interface_info() == target
    assert module.calls[0][:3] == ['/usr/bin/sepolgen-ifgen', '-p', os.path.join(root, 'etc/selinux/default/policy/policy.33')]
    assert oct(os.stat(target).st_mode & 0o777) in ('0600', '0o600')
    planner = make_context(planner)
    assert planner.interface_info() == target and len(module.calls) == 1
    # headers newer than the interface info: regenerate
    later = time.time() + 100
    os.utime(str(headers.join('x.if')), (later, later))
    planner = make_context(planner)
    planner.interface_info()
    assert len(module.calls) == 2


def test_interface_info_in_check_mode_stays_in_the_temporary_directory(tmpdir, headers):
    planner, module, root = make_planner(tmpdir, True, headers)
    path = planner.interface_info()
    assert path.startswith(module.tmpdir)
    assert not os.path.exists(os.path.join(root, 'var/lib/fleetsec-selinux'))


class ModuleFailed(Exception):
    pass


def test_a_cache_that_cannot_be_kept_is_a_warning_not_a_failure(tmpdir, headers, monkeypatch):
    """After the commit nothing may fail the module: Ansible's atomic_move ends it with fail_json when the move
    fails, so keeping the interface information must not go through it (the store changed; a failed result would
    tell the user otherwise)."""
    planner, module, root = make_planner(tmpdir, False, headers)

    def failing_move(src, dest):
        raise ModuleFailed('atomic_move failed the module')
    monkeypatch.setattr(module, 'atomic_move', failing_move, raising=False)
    planner.interface_info()
    target = os.path.join(root, 'var/lib/fleetsec-selinux/interface_info')
    os.makedirs(os.path.join(target, 'in-the-way'))  # a folder where the file goes: the rename fails
    assert apply_stage.apply(planner, [], {}) == {}
    assert len(planner.warnings) == 1 and planner.warnings[0].startswith(
        'The interface information could not be kept in %s' % target), planner.warnings


def test_a_run_that_fails_before_the_commit_still_keeps_what_it_learnt(tmpdir, headers, monkeypatch):
    """A refused module is the rollout's usual second step (refused, acknowledged, run again): the interface
    information made by the refused run is kept for the next one, outside check mode only."""
    for check_mode in (True, False):
        planner, module, root = make_planner(tmpdir.mkdir('check' if check_mode else 'real'), check_mode, headers)

        def failing_read(ctx, entry, record):
            ctx.interface_info()
            raise request_stage.PlanError('refused')
        monkeypatch.setattr(plan, 'read', failing_read)
        monkeypatch.setattr(plan, 'Context', lambda *args, **kwargs: planner)
        entry = request_stage.Entry('acme', 'present', 400, 'te', 'T', None, None, None, False, False, None, False)
        with pytest.raises(request_stage.PlanError):
            plan.run(module, planner.runner, planner.store, ([entry], True, False), 400)
        kept = os.path.exists(os.path.join(root, 'var/lib/fleetsec-selinux/interface_info'))
        assert kept is (not check_mode)


class _Listed(object):
    def __init__(self, listed):
        self.listed = listed

    def modules(self):
        return self.listed


def _decision(kind='denials', te='allow a_t b_t:file read;', operations=(('install', 400, 'P'),), record=None,
              before=None):
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_decide as decide
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_source as src
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_te as te_text
    entry = request_stage.Entry(**dict((f, None) for f in request_stage.Entry._fields))._replace(
        name='gen', kind=kind, priority=400, state='present')
    source_ = src.bare(entry, parsed=tuple(te_text.parse_te(te)))
    return decide.Decision(source_, record, before, None, operations, None, False, [], [])


PLAIN_RECORD = {'checksum': 'sha256:old', 'rules': ['allow a_t b_t:file read;']}


@pytest.mark.parametrize('case, decision, listed, carried', [
    ('fresh plain install', _decision(), {}, True),
    ('over our plain module', _decision(record=PLAIN_RECORD, before='sha256:old'),
     {'gen': [{'priority': 400}]}, True),
    ('a te module', _decision(kind='te'), {}, False),
    ('generated text that declares a type', _decision(te='type c_t; allow a_t c_t:file read;'), {}, False),
    ('an interface call', _decision(te='files_read_etc_files(a_t)'), {}, False),
    ('a removal', _decision(operations=(('remove', 400, 'gen'),)), {'gen': [{'priority': 400}]}, False),
    ('over a module that declared a type', _decision(record=dict(PLAIN_RECORD, rules=['type c_t;']),
                                                     before='sha256:old'), {'gen': [{'priority': 400}]}, False),
    ('over a module the record does not describe', _decision(record=PLAIN_RECORD, before='sha256:other'),
     {'gen': [{'priority': 400}]}, False),
    ('over a module without record', _decision(before='sha256:old'), {'gen': [{'priority': 400}]}, False),
    ('a record whose rules are not text', _decision(record=dict(PLAIN_RECORD, rules=[{'kind': 'allow'}]),
                                                    before='sha256:old'), {'gen': [{'priority': 400}]}, False),
    ('a module of the same name at another priority', _decision(), {'gen': [{'priority': 100}]}, False),
])
def test_which_transactions_carry_the_generations(case, decision, listed, carried):
    """The generations are keyed to the rebuilt policy only after a transaction that defines and removes no name."""
    class Ctx(object):
        generations = {'gen': ('path', None, None)}
        store = _Listed(listed)
    assert apply_stage._carries_generations(Ctx(), [decision]) is carried, case
    Ctx.generations = {}
    assert apply_stage._carries_generations(Ctx(), [decision]) is False
