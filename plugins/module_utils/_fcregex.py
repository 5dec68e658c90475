# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: whether two file-context expressions can match the same path.

libselinux matches a path against each file-context expression as a whole (``^EXPR$``), in the dialect of the regex
library it was built with (PCRE2 on EL8 and later, PCRE or POSIX before). A relabel reaches a protected file whenever
its expression and the protected one have a path in common, however short their literal beginnings are:
``/srv/acme(/.*)?`` and ``/srv/[^/]+/\\.secret`` share ``/srv/acme/.secret``.

:func:`intersects` answers that exactly for the expressions file contexts use (literals, escapes, ``.``, brackets with
ranges and POSIX classes, groups, ``|``, the quantifiers ``* + ? {m,n}``), by searching the product of the two
expressions' automata. Where dialects differ it takes every reading (``\\t`` is a tab or a ``t``; a ``\\`` in a bracket
is an escape or itself); ``.`` matches a newline (libselinux compiles with ``PCRE2_DOTALL``), ``$`` a final newline
or nothing, another zero-width assertion (``^ \\b``) nothing; a count over :data:`MAX_COUNT` is unbounded; a top-level
``|`` is read as libselinux anchors it (``^A|B$``: A at the start only, B at the end only). So its answer is a
superset: True whenever some dialect's matches meet. A construct it does not read (a back reference, ``(?``, a PCRE2 verb ``(*``, ``{,n}``, ``\\x``,
``\\p``, a collating element), or an automaton of more than :data:`MAX_STATES` states, gives None: the caller counts
that as "may meet".

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MAX_CHAR = 0x10FFFF
MAX_COUNT = 32  # a bound over this counts as unbounded (a larger language: never misses a match)
MAX_STATES = 4000  # a larger automaton (nested counts: ((a{32}){32}){32}) is not read: None, "may meet"


class Unsupported(Exception):
    """A construct this reader does not follow."""


def _norm(ranges):
    """Sorted, merged [(lo, hi)] code point ranges."""
    out = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _complement(ranges):
    out, start = [], 0
    for lo, hi in _norm(ranges):
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_CHAR:
        out.append((start, MAX_CHAR))
    return out


def _chars(text):
    return [(ord(char), ord(char)) for char in text]


def _meet(first, second):
    """True when two normalised range lists share a code point."""
    i = j = 0
    while i < len(first) and j < len(second):
        if first[i][1] < second[j][0]:
            i += 1
        elif second[j][1] < first[i][0]:
            j += 1
        else:
            return True
    return False


DIGIT = [(48, 57)]
WORD = _norm([(48, 57), (65, 90), (97, 122), (95, 95)])
SPACE = _chars(' \t\n\r\f\v')
CLASS_ESCAPES = {'d': DIGIT, 'w': WORD, 's': SPACE}
POSIX_CLASSES = {
    'alpha': [(65, 90), (97, 122)], 'digit': DIGIT, 'alnum': [(48, 57), (65, 90), (97, 122)],
    'upper': [(65, 90)], 'lower': [(97, 122)], 'space': SPACE, 'blank': _chars(' \t'), 'word': WORD,
    'xdigit': [(48, 57), (65, 70), (97, 102)], 'punct': [(33, 47), (58, 64), (91, 96), (123, 126)],
    'print': [(32, 126)], 'graph': [(33, 126)], 'cntrl': [(0, 31), (127, 127)],
}
# letters that mean a control character in PCRE and the letter itself in POSIX: both readings
CONTROL_ESCAPES = {'t': '\t', 'n': '\n', 'r': '\r', 'f': '\f', 'v': '\v', 'a': '\a', 'e': '\x1b'}
ASSERTIONS = frozenset('bBAZzG')  # zero-width: counted as always true
EVERY = [(0, MAX_CHAR)]
DOT = EVERY  # libselinux compiles with PCRE2_DOTALL: . matches a newline too
ANYTHING = ('rep', ('set', EVERY), 0, None)
# $ (and the one libselinux appends) also matches before a final newline
END = ('rep', ('set', _chars('\n')), 0, 1)


def _escape_set(char):
    """The characters of an escape ``\\char`` (outside or inside a bracket), or raises :class:`Unsupported`."""
    lower = char.lower()
    if lower in CLASS_ESCAPES:
        return CLASS_ESCAPES[lower] if char == lower else _complement(CLASS_ESCAPES[lower])
    if char in CONTROL_ESCAPES:
        return _norm(_chars(CONTROL_ESCAPES[char] + char))
    if char.isalnum():
        raise Unsupported('\\' + char)
    return _chars(char)


class _Parser(object):
    """Expression text -> tree: ('set', ranges), ('cat', [tree]), ('alt', [tree]), ('rep', tree, min, max|None)."""

    def __init__(self, text):
        self.text, self.pos = text, 0

    def peek(self, ahead=0):
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ''

    def parse(self):
        """The tree of what libselinux matches: ``^EXPR$`` with no group around EXPR, so with a top-level ``|`` the
        first branch is anchored at the start only, the last at the end only, the others nowhere."""
        tree = self.alternation()
        if self.pos != len(self.text):
            raise Unsupported('an unbalanced ) at %d' % self.pos)
        if tree[0] == 'alt':
            last = len(tree[1]) - 1
            tree = ('alt', [('cat', ([ANYTHING] if index else []) + [branch] + ([ANYTHING] if index < last else []))
                            for index, branch in enumerate(tree[1])])
        return ('cat', [tree, END])

    def alternation(self):
        branches = [self.sequence()]
        while self.peek() == '|':
            self.pos += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ('alt', branches)

    def sequence(self):
        items = []
        while self.peek() not in ('', '|', ')'):
            items.append(self.repeat(self.atom()))
        return ('cat', items)

    def repeat(self, tree):
        while True:
            char = self.peek()
            bound = self._bound() if char == '{' else None
            if char in ('*', '+', '?'):
                self.pos += 1
                tree = ('rep', tree, 1 if char == '+' else 0, 1 if char == '?' else None)
            elif bound is not None:
                low, high, length = bound
                self.pos += length
                tree = ('rep', tree, min(low, MAX_COUNT), None if high is None or high > MAX_COUNT else high)
            else:
                return tree
            if self.peek() in ('?', '+'):
                self.pos += 1  # lazy or possessive: the same matches, or fewer

    def _bound(self):
        """(min, max or None, length) of a ``{m}``, ``{m,}``, ``{m,n}`` here, else None (a literal ``{``)."""
        end = self.text.find('}', self.pos)
        body = self.text[self.pos + 1:end] if end > 0 else ''
        low, comma, high = body.partition(',')
        if not low and comma and high.isdigit():
            raise Unsupported('{,n}')  # a count from PCRE2 10.43 on, text before
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        return int(low), (int(high) if high else (None if comma else int(low))), len(body) + 2

    def atom(self):
        char = self.peek()
        self.pos += 1
        if char == '(':
            if self.peek() in ('?', '*'):
                raise Unsupported('(' + self.peek())  # extensions, and PCRE2's verbs: (*ACCEPT) ends the match
            tree = self.alternation()
            if self.peek() != ')':
                raise Unsupported('an unclosed (')
            self.pos += 1
            return tree
        if char == '[':
            return ('set', self.bracket())
        if char == '.':
            return ('set', DOT)
        if char == '^':
            return ('cat', [])
        if char == '$':
            return END
        if char == '\\':
            return self.escape()
        return ('set', _chars(char))

    def escape(self):
        char = self.peek()
        self.pos += 1
        if char == '':
            raise Unsupported('a trailing \\')
        if char == 'Q':
            end = self.text.find('\\E', self.pos)
            end = len(self.text) if end < 0 else end
            literal, self.pos = self.text[self.pos:end], min(end + 2, len(self.text))
            return ('cat', [('set', _chars(c)) for c in literal])
        if char == 'E' or char in ASSERTIONS:
            return ('cat', [])
        return ('set', _escape_set(char))

    def bracket(self):
        negate = self.peek() == '^'
        self.pos += negate
        members, first = [], True
        while True:
            char = self.peek()
            if char == '':
                raise Unsupported('an unclosed [')
            if char == ']' and not first:
                self.pos += 1
                break
            first = False
            if self.text.startswith('[:', self.pos):
                end = self.text.find(':]', self.pos + 2)
                name = self.text[self.pos + 2:end] if end > 0 else ''
                if name not in POSIX_CLASSES:
                    raise Unsupported('[:%s:]' % name)
                members.extend(POSIX_CLASSES[name])
                self.pos = end + 2
                continue
            if self.text.startswith('[.', self.pos) or self.text.startswith('[=', self.pos):
                raise Unsupported('a collating element')
            low = self._member()
            if self.peek() == '-' and self.peek(1) not in (']', ''):
                self.pos += 1
                high = self._member()
                if len(low) != 1 or len(high) != 1 or low[0][0] != low[0][1] or high[0][0] != high[0][1]:
                    raise Unsupported('a range between classes')
                members.append((min(low[0][0], high[0][0]), max(low[0][0], high[0][0])))
            else:
                members.extend(low)
        members = _norm(members)
        return _complement(members) if negate else members

    def _member(self):
        """The ranges of one bracket member; a ``\\`` is an escape (PCRE) or itself (POSIX): both."""
        char = self.peek()
        self.pos += 1
        if char != '\\':
            return _chars(char)
        escaped = self.peek()
        self.pos += 1
        if escaped == '':
            raise Unsupported('a trailing \\')
        try:
            return _norm(_escape_set(escaped) + _chars('\\'))
        except Unsupported:
            raise Unsupported('\\' + escaped + ' in a bracket')


class _Automaton(object):
    """A Thompson automaton: ``eps[state]`` and ``moves[state]`` ([(ranges, state)]); ``start``, ``accept``."""

    def __init__(self, tree):
        self.eps, self.moves = [], []
        self.start, self.accept = self._new(), self._new()
        self._build(tree, self.start, self.accept)

    def _new(self):
        if len(self.eps) >= MAX_STATES:
            raise Unsupported('an expression of more than %d states' % MAX_STATES)
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1

    def _build(self, tree, start, end):
        kind = tree[0]
        if kind == 'set':
            self.moves[start].append((tree[1], end))
        elif kind == 'alt':
            for branch in tree[1]:
                self._build(branch, start, end)
        elif kind == 'cat':
            here = start
            for item in tree[1]:
                after = self._new()
                self._build(item, here, after)
                here = after
            self.eps[here].append(end)
        else:
            self._repeat(tree[1], tree[2], tree[3], start, end)

    def _repeat(self, tree, low, high, start, end):
        here = start
        for dummy in range(low):
            after = self._new()
            self._build(tree, here, after)
            here = after
        if high is None:
            loop = self._new()
            self.eps[here].append(loop)
            self._build(tree, loop, loop)
            self.eps[loop].append(end)
            return
        for dummy in range(high - low):
            after = self._new()
            self.eps[here].append(end)
            self._build(tree, here, after)
            here = after
        self.eps[here].append(end)


_CACHE = {}


def automaton(expression):
    """The automaton of ``expression`` (cached), or raises :class:`Unsupported`."""
    if expression not in _CACHE:
        try:
            _CACHE[expression] = _Automaton(_Parser(expression).parse())
        except Unsupported as err:
            _CACHE[expression] = err
    found = _CACHE[expression]
    if isinstance(found, Unsupported):
        raise found
    return found


def intersects(first, second):
    """True when some path matches both expressions (in some dialect), False when none does, None when either holds a
    construct this reader does not follow."""
    try:
        one, two = automaton(first), automaton(second)
    except Unsupported:
        return None
    goal = (one.accept, two.accept)
    seen = set([(one.start, two.start)])
    todo = list(seen)
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        left, right = here
        nexts = [(state, right) for state in one.eps[left]] + [(left, state) for state in two.eps[right]]
        nexts.extend((a, b) for ranges_a, a in one.moves[left] for ranges_b, b in two.moves[right]
                     if _meet(ranges_a, ranges_b))
        for pair in nexts:
            if pair not in seen:
                seen.add(pair)
                todo.append(pair)
    return False
