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

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._power import permission_reason
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


def _finding(kind, source, target, tclass, perm, reason):
    return {
        'rule': '%s %s %s:%s %s' % (kind, source, target, tclass, perm),
        'reason': reason,
    }


def analyse_rule(statement):
    """Findings of one parsed statement (:class:`_policy_rule.Statement`, from ``_policy_te.parse_te``) that need
    no policy: wildcards, and the permissions dangerous on any type (``_power.permission_reason``), one per
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
    words = to_text(text, errors='surrogate_or_strict').replace(';', ' ').split()
    if len(words) > 2 and words[0] in ('allow', 'allowxperm') and words[2].startswith(words[1] + ':'):
        words[2] = 'self:' + words[2][len(words[1]) + 1:]
    return ' '.join(words)


class Acknowledged(object):
    """What ``allow_dangerous`` acknowledges, read once: everything (``true``) or the listed keys. ONE vocabulary for
    local_policy_module and remedy: a key is the exact string a refusal names (a finding's rule text, ``"rule
    (reason)"``, a boolean, a port, a file-context target, a path or a login), compared whitespace-normalised with
    ``;`` ignored (:func:`normalise`). ``key in acknowledged`` asks it."""
    __slots__ = ('everything', 'keys')

    def __init__(self, value=None):
        value = parse_allow_dangerous(value)
        self.everything = value is True
        self.keys = frozenset() if self.everything else frozenset(key for key in map(normalise, value) if key)

    def __contains__(self, key):
        return self.everything or normalise(key) in self.keys

    def covers(self, finding):
        """Whether it acknowledges ``finding`` (a dict with ``rule`` and ``reason``): by its rule or its full text."""
        return finding['rule'] in self or '%s (%s)' % (finding['rule'], finding['reason']) in self

    def __eq__(self, other):
        if not isinstance(other, Acknowledged):
            try:
                other = Acknowledged(other)
            except FleetsecError:
                return False
        return (self.everything, self.keys) == (other.everything, other.keys)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.everything, self.keys))

    def __repr__(self):
        return 'Acknowledged(%r)' % (True if self.everything else sorted(self.keys))


def acknowledge(findings, allow_dangerous):
    """Mark findings acknowledged by ``allow_dangerous`` (an :class:`Acknowledged`, True, or a list of keys); return
    the unacknowledged ones."""
    acked = allow_dangerous if isinstance(allow_dangerous, Acknowledged) else Acknowledged(allow_dangerous)
    missing = []
    for finding in findings:
        finding['acknowledged'] = acked.covers(finding)
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
        wrong = [item for item in value if not isinstance(item, (str, type(u'')))]
        if wrong:
            raise FleetsecError('allow_dangerous: each entry is a string (a rule, boolean, port, file-context target, '
                                'path or login as a refusal names it); got %s. Nothing was changed.'
                                % type(wrong[0]).__name__)
        return [to_text(item) for item in value]
    if isinstance(value, dict):
        raise FleetsecError('allow_dangerous is true, false or a list of strings; got a dictionary. Nothing was '
                            'changed.')
    text = to_text(value).strip()
    if text.lower() in ('true', 'yes', 'on', '1'):
        return True
    if text.lower() in ('false', 'no', 'off', '0', ''):
        return []
    return [text]


def gate(name, findings, allow_dangerous=None):
    """Raise :class:`DangerousRules` naming every unacknowledged finding of module ``name``: those ``allow_dangerous``
    does not acknowledge, or, without it, those :func:`acknowledge` already marked so."""
    if allow_dangerous is None:
        missing = [finding for finding in findings if not finding.get('acknowledged')]
    else:
        missing = acknowledge(findings, allow_dangerous)
    if missing:
        lines = ['%s (%s)' % (f['rule'], f['reason']) for f in missing]
        details = refusal_details([refusal(line, f['rule']) for line, f in zip(lines, missing)])
        raise DangerousRules(
            "Refusing to load module '%s': %d dangerous rule(s) not acknowledged: %s. Review them; to load anyway, "
            "list each rule in allow_dangerous (or set allow_dangerous: true)." % (name, len(missing), '; '.join(lines)),
            dangerous=findings, acknowledge=details['acknowledge'])
