# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the gate: findings acknowledged by ``allow_dangerous``, and the refusal of the others.

The findings come from the verdict (``_policy_verdict``: everything a transaction can change, judged against the
installed policy, documented in ``docs/local_policy_module.md``); :func:`analyse` adds what a rule's text says without
a policy (wildcards, permissions dangerous on any type), for modules the verdict does not judge. Each finding names
ONE granted permission (``allow src_t tgt_t:class perm``) or one statement, so that it can be acknowledged precisely.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_model import permission_reason
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


def _finding(kind, source, target, tclass, perm, reason):
    return {
        'rule': '%s %s %s:%s %s' % (kind, source, target, tclass, perm),
        'reason': reason,
    }


def analyse_rule(statement):
    """Findings of one parsed statement (:class:`_policy_rule.Statement`, from ``_policy_te.parse_te``) that need
    no policy: wildcards, and the permissions dangerous on any type (``_policy_model.permission_reason``), one per
    :class:`_policy_rule.Rule` it writes and permission, in written order. What a rule grants on which types is the
    verdict's (``_policy_verdict``), from the module's CIL and the installed policy. A list of dicts."""
    if statement.kind != 'allow' or not statement.is_rule:
        return []  # not an access rule, or one the compiler will reject with its own message
    wildcard = statement.wildcard
    if wildcard == 'permission':
        return [{'rule': statement.text, 'reason': 'wildcard (* or ~) permission set grants every permission'}]
    if wildcard:
        return [{'rule': statement.text, 'reason': 'wildcard (* or ~) type or class set'}]
    findings = []
    for rule in statement.rules():
        for perm in statement.perms.names:
            why = permission_reason(rule.tclass, perm)
            if why:
                findings.append(_finding(rule.kind, rule.source, rule.target, rule.tclass, perm, why))
    return findings


def analyse(statements):
    """Findings for a list of parsed statements, without duplicates, in statement order."""
    seen = set()
    findings = []
    for statement in statements:
        for finding in analyse_rule(statement):
            if finding['rule'] not in seen:
                seen.add(finding['rule'])
                findings.append(finding)
    return findings


def normalise(text):
    """Whitespace-normalised rule text without ``;``, with ``allow a_t a_t:`` written ``allow a_t self:``."""
    words = str(text).replace(';', ' ').split()
    if len(words) > 2 and words[0] in ('allow', 'allowxperm') and words[2].startswith(words[1] + ':'):
        words[2] = 'self:' + words[2][len(words[1]) + 1:]
    return ' '.join(words)


def acknowledge(findings, allow_dangerous):
    """Mark findings acknowledged by ``allow_dangerous`` (True, or a list of rule texts); return unacknowledged.

    An entry acknowledges a finding when it equals (whitespace-normalised, ``;``
    ignored) the finding's ``rule`` or ``"rule (reason)"``.
    """
    if allow_dangerous is True:
        acked = None
    else:
        acked = set(normalise(item) for item in (allow_dangerous or []))
    missing = []
    for finding in findings:
        text = normalise(finding['rule'])
        full = normalise('%s (%s)' % (finding['rule'], finding['reason']))
        finding['acknowledged'] = acked is None or text in acked or full in acked
        if not finding['acknowledged']:
            missing.append(finding)
    return missing


class DangerousRules(FleetsecError):
    pass


def refusal(what, acknowledge):
    """One refused change, in the vocabulary local_policy_module and remedy share: what it is (a sentence) and
    ``acknowledge``, the exact string that, listed in ``allow_dangerous``, acknowledges it (a rule text for a module,
    the boolean, port, file-context target, path or login for remedy)."""
    return {'refusal': what, 'acknowledge': acknowledge}


def refusal_details(refusals):
    """The failure result's keys for ``refusals`` (each a :func:`refusal`): ``refused`` (the sentences) and
    ``acknowledge`` (the strings to list in ``allow_dangerous``, each once, in order)."""
    keys = []
    for item in refusals:
        if item['acknowledge'] not in keys:
            keys.append(item['acknowledge'])
    return {'refused': [item['refusal'] for item in refusals], 'acknowledge': keys}


def parse_allow_dangerous(value):
    """Normalise the raw ``allow_dangerous`` option: True/False, a list of strings, or a string."""
    if value is None or value is False:
        return []
    if value is True:
        return True
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    text = str(value).strip()
    if text.lower() in ('true', 'yes', 'on', '1'):
        return True
    if text.lower() in ('false', 'no', 'off', '0', ''):
        return []
    return [text]


def gate(name, findings, allow_dangerous):
    """Raise :class:`DangerousRules` naming every unacknowledged finding of module ``name``."""
    missing = acknowledge(findings, allow_dangerous)
    if missing:
        lines = ['%s (%s)' % (f['rule'], f['reason']) for f in missing]
        details = refusal_details([refusal(line, f['rule']) for line, f in zip(lines, missing)])
        raise DangerousRules(
            "Refusing to load module '%s': %d dangerous rule(s) not acknowledged: %s. Review them; to load anyway, "
            "list each rule in allow_dangerous (or set allow_dangerous: true)." % (name, len(missing), '; '.join(lines)),
            dangerous=findings, acknowledge=details['acknowledge'])
