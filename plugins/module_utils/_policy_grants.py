# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: judge what a transaction GRANTS, after the policy has expanded it.

The text of a module hides what it hands out: ``typeattribute ntpd_t can_setenforce;``,
``allow ntpd_t file_type:file write;``, ``typealias shadow_t alias x_t;``, a ``.cil`` or a prebuilt
``.pp``. The binary policy does not: the planned transaction is run on a private copy of the store
(``_policy_store.PolicyStore.trial``), and the policy it builds is compared with the current one using
setools (``sesearch``, ``seinfo``):

* every allow rule or process transition that is new (per permission) is judged on the types it reaches
  (attributes expanded with their members), with the same reasons as the text check
  (``_policy_safety.reason``);
* a type that joins an attribute is judged on the rules of that attribute;
* a type that becomes permissive is a finding.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety


SETOOLS_HINT = 'setools-console (EL) or setools (Debian)'
# what judging a transaction runs (declared in _commands)
GRANT_TOOLS = ('sesearch', 'seinfo')
EXAMPLES_SHOWN = 3

_RULE_RE = re.compile(r'^(allow|type_transition)\s+(\S+)\s+(\S+?)\s*:\s*(\S+)\s+(\{[^}]*\}|[^\s{};]+)\s*(\S*)')


class Dump(object):
    """The parts of one binary policy that decide what is granted."""

    def __init__(self, rules, attributes, permissive):
        self.rules = rules              # {(kind, source, target, tclass): set(perms or [default])}
        self.attributes = attributes    # {attribute: set(types)}
        self.permissive = permissive    # set(types)

    def members(self, name):
        return self.attributes.get(name) or set([name])


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


def parse_permissive(text):
    """``seinfo --permissive`` output as a set of types."""
    names = set()
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line or ':' in line:
            continue
        names.add(line.split()[0].rstrip(';'))
    return names


def _reads(policy):
    return [('sesearch', ['-A', '-T', policy], dict(what='rules of %s' % policy)),
            ('seinfo', [policy, '-a', '-x'], dict(what='attributes of %s' % policy)),
            # the policy first: seinfo's -a and --permissive take an optional name, and --permissive followed by the
            # policy read the RUNNING policy (for "is the type POLICY permissive")
            ('seinfo', [policy, '--permissive'], dict(what='permissive types of %s' % policy))]


def _dump_of(results):
    rules, attributes, permissive = (to_text(result.stdout) for result in results)
    return Dump(parse_rules(rules), parse_attributes(attributes), parse_permissive(permissive))


def dump_pair(runner, old_policy, new_policy):
    """Both policies of a judgement, read two runs at a time (the two rule dumps first: they take longest, minutes
    for a targeted policy on a slow machine)."""
    old, new = _reads(old_policy), _reads(new_policy)
    results = runner.run_all([old[0], new[0], old[1], new[1], old[2], new[2]], workers=2)
    return _dump_of(results[0::2]), _dump_of(results[1::2])


def _shown(source, target):
    return 'self' if source == target else target


def _grant_reasons(dump, kind, source, target, tclass, value, unconfined):
    """[(subject type, reason)] for one granted permission (or transition) of a rule as the policy holds it."""
    if kind == 'type_transition':
        if tclass == 'process' and value in unconfined:
            return [(source, 'transition into the unconfined domain %s' % value)]
        return []
    targets = sorted(dump.members(target)) if target != source else [source]
    hits = []
    for real in targets:
        why = safety.reason(real, tclass, value, unconfined=unconfined)
        if why:
            hits.append(why)
    if not hits:
        return []
    if target in dump.attributes and len(hits) > 1:
        why = '%s, and %d more through the attribute %s' % (hits[0], len(hits) - 1, target)
    elif target in dump.attributes:
        why = '%s, through the attribute %s' % (hits[0], target)
    else:
        why = hits[0]
    return [(source, why)]


def _rule_text(kind, source, target, tclass, value):
    if kind == 'type_transition':
        return 'type_transition %s %s:%s %s' % (source, target, tclass, value)
    return 'allow %s %s:%s %s' % (source, _shown(source, target), tclass, value)


def judge(old, new):
    """Findings (dicts: rule, reason, subject, via) for what ``new`` grants that ``old`` did not."""
    unconfined = set(safety.UNCONFINED_DOMAINS) | new.attributes.get('unconfined_domain_type', set())
    findings = []
    seen = set()

    def add(rule, reason, subject, via='rule'):
        if rule not in seen:
            seen.add(rule)
            findings.append({'rule': rule, 'reason': reason, 'subject': subject, 'via': via})

    for key in sorted(new.rules):
        added = new.rules[key] - old.rules.get(key, set())
        kind, source, target, tclass = key
        for value in sorted(added):
            for subject, why in _grant_reasons(new, kind, source, target, tclass, value, unconfined):
                add(_rule_text(kind, source, target, tclass, value), why, subject)
    by_source = {}
    for key, values in new.rules.items():
        by_source.setdefault(key[1], []).append((key, values))
    for attribute in sorted(new.attributes):
        if attribute not in old.attributes:
            continue  # declared by this transaction: its own rules are new rules, judged above
        joined = new.attributes[attribute] - old.attributes[attribute]
        if not joined:
            continue
        grants = []
        member = min(joined)  # the attribute's rules are judged once, for one of the types that joined it
        for (kind, source, target, tclass), values in sorted(by_source.get(attribute, [])):
            real_target = member if target == attribute and kind == 'allow' else target
            for value in sorted(values):
                for dummy, why in _grant_reasons(new, kind, member, real_target, tclass, value, unconfined):
                    grants.append('%s (%s)' % (_rule_text(kind, source, target, tclass, value), why))
        if grants:
            shown = '; '.join(sorted(set(grants))[:EXAMPLES_SHOWN])
            more = len(set(grants)) - EXAMPLES_SHOWN
            for member in sorted(joined):
                add('typeattribute %s %s' % (member, attribute),
                    'joins the attribute %s, which is granted: %s%s' % (
                        attribute, shown, ' and %d more' % more if more > 0 else ''), member, via='attribute')
    for name in sorted(new.permissive - old.permissive):
        add('permissive %s' % name, 'makes the domain %s permissive: SELinux denies it nothing' % name, name,
            via='permissive')
    return findings


def mentions(text):
    """The identifiers of a module's source (te or CIL) text, to tell which module of a batch a finding is from."""
    return set(re.findall(r'[A-Za-z0-9_.$-]+', text or ''))


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
