# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the real ``audit2allow -m NAME`` run on the denial lines (:func:`generate`), and what its output says
beside the rules: the volatile remarks dropped so that the same denials give the same text, the require block
sorted, the rules a boolean already allows (:func:`boolean_hints`).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_text


def generate(runner, name, lines, policy_file=None, refpolicy=False, interface_info=None):
    """Run the real ``audit2allow -m NAME`` on ``lines``; return (te, stderr)."""
    args = []
    if refpolicy:
        args.append('-R')
        if interface_info:
            args.append('--interface-info=%s' % interface_info)
    args.extend(['-m', name])
    if policy_file:
        args.extend(['-p', policy_file])
    data = '\n'.join(lines) + '\n'
    result = runner.run('audit2allow', args, data=data, what="module '%s'" % name)
    return sort_require_block(strip_volatile_remarks(to_text(result.stdout))), to_text(result.stderr)


def sort_require_block(te):
    """Sort the lines of audit2allow's ``require {`` block (types, then classes).

    sepolgen writes them in set-iteration order, which changes from run to run
    (audit2allow runs ``python3 -E``, so PYTHONHASHSEED cannot pin it): sorting
    makes the same denials give the same text, hence stable files in ``dest``.
    """
    lines = te.split('\n')
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == 'require {')
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == '}')
    except StopIteration:
        return te
    block = sorted(lines[start + 1:end], key=lambda line: (not line.strip().startswith('type '), line.strip()))
    return '\n'.join(lines[:start + 1] + block + lines[end:])


# audit2allow puts a blank line before each remark; without the remark the rule follows its header directly.
_VOLATILE_RE = re.compile(r'^\n?#!!!! This avc is allowed in the current policy\n', re.M)


def strip_volatile_remarks(te):
    """Drop audit2allow's "allowed in the current policy" remark: once this very module is loaded it appears on
    every rule, so keeping it would make the generated source change after the first install."""
    return _VOLATILE_RE.sub('', te)


_BOOLEAN_ONE_RE = re.compile(r"can be allowed using the boolean '([^']+)'")
_BOOLEAN_MANY_RE = re.compile(r'can be allowed using one of the these booleans:\s*\n#\s*(.*)')


def boolean_hints(te):
    """Rules audit2allow says a boolean already allows: [{'rule': ..., 'booleans': [...]}]."""
    hints = []
    pending = None
    for raw in te.splitlines():
        line = raw.strip()
        one = _BOOLEAN_ONE_RE.search(line)
        if one:
            pending = [one.group(1)]
            continue
        if 'can be allowed using one of the these booleans' in line:
            pending = []
            continue
        if pending == [] and line.startswith('#'):
            pending = [b.strip() for b in line.lstrip('#').split(',') if b.strip()]
            continue
        if pending and line and not line.startswith('#'):
            hints.append({'rule': ' '.join(line.split()), 'booleans': pending})
            pending = None
    return hints
