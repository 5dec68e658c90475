# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the verdict on attribute joins (``typeattributeset`` on an attribute of the policy), on both
sides: what the attribute and every attribute holding all its members is granted as a source, who may write it as a
target when the joining type is protected, the constraints it exempts from; and the privileged domains a type is the
entry point of. A part of ``_policy_verdict.Judge``.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _cil as cil
from ansible_collections.fleetsec.selinux.plugins.module_utils import _power as power
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_names import EXAMPLES_SHOWN, examples


BASELINE = 'domain'  # the attribute of every process type (refpolicy and its derivatives)
ENTRY_ATTRIBUTES = frozenset(['exec_type', 'entry_type'])


class Joins(object):
    """Attribute joins, judged (a part of ``_policy_verdict.Judge``)."""

    def _effective(self, member, attribute):
        """The attribute and every attribute that holds all its members (it may be nested in them), less those
        ``member`` is in already."""
        had = self.model.attributes_of(member)
        return [attribute] + sorted(name for name in self.model.containing(attribute) if name not in had)

    def join(self, stmt):
        """Findings of one ``typeattributeset`` on an attribute of the policy (or an unknown one)."""
        attribute, expr = stmt.args
        joined = self.evaluate(expr)
        if joined is None:
            return [('typeattributeset %s %s' % (attribute, cil.to_text_form(expr)),
                     'joins a computed set of types (all, not, xor) to %s: not judged' % attribute)]
        if not self.model.is_attribute(attribute):
            return [('typeattribute %s %s' % (member, attribute),
                     'joins %s, an attribute the installed policy does not define' % attribute)
                    for member in sorted(joined)]
        found = []
        self.prefetch(set(name for member in joined for name in self._effective(member, attribute)))
        for member in sorted(joined):
            if attribute in self.model.attributes_of(member):
                continue  # a member already: nothing changes
            reasons = self._join_reasons(member, attribute)
            if reasons:
                found.append(('typeattribute %s %s' % (member, attribute), '; '.join(reasons)))
        return found

    def _join_reasons(self, member, attribute):
        reasons = []
        if not self.model.attributes.get(attribute):
            reasons.append('%s has no member in the installed policy, so what it is nested in cannot be read from '
                           'the binary policy: not judged' % attribute)
        for name in self._effective(member, attribute):
            held = '' if name == attribute else ' (it holds every member of %s, which may be nested in it)' % attribute
            if name in self.model.exemptions:
                reasons.append('exempts %s from the constraints on %s (%s%s)' % (
                    member, ', '.join(self.model.exemptions[name][:EXAMPLES_SHOWN]), name, held))
            if name == 'unconfined_domain_type':
                reasons.append('makes %s an unconfined domain' % member)
            as_source, as_target = self._rules(name, 'source'), self._rules(name, 'target')
            # what the domain attribute grants, every process type of the policy has: the baseline, not power
            grants = [] if name == BASELINE else self._source_grants(member, name, as_source)
            if grants:
                reasons.append('joins %s%s, which is granted: %s' % (name, held, examples(grants)))
            writers = self._target_writers(member, name, as_target)
            if writers:
                reasons.append('every domain that may write %s%s may now write %s, %s: %s' % (
                    name, held, member, self.protection(member), examples(writers)))
        if not self._rules(attribute, 'source') and not self._rules(attribute, 'target') \
                and attribute not in self.model.exemptions:
            reasons.insert(0, '%s has no rule in the installed policy: its purpose lies in assertions (neverallow) or '
                           "other modules' sources, which the binary policy does not keep; not judged" % attribute)
        return reasons

    def _source_grants(self, member, attribute, rules):
        out = []
        for (kind, source, target, tclass), values in sorted(rules.items()):
            for value in sorted(values):
                if kind == 'type_transition':
                    if tclass == 'process' and self.privileged(value):
                        out.append('type_transition %s %s:%s %s (transition into the privileged domain %s)' % (
                            source, target, tclass, value, value))
                    elif tclass == 'process' and self.controls(value):
                        out.append('type_transition %s %s:%s %s (transition into %s)' % (
                            source, target, tclass, value, self.controls(value)))
                    continue
                is_self = target == attribute
                real = member if is_self else target
                hits = self._grant(set([member]), 'self' if is_self else real, tclass, value)
                if hits:
                    out.append('allow %s %s:%s %s (%s)' % (source, target, tclass, value, hits[0]))
        return out

    def _target_writers(self, member, attribute, rules):
        # a type the transaction declares protects nothing yet: who may write it is judged by its own rules
        if self.declared(member) or not self.protection(member):
            return []
        out = []
        for (kind, source, target, tclass), values in sorted(rules.items()):
            if kind == 'allow' and tclass in power.FILE_CLASSES:
                out.extend('allow %s %s:%s %s' % (source, target, tclass, v) for v in sorted(values & power.WRITE_PERMS))
        return out

    def _entry_candidate(self, type_name):
        return not self.declared(type_name) and bool(self.attributes_of(type_name) & ENTRY_ATTRIBUTES)

    def privileged_entries(self, type_name):
        """The privileged domains whose entry point ``type_name`` is (rules naming it directly)."""
        if not self._entry_candidate(type_name):
            return []
        domains = set()
        for (kind, source, target, tclass), perms in self._rules(self.resolve(type_name), 'target').items():
            if kind == 'allow' and tclass == 'file' and 'entrypoint' in perms:
                domains |= self.members(source)
        return sorted(d for d in domains if self.privileged(d))
