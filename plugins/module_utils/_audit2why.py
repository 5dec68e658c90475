# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: classify denials with the real ``audit2why`` (run through the Runner).

``audit2why`` echoes each AVC line it analysed followed by a "Was caused by:" block;
:func:`parse_output` maps each of our canonical lines to an explanation dict
``{"kind": ..., "booleans": [...], "text": ...}`` with kind one of ``missing_rule``,
``boolean``, ``constraint``, ``reload`` or ``unknown``.

Where SELinux is not active audit2why needs ``-p POLICY``: :mod:`_host_facts`
says whether it is and which binary policy is configured.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_text


KINDS = ('missing_rule', 'boolean', 'constraint', 'reload', 'unknown')
_BOOL = re.compile(r'setsebool -P (\S+) ([01])')


def explanation(kind, booleans=None, text=''):
    return {'kind': kind, 'booleans': list(booleans or []), 'text': text}


def classify(block):
    """Explanation dict for the text that follows one echoed AVC line."""
    text = '\n'.join(line.strip() for line in block.splitlines()
                     if line.strip() and line.strip() != 'Was caused by:')
    booleans = []
    for name, _value in _BOOL.findall(block):
        if name not in booleans:
            booleans.append(name)
    if 'Unknown - would be allowed by active policy' in block:
        kind = 'reload'
    elif booleans or 'boolean' in block.lower():
        kind = 'boolean'
    elif 'Constraint rule' in block or 'constraint violation' in block.lower():
        kind = 'constraint'
    elif 'Missing type enforcement' in block or 'Missing role allow rule' in block or 'Typebounds violation' in block:
        kind = 'missing_rule'
    else:
        kind = 'unknown'
    return explanation(kind, booleans, text)


def parse_output(output, lines):
    """Map each of ``lines`` to its explanation, from audit2why's output."""
    wanted = set(lines)
    blocks = {}
    current = None
    buf = []
    for raw in output.splitlines():
        line = raw.rstrip('\r')
        if line in wanted:
            if current is not None:
                blocks[current] = '\n'.join(buf)
            current = line
            buf = []
        elif current is not None:
            buf.append(line)
    if current is not None:
        blocks[current] = '\n'.join(buf)
    result = {}
    for line in lines:
        if line in blocks:
            result[line] = classify(blocks[line])
        else:
            result[line] = explanation('unknown', text='audit2why gave no analysis (types or class unknown to the policy?)')
    return result


def explain(runner, lines, policy=None):
    """Run audit2why once on ``lines``; return {line: explanation}."""
    if not lines:
        return {}
    args = []
    if policy:
        args += ['-p', policy]
    result = runner.run('audit2why', args, data='\n'.join(lines) + '\n', what='the collected denials',
                        hint='Pass policy= (a binary policy file) when SELinux is disabled.')
    return parse_output(to_text(result.stdout, errors='surrogate_or_strict'), lines)
