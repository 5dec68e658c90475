# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the one reader of setools' output, and the one place that asks a binary policy questions with it.

Every ``sesearch`` and ``seinfo`` answer the collection reads is parsed here, in the forms of setools 4 (EL8 and
later, Debian) and setools 3 (EL7's setools-console 3.3.8), into small typed values: :class:`_policy_rule.Rule`
(kind, source, target, class, a frozenset of permissions, an optional :class:`Condition`), booleans, users and their
roles, attributes and their members, types with their attributes and aliases, port labels, classes and their
permissions, the attributes constraints exempt from (:func:`parse_exemptions`), genfscon labels.

:class:`Policy` asks one binary policy file those questions, each one once per module run (:func:`policy` hands
out one instance per runner and policy file, so the gate, the triage and the remedy share the answers). It knows
the two setools generations' flags: setools 3 has ``-d``/``-R`` for both sides where setools 4 has ``-ds``/``-dt``
and ``-rs``/``-rt``, and marks a conditional rule only when asked (``-C``).

What the rules MEAN is judged elsewhere (``_policy_verdict``, ``_remedy``). Not part of the public API of the
collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
from collections import namedtuple

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import SETOOLS
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_rule import RULE_KINDS, Rule
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Command

HINT = SETOOLS
TOOLS = ('sesearch', 'seinfo')


class Condition(namedtuple('Condition', ['expression', 'branch'])):
    """The boolean expression guarding a rule, in setools 4's infix words whichever setools printed it (setools 3's
    postfix is turned into them by :func:`infix`), and the branch the rule is in (True: it applies while the
    expression is true)."""
    __slots__ = ()

    def boolean(self):
        """The one boolean of an expression that is a single boolean, else None."""
        words = self.expression.split()
        return words[0] if len(words) == 1 and re.match(r'^\w+$', words[0]) else None

    def text(self):
        """``[ expression ]:True`` (setools 4's words, whichever setools printed it)."""
        return '[ %s ]:%s' % (self.expression, self.branch)


# setools 4's operator precedences (setools/policyrep/boolcond.pxi, ConditionalOperator)
_PRECEDENCE = {'!': 5, '||': 1, '&&': 3, '^': 2, '==': 4, '!=': 4}


def _flat(items):
    out = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flat(item))
        else:
            out.append(item)
    return out


def infix(postfix):
    """setools 4's words for a conditional expression that setools 3 prints in postfix (libapol's
    ``apol_cond_expr_render``: ``httpd_enable_cgi httpd_unified && httpd_builtin_scripting &&``): both print the
    policy's one postfix node list, setools 4 through ConditionalExpression.__str__, done here the same way (the
    operand popped first comes first, parentheses unless the previous operator binds tighter), which gives
    ``( httpd_builtin_scripting && httpd_unified && httpd_enable_cgi )``. An expression that is no valid postfix is
    returned as it is."""
    stack, previous = [], _PRECEDENCE['!']
    try:
        for word in postfix.split():
            if word not in _PRECEDENCE:
                stack.append(word)
            elif word == '!':
                operand = stack.pop()
                stack.append(['!', '(', operand, ')'] if isinstance(operand, list) else ['!', operand])
                previous = _PRECEDENCE[word]
            else:
                first, second = stack.pop(), stack.pop()
                if previous > _PRECEDENCE[word]:
                    stack.append([first, word, second])
                else:
                    stack.append(['(', first, word, second, ')'])
                previous = _PRECEDENCE[word]
    except IndexError:
        return postfix
    return ' '.join(_flat(stack)) if len(stack) == 1 else postfix


_RULE_RE = re.compile(r'^(%s)\s+(\S+)\s+(\S+?)\s*:\s*(\S+)\s+(\{[^}]*\}|[^\s{};]+)' % '|'.join(RULE_KINDS))
# setools 3: "ET " (enabled, true list), "DF ", ... before a conditional rule shown with -C; "[   123] " with -n
_FLAGS3_RE = re.compile(r'^([ED])([TF])\s+')
_LINENO3_RE = re.compile(r'^\[\s*\d+\]\s+')
_COND4_RE = re.compile(r'^\[\s*(.*?)\s*\]:(True|False)\s*$')
_COND3_RE = re.compile(r'^\[\s*(.*?)\s*\]\s*$')


def parse_rules(text):
    """The rules of ``sesearch`` output (setools 3 and 4) as a list of :class:`Rule`, in the order printed.

    setools 4: ``allow a_t b_t:file { read open }; [ bool ]:True``. setools 3: ``   allow a_t b_t : file { read
    open } ;`` and, with ``-C``, ``ET allow ... ; [ a b && ]`` where the second letter says whether the rule is in the
    true list and the expression is postfix (turned into setools 4's infix words, :func:`infix`). Header lines and
    rules of other kinds (``allowxperm``, role rules) are skipped."""
    rules = []
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        line = raw.strip()
        flags = _FLAGS3_RE.match(line)
        if flags:
            line = line[flags.end():]
        line = _LINENO3_RE.sub('', line)
        body, dummy, rest = line.partition(';')
        match = _RULE_RE.match(body.strip())
        if not match:
            continue
        kind, source, target, tclass, perms = match.groups()
        condition = None
        rest = rest.strip()
        cond4, cond3 = _COND4_RE.match(rest), _COND3_RE.match(rest)
        if cond4:
            condition = Condition(cond4.group(1), cond4.group(2) == 'True')
        elif cond3:
            condition = Condition(infix(cond3.group(1)), flags is None or flags.group(2) == 'T')
        rules.append(Rule(kind, source, target, tclass, frozenset(perms.strip('{} ').split()), condition))
    return rules


def asked_kinds(rules, kinds):
    """``rules`` without the type rules that setools 3's ``-T`` answers beyond setools 4's: setools 3's ``-T``
    (``--type``) searches type_transition, type_change and type_member rules, setools 4's ``-T`` (``--type_trans``)
    type_transition rules only (``--type_change``/``--type_member`` are flags of their own)."""
    if '-T' not in kinds:
        return rules
    wanted = set(['type_change'] if '--type_change' in kinds else []) | set(
        ['type_member'] if '--type_member' in kinds else [])
    return [rule for rule in rules if rule.kind not in ('type_change', 'type_member') or rule.kind in wanted]


def rule_map(rules, kinds=('allow', 'type_transition')):
    """{(kind, source, target, class): set(perms)} of ``rules`` of ``kinds``, conditions dropped (a rule counts
    whatever boolean guards it); for a type transition the "permission" is the default type."""
    found = {}
    for rule in rules:
        if rule.kind in kinds:
            found.setdefault((rule.kind, rule.source, rule.target, rule.tclass), set()).update(rule.perms)
    return found


_BOOL4_RE = re.compile(r'^\s*bool\s+(\S+)\s+(true|false);?\s*$')
_BOOL3_RE = re.compile(r'^\s*(\S+):\s+(TRUE|FALSE)\s*$')


def parse_booleans(text):
    """{boolean: value} of ``seinfo -b -x``: ``bool NAME true;`` (setools 4), ``   NAME: TRUE`` (setools 3)."""
    values = {}
    for line in to_text(text or '', errors='surrogate_or_strict').splitlines():
        match = _BOOL4_RE.match(line) or _BOOL3_RE.match(line)
        if match:
            values[match.group(1)] = match.group(2).lower() == 'true'
    return values


_USER4_RE = re.compile(r'^\s*user\s+(\S+)\s+roles\s+(?:\{([^}]*)\}|([^\s;]+))')


def parse_users(text):
    """{SELinux user: set(roles)} of ``seinfo -u -x``: ``user staff_u roles { staff_r sysadm_r } level ...;``
    (setools 4); a user line, then ``roles:`` and one role per deeper line (setools 3). ``object_r``, which the
    compiler gives every user and setools 3 lists, is left out as setools 4 leaves it out."""
    users, current, in_roles = {}, None, False
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        match = _USER4_RE.match(raw)
        if match:
            users[match.group(1)] = set((match.group(2) or match.group(3) or '').replace(';', ' ').split())
            current = None
            continue
        line = raw.expandtabs(8)
        indent, word = len(line) - len(line.lstrip()), line.strip()
        if not word or _HEADER_RE.match(word):
            continue
        if indent <= 3 and ' ' not in word:
            current, in_roles = word, False
            users[current] = set()
        elif current is None:
            continue
        elif word == 'roles:':
            in_roles = True
        elif ':' in word:
            in_roles = False  # "default level: s0", "range: s0 - s0:c0.c1023"
        elif in_roles and word != 'object_r':
            users[current].add(word)
    return users


_HEADER_RE = re.compile(r'^[A-Z][A-Za-z ]+:\s*\d+$')


def parse_names(text):
    """Names listed by one ``seinfo POLICY -x`` query (``-u``, ``-r``, ``-t``, ...) or a plain ``seinfo -t``, header
    lines dropped; ``foo_t, alias bar_t`` gives ``foo_t``."""
    names = set()
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        line = raw.strip()
        if line and not line.endswith(':') and not _HEADER_RE.match(line):
            names.add(line.split()[0].rstrip(',;'))
    return names


def parse_attributes(text):
    """``seinfo -a -x`` output (setools 3 and 4) as {attribute: set(member types)}. An attribute without a member
    is empty in both (setools 4 prints ``<empty attribute>`` under it, setools 3 nothing)."""
    attributes = {}
    current = None
    header_indent = None
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        raw = raw.expandtabs(8)  # setools 4 indents members with a tab, headers with spaces
        line = raw.strip()
        if not line or _HEADER_RE.match(line):
            continue
        indent = len(raw) - len(raw.lstrip())
        if line.startswith('attribute '):
            current = line[len('attribute '):].rstrip(';').strip()
            attributes[current] = set()
            header_indent = indent
            continue
        if header_indent is None or indent <= header_indent:
            # setools 3: "   name" headers, members indented deeper
            current = line.rstrip(';')
            attributes[current] = set()
            header_indent = indent
            continue
        if current is not None and line != '<empty attribute>':
            attributes[current].add(line.rstrip(',;'))
    return attributes


def members_of(text):
    """The member types of ``seinfo -a ATTRIBUTE -x`` (one attribute queried)."""
    members = set()
    for names in parse_attributes(text).values():
        members |= names
    return members


_TYPE4_RE = re.compile(r'^type\s+(\S+?)(?:\s+alias\s+(\{[^}]*\}|\S+?))?\s*(?:,|;|$)')


def parse_types(text):
    """``seinfo POLICY -t -x`` output as ({type: set(attributes)}, {alias: type}): ``type httpd_t alias
    { phpfpm_t }, domain;`` (setools 4); a type line and its attributes one per deeper line (setools 3, which lists
    no aliases there)."""
    types, aliases = {}, {}
    current, header_indent = None, None
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        line = raw.strip()
        match = _TYPE4_RE.match(line)
        if match:
            name = match.group(1).rstrip(',;')
            types[name] = set(word.strip(',;') for word in line[match.end():].split() if word.strip(',;'))
            for alias in match.group(2).strip('{} ,;').split() if match.group(2) else ():
                aliases[alias] = name
            current = None
            continue
        if not line or _HEADER_RE.match(line):
            continue
        indent = len(raw.expandtabs(8)) - len(raw.expandtabs(8).lstrip())
        if header_indent is None or indent <= header_indent:
            current, header_indent = line.rstrip(',;'), indent
            types[current] = set()
        elif current is not None:
            types[current].add(line.rstrip(',;'))
    return types, aliases


def split_sections(text):
    """{heading: text} of a ``seinfo`` run that lists several components (headings such as ``Types: 5121`` start a
    line; setools 3 indents them by a few spaces). setools 3's ``Constraints`` come back in setools 4's words
    (:func:`constraints3`, with the run's ``Attributes`` when it listed them)."""
    sections, current = {}, None
    for line in to_text(text or '', errors='surrogate_or_strict').splitlines():
        match = re.match(r'^\s{0,3}([A-Z][A-Za-z ]+):\s*\d+\s*$', line)
        if match:
            current = sections.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    found = dict((name, '\n'.join(lines)) for name, lines in sections.items())
    if _CONSTRAIN3_RE.search(found.get('Constraints', '')):
        found['Constraints'] = constraints3(found['Constraints'], parse_attributes(found.get('Attributes', '')))
    return found


# setools 3's ``seinfo --constrain``: a head line ``constrain { file } { create relabelto  }`` (mlsconstrain, ...),
# then the expression in postfix, every attribute expanded into its types: ``(  u1 u2 ==  t1 { a_t b_t } ==  || );``
_CONSTRAIN3_RE = re.compile(r'^\s*(constrain|mlsconstrain|validatetrans|mlsvalidatetrans)\s+\{([^}]*)\}\s*'
                            r'(?:\{([^}]*)\})?\s*$', re.M)
# setools 4's words and precedences (setools/policyrep/constraint.pxi, ConstraintExpression.infix)
_CONSTRAINT_WORDS = {'!': 'not', '&&': 'and', '||': 'or'}
_CONSTRAINT_SYMBOLS = frozenset(['u1', 'u2', 'u3', 'r1', 'r2', 'r3', 't1', 't2', 't3', 'l1', 'l2', 'h1', 'h2'])
_CONSTRAINT_PRECEDENCE = {'not': 4, 'and': 2, 'or': 1, '==': 3, '!=': 3, 'dom': 3, 'domby': 3, 'incomp': 3}


def _constraint_names(types, by_members):
    """The name(s) for a set of types setools 3 printed: the attribute whose members they are, every such attribute
    when several have exactly these members (setools 3 does not say which one the policy names: all of them, so a
    reader errs on the side of more names), else the types."""
    names = sorted(by_members.get(frozenset(types), ())) or sorted(types)
    return names[0] if len(names) == 1 else '{ %s }' % ' '.join(names)


def constraint_infix(postfix, by_members=None):
    """setools 4's infix words for one setools 3 constraint expression (the text between its parentheses), as
    setools 4's ConstraintExpression.infix builds them from the same postfix: ``u1 u2 ==  t1 { a_t b_t } ==  ||``
    -> ``u1 == u2 or ( t1 == NAME )``, NAME from ``by_members`` ({frozenset(members): [attributes]}, see
    :func:`_constraint_names`). An expression that is no valid postfix is returned as it is."""
    stack, previous = [], _CONSTRAINT_PRECEDENCE['not']
    try:
        for token in re.findall(r'\{[^}]*\}|\S+', postfix):
            word = _CONSTRAINT_WORDS.get(token, token)
            if word in _CONSTRAINT_SYMBOLS:
                stack.append(word)
            elif word not in _CONSTRAINT_PRECEDENCE:  # names: "{ a_t b_t }", or one name without braces
                stack.append(_constraint_names(token.strip('{} ').split(), by_members or {}))
            elif word == 'not':
                stack.append(['not', '(', stack.pop(), ')'])
            else:
                second, first = stack.pop(), stack.pop()
                if _CONSTRAINT_PRECEDENCE[word] < previous:
                    stack.append([first, word, second])
                else:
                    stack.append(['(', first, word, second, ')'])
            previous = _CONSTRAINT_PRECEDENCE[word] if word in _CONSTRAINT_PRECEDENCE else previous
    except IndexError:
        return postfix.strip()
    return ' '.join(_flat(stack)) if len(stack) == 1 else postfix.strip()


def constraints3(text, attributes=None):
    """setools 3's ``seinfo --constrain`` text in setools 4's words, one line a class: ``constrain file { create
    relabelto } (u1 == u2 or ( t1 == can_change_object_identity ));``. setools 3 prints every attribute of a
    constraint expanded into its types; ``attributes`` ({attribute: members}, :func:`parse_attributes`) names them
    again (:func:`_constraint_names`)."""
    by_members = {}
    for name, members in (attributes or {}).items():
        if members:
            by_members.setdefault(frozenset(members), []).append(name)
    lines, head = [], None
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        line = raw.strip()
        match = _CONSTRAIN3_RE.match(line)
        if match:
            head = match
        elif head is not None and line.startswith('(') and line.endswith(');'):
            kind, classes, perms = head.group(1), head.group(2).split(), (head.group(3) or '').split()
            expression = constraint_infix(line[1:-2], by_members)
            shown = ('{ %s } ' % ' '.join(perms)) if len(perms) > 1 else ''.join(word + ' ' for word in perms)
            for tclass in classes:
                lines.append('   %s %s %s(%s);' % (kind, tclass, shown, expression))
            head = None
    return '\n'.join(lines)


_PORTCON_RE = re.compile(r'^\s*portcon\s+(\S+)\s+(\d+)(?:-(\d+))?\s+\S+?:\S+?:(\S+?)(?::|\s*$)')


_CONSTRAINT_ATTR = re.compile(r'\bt[123]\s*==\s*(\{[^}]*\}|[A-Za-z0-9_.$-]+)')


def _words(field):
    return field.strip('{} ,;').split()


def parse_exemptions(text):
    """{attribute: [classes]} of the names a constraint compares with ``==`` (t1 == can_change_object_identity):
    a type that joins one is exempted from that constraint."""
    found = {}
    for raw in (text or '').splitlines():
        line = raw.strip()
        words = line.split()
        tclass = words[1] if len(words) > 1 and words[0] in ('constrain', 'mlsconstrain', 'validatetrans',
                                                             'mlsvalidatetrans') else '?'
        for match in _CONSTRAINT_ATTR.finditer(line):
            for name in _words(match.group(1)):
                found.setdefault(name, [])
                if tclass not in found[name]:
                    found[name].append(tclass)
    return found


def parse_genfscon(text):
    """[(file system, type)] of ``seinfo --genfscon -x`` (setools 3 and 4: ``genfscon sysfs /  u:r:sysfs_t:s0``)."""
    found = []
    for line in to_text(text or '', errors='surrogate_or_strict').splitlines():
        words = line.split()
        if len(words) >= 4 and words[0] == 'genfscon':
            parts = words[-1].split(':')
            if len(parts) >= 3:
                found.append((words[1], parts[2]))
    return found


def parse_portcon(text):
    """``[(protocol, low, high, type)]`` of ``seinfo --portcon`` output (setools 3 and 4 print the same line)."""
    out = []
    for line in to_text(text or '', errors='surrogate_or_strict').splitlines():
        match = _PORTCON_RE.match(line)
        if match:
            low = int(match.group(2))
            out.append((match.group(1), low, int(match.group(3) or low), match.group(4)))
    return out


def class_blocks(text, keyword):
    """{name: [inherited common or None, set(permissions)]} of ``seinfo POLICY -c -x`` / ``--common -x`` output."""
    found, current = {}, None
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        words = raw.split()
        if len(words) == 2 and words[0] == keyword:
            current = found.setdefault(words[1], [None, set()])
        elif current is not None and len(words) == 2 and words[0] == 'inherits':
            current[0] = words[1]
        elif current is not None and len(words) == 1 and words[0] not in ('{', '}'):
            current[1].add(words[0])
    return found


def classes3(text):
    """{class: set(permissions)} of setools 3's ``seinfo POLICY -c -x``: ``   file`` then one permission per deeper
    line, its common's permissions among them (setools 3 has no ``--common``)."""
    found, current = {}, None
    for raw in to_text(text or '', errors='surrogate_or_strict').splitlines():
        line = raw.expandtabs(8)
        word = line.strip()
        if not word or _HEADER_RE.match(word) or ' ' in word:
            continue
        if len(line) - len(line.lstrip()) <= 3:
            current = found.setdefault(word, set())
        elif current is not None:
            current.add(word)
    return found


def search_args(generation=4, kinds=('-A',), source=None, target=None, tclass=None, perms=None, boolean=None,
                direct=False, regex=False):
    """sesearch's arguments (without the policy) for a query, in the flags of setools ``generation`` (3 or 4).
    ``direct``/``regex``: the named sides are matched without their attributes / as regular expressions (setools 3
    has one flag each for both sides)."""
    old = generation < 4
    args = list(kinds)
    for flag, value, side in (('-s', source, 's'), ('-t', target, 't')):
        if value:
            args += [flag, value]
            if not old:
                args += (['-r' + side] if regex else []) + (['-d' + side] if direct else [])
    if old:
        args += (['-R'] if regex and (source or target) else []) + (['-d'] if direct and (source or target) else [])
        args += ['-C']  # setools 3 marks a conditional rule only when asked
    if tclass:
        args += ['-c', tclass]
    if perms:
        args += ['-p', ','.join(perms) if isinstance(perms, (list, tuple, set, frozenset)) else perms]
    if boolean:
        # a regular expression of booleans: setools 4's -rb (setools 3 has no flag of its own for it)
        args += ['-b', boolean] + (['-rb'] if regex and not old else [])
    return args


# One pass over the policy's rules for several queries, run by the Python of setools 4's own sesearch: each sesearch
# run walks every rule of the policy (about 330,000 on the EL9 targeted policy: 1.6 s of CPU each), this walks them
# once. argv: the policy, then JSON [query], each query one of
#   {"source": NAME}: allow rules whose source is NAME itself (sesearch -A -s NAME -ds, allow rules only);
#   {"perms": [...]}: allow rules with any of the permissions (sesearch -A -p P,...);
#   {"sources": [NAME...], "kinds": [FLAG...]} / {"targets": [...], "kinds": [...]}: the rules of the kinds of
#   sesearch's FLAGs (-A: allow and allowxperm, -T: type_transition) written on one of the NAMEs itself, as source /
#   as target (sesearch FLAG... -s '^(NAME|...)$' -rs -ds, or -t ... -rt -dt).
# Prints "INDEX<TAB>rule" as sesearch prints the rule (str() of setools' rule, what sesearch prints).
_SCRIPT_PRELUDE = """
import json, sys
import setools
policy = setools.SELinuxPolicy(sys.argv[1] or None)
T = setools.TERuletype
FLAGS = {'-A': (T.allow, T.allowxperm), '-T': (T.type_transition,)}
"""
SCAN_SCRIPT = _SCRIPT_PRELUDE + """
queries = json.loads(sys.argv[2])
def kinds(query):
    if 'kinds' not in query:
        return frozenset([T.allow])
    return frozenset(kind for flag in query['kinds'] for kind in FLAGS[flag])
def names(query, key):
    if key == 'sources' and 'source' in query:
        return frozenset([query['source']])
    return frozenset(query[key]) if key in query else None
wanted = [(kinds(q), names(q, 'sources'), names(q, 'targets'), frozenset(q['perms']) if 'perms' in q else None)
          for q in queries]
every = frozenset(kind for query in wanted for kind in query[0])
found = [[] for q in queries]
for rule in policy.terules():
    ruletype = rule.ruletype
    if ruletype not in every:
        continue
    source = target = perms = None
    for index, (types, sources, targets, anyof) in enumerate(wanted):
        if ruletype not in types:
            continue
        if sources is not None:
            source = str(rule.source) if source is None else source
            if source not in sources:
                continue
        if targets is not None:
            target = str(rule.target) if target is None else target
            if target not in targets:
                continue
        if anyof is not None:
            perms = rule.perms if perms is None else perms
            if not anyof & perms:
                continue
        found[index].append(str(rule))
for index, rules in enumerate(found):
    for text in sorted(rules):
        sys.stdout.write('%d\\t%s\\n' % (index, text))
"""

# The rules sesearch answers for booleans (-b NAME, or -b '^(NAME|...)$' -rb), read from the policy's conditional
# blocks themselves: sesearch walks every rule of the policy (about 330,000 on the EL9 targeted policy, seconds) to
# keep those whose conditional names one of the booleans; setools' own walk takes the conditional rules from each
# conditional's true and false lists (SELinuxPolicy.terules), which this reads directly, for the conditionals that
# name one of them. argv: the policy ('' for the loaded one), JSON {"booleans": [NAME...], "kinds": [FLAG...]}.
# Prints each rule as sesearch prints it, in sesearch's order (sorted by text). A name the policy does not have
# (what sesearch refuses for one name) exits 3 without output: the caller asks sesearch, for its own answer.
BOOLEAN_SCRIPT = _SCRIPT_PRELUDE + """
query = json.loads(sys.argv[2])
names = frozenset(query['booleans'])
if len(names) == 1 and not sys.argv[1]:
    # sesearch without a policy file reads the old names of booleans.subs_dist as the new ones
    names = frozenset(setools.policyrep.lookup_boolean_name_sub(name) for name in names)
if len(names) == 1 and not names & frozenset(str(boolean) for boolean in policy.bools()):
    sys.exit(3)
kinds = frozenset(kind for flag in query['kinds'] for kind in FLAGS[flag])
found = []
for conditional in policy.conditionals():
    if not names & frozenset(str(boolean) for boolean in conditional.booleans):
        continue
    for rules in (conditional.true_rules(), conditional.false_rules()):
        found.extend(str(rule) for rule in rules if rule.ruletype in kinds)
for text in sorted(found):
    sys.stdout.write(text + '\\n')
"""


def name_pattern(names):
    """The regular expression sesearch matches exactly one of ``names`` with."""
    return '^(%s)$' % '|'.join(re.escape(name) for name in sorted(names))


def scan_queries(queries, generation=4):
    """sesearch's arguments (in the flags of setools ``generation``) of each :data:`SCAN_SCRIPT` query: what the one
    pass answers, asked one query at a time."""
    def args(query):
        if 'sources' in query or 'targets' in query:
            side = 'source' if 'sources' in query else 'target'
            return search_args(generation, kinds=tuple(query['kinds']), regex=True, direct=True,
                               **{side: name_pattern(query[side + 's'])})
        if 'source' in query:
            return search_args(generation, source=query['source'], direct=True)
        return search_args(generation, perms=query['perms'])
    return [args(query) for query in queries]


def split_scan(text, count):
    """The rule text of each of ``count`` queries from :data:`SCAN_SCRIPT`'s output."""
    texts = [[] for dummy in range(count)]
    for line in (text or '').splitlines():
        index, sep, rule = line.partition('\t')
        if sep and index.isdigit() and int(index) < count:
            texts[int(index)].append(rule)
    return ['\n'.join(lines) + '\n' if lines else '' for lines in texts]


def script_interpreter(path):
    """[interpreter, flags...] of the script ``path`` (its #! line), or None (a binary, unreadable, no #!)."""
    try:
        with open(path, 'rb') as handle:
            first = handle.readline(512)
    except (IOError, OSError, TypeError):
        return None
    if not first.startswith(b'#!'):
        return None
    words = to_text(first[2:], errors='surrogate_or_strict').split()
    return words if words and words[0].startswith('/') else None


# the listings Policy.prefetch reads together: (cache key, seinfo flag, section title in setools 4, parser)
LISTINGS = (('booleans', '-b', 'Booleans', parse_booleans),
            ('attributes', '-a', 'Type Attributes', parse_attributes),
            ('portcon', '--portcon', 'Portcon', parse_portcon))


class Policy(object):
    """Questions to the binary policy file ``path``, each setools run once (see :func:`policy`); ``path`` None: the
    policy the kernel has loaded (setools' default)."""

    def __init__(self, runner, path):
        self.runner = runner
        self.path = path
        self._cache = {}

    def _once(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _seinfo(self, args, what, hint=None):
        # the policy comes first: seinfo's query options take an optional name and would swallow it
        extra = dict(hint=hint) if hint else {}
        return to_text(self.runner.run('seinfo', ([self.path] if self.path else []) + args, what=what, **extra).stdout,
                       errors='surrogate_or_strict')

    def generation(self):
        """3 or 4: setools 3's sesearch is a program (ELF), setools 4's a Python script. Told from the file's first
        bytes, so no interpreter starts for it; a sesearch that cannot be read is taken for setools 4."""
        def read():
            locate = getattr(self.runner, 'path', None)
            try:
                found = locate('sesearch', required=False)
                with open(found, 'rb') as handle:
                    return 3 if handle.read(4) == b'\x7fELF' else 4
            except (IOError, OSError, TypeError, KeyError):
                return 4
        return self._once('generation', read)

    def search_args(self, **query):
        return search_args(self.generation(), **query) + ([self.path] if self.path else [])

    def sections(self, listing, what):
        """{section title: text} of one ``seinfo -x`` run listing several kinds at once (``listing``: ``-a``,
        ``-t``, ``--constrain``, ...): one policy load for all of them (:func:`split_sections`)."""
        return split_sections(self._seinfo(listing + ['-x'], what))

    def side_rules(self, names):
        """{(name, 'source'|'target'): {(kind, source, target, class): perms}} of the allow and type rules written
        directly on each of ``names``, as source and as target: one pass over the policy for both sides
        (:meth:`scan`)."""
        names = sorted(names)
        sides = ('source', 'target')
        texts = self.scan([{side + 's': names, 'kinds': ['-A', '-T']} for side in sides],
                          what='rules of %s' % ', '.join(names))
        found = dict(((name, side), {}) for name in names for side in sides)
        for side, text in zip(sides, texts):
            for key, values in rule_map(parse_rules(text)).items():
                owner = key[1] if side == 'source' else key[2]
                if (owner, side) in found:
                    found[(owner, side)][key] = values
        return found

    def rules(self, check=True, what=None, **query):
        """The :class:`Rule` list of one sesearch query (see :func:`search_args`); None when ``check`` is False and
        sesearch failed (as for ``-b`` with a name the policy does not have)."""
        def search():
            if not check and query.get('boolean') and self.generation() < 4 and query['boolean'] not in self.booleans():
                # setools 3 answers -b with a boolean the policy lacks with no rule and rc 0 (setools 4: rc 1,
                # "NAME is not a valid Boolean"): a failed search, as there
                return None
            result = self.runner.run('sesearch', self.search_args(**query), check=check, what=what or 'rules')
            if result.rc != 0:
                return None
            rules = parse_rules(result.stdout)
            return asked_kinds(rules, query.get('kinds', ('-A',))) if self.generation() < 4 else rules
        return self._once(('rules', tuple(sorted(query.items()))), search)

    def scan(self, queries, what):
        """The sesearch output text of each of ``queries`` (see :data:`SCAN_SCRIPT`) from one pass over the policy
        by setools 4's own Python; one sesearch run per query where that cannot be (setools 3, a sesearch that is
        not a Python script, a failed scan: the answers are the same, only slower)."""
        result = self._setools_python(SCAN_SCRIPT, queries, what)
        if result is not None:
            return split_scan(result, len(queries))
        return [to_text(self.runner.run('sesearch', args + [self.path], what=what).stdout, errors='surrogate_or_strict')
                for args in scan_queries(queries, self.generation())]

    def _setools_python(self, script, data, what):
        """The output text of ``script`` (argv: the policy, JSON ``data``) run by the Python of setools 4's own
        sesearch, or None: setools 3, a sesearch that is not a Python script, or a script that failed."""
        interpreter = None
        if self.generation() >= 4:
            interpreter = script_interpreter(self.runner.path('sesearch', required=False))
        if not interpreter:
            return None
        self.runner.commands['setools_python'] = Command(interpreter[0], interpreter[1:])
        result = self.runner.run('setools_python', ['-c', script, self.path or '', json.dumps(data)], check=False,
                                 what=what)
        return to_text(result.stdout, errors='surrogate_or_strict') if result.rc == 0 else None

    def boolean_rules(self, names, kinds=('-A',), check=True, what=None):
        """The :class:`Rule` list of sesearch's answer for the booleans ``names``: one name is ``-b NAME`` (a name
        the policy does not have fails, or gives None when ``check`` is False), several are ``-b '^(A|B)$' -rb``
        (setools 4 only): the rules of every conditional whose expression names one of them. Read from the
        conditionals themselves (:data:`BOOLEAN_SCRIPT`), else by sesearch (setools 3, or the script failed)."""
        names = sorted(set(names))
        what = what or 'rules of boolean%s %s' % ('s' if len(names) > 1 else '', ', '.join(names))

        def read():
            text = self._setools_python(BOOLEAN_SCRIPT, {'booleans': names, 'kinds': list(kinds)}, what)
            if text is not None:
                return parse_rules(text)
            if len(names) == 1:
                return self.rules(check=check, what=what, kinds=tuple(kinds), boolean=names[0])
            return self.rules(check=check, what=what, kinds=tuple(kinds), boolean=name_pattern(names), regex=True)
        return self._once(('boolean rules', tuple(names), tuple(kinds), check), read)

    def prefetch(self, kinds, what='booleans, attributes and port labels'):
        """Read several of :data:`LISTINGS` (``booleans``, ``attributes``, ``portcon``) not read yet in one
        ``seinfo -x`` run (setools 4: one policy load instead of one each); each kind is then answered from it. setools
        3, or a section its output lacks: that kind is read on its own when asked, as before."""
        wanted = [listing for listing in LISTINGS if listing[0] in kinds and listing[0] not in self._cache]
        if len(wanted) < 2 or self.generation() < 4:
            return
        sections = split_sections(self._seinfo([flag for dummy, flag, dummy, dummy in wanted] + ['-x'], what))
        for kind, dummy, title, parse in wanted:
            if title in sections:
                self._cache[kind] = parse(sections[title])

    def booleans(self, hint=None, what='booleans'):
        """{boolean: value} as the binary policy holds them (defaults and persistent settings)."""
        return self._once('booleans', lambda: parse_booleans(self._seinfo(['-b', '-x'], what, hint)))

    def users(self):
        """{SELinux user: set of its roles}."""
        return self._once('users', lambda: parse_users(self._seinfo(['-u', '-x'], 'SELinux users')))

    def attributes(self):
        """{attribute: set(member types)} of every attribute (one ``seinfo -a -x``)."""
        return self._once('attributes', lambda: parse_attributes(self._seinfo(['-a', '-x'], 'attributes')))

    def members(self, attribute):
        """The types of ``attribute`` (empty when the name is a type or unknown)."""
        return self.attributes().get(attribute, set())

    def portcons(self):
        """``[(protocol, low, high, type)]`` of the policy's port labels."""
        return self._once('portcon', lambda: parse_portcon(self._seinfo(['--portcon'], 'port labels')))

    def names(self, flag, kind):
        """The names one ``seinfo -FLAG`` lists (users ``-u``, roles ``-r``, types ``-t``, ...)."""
        return self._once(('names', flag), lambda: parse_names(self._seinfo([flag], '%s names of %s' % (
            kind, self.path or 'the loaded policy'))))

    def classes(self):
        """{class: set(permissions)}, the permissions of the class's common included: one ``seinfo --common -c -x``
        (one policy load), its two sections read apart; setools 3 lists a common's permissions with the class's own
        and has no ``--common``: one ``seinfo -c -x``."""
        def read():
            what = 'classes of %s' % self.path
            if self.generation() < 4:
                return classes3(self._seinfo(['-c', '-x'], what))
            sections = split_sections(self._seinfo(['--common', '-c', '-x'], what))
            commons = class_blocks(sections.get('Commons', ''), 'common')
            classes = class_blocks(sections.get('Classes', ''), 'class')
            return dict((name, perms | (commons[common][1] if common in commons else set()))
                        for name, (common, perms) in classes.items())
        return self._once('classes', read)


def policy(runner, path):
    """The :class:`Policy` of ``path`` for ``runner``: one per runner and policy file, so every part of a module
    run shares its answers. A policy file replaced since (a commit writes a new one) gets a new instance: the answers
    are of the file as it is."""
    try:
        status = os.stat(path)
        key = (path, status.st_ino, status.st_size, status.st_mtime)
    except (OSError, TypeError):
        key = (path,)
    registry = getattr(runner, '_setools_policies', None)
    if registry is None:
        registry = {}
        setattr(runner, '_setools_policies', registry)
    if key not in registry:
        registry[key] = Policy(runner, path)
    return registry[key]
