# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: a policy's rules as values, one shape for what a ``.te`` writes and what ``sesearch`` prints.

* :class:`Names`: one set field of a rule as written (``x``, ``{ a b }``, ``~{ a }``, ``~x``, ``*``), read once.
* :class:`Statement`: one statement of a ``.te`` (``_policy_te.parse_te``): its kind, its normalised text, and for
  a rule its set fields; for a refpolicy macro call its name and arguments.
* :class:`Rule`: one rule with ONE source, target and class and a set of permissions (for a type rule, the default
  type): what ``sesearch`` prints (``_setools.parse_rules``) and what a statement expands to
  (:meth:`Statement.rules`). Coverage (``_policy_denials.granted``), the text checks of the gate (``_policy_safety``),
  the verdict's judgement of policy rules (``_policy_verdict.rule_findings``) and remedy's evidence read this one
  shape.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from collections import namedtuple

_SET_RE = re.compile(r'^(~)?\{([^{}]*)\}$')
_NEGATED_BRACE_RE = re.compile(r'~\s*\{')

AV_KINDS = ('allow', 'auditallow', 'dontaudit', 'neverallow')
TYPE_KINDS = ('type_transition', 'type_change', 'type_member')
RULE_KINDS = AV_KINDS + TYPE_KINDS


class Names(namedtuple('Names', ['negated', 'names', 'text'])):
    """A set field of a rule: ``negated`` (``~``), ``names`` (a tuple, in written order) and ``text`` (the field,
    whitespace-normalised, as it is written back into the rule's text)."""
    __slots__ = ()

    @classmethod
    def parse(cls, field):
        text = _NEGATED_BRACE_RE.sub('~{', ' '.join(field.split()))
        match = _SET_RE.match(text)
        if match:
            return cls(bool(match.group(1)), tuple(match.group(2).split()), text)
        if text.startswith('~'):
            return cls(True, (text[1:].strip(),), text)
        return cls(False, (text,), text)

    @property
    def wildcard(self):
        """True when the field does not list what it means: ``~`` or ``*``; what it covers depends on the policy."""
        return self.negated or '*' in self.names

    def __str__(self):
        return self.text


class Rule(namedtuple('Rule', ['kind', 'source', 'target', 'tclass', 'perms', 'condition'])):
    """One rule as ``sesearch`` prints it. ``perms``: a frozenset of permissions; for a type rule (``type_transition``,
    ``type_change``, ``type_member``) the default type. ``condition``: a ``_setools.Condition`` or None. A rule
    expanded from a ``.te`` keeps ``self`` as its target when the statement says ``self``."""
    __slots__ = ()


class Statement(namedtuple('Statement', ['kind', 'text', 'source', 'target', 'tclass', 'perms', 'default', 'name',
                                         'args'])):
    """One parsed ``.te`` statement. ``kind``: the rule's keyword, ``call`` (a refpolicy macro call, with ``name``
    and ``args``), ``malformed`` (a rule this grammar cannot read; the compiler reports it) or the statement's first
    word. ``text``: whitespace-normalised, ending with ``;`` (a call without it). A rule has :class:`Names` in
    ``source``, ``target``, ``tclass``; an access rule in ``perms``, a type rule its ``default`` type."""
    __slots__ = ()

    @classmethod
    def other(cls, kind, text, name=None, args=None):
        return cls(kind, text, None, None, None, None, None, name, tuple(args or ()))

    @classmethod
    def rule(cls, kind, source, target, tclass, perms=None, default=None, objname=''):
        source, target, tclass = Names.parse(source), Names.parse(target), Names.parse(tclass)
        if default is None:
            perms = Names.parse(perms)
            text = '%s %s %s:%s %s;' % (kind, source, target, tclass, perms)
        else:
            text = '%s %s %s:%s %s%s;' % (kind, source, target, tclass, default, objname or '')
        return cls(kind, text, source, target, tclass, perms, default, None, ())

    @property
    def is_rule(self):
        return self.source is not None

    @property
    def wildcard(self):
        """Which field of the rule does not list what it grants: ``permission`` (a ``~`` or ``*`` permission set),
        ``type or class``, or None."""
        if not self.is_rule:
            return None
        if self.perms is not None and self.perms.wildcard:
            return 'permission'
        if self.source.wildcard or self.target.wildcard or self.tclass.wildcard:
            return 'type or class'
        return None

    def rules(self):
        """The :class:`Rule` values this statement writes, one per source, target and class, in written order; none
        when it is not a rule or has a wildcard (what that grants depends on the policy: the verdict's)."""
        if not self.is_rule or self.wildcard:
            return ()
        perms = frozenset([self.default] if self.default is not None else self.perms.names)
        return tuple(Rule(self.kind, source, target, tclass, perms, None)
                     for source in self.source.names for target in self.target.names for tclass in self.tclass.names)
