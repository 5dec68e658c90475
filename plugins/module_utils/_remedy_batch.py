# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: when the one ``semanage import`` of the remedies fails, find the entry that breaks it, commit nothing,
and say which entry and why.

How an entry is tried without committing anything. ``semanage`` has no alternate ROOT (``-S``/``--store`` names a
store *beside* the live one, under /var/lib/selinux and /etc/selinux, and its policy is loaded from there: a copy
there would be written into the live directories and depend on the userspace release), and ``-N`` only skips the
policy reload: a commit with it still changes the store. A private mount namespace over a copy of the store (what
the tests do) needs ``unshare``, tens of MB per try and, on an enforcing host, would still set the kernel's booleans
at its commit. So each trial is a ``semanage import -N`` whose LAST line is :data:`TRIAL_END`, a subcommand no
semanage has: semanage runs the lines in order inside one libsemanage transaction, whose changes go to
libsemanage's own copy of the store (the sandbox ``tmp`` folder it makes at the start of every transaction), and
argparse rejects the last line before the transaction is committed (semanage exits, ``trans.finish()`` never
runs): the trial answers "every line before the end passed" (the error names :data:`TRIAL_END`) or gives the
reason semanage refused the first line that failed (its stderr, ``ValueError: ...``), and the live store is never
committed. What is left is what any failed ``semanage import`` leaves: the abandoned sandbox, which libsemanage
removes at the start of its next transaction. Equivalences are the exception semanage writes outside its
transaction (file_contexts.subs): the caller keeps that file and puts it back after each trial, as after the batch.

semanage 3.6 and later (EL9, EL10) split an import: every line that CONTAINS ``-d`` or ``-D`` is run first, in a
transaction of its own that is committed before the others run. A trial therefore spells the deletion flags as the
equivalent ``-Nd``/``-ND`` (no ``-d`` in the line; ``-N`` changes nothing in a transaction that is never committed),
so that every semanage runs the lines of a trial in their order, in one transaction ended by :data:`TRIAL_END`; a
batch with ``-d`` or ``-D`` elsewhere in a line (a path such as /srv/app-data) is never tried, as such a trial
could be committed there. And as semanage 3.6+ would commit the deletions of a batch that also has other lines before
it meets a refused line, such a batch is tried once before it is run (:func:`preflight`): a refused entry is then
found before anything is committed, on every release. (In one transaction semanage's check of an addition reads
the committed store, so deleting and adding the same port, login or rule in one trial would be refused; the plan
never does that - a local label or mapping is modified with ``-m`` - and the equivalence it changes by ``-d`` then
``-a`` passes: measured on the EL8, EL9 and EL10 stores.)

Bisection: semanage stops at the first line it refuses, so "the first ``k`` lines pass" is monotone in ``k``; halving
finds the first refused line in ceil(log2(n)) trials (one more when it is the last line, whose refusal the failed
batch alone does not prove: a batch can also fail at its commit, after every line passed).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import lock_held
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, FleetsecError

# the last line of every trial: no semanage has this subcommand, so argparse refuses it and semanage exits (rc 2)
# before it commits; it contains neither -d nor -D (semanage 3.6+ would run such a line in a transaction of its own)
TRIAL_END = 'fleetsec-trial-end'
# the first flag of a deletion line as a trial spells it
_TRIAL_FLAGS = {'-d': '-Nd', '-D': '-ND'}
REASON_MAX = 2000


class BatchError(FleetsecError):
    pass


class Inconclusive(Exception):
    """A trial that answered neither "passed" nor an entry's refusal (the lock stayed held, or no answer)."""


def trial_line(line):
    """``line`` as a trial runs it: the deletion flag (the second word) spelt ``-Nd``/``-ND``."""
    words = line.split(' ', 2)
    if len(words) > 1 and words[1] in _TRIAL_FLAGS:
        words[1] = _TRIAL_FLAGS[words[1]]
    return ' '.join(words)


def trial_text(lines):
    """The standard input of a trial of ``lines``; ValueError when a line would still contain ``-d``/``-D``."""
    tried = [trial_line(line) for line in lines] + [TRIAL_END]
    split = [line for line in tried if '-d' in line or '-D' in line]
    if split:
        raise ValueError(split[0])
    return '\n'.join(tried) + '\n'


def bisect(lines, trial, whole=None):
    """The first line of ``lines`` the batch fails at: ``(index, reason, trials)``, or ``(None, None, trials)`` when
    every line passes (the batch failed at its commit). ``trial(prefix)`` is None when every line of ``prefix``
    passes, else semanage's reason for the first it refuses; ``whole``: that reason for all of ``lines``, if a trial
    gave it already."""
    low, high, reason, trials = 0, len(lines), whole, 0
    # lines[:low] pass; lines[:high] fail with ``reason`` (the whole batch: proved by a trial only if it comes to that)
    while high - low > 1:
        middle = (low + high) // 2
        trials += 1
        found = trial(lines[:middle])
        if found is None:
            low = middle
        else:
            high, reason = middle, found
    if reason is None:
        trials += 1
        reason = trial(lines[:high])
        if reason is None:
            return None, None, trials
    return high - 1, reason, trials


def mixed(lines):
    """Whether semanage 3.6+ would split ``lines`` into two transactions (deletions first, committed on their own)."""
    deletions = [line for line in lines if '-d' in line or '-D' in line]
    return 0 < len(deletions) < len(lines)


def preflight(lines, trial):
    """Before a batch that semanage 3.6+ would split (:func:`mixed`): one trial of it, never committed. A refused
    entry is found and raised (:class:`BatchError`) before anything is committed; a batch that cannot be tried
    (``-d`` in its data, a held lock) goes on as before."""
    try:
        reason = trial(lines)
    except (ValueError, Inconclusive):
        return
    if reason is not None:
        raise _named(lines, trial, 'a trial of the remedies failed, before anything was committed', reason, {},
                     whole=reason)


def run_trial(runner, lines):
    """One trial of ``lines`` (see the module's docstring): None when semanage came to :data:`TRIAL_END`, else its
    reason for the first line it refused. Never commits."""
    text = trial_text(lines)
    try:
        runner.run_with_retry('semanage', ['import', '-N'], data=text, changes=True, retry_if=lock_held,
                              what='a trial of the remedies (never committed)')
    except CommandFailed as err:
        stderr = to_text(err.stderr or '', errors='surrogate_or_replace').strip()
        if lock_held(err):
            raise Inconclusive('the transaction lock stayed held')
        if err.rc == 2 and TRIAL_END in stderr:
            return None
        if not stderr:
            raise Inconclusive('semanage gave no reason (rc=%s)' % err.rc)
        return stderr if len(stderr) <= REASON_MAX else stderr[:REASON_MAX] + '...'
    # cannot happen: the last line is no subcommand; say so rather than carry on as if nothing was committed
    raise BatchError('Internal error: a trial of the remedies ended without an error (semanage import -N of %d lines): '
                     'the store may have been changed. Please report this.' % len(lines))


def quoted(line):
    """An import line as data in a message (JSON string: quotes, backslashes and control characters escaped)."""
    return json.dumps(to_text(line, errors='surrogate_or_replace'))


def explain(lines, batch_error, trial, unchanged):
    """The error to raise for the failed batch ``lines`` (``batch_error``: its CommandFailed): the entry that breaks it
    found by :func:`bisect` over ``trial``, or why it was not looked for. ``unchanged()``: whether the store's local
    customisations are still those the plan was made from (semanage 3.6+ commits an import's deletions first)."""
    details = dict(rc=batch_error.rc, stderr=batch_error.stderr, import_lines=list(lines))
    head = 'semanage import failed for the remedies (rc=%s)' % batch_error.rc
    if lock_held(batch_error):
        return batch_error
    if not unchanged():
        return BatchError('%s, and the local customisations of the store are no longer those this run planned from '
                          '(semanage 3.6 and later commit the deletions of an import in a transaction of their own, '
                          'before the other lines): the entry that failed was not looked for; run again to see what is '
                          'left to do. semanage said: %s' % (head, _said(batch_error)), **details)
    return _named(lines, trial, head, _said(batch_error), details)


def _named(lines, trial, head, said, details, whole=None):
    """The BatchError naming the entry :func:`bisect` finds, or saying why it was not found."""
    try:
        index, reason, trials = bisect(lines, trial, whole)
    except ValueError as err:
        return BatchError('%s: %s. Nothing was changed (one transaction). The entry that breaks it was not looked for: '
                          'the line %s contains -d or -D, which semanage 3.6 and later run in a transaction of their '
                          'own, so a trial of it could be committed.' % (head, said, quoted(err.args[0])), **details)
    except Inconclusive as err:
        return BatchError('%s: %s. Nothing was changed (one transaction). The entry that breaks it was not found: %s.'
                          % (head, said, err), **details)
    details = dict(details, trials=trials + (whole is not None), import_lines=list(lines))
    if index is None:
        return BatchError('%s: %s. Nothing was changed (one transaction). Every one of its %d entries passes semanage '
                          'in a trial (%d trials, none committed): the transaction fails at its commit, as a whole.'
                          % (head, said, len(lines), trials), **details)
    details.update(failed_index=index, failed_line=lines[index], reason=reason)
    return BatchError('semanage refuses entry %d of import_lines, %s: %s. Nothing was changed: none of the %d remedies '
                      'was applied (the entry found in %d trials that were never committed).'
                      % (index, quoted(lines[index]), reason, len(lines), details['trials']), **details)


def _said(err):
    text = to_text(err.stderr or err.stdout or '', errors='surrogate_or_replace').strip() or 'no output'
    return text if len(text) <= REASON_MAX else text[:REASON_MAX] + '...'
