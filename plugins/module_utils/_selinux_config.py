# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: read and rewrite the text of ``/etc/selinux/config`` (pure functions).

Reading is tolerant: spaces around ``=``, quoted values, inline comments, CRLF
line endings and leading blanks are understood.  Writing is strict: libselinux
reads ``SELINUX=`` only at the very start of a line and takes the value
literally, so every line that sets a managed key is rewritten to the canonical
``KEY=value`` form.  Comments and unrelated lines are kept byte for byte.

The text is a native string made by :func:`decode`: bytes that are not UTF-8
survive until :func:`encode` (surrogate escapes on Python 3, the bytes
themselves on Python 2).  Such a value of a managed key cannot be reported,
so :func:`undecodable` finds it for the caller to refuse the file.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text


MODES = ('enforcing', 'permissive', 'disabled')
MODE_KEY = 'SELINUX'
POLICY_KEY = 'SELINUXTYPE'
POLICY_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*\Z')
# an SELinux identifier as the collection accepts it (type, boolean, module name): \Z, not $, so that a trailing
# newline never passes (it would end a line of a semanage import or name a file)
IDENTIFIER_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]*\Z')

_ASSIGN_RE = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$')
_INLINE_COMMENT_RE = re.compile(r'\s+#(.*)$')

TEMPLATE = (
    '# This file controls the state of SELinux on the system.{nl}'
    '# Written by fleetsec.selinux.selinux_mode.{nl}'
    '# SELINUX= can take one of these three values:{nl}'
    '#     enforcing - SELinux security policy is enforced.{nl}'
    '#     permissive - SELinux prints warnings instead of enforcing.{nl}'
    '#     disabled - No SELinux policy is loaded.{nl}'
    'SELINUX={mode}{nl}'
    '# SELINUXTYPE= names the policy: a directory of that name beside this file.{nl}'
    'SELINUXTYPE={policy}{nl}'
)


class Assignment(object):
    """One ``KEY=value`` line of the file as found."""

    __slots__ = ('index', 'key', 'value', 'comment', 'canonical')

    def __init__(self, index, key, value, comment, canonical):
        self.index = index
        self.key = key
        self.value = value
        self.comment = comment
        self.canonical = canonical


def decode(data):
    """Native text of the bytes ``data`` of a config file; :func:`encode` gives back the same bytes."""
    return to_native(data, errors='surrogate_or_strict')


def encode(text):
    """Bytes of the text made by :func:`decode` (and changed by :func:`render`)."""
    return to_bytes(text, errors='surrogate_or_strict')


def _is_utf8(text):
    try:
        encode(text).decode('utf-8')
    except UnicodeError:
        return False
    return True


def printable(text):
    """Unicode text of ``text`` to show to a user: the bytes that are not UTF-8 become U+FFFD."""
    return to_text(encode(text), errors='replace')


def escape(value):
    """``value`` in ASCII for a message: bytes outside printable ASCII (and ``\\``) as ``\\xNN``."""
    return ''.join(chr(byte) if 32 <= byte < 127 and byte != 92 else '\\x%02x' % byte
                   for byte in bytearray(encode(value)))


def split_lines(text):
    """Split ``text`` into ``(body, eol)`` pairs; ``eol`` is ``'\\r\\n'``, ``'\\n'`` or ``''``."""
    result = []
    for raw in text.splitlines(True):
        if raw.endswith('\r\n'):
            result.append((raw[:-2], '\r\n'))
        elif raw.endswith('\n') or raw.endswith('\r'):
            result.append((raw[:-1], raw[-1]))
        else:
            result.append((raw, ''))
    return result


def newline_of(text):
    """The line ending the file uses most (``'\\n'`` for an empty file)."""
    crlf = text.count('\r\n')
    return '\r\n' if crlf and crlf >= text.count('\n') - crlf else '\n'


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ('"', "'"):
        return value[1:-1].strip()
    return value


def parse_line(index, body):
    """Return an :class:`Assignment` for a ``KEY=value`` line, else None (comments, blanks, junk)."""
    stripped = body.strip()
    if not stripped or stripped.startswith('#'):
        return None
    match = _ASSIGN_RE.match(body)
    if not match:
        return None
    key, raw = match.group(1), match.group(2)
    comment = None
    value = raw
    if not (raw[:1] in ('"', "'") and raw[-1:] == raw[:1] and len(raw) >= 2):
        found = _INLINE_COMMENT_RE.search(raw)
        if found:
            comment = found.group(1).strip()
            value = raw[:found.start()]
    value = _unquote(value.strip())
    if key == MODE_KEY:
        value = value.lower()
    canonical = body == '%s=%s' % (key, value)
    return Assignment(index, key, value, comment, canonical)


def assignments(text, key):
    """Every line of ``text`` that sets ``key``, in file order."""
    found = []
    for index, (body, dummy) in enumerate(split_lines(text)):
        item = parse_line(index, body)
        if item is not None and item.key == key:
            found.append(item)
    return found


def read_value(text, key):
    """The value of ``key`` as libselinux uses it, or None when the key is absent.

    libselinux takes the first ``SELINUX=`` line and the last ``SELINUXTYPE=``
    line; tolerant parsing is applied to both.
    """
    found = assignments(text, key)
    if not found:
        return None
    return (found[-1] if key == POLICY_KEY else found[0]).value


def read_config(text):
    """``{'mode': ..., 'policy': ...}`` of a config file's text (None for missing keys)."""
    if text is None:
        return {'mode': None, 'policy': None}
    return {'mode': read_value(text, MODE_KEY), 'policy': read_value(text, POLICY_KEY)}


def undecodable(text):
    """The first :class:`Assignment` of ``SELINUX`` or ``SELINUXTYPE`` whose value is not valid UTF-8, else None."""
    for index, (body, dummy) in enumerate(split_lines(text)):
        item = parse_line(index, body)
        if item is not None and item.key in (MODE_KEY, POLICY_KEY) and not _is_utf8(item.value):
            return item
    return None


def needs_rewrite(text, key, value):
    """True when ``key`` is missing, differs from ``value`` or is not written canonically."""
    found = assignments(text, key)
    if not found:
        return True
    return any(item.value != value or not item.canonical for item in found)


def set_value(text, key, value):
    """Return ``text`` with every ``key`` line set to canonical ``KEY=value``.

    Lines for other keys, comments and blanks are kept as they are.  An inline
    comment on a rewritten line is kept on its own line just above it.  A key
    that is missing is appended at the end.
    """
    nl = newline_of(text)
    lines = split_lines(text)
    found = dict((item.index, item) for item in assignments(text, key))
    out = []
    for index, (body, eol) in enumerate(lines):
        item = found.get(index)
        if item is None:
            out.append(body + eol)
            continue
        line_eol = eol or nl
        if item.comment is not None and not item.canonical:
            out.append('# %s%s' % (item.comment, line_eol))
        out.append('%s=%s%s' % (key, value, eol))
    if not found:
        if out and not out[-1].endswith(('\n', '\r')):
            out[-1] += nl
        out.append('%s=%s%s' % (key, value, nl))
    return ''.join(out)


def render(text, mode=None, policy=None):
    """New text for the wanted ``mode``/``policy`` (None = leave that key alone)."""
    if mode is not None and needs_rewrite(text, MODE_KEY, mode):
        text = set_value(text, MODE_KEY, mode)
    if policy is not None and needs_rewrite(text, POLICY_KEY, policy):
        text = set_value(text, POLICY_KEY, policy)
    return text


def template(mode, policy):
    """Text of a new config file."""
    return TEMPLATE.format(nl='\n', mode=mode, policy=policy)


def make_diff(path, before, after):
    """Ansible diff dict; ``before`` is None when the file does not exist. Bytes that are not UTF-8 show as U+FFFD."""
    return {
        'before': printable(before or ''),
        'after': printable(after or ''),
        'before_header': '%s%s' % (path, '' if before is not None else ' (absent)'),
        'after_header': path,
    }
