# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: file contexts as data: the lines of a ``file_contexts`` file (:func:`file_context_lines`, the one
reading of them), the literal beginning of an expression (:func:`literal_split`), the tree it can reach as libselinux
anchors it (:func:`label_scope`), the expressions genhomedircon writes out of a home template
(:func:`home_expansions`), and whether it can match a file another expression matches (:func:`reaches`). Pure
functions of the text, shared by the policy's facts, the verdict's labels and remedy.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _fcregex as fcregex


def literal_prefix(regex):
    """The part of a file-context expression before its first special character (``/usr/sbin/.+`` -> ``/usr/sbin/``),
    an escape that means the character itself in every dialect read as that character (``/etc/myapp\\.conf`` ->
    ``/etc/myapp.conf``; ``\\|``, ``\\w``, ``\\1`` stop it): every path the expression matches starts with it,
    whatever regex dialect reads the rest."""
    return literal_split(regex)[0]


# escapes that mean the character itself in every regex dialect libselinux has used (POSIX ERE, PCRE, PCRE2); \| \(
# \{ \+ \? \< are operators in GNU's basic dialect, \w \d \1 classes and references: they end the literal part
LITERAL_ESCAPES = frozenset('.*[]^$/-\\')


def literal_split(regex):
    """(:func:`literal_prefix`, the rest of ``regex`` after it)."""
    out = []  # [(character, where it starts in regex)]
    index = 0
    while index < len(regex):
        char = regex[index]
        if char == '\\' and index + 1 < len(regex) and regex[index + 1] in LITERAL_ESCAPES:
            out.append((regex[index + 1], index))
            index += 2
            continue
        if char in '.^$*+?()[]{}|\\':
            break
        out.append((char, index))
        index += 1
    if out and regex[index:index + 1] in ('*', '?', '{'):
        index = out.pop()[1]  # a quantifier that may drop the last character: /srv/*x matches /srvx
    return ''.join(char for char, dummy in out), regex[index:]


# a file_contexts line: expression, file type as written (``--``, ``-d``, ...; none for every type), context
_FC_LINE_RE = re.compile(r'^(\S+)\s+(?:(--|-[dcbslp])\s+)?(\S+)\s*$')
# semanage's file type letters (``-f``) and how a file_contexts line writes each
FC_FTYPE = {'a': '', 'f': '--', 'd': '-d', 'c': '-c', 'b': '-b', 's': '-s', 'l': '-l', 'p': '-p'}
_FC_LETTER = dict((spelling, letter) for letter, spelling in FC_FTYPE.items())


def file_context_lines(text):
    """[(expression, file type letter, type or None for ``<<none>>``)] of a file_contexts file: the one reading of
    its lines (the verdict's labels and remedy's rules of the policy are views of it)."""
    entries = []
    for line in to_text(text or '', errors='surrogate_or_replace').splitlines():
        match = _FC_LINE_RE.match(line.strip())
        if match and not match.group(1).startswith('#'):
            parts = match.group(3).split(':')
            entries.append((match.group(1), _FC_LETTER[match.group(2) or ''], parts[2] if len(parts) >= 3 else None))
    return entries


def parse_file_contexts(text):
    """[(expression, type)] of a file_contexts file (``<<none>>`` entries dropped)."""
    return [(expression, type_name) for expression, dummy, type_name in file_context_lines(text) if type_name]


TREE_SUFFIXES = ('', '(/.*)?', '/.*', '(/.+)?', '/.+', '(/.*)', '/')


def _top_level_alternation(expression):
    """True when ``expression`` has a ``|`` outside every group and bracket: libselinux anchors an expression as
    ``^EXPR$``, so ``/srv/a|/etc/shadow`` matches /etc/shadow. Unbalanced text counts as True (in doubt)."""
    depth, index, in_class = 0, 0, False
    while index < len(expression):
        char = expression[index]
        if char == '\\':
            index += 2
            continue
        if in_class:
            in_class = char != ']'
        elif char == '[':
            in_class = True
            if expression[index + 1:index + 2] == ']':
                index += 1  # a ] first in a class is a member
        elif char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
            if depth < 0:
                return True
        elif char == '|' and depth == 0:
            return True
        index += 1
    return depth != 0 or in_class


# regex constructs this scanner does not follow (quoting, extensions and comments, a ] or a POSIX class first in a
# bracket): with any | in the expression, it may reach anything
OPAQUE_MARKS = ('\\Q', '\\E', '(?', '[]', '[^]', '[[:', '[^[:')


# genhomedircon's templates: a file-context line naming one of them is written out once per login home (root's
# /root, each user's home, the default /home/[^/]+) with the login's name; judged here over every home at once
HOME_TEMPLATES = (('HOME_DIR', ('/root', '/home/[^/]+')), ('HOME_ROOT', ('/home',)))
LOGIN_TOKENS = ('%{USERNAME}', '%{USERID}', 'USER')


def home_expansions(path):
    """The expressions a file-context line stands for once genhomedircon has written it out (every login home and
    login name at once): ``HOME_DIR/\\.ssh(/.*)?`` -> ``/root/\\.ssh(/.*)?`` and ``/home/[^/]+/\\.ssh(/.*)?``; a line
    without a template: itself."""
    paths = set([path])
    for token, homes in HOME_TEMPLATES:
        paths = set(p.replace(token, home) for p in paths for home in homes)
    for token in LOGIN_TOKENS:
        paths = set(p.replace(token, '[^/]+') for p in paths)
    return sorted(paths)


def label_scope(path):
    """The tree a file-context expression can reach, by its literal beginning: ``/srv/acme(/.*)?`` -> ``/srv/acme``;
    an expression inside a name (``/usr/s?bin/x``) reaches its whole directory (``/usr/``); one with a top-level
    alternation reaches anything (``''``)."""
    if _top_level_alternation(path) or ('|' in path and any(mark in path for mark in OPAQUE_MARKS)):
        return ''
    prefix, rest = literal_split(path)
    if rest in TREE_SUFFIXES:
        return prefix
    return prefix[:prefix.rfind('/') + 1] if '/' in prefix else ''


# {expression: (label_scope, literal_prefix)}: every judgement of a run reads the same file contexts
_HEADS = {}


def reaches(path, scope, expression):
    """Whether the file-context expression ``path`` (its tree: ``scope``, :func:`label_scope`) can match a file
    ``expression`` matches: every expression whose literal beginning lies in that tree, and one with a shorter literal
    beginning (``/srv/[^/]+/\\.secret`` against ``/srv/acme(/.*)?``) when the two expressions have a path in common, or
    when that cannot be read (:func:`_fcregex.intersects`)."""
    head = _HEADS.get(expression)
    if head is None:
        head = _HEADS[expression] = (label_scope(expression), literal_prefix(expression))
    if head[0] == '':  # a top-level alternation: its literal beginning bounds nothing
        return fcregex.intersects(path, expression) is not False
    prefix = head[1]
    if prefix.startswith(scope):
        return True
    return scope.startswith(prefix) and fcregex.intersects(path, expression) is not False
