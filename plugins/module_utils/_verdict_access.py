# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: who may use a type (the transaction's rules, its attributes' and the policy's own) and what a
relabel to it exposes; the verdict on type rules for objects (``typetransition``/``typechange``/``typemember`` of a
file class), judged as relabels. A part of ``_policy_verdict.Judge``.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _power as power
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_names import EXAMPLES_SHOWN, examples_in_order


class Access(object):
    """Who may use a type, and type rules for objects, judged (a part of ``_policy_verdict.Judge``)."""

    def _exposes(self, access):
        """A test of an old type: whether relabelling it to a new type with ``access`` (None: a type of the policy,
        whoever may use it) hands it out - a domain that gains write on a protected type, or read on a secret one.
        A privileged domain gains nothing, nor a domain whose rule is on an attribute that holds the old type too."""
        if access is None:
            return lambda old_type: bool(self.protection(old_type))

        def exposed(old_type):
            if not self.protection(old_type):
                return False
            for kind, source, via in access:
                if self.privileged(source) or (via is not None and self.resolve(old_type) in self.members(via)):
                    continue
                if kind == 'write' or self.secret(old_type):
                    return True
            return False
        return exposed

    def _whom(self, new_type, access):
        """' to NEW, which the transaction lets X write' (or read), privileged domains left out (they gain nothing)."""
        kinds = dict((kind, sorted(set(source for k, source, via in access or () if k == kind
                                       and not self.privileged(source)))) for kind in ('write', 'read'))
        verb = 'write' if kinds['write'] else 'read'
        if not kinds[verb]:
            return ''
        return ' to %s, which the transaction lets %s %s' % (new_type, ', '.join(kinds[verb][:EXAMPLES_SHOWN]), verb)

    def type_rule(self, stmt, flat):
        """A type rule for objects (``typetransition``/``typechange``/``typemember`` of a file class): what an
        EXISTING domain creates in (or relabels from) ``target`` gets another type - a relabel, judged like a file
        context: the types it displaces (the target's, and those the policy's own rules of that domain give there)
        against who may use the new type. A source attribute stands for each of its members."""
        source, target, tclass, new_type = flat[0], flat[1], flat[2], flat[-1]
        if tclass not in power.FILE_CLASSES:
            return []
        domains = sorted(member for member in self.members(source) if not self.declared(member))
        if not domains:
            return []  # domains of the transaction's own label what they create themselves: their rules are judged
        access = self._access_of(new_type) if self.declared(new_type) else None
        if access is not None and not access:
            return []
        exposed = self._exposes(access)
        displaced = set()
        for member in self.members(target):
            displaced.add(member)
            for domain in domains:
                for (kind, rule_source, rule_target, rule_class), defaults in self._rules(domain, 'source').items():
                    if kind == 'type_transition' and rule_target == member and rule_class == tclass:
                        displaced |= set(defaults)
        hits = sorted('%s (%s)' % (old, self.protection(old)) for old in displaced
                      if self.resolve(old) != self.resolve(new_type) and exposed(old))
        if not hits:
            return []
        return [(stmt.text(), '%s objects that %s makes in or from %s get the type %s instead of what the policy '
                              'protects%s: %s' % (tclass, source, target, new_type, self._whom(new_type, access),
                                                  examples_in_order(hits)))]

    def _access_of(self, type_name):
        """[(kind, source, via)] of who may write / read (``kind``) ``type_name``, a type the transaction declares:
        the transaction's own allow rules (``via`` None), the rules of every attribute of the installed policy the
        type is (or becomes) a member of (``via`` the attribute: the rule reaches the old type too when it is a
        member), and, when the installed policy defines the type already (a new version of a module), the policy's
        own rules on it."""
        type_name = self.resolve(type_name)
        if self._access is None:
            self._access = {}
            for dummy, statements in self.tx.modules:
                for stmt in statements:
                    args = stmt.args
                    if stmt.keyword != 'allow' or len(args) != 3 or not isinstance(args[2], list) \
                            or len(args[2]) != 2 or not isinstance(args[2][1], list) or isinstance(args[0], list):
                        continue
                    tclass, perms = args[2]
                    kinds = self._access_kinds(tclass, perms)
                    if not kinds:
                        continue
                    if args[1] == 'self':
                        targets = self.members(args[0])
                    elif args[1] == 'notself':
                        targets = self.universe()
                    elif args[1] in ('other', 'minusself'):
                        targets = self.members(args[0])
                    else:
                        targets = self.members(args[1])
                    for target in targets:
                        for kind in kinds:
                            for source in self.members(args[0]):
                                self._access.setdefault(target, set()).add((kind, source, None))
        found = set(self._access.get(type_name, set()))
        sides = [(name, name) for name in sorted(self.attributes_of(type_name)) if self.model.is_attribute(name)]
        if self.model.known(type_name):
            sides.append((type_name, None))
        self.prefetch([name for name, dummy in sides])
        for name, via in sides:
            for (kind, source, dummy, tclass), perms in self._rules(name, 'target').items():
                if kind != 'allow':
                    continue
                for which in self._access_kinds(tclass, sorted(perms)):
                    for member in self.members(source):
                        found.add((which, member, via))
        return sorted(found, key=lambda access: (access[0], access[1], access[2] or ''))

    @staticmethod
    def _access_kinds(tclass, perms):
        """'write' and/or 'read' for a permission list on ``tclass`` (file classes only)."""
        if tclass not in power.FILE_CLASSES:
            return []
        named = set(p for p in perms if not isinstance(p, list))
        return [kind for kind, wanted in (('write', power.WRITE_PERMS), ('read', power.READ_PERMS))
                if named & wanted or 'all' in perms or len(named) < len(perms)]
