# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: read what a binary policy defines and grants, from setools' output (``sesearch``, ``seinfo``).

Rules (``sesearch -A -T``), attributes and their members (``seinfo -a -x``), the names of users, roles, types
and MLS levels, and the classes with their permissions, as setools 3 and 4 print them. What the rules MEAN for
safety is judged in ``_policy_verdict``.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_text


SETOOLS_HINT = 'setools-console (EL) or setools (Debian)'
# what judging a transaction runs (declared in _commands)
GRANT_TOOLS = ('sesearch', 'seinfo')

_RULE_RE = re.compile(r'^(allow|type_transition)\s+(\S+)\s+(\S+?)\s*:\s*(\S+)\s+(\{[^}]*\}|[^\s{};]+)\s*(\S*)')


def parse_rules(text):
    """``sesearch -A -T`` output (setools 3 and 4) as {(kind, source, target, tclass): set(perms)}.

    Conditional suffixes (``[ bool ]:True``) and setools 3 flags (``ET``/``DT``) are dropped: a rule counts
    whatever boolean guards it. For type transitions the "permission" is the default type.
    """
    rules = {}
    for raw in (text or '').splitlines():
        line = raw.strip()
        if line[:3] in ('ET ', 'EF ', 'DT ', 'DF '):
            line = line[3:].strip()
        line = line.split(';', 1)[0]
        match = _RULE_RE.match(line)
        if not match:
            continue
        kind, source, target, tclass, perms, default = match.groups()
        if kind == 'type_transition':
            values = [perms]  # the default type sits where an allow rule has its permissions
        else:
            values = perms.strip('{} ').split()
        rules.setdefault((kind, source, target, tclass), set()).update(values)
    return rules


def parse_attributes(text):
    """``seinfo -a -x`` output (setools 3 and 4) as {attribute: set(member types)}."""
    attributes = {}
    current = None
    header_indent = None
    for raw in (text or '').splitlines():
        raw = raw.expandtabs(8)  # setools 4 indents members with a tab, headers with spaces
        if not raw.strip() or raw.strip().startswith('Type Attributes:') or raw.strip().startswith('Attributes:'):
            continue
        indent = len(raw) - len(raw.lstrip())
        line = raw.strip()
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
        if current is not None:
            attributes[current].add(line.rstrip(',;'))
    return attributes


DEFINED_KINDS = (('user', '-u'), ('role', '-r'), ('type', '-t'), ('sensitivity', '--sensitivity'),
                 ('category', '--category'))


def parse_names(text):
    """Names listed by one ``seinfo POLICY -x`` query (``-u``, ``-r``, ``-t``, ...), header lines dropped."""
    names = set()
    for raw in (text or '').splitlines():
        line = raw.strip()
        if line and not line.endswith(':') and not re.match(r'^[A-Z][A-Za-z ]+:\s*\d+$', line):
            names.add(line.split()[0].rstrip(',;'))
    return names


def defined_names(runner, policy):
    """{kind: set(names)} of the users, roles, types, sensitivities and categories ``policy`` defines."""
    defined = {}
    for kind, flag in DEFINED_KINDS:
        # the policy comes first: seinfo's query options take an optional name and would swallow it
        result = runner.run('seinfo', [policy, flag], what='%s names of %s' % (kind, policy))
        defined[kind] = parse_names(to_text(result.stdout))
    return defined


def _class_blocks(text, keyword):
    """{name: [inherited common or None, set(permissions)]} of ``seinfo POLICY -c -x`` / ``--common -x`` output."""
    found, current = {}, None
    for raw in (text or '').splitlines():
        words = raw.split()
        if len(words) == 2 and words[0] == keyword:
            current = found.setdefault(words[1], [None, set()])
        elif current is not None and len(words) == 2 and words[0] == 'inherits':
            current[0] = words[1]
        elif current is not None and len(words) == 1 and words[0] not in ('{', '}'):
            current[1].add(words[0])
    return found


def defined_classes(runner, policy):
    """{class: set(permissions)} that ``policy`` defines, the permissions of the class's common included."""
    what = 'classes of %s' % policy
    commons = _class_blocks(to_text(runner.run('seinfo', [policy, '--common', '-x'], what=what).stdout), 'common')
    classes = _class_blocks(to_text(runner.run('seinfo', [policy, '-c', '-x'], what=what).stdout), 'class')
    return dict((name, perms | (commons[common][1] if common in commons else set()))
                for name, (common, perms) in classes.items())


def _categories(text):
    names = []
    for part in text.split(','):
        ends = part.split('.')
        if len(ends) == 2 and ends[0][1:].isdigit() and ends[1][1:].isdigit():
            names.extend('c%d' % n for n in (int(ends[0][1:]), int(ends[1][1:])))
        else:
            names.append(part)
    return names


def context_problems(context, defined):
    """What of an SELinux context ``user:role:type[:level]`` the policy does not define (texts), from
    :func:`defined_names`; a level is ``s0``, ``s0:c1,c2`` or a range ``s0-s0:c0.c1023``."""
    parts = (context or '').split(':', 3)
    if len(parts) < 3:
        return ['malformed context %s' % context]
    problems = []
    for kind, name in (('user', parts[0]), ('role', parts[1]), ('type', parts[2])):
        if defined.get(kind) and name not in defined[kind]:
            problems.append('%s %s' % (kind, name))
    if len(parts) == 4 and defined.get('sensitivity'):
        for level in parts[3].split('-'):
            sensitivity, dummy, cats = level.partition(':')
            if sensitivity not in defined['sensitivity']:
                problems.append('sensitivity %s' % sensitivity)
            for category in _categories(cats) if cats else []:
                if category not in defined.get('category', set()):
                    problems.append('category %s' % category)
    return problems
