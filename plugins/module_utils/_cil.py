# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: read the statements of a CIL module (the language every module becomes in the store).

A ``.te`` compiled to a ``.pp``, a prebuilt ``.pp`` and a ``.cil`` all reach libsemanage as CIL (the ``.pp``
through the store's own converter), labels of the ``.fc`` included (``filecon``). This reader turns that text
into :class:`Statement` objects and flattens the containers whose content may be active or not:
``optional`` blocks (dormant until every name they use exists), both branches of ``booleanif`` and
``tunableif``. Each statement keeps where it sits (``dormant``: inside an optional or a conditional branch), so
a judgement sees dormant content as if it were active. Namespaces and macros (``block``, ``in``, ``macro``,
``call``, ``blockinherit``) change what names mean; they are returned as statements of their own kind, for the
caller to refuse.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


class CilSyntaxError(FleetsecError):
    pass


class Statement(object):
    """One CIL statement: its keyword, its arguments (strings or nested lists), whether it is dormant."""
    __slots__ = ('keyword', 'args', 'dormant', 'where')

    def __init__(self, keyword, args, dormant=False, where=''):
        self.keyword, self.args, self.dormant, self.where = keyword, args, dormant, where

    def text(self):
        """The statement as one line without its outer parentheses (``userrole staff_u sysadm_r``)."""
        return ' '.join(to_text_form(item) for item in [self.keyword] + list(self.args))

    def __repr__(self):
        return 'Statement(%s%s)' % (self.text(), ', dormant' if self.dormant else '')


def tokens(text):
    """The tokens of CIL text: ``(``, ``)``, symbols and quoted strings (quotes kept); comments dropped."""
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char in ' \t\r\n':
            i += 1
        elif char == ';':
            end = text.find('\n', i)
            i = size if end < 0 else end + 1
        elif char in '()':
            yield char
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise CilSyntaxError('unterminated string in CIL text at offset %d' % i)
            yield text[i:end + 1]
            i = end + 1
        else:
            start = i
            while i < size and text[i] not in ' \t\r\n();"':
                i += 1
            yield text[start:i]


def parse(text):
    """The top-level expressions of CIL text as nested lists of strings (quoted strings keep their quotes)."""
    stack = [[]]
    for token in tokens(text or ''):
        if token == '(':
            stack.append([])
        elif token == ')':
            if len(stack) == 1:
                raise CilSyntaxError("unbalanced ')' in CIL text")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise CilSyntaxError("unbalanced '(' in CIL text: %d not closed" % (len(stack) - 1))
    return stack[0]


def to_text_form(expr):
    if isinstance(expr, list):
        return '(%s)' % ' '.join(to_text_form(item) for item in expr)
    return expr


def unquote(value):
    if not isinstance(value, list) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _walk(exprs, dormant, where, out):
    for expr in exprs:
        if not isinstance(expr, list) or not expr or isinstance(expr[0], list):
            out.append(Statement('?', [expr], dormant, where))
            continue
        keyword, args = expr[0], expr[1:]
        if keyword == 'optional' and args:
            _walk(args[1:], True, (where + ' ' if where else '') + 'optional %s' % to_text_form(args[0]), out)
        elif keyword in ('booleanif', 'tunableif') and args:
            condition = to_text_form(args[0])
            for branch in args[1:]:
                if isinstance(branch, list) and branch and branch[0] in ('true', 'false'):
                    _walk(branch[1:], True, (where + ' ' if where else '') + '%s %s %s' % (
                        keyword, condition, branch[0]), out)
                else:  # the old form without true/false: the statements apply when the condition is true
                    _walk([branch], True, (where + ' ' if where else '') + '%s %s' % (keyword, condition), out)
        else:
            out.append(Statement(keyword, args, dormant, where))


MAX_DEPTH = 64  # deeper nesting is refused with a clear error (secilc's own limit is far lower in practice)


def canonical(expr):
    """``expr`` with every name as CIL resolves it: a quoted token is the name itself (``"shadow_t"`` is
    ``shadow_t``), and one leading dot only says "in the global namespace" (``.shadow_t`` is ``shadow_t``). The
    verdict compares names, so it must see the ones the compiler uses."""
    if isinstance(expr, list):
        out = [canonical(item) for item in expr]
        if len(expr) == 6 and out[0] == 'typetransition':
            out[4] = expr[4]  # the object's file name: a string, not a name (kept as written, quotes and all)
        return out
    if expr[:1] == '"' and '/' in expr:
        return expr  # a path (filecon, genfscon): a string, not a name
    name = unquote(expr)
    if len(name) > 1 and name[0] == '.' and name[1] != '.':
        name = name[1:]
    return name


def statements(text):
    """Every statement of a CIL module, containers flattened (see the module docstring), names canonical
    (:func:`canonical`)."""
    exprs = parse(text)
    _check_depth(exprs)
    out = []
    _walk(canonical(exprs), False, '', out)
    return out


def _check_depth(exprs):
    todo = [(expr, 1) for expr in exprs if isinstance(expr, list)]
    while todo:
        expr, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise CilSyntaxError('CIL text nested deeper than %d levels' % MAX_DEPTH)
        todo.extend((item, depth + 1) for item in expr if isinstance(item, list))
