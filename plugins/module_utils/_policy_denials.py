# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the ``denials`` option as data: one raw AVC line per denial (:func:`denial_lines`, from avc_collect
``lines`` or ``denials`` dicts of many hosts), the fields of a line, the denials of classes the policy lacks
(:func:`split_undefined_classes`), and which denials the generated statements cover (:func:`granted`,
:func:`uncovered_denials`) with why the others were dropped.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_parse as avc_parse
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_te import PolicySourceError


def _context_type(context):
    parts = context.strip('"\'').split(':')
    return parts[2] if len(parts) >= 3 else context


def _context(value, type_name, role):
    if value:
        return value
    return 'system_u:%s:%s:s0' % (role, type_name)


def denial_from_dict(entry, serial):
    """One canonical raw AVC line for an avc_collect ``denials`` dict (written by avc_parse.canonical_line)."""
    perms = entry.get('permissions') or entry.get('perms') or []
    if isinstance(perms, str):
        perms = perms.split()
    source = entry.get('source_type') or _context_type(entry.get('scontext') or '')
    target = entry.get('target_type') or _context_type(entry.get('tcontext') or '')
    tclass = entry.get('tclass')
    if not (perms and source and target and tclass):
        raise PolicySourceError(
            'A denials entry lacks permissions, source/target type or tclass: %r. Pass the denials or lines '
            'returned by fleetsec.selinux.avc_collect.' % (entry,))
    return avc_parse.canonical_line({
        'ts': None, 'ms': None, 'serial': serial, 'pid': None, 'permissive': False, '_perms': set(perms),
        'comm_raw': to_bytes(entry.get('comm') or 'unknown', errors='surrogate_or_strict'),
        'scontext': _context(entry.get('scontext'), source, 'system_r'),
        'tcontext': _context(entry.get('tcontext'), target, 'object_r'), 'tclass': tclass,
    })


def denial_lines(items):
    """Unique raw lines, in first-seen order, from avc_collect ``lines`` (strings) and/or ``denials`` (dicts)."""
    lines = []
    seen = set()
    serial = 0
    for item in items or []:
        if isinstance(item, dict):
            key = denial_from_dict(item, 0)
            if key in seen:
                continue
            seen.add(key)
            serial += 1
            candidates = [denial_from_dict(item, serial)]
        else:
            candidates = to_text(item, errors='surrogate_or_strict').splitlines()
        for line in candidates:
            line = line.strip()
            if not line or line in seen:
                continue
            seen.add(line)
            lines.append(line)
    return lines


def _denial(line):
    """The avc_parse record of a raw AVC denial line; None for anything else (granted, other records, damage)."""
    try:
        parsed = avc_parse.parse_line(to_bytes(line, errors='surrogate_or_strict'))
    except avc_parse.Malformed:
        return None
    return parsed[1] if parsed is not None and parsed[0] == 'denial' else None


def denial_contexts(line):
    """(scontext, tcontext) of a raw AVC line, or None when it is not a denial."""
    rec = _denial(line)
    return None if rec is None else (rec['scontext'], rec['tcontext'])


GENERIC_DROP = 'no rule generated (unknown class/permission or filtered by audit2allow)'


def parse_denial(line):
    """(source_type, target_type, tclass, [perms]) of a raw AVC line, or None when it is not a denial."""
    rec = _denial(line)
    return None if rec is None else (rec['source_type'], rec['target_type'], rec['tclass'], rec['permissions'])


def split_undefined_classes(lines, classes):
    """(lines to generate from, dropped) where ``classes`` ({class: set(permissions)}, :func:`_policy_grants.defined_classes`) is
    what the policy defines: a denial of a class the policy lacks is dropped, one with permissions it lacks keeps
    the others. audit2allow does not check classes, and a rule naming an unknown one compiles, then fails the
    whole transaction at link time ("Failed to resolve allow statement")."""
    kept, dropped = [], []
    for line in lines:
        rec = _denial(line)
        known = classes.get(rec['tclass'], set()) if rec is not None else set()
        if rec is None or set(rec['permissions']) <= known:
            kept.append(line)
            continue
        unknown = [p for p in rec['permissions'] if p not in known]
        if rec['tclass'] not in classes:
            reason = 'class %s not defined in the policy' % rec['tclass']
        else:
            reason = 'permission(s) %s of class %s not defined in the policy' % (' '.join(unknown), rec['tclass'])
        defined = [p for p in rec['permissions'] if p in known]
        if defined:
            kept.append(avc_parse.canonical_line(rec, defined))
        dropped.append({'line': line, 'source_type': rec['source_type'], 'target_type': rec['target_type'],
                        'tclass': rec['tclass'], 'permissions': unknown, 'reason': reason})
    return kept, dropped


_UNDEFINED_RE = re.compile(r'type (\S+) is not defined')
# libsepol, for a context whose names all exist but are not allowed together (a role without that type, ...)
_INVALID_CONTEXT_RE = re.compile(r'invalid security context: "([^"]+)"')


def granted(statements):
    """What parsed statements (:func:`_policy_te.parse_te`) allow: ``({(source, target, tclass): set(perms)}, call_domains)``.

    Each rule statement counts through the :class:`_policy_rule.Rule` values it writes (sets expanded, ``self`` read
    as the source type; a statement with a wildcard writes none: what it covers depends on the policy).
    ``dontaudit`` rules count too (the denial is then silenced, not reported again). Refpolicy interface calls
    cannot be checked this way: their first argument is returned in ``call_domains``.
    """
    allowed = {}
    call_domains = set()
    for statement in statements:
        if statement.kind == 'call':
            call_domains.update(statement.args[:1])
            continue
        if statement.kind not in ('allow', 'dontaudit'):
            continue
        for rule in statement.rules():
            key = (rule.source, rule.source if rule.target == 'self' else rule.target, rule.tclass)
            allowed.setdefault(key, set()).update(rule.perms)
    return allowed, call_domains


def missing_permissions(allowed, source, target, tclass, perms):
    """The permissions of one denial that ``allowed`` (from :func:`granted`) does not grant."""
    have = allowed.get((source, target, tclass), set())
    return [perm for perm in perms if perm not in have]


def uncovered_denials(lines, rules, stderr=''):
    """Denials that no generated rule grants: audit2allow drops those whose types the policy does not know.

    ``rules`` are parsed rules (:func:`_policy_te.parse_te`); refpolicy interface calls
    cannot be checked this way and count as covering their first argument.
    Returns a list of dicts (line, source_type, target_type, tclass, permissions, reason).
    """
    undefined = set(_UNDEFINED_RE.findall(stderr or ''))
    invalid = set(_INVALID_CONTEXT_RE.findall(stderr or ''))
    allowed, call_domains = granted(rules)
    dropped = []
    for line in lines:
        rec = _denial(line)
        if rec is None:
            continue
        source, target, tclass = rec['source_type'], rec['target_type'], rec['tclass']
        if source in call_domains and source not in undefined and target not in undefined:
            continue
        missing = missing_permissions(allowed, source, target, tclass, rec['permissions'])
        if not missing:
            continue
        unknown = [t for t in (source, target) if t in undefined]
        bad = [c for c in (rec['scontext'], rec['tcontext']) if c in invalid]
        if unknown:
            reason = 'type(s) %s not defined in the loaded policy' % ', '.join(unknown)
        elif bad:
            reason = ('context %s not valid in the loaded policy (its user, role, type or level are not allowed '
                      'together)' % ', '.join(bad))
        else:
            reason = GENERIC_DROP
        dropped.append({'line': line, 'source_type': source, 'target_type': target, 'tclass': tclass,
                        'permissions': missing, 'reason': reason})
    return dropped
