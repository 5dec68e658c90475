# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: what a binary policy defines (the names of users, roles, types and MLS levels, the classes with their
permissions) and whether a context names only what it defines. The answers come from ``_setools``, the one reader
of setools' output; what the rules MEAN for safety is judged in ``_policy_verdict``.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools

# what judging a transaction runs (declared in _commands)
GRANT_TOOLS = setools.TOOLS


DEFINED_KINDS = (('user', '-u'), ('role', '-r'), ('type', '-t'), ('sensitivity', '--sensitivity'),
                 ('category', '--category'))


def defined_names(runner, policy):
    """{kind: set(names)} of the users, roles, types, sensitivities and categories ``policy`` defines."""
    answers = setools.policy(runner, policy)
    return dict((kind, answers.names(flag, kind)) for kind, flag in DEFINED_KINDS)


def defined_classes(runner, policy):
    """{class: set(permissions)} that ``policy`` defines, the permissions of the class's common included."""
    return setools.policy(runner, policy).classes()


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
