# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A failed batch of remedies: the entry that breaks it is found by halving, in trials that are never committed."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy_apply as ra
from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy_batch as batch
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed

ARGPARSE_END = ("usage: semanage [-h]\nsemanage: error: argument subcommand: invalid choice: 'fleetsec-trial-end' "
                "(choose from 'import', 'export', 'login')\n")


def twenty(bad=None):
    """20 import lines; entry ``bad`` (if any) is one semanage refuses (a login of a group that does not exist)."""
    lines = ['port -a -t http_port_t -p tcp %d' % (8100 + n) for n in range(20)]
    if bad is not None:
        lines[bad] = "login -a -s user_u '%fleetsec \"no\" group'"
    return lines


class FakeSemanage(object):
    """``semanage import`` as it behaves: the lines in order, stopping at the first it refuses (rc 1, its reason),
    an unknown subcommand refused by argparse (rc 2); committed only when every line passed (rc 0). ``export``: the
    local customisations (unchanged: nothing is ever committed here unless a whole import passes)."""

    def __init__(self, refused=(), commit_fails=False):
        self.refused, self.commit_fails = set(refused), commit_fails
        self.imports, self.committed = [], []

    def run_with_retry(self, name, args, data=None, **kwargs):
        assert name == 'semanage' and args[0] == 'import'
        lines = data.splitlines()
        self.imports.append((list(args), lines))
        for line in lines:
            if line == batch.TRIAL_END:
                raise CommandFailed(['semanage'] + args, 2, '', ARGPARSE_END)
            if line in self.refused:
                raise CommandFailed(['semanage'] + args, 1, '', 'ValueError: Linux Group fleetsec "no" group does not '
                                    'exist\n')
        if self.commit_fails:
            raise CommandFailed(['semanage'] + args, 1, '', 'libsemanage.semanage_commit: conflicting rules\n')
        self.committed.append(lines)

    def run(self, name, args, **kwargs):
        assert (name, args) == ('semanage', ['export'])
        return type('R', (), {'stdout': ''})()


def plan_of(lines):
    plan = ra.RemedyPlan()
    plan.lines = list(lines)
    return plan


@pytest.mark.parametrize('bad', range(20))
def test_the_entry_that_breaks_a_batch_of_20_is_found_by_halving_and_nothing_is_applied(bad):
    lines = twenty(bad)
    semanage = FakeSemanage(refused=[lines[bad]])
    with pytest.raises(batch.BatchError) as info:
        ra.act(plan_of(lines), semanage, False)
    trials = semanage.imports[1:]
    # ceil(log2 20) = 5 halvings; the last entry needs one more trial (the failed batch alone does not prove it)
    assert len(trials) == info.value.details['trials'] <= math.ceil(math.log(20, 2)) + (bad == 19)
    assert semanage.committed == []
    assert semanage.imports[0] == (['import'], lines)
    for args, tried in trials:
        assert args == ['import', '-N'] and tried[-1] == batch.TRIAL_END and tried[:-1] == lines[:len(tried) - 1]
    message = info.value.msg
    assert 'entry %d of import_lines, "login -a -s user_u \'%%fleetsec \\"no\\" group\'"' % bad in message
    assert 'ValueError: Linux Group fleetsec "no" group does not exist' in message
    assert 'Nothing was changed' in message
    assert info.value.details['failed_index'] == bad and info.value.details['failed_line'] == lines[bad]


def test_bisect_counts_its_trials():
    for size in (1, 2, 3, 20, 64, 100):
        for bad in range(size):
            found = batch.bisect(list(range(size)), lambda prefix, bad=bad: 'no' if bad in prefix else None)
            assert found[:2] == (bad, 'no')
            assert found[2] <= math.ceil(math.log(size, 2)) + (bad == size - 1)


def test_a_batch_whose_every_entry_passes_fails_at_its_commit_and_says_so():
    lines = twenty()
    semanage = FakeSemanage(commit_fails=True)
    with pytest.raises(batch.BatchError) as info:
        ra.act(plan_of(lines), semanage, False)
    assert 'Every one of its 20 entries passes' in info.value.msg and 'conflicting rules' in info.value.msg
    assert semanage.committed == [] and 'failed_index' not in info.value.details


def test_a_trial_spells_deletions_so_that_semanage_3_6_keeps_it_one_transaction():
    assert batch.trial_line('boolean -D') == 'boolean -ND'
    assert batch.trial_line("fcontext -d -f a '/srv/x(/.*)?'") == "fcontext -Nd -f a '/srv/x(/.*)?'"
    assert batch.trial_line('port -a -t http_port_t -p tcp 8089') == 'port -a -t http_port_t -p tcp 8089'
    text = batch.trial_text(['boolean -D', 'boolean -m -1 x', "login -d 'alice'", 'fcontext -d -e /var/www /srv/w'])
    assert '-d' not in text and '-D' not in text and text.endswith(batch.TRIAL_END + '\n')
    # -d inside the data: semanage 3.6+ would run that line in a transaction of its own; never tried
    with pytest.raises(ValueError):
        batch.trial_text(["fcontext -a -f a -t httpd_sys_content_t '/srv/app-data(/.*)?'"])


def test_a_batch_with_d_in_its_data_is_not_tried():
    lines = ["fcontext -a -f a -t httpd_sys_content_t '/srv/app-data(/.*)?'", "login -a -s user_u '%nogroup'"]
    semanage = FakeSemanage(refused=[lines[1]])
    with pytest.raises(batch.BatchError) as info:
        ra.act(plan_of(lines), semanage, False)
    assert len(semanage.imports) == 1 and 'was not looked for' in info.value.msg


def test_a_batch_of_deletions_and_other_lines_is_tried_before_it_runs():
    """semanage 3.6+ commits the deletions of an import before its other lines: a refused entry is found first."""
    plan = plan_of(['boolean -D', 'boolean -m -1 httpd_can_network_connect', "login -a -s user_u '%nogroup'"])
    semanage = FakeSemanage(refused=[plan.lines[2]])
    with pytest.raises(batch.BatchError) as info:
        ra.act(plan, semanage, False)
    assert [args for args, dummy in semanage.imports] == [['import', '-N']] * 3  # the batch itself never ran
    assert info.value.details['failed_index'] == 2 and info.value.details['trials'] == 3
    assert semanage.imports[0][1] == ['boolean -ND', 'boolean -m -1 httpd_can_network_connect',
                                      "login -a -s user_u '%nogroup'", batch.TRIAL_END]
    # a batch that passes its trial runs as before, once
    semanage = FakeSemanage()
    ra.act(plan_of(plan.lines[:2]), semanage, False)
    assert [args for args, dummy in semanage.imports] == [['import', '-N'], ['import']] and len(semanage.committed) == 1


def test_a_failed_mixed_batch_that_changed_the_store_is_not_bisected():
    """Every line passes its trial but the batch fails at its commit, after semanage 3.6+ committed the deletions:
    what the plan was made from is gone, and the error says so."""
    plan = plan_of(['boolean -D', 'boolean -m -1 httpd_can_network_connect'])
    plan.local = ra.parse_export('boolean -m -1 nis_enabled\n')
    semanage = FakeSemanage(commit_fails=True)
    with pytest.raises(batch.BatchError) as info:
        ra.act(plan, semanage, False)
    assert len(semanage.imports) == 2 and 'no longer those this run planned from' in info.value.msg


def test_the_equivalence_file_is_put_back_after_every_trial(tmp_path):
    subs = tmp_path / 'file_contexts.subs'
    subs.write_bytes(b'/srv/a /var/www\n')
    lines = ['fcontext -a -e /var/www /srv/b', "login -a -s user_u '%nogroup'", 'port -a -t http_port_t -p tcp 8100']

    class Writing(FakeSemanage):
        def run_with_retry(self, name, args, data=None, **kwargs):
            subs.write_bytes(b'/srv/b /var/www\n')  # as semanage does, outside its transaction
            return FakeSemanage.run_with_retry(self, name, args, data=data, **kwargs)
    semanage = Writing(refused=[lines[1]])
    plan = plan_of(lines)
    plan.subs = True
    with pytest.raises(batch.BatchError) as info:
        ra.act(plan, semanage, False, str(subs))
    assert info.value.details['failed_index'] == 1 and len(semanage.imports) == 3
    assert subs.read_bytes() == b'/srv/a /var/www\n'


def test_a_lock_held_through_the_retries_is_reported_as_it_is():
    class Locked(FakeSemanage):
        def run_with_retry(self, name, args, data=None, **kwargs):
            self.imports.append(args)
            raise CommandFailed(['semanage'] + args, 1, '', 'libsemanage.semanage_get_lock: Could not get direct '
                                'transaction lock at /var/lib/selinux/targeted/semanage.trans.LOCK.')
    semanage = Locked()
    with pytest.raises(CommandFailed):
        ra.act(plan_of(twenty()), semanage, False)
    assert len(semanage.imports) == 1


@pytest.mark.parametrize('rc, stderr, answer', [
    (2, ARGPARSE_END, None),                                          # came to the end: every line passed
    (1, 'ValueError: Port tcp/8089 already defined\n', 'ValueError: Port tcp/8089 already defined'),
    (2, 'semanage: error: unrecognized arguments: -q\n', 'semanage: error: unrecognized arguments: -q'),
    (1, '', batch.Inconclusive),
    (1, 'libsemanage.semanage_get_lock: Could not get direct transaction lock', batch.Inconclusive),
    (0, '', batch.BatchError),                                        # cannot happen: said, never taken for a pass
])
def test_what_a_trial_answers(rc, stderr, answer):
    class One(object):
        def run_with_retry(self, name, args, data=None, **kwargs):
            assert args == ['import', '-N'] and data.endswith(batch.TRIAL_END + '\n')
            if rc:
                raise CommandFailed(['semanage'] + args, rc, '', stderr)
    if isinstance(answer, type):
        with pytest.raises(answer):
            batch.run_trial(One(), ['port -a -t http_port_t -p tcp 8089'])
    else:
        assert batch.run_trial(One(), ['port -a -t http_port_t -p tcp 8089']) == answer
