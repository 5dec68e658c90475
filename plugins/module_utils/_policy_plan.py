# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: local_policy_module as stages of immutable values, run in ONE transaction.

request (``_policy_request``: the validated entries) -> source (``_policy_source``: generated or read, parsed once)
-> decision (``_policy_decide``: against the record, read once, and the store; built only when needed) -> verdict
(``_policy_judgement``: one judgement of the whole transaction, allow_dangerous applied) -> apply
(``_policy_apply``: the only writer; never called in check mode or with state=generated) -> the result.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_grants as grants
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_apply import apply, keep
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_decide import action, decide
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_judgement import judge
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_context import Context
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_source import read
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import read_bytes, sha256_bytes


def rules_diff(name, before, after, priority):
    return {
        'before_header': '%s (priority %s, installed)' % (name, priority),
        'after_header': '%s (priority %s, requested)' % (name, priority),
        'before': ''.join('%s\n' % r for r in before),
        'after': ''.join('%s\n' % r for r in after),
    }


def run(module, runner, store, asked, default_priority):
    """(result, warnings) of local_policy_module for ``asked``, the (entries, single, generating) of
    :func:`~._policy_request.request`. With state=generated the runner is a check-mode one: apply is never called,
    and a changing command would be an error."""
    entries, single, generating = asked
    ctx = Context(module, runner, store, single=single, generating=generating)
    try:
        records, sources = {}, []
        for entry in entries:
            records[entry.name] = store.read_record(entry.name)
            sources.append(read(ctx, entry, records[entry.name]))
        _start_policy_read(ctx, sources, records)
        decisions = [decide(ctx, source, records[source.entry.name]) for source in sources]
        findings = judge(ctx, decisions)
        checksums = None if ctx.dry else apply(ctx, decisions, findings)
        return _result(ctx, decisions, findings, checksums, default_priority), ctx.warnings
    except Exception:  # a refused or failed run keeps what it learnt of the policy (not on KeyboardInterrupt)
        if not ctx.dry:
            keep(ctx)
        raise
    finally:
        ctx.cleanup()


def _start_policy_read(ctx, sources, records):
    """Start reading the installed policy for the verdict beside the listing and the builds, when a module will
    likely be installed (its source is not the one its record describes) or enabled; an unchanged rerun reads
    nothing. Read-only, so harmless when the decision then needs no verdict."""
    if not all(ctx.runner.has(name) for name in grants.GRANT_TOOLS):
        return
    for source in sources:
        entry = source.entry
        if entry.state == 'enabled' and entry.kind is None:
            ctx.policy()
            return
        if entry.kind is not None and entry.state != 'absent' and not source.skip:
            record = records[entry.name]
            if record is None or record.get('source_sha256') != source.source_sha256:
                ctx.policy()
                return


# ------------------------------------------------------------------ result ---
def _collect(ctx, decisions, findings):
    """Findings, dropped denials and boolean hints of every module, each named; their warnings."""
    dangerous, dropped, booleans = [], [], []
    for decision in decisions:
        source = decision.source
        name = source.entry.name
        dangerous.extend(dict(finding, module=name) for finding in findings[name])
        for item in source.dropped:
            dropped.append(dict(item, module=name))
            ctx.warnings.append("Module '%s': denial not allowed by any generated rule (%s): %s"
                                % (name, item['reason'], item['line']))
        for item in source.booleans:
            booleans.append(dict(item, module=name))
            ctx.warnings.append("Module '%s': %s could be allowed by the boolean(s) %s instead"
                                % (name, item['rule'], ', '.join(item['booleans'])))
    return dangerous, dropped, booleans


def _report(decision, checksum):
    source = decision.source
    entry = source.entry
    return {
        'name': entry.name, 'state': entry.state, 'changed': bool(decision.operations), 'action': action(decision),
        'te': source.te, 'fc': source.fc, 'rules': list(source.rules), 'version': source.version, 'checksum': checksum,
        'installed_before': decision.installed_before, 'priority': entry.priority, 'compiled': decision.compiled,
    }


def _result(ctx, decisions, findings, checksums, default_priority):
    dangerous, dropped, booleans = _collect(ctx, decisions, findings)
    per_module = [_report(d, d.checksum if checksums is None else checksums[d.source.entry.name]) for d in decisions]
    actions = ['%s %s' % (m['action'], m['name']) for m in per_module if m['changed']]
    rebuilds = 1 if any(d.operations for d in decisions) else 0
    if ctx.generating:
        for report in per_module:
            report['changed'] = False
        msg = 'generated and judged %s; nothing installed (state=generated)%s' % (
            ', '.join(m['name'] for m in per_module),
            ': %s would need a policy rebuild' % ', '.join(actions) if actions else '')
        actions, rebuilds = [], 0
    elif actions:
        msg = '%s; %d policy rebuild%s%s' % (', '.join(actions), rebuilds, '' if rebuilds == 1 else 's',
                                             ' (check mode)' if ctx.module.check_mode else '')
    else:
        msg = 'all modules up to date, no policy rebuild'
    first = per_module[0] if ctx.single else None
    result = {
        'changed': bool(actions), 'msg': msg, 'rebuilds': rebuilds, 'modules': per_module, 'dangerous': dangerous,
        'dropped': dropped, 'booleans': booleans, 'rules': [rule for m in per_module for rule in m['rules']],
        'te': first['te'] if first else None,
        'checksum': first['checksum'] if first else None,
        'installed_before': first['installed_before'] if first else None,
        'priority': first['priority'] if first else default_priority,
    }
    if ctx.generating:
        result['policy'] = _judged_policy(ctx.store)
    if ctx.module._diff:
        result['diff'] = _diff(decisions, ctx.single)
    return result


def _judged_policy(store):
    """The binary policy the generated modules were judged against: its path and checksum."""
    path = store.policy_file()
    try:
        return {'file': path, 'checksum': sha256_bytes(read_bytes(path))}
    except (IOError, OSError):
        return {'file': path, 'checksum': None}


def _diff(decisions, single):
    def after(decision):
        if decision.source.entry.state == 'absent':
            return []
        return decision.source.rules if decision.source.entry.kind else decision.before_rules

    def before(decision):
        return decision.before_rules if decision.installed_before is not None else []
    if single:
        first = decisions[0]
        return rules_diff(first.source.entry.name, before(first), after(first), first.source.entry.priority)
    return {
        'before': ''.join('%s: %s\n' % (d.source.entry.name, r) for d in decisions for r in before(d)),
        'after': ''.join('%s: %s\n' % (d.source.entry.name, r) for d in decisions for r in after(d)),
    }
