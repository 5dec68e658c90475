# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: one avc_collect capture: the source chosen, read from the checkpoint on, explained, triaged, and the
checkpoint advanced (never in check mode); :func:`capture` gives the module's whole result.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import Collector
from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_sources as sources
from ansible_collections.fleetsec.selinux.plugins.module_utils import _audit2why as a2w
from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy as remedy


def choose_source(params, runner, exists=None):
    exists = exists or os.path.exists
    source = params['source']
    if source != 'auto':
        return source
    if params['paths']:
        return 'file'
    if exists(sources.DEFAULT_PATH):
        return 'ausearch' if runner.has('ausearch') else 'file'
    return 'journal'


def explain_policy(params):
    """Policy file for audit2why -p (None: the loaded policy), refused up front when it is not a readable regular file."""
    policy = params['policy']
    if policy is None and not facts.selinux_active():
        policy = facts.binary_policy()
    if policy is not None:
        try:
            os.close(sources.open_regular(policy)[0])
        except sources.NotReadable as e:
            why = e.reason if e.errno is None else 'cannot be read: %s' % e.reason
            raise sources.SourceError('policy %s %s; give the binary policy file (policy.N) for audit2why; '
                                      'nothing was read.' % (policy, why))
    return policy


class Analysis(object):
    """explain (audit2why) and triage (least-privilege remedies) of the collected denials; everything they need
    is checked before any log is read."""

    def __init__(self, runner, params):
        self.runner = runner
        self.explain = params['explain'] or params['triage']
        self.triage = params['triage']
        self.policy = explain_policy(params) if self.explain else None
        if self.triage:
            for name in ('sesearch', 'seinfo', 'matchpathcon'):
                runner.path(name)  # CommandNotFound names the package
            self.evidence = remedy.Evidence(runner, self.policy or facts.binary_policy(), live=facts.selinux_active())

    def run(self, denials, lines):
        """Add ``explanation`` (and ``remedy``) to each denial; returns the count of each remedy (None without
        triage)."""
        if self.explain and lines:
            explained = a2w.explain(self.runner, lines, self.policy)
            for denial, line in zip(denials, lines):
                denial['explanation'] = explained[line]
        if not self.triage:
            return None
        counts = dict((kind, 0) for kind in remedy.REMEDIES)
        for denial in denials:
            denial['remedy'] = remedy.triage(denial, self.evidence)
            counts[denial['remedy']['remedy']] += 1
        return counts


def _read(runner, params, source, collector, checkpoint):
    """Feed ``collector`` from ``source``; returns the files read with where each stopped (file source only)."""
    warn = runner.module.warn
    if source == 'file':
        paths = params['paths'] or [sources.DEFAULT_PATH]
        return sources.collect_files(paths, params['include_rotated'], collector, checkpoint.previous('file'),
                                     checkpointing=bool(params['checkpoint']), warn=warn)
    if source == 'ausearch':
        keyword = params['since'] if params['since'] in ('boot', 'today', 'recent') else None
        inputs = None
        if params['paths']:
            # ausearch -if finds "no matches" in a directory or an unreadable file, and waits forever on a FIFO
            inputs = sources.readable_files(params['paths'], params['include_rotated'], warn=warn)
        sources.collect_ausearch(runner, collector, keyword, inputs)
    else:
        sources.collect_journal(runner, collector, collector.since)
    return []


def needing_rule(collector, denials):
    """The lines of the triaged denials that only an allow rule fixes (remedy ``allow``), each with every permission
    its (source, target, class) was denied in the capture: triage is per object, the kernel's log is not."""
    keep = set(index for index, denial in enumerate(denials) if denial['remedy']['remedy'] == 'allow')
    return collector.result_lines(keep=keep, widen=True)


def capture(runner, params):
    """The module's result for ``params`` (avc_collect's options): read-only on the host but for the checkpoint,
    which is saved only when it moved and never in check mode. Raises a FleetsecError (nothing saved)."""
    since = sources.since_to_epoch(params['since'])
    analysis = Analysis(runner, params)
    checkpoint = sources.Checkpoint(params['checkpoint'])
    source = choose_source(params, runner)
    collector = Collector(since=since, after=checkpoint.after(),
                          domains=params['domains'], exclude_domains=params['exclude_domains'],
                          comms=params['comms'], tclasses=params['tclasses'], per_object=params['triage'])
    files = _read(runner, params, source, collector, checkpoint)
    checkpoint.advance(source, collector.last_event, files)
    denials = collector.result_denials()
    lines = collector.result_lines()
    remedies = analysis.run(denials, lines)
    allow_lines = needing_rule(collector, denials) if params['triage'] else list(lines)
    checkpoint_updated = not runner.check_mode and checkpoint.save(runner.module)
    return dict(
        changed=False, denials=denials, lines=lines, allow_lines=allow_lines, records=collector.records,
        skipped_lines=collector.result_skipped(), errors=collector.result_errors(),
        checkpoint_updated=checkpoint_updated, source=source, remedies=remedies,
    )
