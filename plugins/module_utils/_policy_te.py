# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the text of a ``.te``: its header, its statements and what identifies it.

* :func:`parse_te` reads the statements outside ``module``/``require`` into :class:`_policy_rule.Statement` values
  (the ``rules`` of a module entry);
* :func:`module_header` / :func:`set_header` read and write the ``module``/``policy_module`` statement;
  :func:`derive_version` gives the module a version derived from its content;
* :func:`source_fingerprint` is the sha256 of what the compiler sees (comments and whitespace ignored).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_rule import (
    AV_KINDS, RULE_KINDS, TYPE_KINDS, Statement)
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


class PolicySourceError(FleetsecError):
    """The given sources cannot make a module (bad name, mismatching header, no rules)."""


def sha256_text(*parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(to_bytes(part if part is not None else '\0None\0', errors='surrogate_or_strict'))
        digest.update(b'\0\0')
    return digest.hexdigest()


_MODULE_RE = re.compile(r'^[ \t]*module\s+([A-Za-z][A-Za-z0-9_.-]*)\s+([^\s;]+)\s*;', re.M)
_POLICY_MODULE_RE = re.compile(r'^[ \t]*policy_module\(\s*`?([A-Za-z][A-Za-z0-9_.-]*)\'?\s*(?:,\s*`?([^)\']*)\'?\s*)?\)', re.M)
_REQUIRE_START_RE = re.compile(r'\brequire\s*\{')
_GEN_REQUIRE_RE = re.compile(r'\bgen_require\(\s*`.*?\'\s*\)', re.S)
_SET = r'(?:~?\s*\{[^{}]*\}|[~A-Za-z0-9_.*$-]+)'
_AV_RE = re.compile(
    r'^(%s)\s+(%s)\s+(%s)\s*:\s*(%s)\s+(%s)\s*;$' % ('|'.join(AV_KINDS), _SET, _SET, _SET, _SET), re.S)
_TT_RE = re.compile(r'^(%s)\s+(%s)\s+(%s)\s*:\s*(%s)\s+([A-Za-z0-9_.$-]+)(\s+"[^"]*")?\s*;$'
                    % ('|'.join(TYPE_KINDS), _SET, _SET, _SET), re.S)
# ``optional {``, ``if (bool) {``, ``else {`` and block-closing ``}`` in front of a statement: the rules inside
# conditional and optional blocks are rules too (and must not escape the safety checks).
_BLOCK_PREFIX_RE = re.compile(r'^(?:\s*(?:\}|optional\s*\{|else\s*\{|if\s*\([^)]*\)\s*\{|ifdef\s*\([^)]*\)\s*\{))+\s*')
_CALL_RE = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)\s*;?$', re.S)


def is_refpolicy_source(te):
    return bool(_POLICY_MODULE_RE.search(te or ''))


def module_header(te):
    """(name, version) declared by ``module N V;`` or ``policy_module(N, V)``; (None, None) if missing."""
    match = _MODULE_RE.search(te or '') or _POLICY_MODULE_RE.search(te or '')
    if not match:
        return None, None
    return match.group(1), match.group(2)


def _strip_comments(te):
    out = []
    for line in te.splitlines():
        line = re.sub(r'#.*$', '', line)
        line = re.sub(r'^\s*dnl\b.*$', '', line)
        out.append(line)
    return '\n'.join(out)


class TeText(object):
    """A ``.te`` read once: its text without comments (``plain``), the statements outside ``module``/``require``
    (``body``) and the canonical form the version and the fingerprint hash (``canonical``: the body whitespace-
    normalised, plus the sorted require items). The header takes no part in them, so a text and the same text with
    its header set read alike."""
    __slots__ = ('plain', 'body', 'canonical')

    def __init__(self, te):
        self.plain = _strip_comments(te or '')
        self.body = _body(self.plain)
        self.canonical = _canonical(self.plain, self.body)

    def statements(self):
        """The parsed statements (:func:`parse_te`)."""
        return _parse_body(self.body)


def _body(plain):
    """The statements outside module/require of a text without comments."""
    text = plain
    text = _MODULE_RE.sub('', text)
    text = _POLICY_MODULE_RE.sub('', text)
    text = _remove_require_blocks(text)
    text = _GEN_REQUIRE_RE.sub('', text)
    return text


def _remove_require_blocks(text):
    """Drop ``require { ... }`` blocks (they nest ``class x { ... }`` braces) and an optional trailing ``;``."""
    out = []
    pos = 0
    for match in _REQUIRE_START_RE.finditer(text):
        if match.start() < pos:
            continue
        depth = 0
        end = match.end() - 1
        while end < len(text):
            if text[end] == '{':
                depth += 1
            elif text[end] == '}':
                depth -= 1
                if depth == 0:
                    break
            end += 1
        end += 1
        trailing = re.match(r'\s*;', text[end:])
        if trailing:
            end += trailing.end()
        out.append(text[pos:match.start()])
        pos = end
    out.append(text[pos:])
    return ''.join(out)


def _statements(body):
    """Split a te body into statements: ``...;`` or ``macro(...)`` (balanced parentheses)."""
    statements = []
    current = []
    depth = 0
    for char in body:
        current.append(char)
        if char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
            if depth == 0:
                text = ''.join(current).strip()
                if _CALL_RE.match(text):
                    statements.append(text)
                    current = []
        elif char == ';' and depth == 0:
            text = ''.join(current).strip()
            if text == ';' and statements:
                statements[-1] += ';'
            elif text:
                statements.append(text)
            current = []
    tail = ''.join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def parse_te(te):
    """The statements of a ``.te`` outside ``module``/``require``, as :class:`_policy_rule.Statement` values: rules
    with their set fields read once (:class:`_policy_rule.Names`), refpolicy macro calls (``kind`` ``call``), and the
    other statements by their first word (``malformed`` for a rule this grammar cannot read: the compiler reports it
    with its line). Rules inside ``optional``, ``if``/``else`` and ``ifdef`` blocks are rules too."""
    return TeText(te).statements()


def _parse_body(body):
    statements = []
    for raw in _statements(body):
        text = _BLOCK_PREFIX_RE.sub('', ' '.join(raw.split()))
        if not text or text == ';':
            continue
        av = _AV_RE.match(text)
        if av:
            statements.append(Statement.rule(*av.groups()))
            continue
        tt = _TT_RE.match(text)
        if tt:
            kind, source, target, tclass, default, objname = tt.groups()
            statements.append(Statement.rule(kind, source, target, tclass, default=default, objname=objname))
            continue
        call = _CALL_RE.match(text)
        if call and not text.startswith(('optional_policy', 'tunable_policy', 'ifdef', 'ifndef')):
            args = [a.strip().strip('`\'') for a in call.group(2).split(',')]
            statements.append(Statement.other('call', text.rstrip(';'), name=call.group(1), args=args))
            continue
        word = text.split()[0] if text.split() else 'other'
        statements.append(Statement.other('malformed' if word in RULE_KINDS else word,
                                          text if text.endswith((';', ')')) else text + ';'))
    return statements


def rule_texts(statements):
    return [statement.text for statement in statements]


def derive_version(te, fc=None, if_text=None):
    """A version that changes whenever the rules change: ``1.<int of 24 bits of sha256(body)>``; ``te`` a text or
    its :class:`TeText`."""
    read = te if isinstance(te, TeText) else TeText(te)
    digest = sha256_text(read.canonical, ' '.join((fc or '').split()), ' '.join((if_text or '').split()))
    return '1.%d' % int(digest[:6], 16)


def _canonical(te, body):
    """Statements outside module/require (``body``), whitespace-normalised, plus the sorted require items of ``te``
    (a text without comments)."""
    required = set()
    for match in _REQUIRE_START_RE.finditer(te):
        depth, end = 0, match.end() - 1
        while end < len(te):
            depth += {'{': 1, '}': -1}.get(te[end], 0)
            if depth == 0:
                break
            end += 1
        inner = te[match.end():end]
        required.update(' '.join(item.split()) for item in inner.split(';') if item.strip())
    return '%s\nrequire: %s' % (' '.join(body.split()), ' | '.join(sorted(required)))


def source_fingerprint(te, fc=None, if_text=None, read=None):
    """sha256 of what the compiler sees (comments and whitespace ignored): audit2allow's remarks may change
    between runs (\"allowed in the current policy\") without changing the module. ``read``: ``te``'s
    :class:`TeText` when the caller has it (the text with its header set reads as the text without)."""
    header = module_header(te)
    return sha256_text('te', '%s %s' % header, (read or TeText(te)).canonical, ' '.join((fc or '').split()),
                       ' '.join((if_text or '').split()))


def set_header(te, name, version):
    """Return ``te`` whose ``module``/``policy_module`` statement names ``name`` with ``version``.

    A ``.te`` without a header gets ``module NAME VERSION;`` prepended; a header
    naming another module is an error (the user probably passed the wrong file).
    """
    te = te or ''
    declared, dummy = module_header(te)
    if declared is not None and declared != name:
        raise PolicySourceError(
            "The .te declares module '%s' but name is '%s': the module statement and the name option must agree "
            "(checkmodule names the package after it)." % (declared, name))
    match = _MODULE_RE.search(te)
    if match:
        return te[:match.start()] + te[match.start():match.end()].replace(
            match.group(0).strip(), 'module %s %s;' % (name, version)) + te[match.end():]
    match = _POLICY_MODULE_RE.search(te)
    if match:
        return te[:match.start()] + te[match.start():match.end()].replace(
            match.group(0).strip(), 'policy_module(%s, %s)' % (name, version)) + te[match.end():]
    return 'module %s %s;\n\n%s' % (name, version, te.lstrip('\n'))
