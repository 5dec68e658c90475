# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the names of one module transaction against the installed policy: what the transaction
declares, aliases and joins (:class:`Transaction`), and what each name stands for (:class:`Names`: members, attributes,
protection, privilege). The base the verdict's parts (``_verdict_grants``, ``_verdict_joins``, ``_verdict_labels``,
``_verdict_access``) read names through.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _power as power


EXAMPLES_SHOWN = 3
REQUIRE = 'cil_gen_require'


def flatten(expr):
    if isinstance(expr, list):
        out = []
        for item in expr:
            out.extend(flatten(item))
        return out
    return [expr]


def examples_in_order(items):
    more = len(items) - EXAMPLES_SHOWN
    return '; '.join(items[:EXAMPLES_SHOWN]) + (' and %d more' % more if more > 0 else '')


def examples(items):
    return examples_in_order(sorted(set(items)))


class Transaction(object):
    """What the modules of one transaction declare, alias and join (names are only meaningful together)."""

    def __init__(self, modules):
        self.modules = modules          # [(module name, [Statement])]
        self.types, self.roles, self.users = set(), set(), set()
        self.attributes = {}            # declared attribute -> [member expressions]
        self.joins = {}                 # attribute of the policy -> [member expressions]
        self.aliases = {}
        # declarations first, joins after: CIL does not care about order, nor about which module of the transaction
        # declares an attribute that another fills
        for keep in (lambda stmt: stmt.keyword != 'typeattributeset', lambda stmt: stmt.keyword == 'typeattributeset'):
            for dummy, statements in modules:
                for stmt in statements:
                    if keep(stmt):
                        self._declare(stmt)

    def _declare(self, stmt):
        args = stmt.args
        if not args or isinstance(args[0], list):
            return
        if stmt.keyword in ('type', 'typealias'):
            self.types.add(args[0])
        elif stmt.keyword == 'typeattribute':
            self.attributes.setdefault(args[0], [])
        elif stmt.keyword == 'role':
            self.roles.add(args[0])
        elif stmt.keyword == 'user':
            self.users.add(args[0])
        elif stmt.keyword == 'typealiasactual' and len(args) == 2:
            self.aliases[args[0]] = args[1]
        elif stmt.keyword == 'typeattributeset' and len(args) == 2 and args[0] != REQUIRE:
            if args[0] in self.attributes:
                self.attributes[args[0]].append(args[1])
            else:
                self.joins.setdefault(args[0], []).append(args[1])


class Names(object):
    """The names of one transaction against one policy: aliases, attribute members (the transaction's own joins
    included), and what each type is - protected, secret, trusted by its label, privileged, in control. The base of
    ``_policy_verdict.Judge``, whose ``__init__`` sets ``model``, ``tx`` and the caches read here."""

    def resolve(self, name):
        return self.model.resolve(self.tx.aliases.get(name, name))

    def declared(self, name):
        name = self.resolve(name)
        return name in self.tx.types or name in self.tx.attributes

    def known(self, name):
        return self.declared(name) or self.model.known(name)

    def universe(self):
        """Every type of the installed policy and of the transaction."""
        if self._universe is None:
            self._universe = set(self.model.types) | set(self.resolve(name) for name in self.tx.types)
        return self._universe

    def evaluate(self, expr, seen=None, computed=False):
        """The types an attribute expression names, or None when it is computed over every type (all, not, xor)."""
        if isinstance(expr, list):
            if expr and expr[0] in ('all', 'not', 'xor'):
                if not computed:
                    return None
                parts = [self.evaluate(item, seen, computed) for item in expr[1:]]
                if any(part is None for part in parts):
                    return None
                if expr[0] == 'all':
                    return set(self.universe())
                if expr[0] == 'not':
                    return self.universe() - (parts[0] if parts else set())
                return (parts[0] ^ parts[1]) if len(parts) == 2 else None
            if expr and expr[0] in ('and', 'or'):
                parts = [self.evaluate(item, seen, computed) for item in expr[1:]]
                if any(part is None for part in parts):
                    return None
                if not parts:
                    return set()
                out = set(parts[0])
                for part in parts[1:]:
                    out = out & part if expr[0] == 'and' else out | part
                return out
            out = set()
            for item in expr:
                part = self.evaluate(item, seen, computed)
                if part is None:
                    return None
                out |= part
            return out
        return self.members(expr, seen)

    def members(self, name, seen=None):
        name = self.resolve(name)
        seen = set() if seen is None else seen
        if name in seen:
            return set()
        seen = seen | set([name])
        if name in self.tx.attributes:
            out = set()
            for expr in self.tx.attributes[name]:
                # the .pp converter writes { a -b }, ~a and * as and/not/all sets: computed over every type; one this
                # reader cannot compute counts as every type (judged as if it held them all)
                part = self.evaluate(expr, seen, computed=True)
                out |= self.universe() if part is None else part
            return out
        out = self.model.members(name) if self.model.is_attribute(name) else set([name])
        for expr in self.tx.joins.get(name, []):
            out |= self.evaluate(expr, seen) or set()
        return out

    def attributes_of(self, type_name):
        if self._attrs_of is None:
            added = {}
            for attribute in list(self.tx.attributes) + list(self.tx.joins):
                for member in self.members(attribute):
                    added.setdefault(member, set()).add(attribute)
            self._attrs_of = added
        type_name = self.resolve(type_name)
        return self.model.attributes_of(type_name) | self._attrs_of.get(type_name, set())

    def protection(self, type_name):
        """Why writing to ``type_name`` hands out power (a family), or None."""
        return self._protection_of(type_name)[0]

    def secret(self, type_name, tclass=None):
        """Whether READING ``type_name`` (as ``tclass``: a device's content is its block or character device, not a
        file of its type such as a virtual machine's image) hands out something too (see
        :func:`_power.protection_of`)."""
        family, secret = self._protection_of(type_name)
        if secret and tclass is not None and family == power.DEVICE_FAMILY:
            return tclass in ('blk_file', 'chr_file')
        return secret

    def _protection_of(self, type_name):
        type_name = self.resolve(type_name)
        if type_name not in self._protection:
            if not self.known(type_name):
                found = ('a type the installed policy does not define (its module is disabled or missing): judged as '
                         'protected', False)
            else:
                found = power.protection_of(self.attributes_of(type_name), type_name, self.model)
            self._protection[type_name] = found
        return self._protection[type_name]

    def trusted_label(self, type_name):
        """The family of a type of the installed policy that is trusted by its label alone (security and
        authentication files, kernel modules, kernel parameters), or None; a type the transaction declares is judged
        by who it lets use it instead."""
        if self.declared(type_name):
            return None
        family = self.protection(type_name)
        return family if power.trusted_by_label(family) else None

    def privileged(self, type_name):
        type_name = self.resolve(type_name)
        if type_name in self.model.privileged:
            return True
        attrs = self.attributes_of(type_name)
        return 'unconfined_domain_type' in attrs or bool(attrs & set(self.model.exemptions))

    def controls(self, domain):
        """'DOMAIN, which controls the policy or the kernel (rules)' when a domain of the installed policy holds
        :data:`_power.CONTROL_PERMS`, else ''. A domain the transaction declares is judged by its own rules."""
        if domain not in self._controls:
            held = [] if self.declared(domain) and not self.model.known(domain) else self.model.controls(domain)
            self._controls[domain] = '%s, which controls the security policy or the kernel (%s)' % (
                domain, examples(held)) if held else ''
        return self._controls[domain]

    def _rules(self, attribute, side):
        return self.model.rules(attribute, side)

    def prefetch(self, attributes):
        """Read the rules of ``attributes`` (both sides) in two queries, before they are judged one by one (kept by
        the model: every judgement against one policy shares them)."""
        self.model.prefetch(attributes)
