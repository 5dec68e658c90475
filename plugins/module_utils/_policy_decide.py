# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the third stage of local_policy_module: per module, what the transaction must do.

:func:`decide` compares a :class:`~._policy_source.Source` with its record and the store and gives a
:class:`Decision`: the store operations, the checksums before and after, the package built (only when the record
cannot prove the installed module is this source), and the findings to judge. It reads the store and builds in
the run's private directory; it changes nothing.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import time
from collections import namedtuple

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_build as build
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_te as te_text
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_request import PlanError

RECORD_VERSION = 1

Decision = namedtuple('Decision', ('source', 'record', 'installed_before', 'checksum', 'operations', 'package',
                                   'compiled', 'before_rules', 'findings'))


def verbs(decision):
    return [op[0] for op in decision.operations]


def action(decision):
    return '+'.join(verbs(decision)) or 'none'


def record_data(decision, checksum, findings):
    """What the record of an installed module says (``checksum`` and ``findings`` as known after the verdict and
    the commit)."""
    source = decision.source
    data = {
        'format': RECORD_VERSION, 'name': source.entry.name, 'priority': source.entry.priority,
        'kind': source.entry.kind, 'version': source.version, 'source_sha256': source.source_sha256,
        'checksum': checksum, 'rules': list(source.rules), 'findings': list(findings), 'installed_at': int(time.time()),
    }
    if source.denials is not None:
        data['denials'] = source.denials
    return data


def record_stale(decision, checksum):
    """True when the record no longer describes this module as requested (source, priority, checksum or the
    denials it was generated from)."""
    record, source = decision.record, decision.source
    return (record is None or record.get('source_sha256') != source.source_sha256
            or record.get('priority') != source.entry.priority or record.get('checksum') != checksum
            or (source.denials is not None and record.get('denials') != source.denials))


def build_package(ctx, source):
    """The build: the package in a private directory, (path, package kind, findings of the expanded text or None).
    A refpolicy source is judged by the rules its macros expand to, not by the macro names."""
    entry = source.entry
    directory = ctx.entry_dir(entry.name)
    if entry.kind in ('pp', 'cil'):
        path = os.path.join(directory, '%s.%s' % (entry.name, entry.kind))
        shutil.copyfile(source.path, path)
        os.chmod(path, 0o600)
        return path, entry.kind, None
    built = build.compile_module(ctx.runner, directory, entry.name, source.te, source.fc, source.iface)
    expanded = safety.analyse(te_text.parse_te(built['expanded'])) if built['expanded'] else None
    return built['pp'], 'pp', expanded


def decide(ctx, source, record):
    """The :class:`Decision` for ``source`` against its ``record`` (read once by the caller) and the store."""
    store, entry = ctx.store, source.entry
    installed = store.modules().get(entry.name, [])
    decision = Decision(source, record, None, None, (), None, False,
                        list(record.get('rules', [])) if record else [], list(source.findings))
    if source.skip:
        ctx.warnings.append("Module '%s': nothing installed, %s." % (entry.name, source.skip))
        return decision
    at_priority = store.entry(entry.name, entry.priority)
    if at_priority is not None:
        before = store.installed_checksum(entry.name, entry.priority, ctx.workdir())
        decision = decision._replace(installed_before=before, checksum=before)
    # our module installed at another priority than requested (priority changed, or absent with the default)
    old_priority = record.get('priority') if record else None
    moved = (old_priority is not None and old_priority != entry.priority and store.features()['priority']
             and store.entry(entry.name, old_priority) is not None)
    if entry.state == 'absent':
        operations = []
        if at_priority is not None:
            store.check_ownership(entry.name, record, entry.force)
            operations.append(('remove', entry.priority, entry.name))
        decision = decision._replace(operations=tuple(operations), checksum=None)
    elif entry.kind is None:  # enable/disable what is installed, wherever it is
        if not installed:
            raise PlanError("Module '%s' is not installed: state=%s without a source needs an installed module."
                            % (entry.name, entry.state))
        return decision._replace(operations=_enable(entry, installed))
    else:
        decision = _install(ctx, decision, at_priority is not None)
    if moved:
        decision = decision._replace(operations=decision.operations + (('remove', old_priority, entry.name),))
    if entry.state != 'absent':
        decision = decision._replace(operations=decision.operations + _enable(entry, installed))
    return decision


def _install(ctx, decision, installed):
    """Build only when the record cannot prove the installed module is this source; install when it differs."""
    source, record = decision.source, decision.record
    entry = source.entry
    same_by_record = (
        record is not None and installed and record.get('priority') == entry.priority
        and record.get('source_sha256') == source.source_sha256
        and record.get('checksum') == decision.installed_before and decision.installed_before is not None)
    if same_by_record:
        return decision._replace(findings=list(record.get('findings', decision.findings)))
    package, package_kind, expanded = build_package(ctx, source)
    checksum = ctx.store.built_checksum(package, package_kind)
    decision = decision._replace(package=package, compiled=True, checksum=checksum,
                                 findings=decision.findings if expanded is None else expanded)
    if not installed or checksum is None or checksum != decision.installed_before:
        ctx.store.check_ownership(entry.name, record, entry.force)
        decision = decision._replace(operations=(('install', entry.priority, package),))
    return decision


def _enable(entry, installed):
    want_enabled = entry.state != 'disabled'
    enabled = any(e['enabled'] for e in installed) if installed else True
    if installed and enabled != want_enabled or (not installed and not want_enabled):
        return (('enable' if want_enabled else 'disable', entry.name),)
    return ()
