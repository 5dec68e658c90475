# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the fourth stage of local_policy_module: ONE verdict over the whole transaction.

:func:`judge` merges the findings of each module's text (or of its record, or of its expanded refpolicy text) with
the findings of what the transaction would grant on the binary policy (``_policy_verdict``, from the modules' own
CIL and narrow queries of the installed policy), applies each module's ``allow_dangerous``, and refuses what is
not acknowledged, before anything is committed. In check mode and with state=generated it then tries the
transaction on a private copy of the store, so that they report what would fail to link as the real run would.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_grants as grants
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_verdict as verdict
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_decide import verbs
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_request import PlanError
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import read_bytes
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import lock_held
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed


def judged(ctx, decisions):
    """The modules the transaction installs, then those it enables again (an enabled module brings back everything
    it holds)."""
    installs = [d for d in decisions if 'install' in verbs(d)]
    enables = [d for d in decisions if 'enable' in verbs(d) and 'install' not in verbs(d)
               and ctx.store.modules().get(d.source.entry.name)]
    return installs + enables


def judge(ctx, decisions):
    """{module name: its findings, each marked ``acknowledged``}; raises for an unacknowledged finding of a module
    the transaction installs or enables."""
    found = dict((d.source.entry.name, d.findings) for d in decisions)
    gated = judged(ctx, decisions)
    if gated:
        found.update(_binary(ctx, gated))
    result = {}
    for decision in decisions:
        entry = decision.source.entry
        findings = [dict(finding) for finding in found[entry.name]]
        if entry.state != 'absent':
            safety.acknowledge(findings, entry.allow_dangerous)
        result[entry.name] = findings
    for decision in gated:
        entry = decision.source.entry
        safety.gate(entry.name, result[entry.name])  # acknowledged above, once
    if gated and ctx.dry:
        operations = [op for d in decisions for op in d.operations]
        failing_well(ctx, gated, lambda: ctx.store.trial(operations, ctx.workdir()))
    return result


def _binary(ctx, gated):
    """{name: findings} of what the modules grant on the binary policy; {} (with a warning) when the tools are
    missing and every judged module says ``allow_dangerous: true``, else refused before anything is built."""
    texts = None
    if all(ctx.runner.has(name) for name in grants.GRANT_TOOLS):
        texts = [(d.source.entry.name, _cil_text(ctx, d)) for d in gated]
    if texts is None or any(text is None for dummy, text in texts):
        if not all(d.source.entry.allow_dangerous.everything for d in gated):
            raise PlanError(
                "Judging what module(s) %s grant needs setools (sesearch, seinfo) and the store's pp-to-CIL "
                "converter (policycoreutils); install %s. Nothing was changed."
                % (', '.join(d.source.entry.name for d in gated), setools.HINT))
        ctx.warnings.append('setools or the pp-to-CIL converter is missing: what the modules grant was not '
                            'judged (allow_dangerous: true).')
        return {}
    return verdict.judge(ctx.policy().result(), texts)


def _cil_text(ctx, decision):
    """The CIL a module of the transaction reaches the store as (a .te or .pp through the store's converter, its
    file contexts included); the stored module's for one that is enabled again. None: no converter."""
    entry = decision.source.entry
    if 'install' not in verbs(decision):
        data = ctx.store.module_cil(entry.name, ctx.workdir())
    elif entry.kind == 'cil':
        data = read_bytes(decision.package)
    else:
        data = ctx.store.pp_to_cil(decision.package, 'reading %s' % entry.name)
    return None if data is None else to_text(data, errors='surrogate_or_replace')


def failing_well(ctx, decisions, transaction):
    """Run ``transaction``; when it fails for a batch of several installs, find the module that breaks it: each
    install tried alone on a private copy of the store (nothing of the real store changes), the first that fails
    named with semodule's message. A held lock or a lone module fails as it is."""
    try:
        return transaction()
    except CommandFailed as err:
        installs = [d for d in decisions if 'install' in verbs(d)]
        if len(installs) < 2 or lock_held(err):
            raise
        for decision in installs:
            operation = [op for op in decision.operations if op[0] == 'install']
            try:
                ctx.store.trial(operation, ctx.workdir())
            except CommandFailed as alone:
                raise PlanError(
                    "The transaction of %d modules failed, and module '%s' fails alone: %s. Nothing was changed "
                    "(libsemanage applies all or none of a transaction); fix or leave out that module."
                    % (len(installs), decision.source.entry.name, (alone.stderr or alone.stdout or alone.msg).strip()),
                    rc=alone.rc, stdout=alone.stdout, stderr=alone.stderr, cmd=alone.cmd,
                    module=decision.source.entry.name)
        raise
