# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the last stage of local_policy_module, and the only one that writes: :func:`apply`.

The store's transaction (one ``semodule`` call for every module), the records, and what is worth keeping for the
next run (interface information, the policy's facts). Check mode and state=generated never call it.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.module_utils.six import string_types

from ansible_collections.fleetsec.selinux.plugins.module_utils._files import keep_answers, write_atomic
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_decide import record_data, record_stale, verbs
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_judgement import failing_well
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_request import PlanError
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_source import carry_generations, generated_path, plain_access
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


def apply(ctx, decisions, findings):
    """Commit the transaction, write the records and :func:`keep` the caches; return {module name: checksum now}.

    ``findings``: {module name: findings} from the verdict, kept in each record."""
    operations = [op for d in decisions for op in d.operations]
    installs = [d for d in decisions if 'install' in verbs(d)]
    checksums = dict((d.source.entry.name, d.checksum) for d in decisions)
    if operations:
        ctx.store.check_record_writable([d.source.entry.name for d in decisions if d.source.entry.kind is not None])
        carries = _carries_generations(ctx, decisions)
        failing_well(ctx, installs, lambda: ctx.store.commit(operations))
        checksums.update(_checksums_after_commit(ctx, installs))
        rebuilt = ctx.policy_digest(fresh=True) if carries else None
        if rebuilt:
            carry_generations(ctx, rebuilt)
    for decision in decisions:
        _record(ctx, decision, checksums[decision.source.entry.name], findings[decision.source.entry.name])
    keep(ctx)
    return checksums


def _carries_generations(ctx, decisions):
    """True when this run's generations stay true for the policy the transaction builds: it only installs plain
    generated modules (:func:`~._policy_source.plain_access`), each over nothing or over the plain module its record
    describes, at the same priority (:func:`~._policy_source.carry_generations` says why). Decided from the store as
    listed before it."""
    if not ctx.generations:
        return False
    for decision in decisions:
        if not decision.operations:
            continue
        entry, record = decision.source.entry, decision.record
        if verbs(decision) != ['install'] or entry.kind != 'denials' or not plain_access(decision.source.parsed):
            return False
        installed = ctx.store.modules().get(entry.name, [])
        if any(found['priority'] != entry.priority for found in installed):
            return False  # it overrides, or is overridden by, a module of the same name at another priority
        if not installed:
            continue
        record = record or {}
        rules = record.get('rules')
        if not (decision.installed_before is not None and record.get('checksum') == decision.installed_before
                and isinstance(rules, list) and rules and all(isinstance(r, string_types) for r in rules)
                and plain_access(rules)):
            return False
    return True


def _checksums_after_commit(ctx, installs):
    """The store is listed again only when something cannot be known beforehand: the name inside a prebuilt
    pp/cil, or a checksum the package could not be converted to."""
    store, checksums = ctx.store, {}
    if not any(d.source.entry.kind in ('pp', 'cil') or d.checksum is None for d in installs):
        return checksums
    store.modules(refresh=True)
    for decision in installs:
        entry = decision.source.entry
        if store.entry(entry.name, entry.priority) is None:
            raise PlanError("Module '%s' is not listed after installing %s: does the package declare another "
                            "module name?" % (entry.name, os.path.basename(decision.package)))
        checksums[entry.name] = store.installed_checksum(entry.name, entry.priority, ctx.workdir()) or decision.checksum
    return checksums


def _record(ctx, decision, checksum, findings):
    """The record of what is installed now: written after a transaction, and for an adopted or unchanged module
    whose record is missing or stale (no transaction needed); removed with the module."""
    entry = decision.source.entry
    if decision.source.skip:
        return
    if entry.state == 'absent':
        if decision.operations:
            ctx.store.remove_record(entry.name)
            forget_generation(ctx, entry.name)
    elif entry.kind is not None and (decision.operations or checksum is not None) \
            and ('install' in verbs(decision) or 'remove' in verbs(decision) or record_stale(decision, checksum)):
        write_record(ctx.store, entry.name, record_data(decision, checksum, findings))


def forget_generation(ctx, name):
    """Remove the kept audit2allow answer of module ``name`` (``_policy_source._generate``) with the module."""
    path = generated_path(ctx.store, name)
    try:
        if os.path.lexists(path):
            os.unlink(path)
    except OSError as err:
        ctx.warnings.append('The kept source of the removed module %s could not be removed (%s); it is unused.'
                            % (name, err))


def write_record(store, name, data):
    store.write_record(name, data)


def keep(ctx):
    """Keep for the next run (0700 folders, 0600 files) the interface information, the policy's facts and the
    generated sources. Each is keyed by what it was derived from (the policy's checksum), so a run outside check mode
    keeps them whether or not it succeeded (the pipeline calls this when a stage fails, :func:`apply` when it ends);
    a cache that cannot be written is only a slower next run: a warning, never a failure (the store may have changed
    already)."""
    ctx.settle()
    for what, path, target in ctx.keep:
        try:
            ctx.store._ensure_dir(os.path.dirname(target))
            with open(path, 'rb') as handle:
                data = handle.read()
            write_atomic(None, target, data, mode=0o600)
        except (IOError, OSError, FleetsecError) as err:
            ctx.warnings.append('The %s could not be kept in %s (%s): the next run makes it again.' % (what, target, err))
    ctx.warnings.extend(keep_answers(ctx.caches, ctx.store.ensure_cache_dir))
