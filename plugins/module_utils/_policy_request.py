# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the first stage of local_policy_module: what was asked, as validated immutable values.

ONE table of the options a module entry takes (:data:`OPTIONS`) gives the argument spec (top level and each item of
``modules``), the entry keys, the source kinds and what a top-level option passes down to the entries.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_build as build
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError

STATES = ['present', 'absent', 'enabled', 'disabled', 'generated']
# a module version as checkmodule's scanner reads one (VERSION_IDENTIFIER: digits, then a dot and letters, digits,
# dots or underscores): it is written into the module statement, so nothing else may ride along
VERSION_RE = re.compile(r'^[0-9]+(?:\.[A-Za-z0-9_.]*)?\Z')
DEFAULT_PRIORITY = 400

# (key, argument spec, default at the top level, a top-level value passes down to the entries, is a source)
OPTIONS = (
    ('name', dict(type='str'), None, False, False),
    ('state', dict(type='str', choices=STATES), 'present', True, False),
    ('priority', dict(type='int'), DEFAULT_PRIORITY, True, False),
    ('version', dict(type='str'), None, False, False),
    ('denials', dict(type='list', elements='raw'), None, False, True),
    ('accumulate', dict(type='bool'), False, True, False),
    ('te', dict(type='str'), None, False, True),
    ('fc', dict(type='str'), None, False, False),
    ('src', dict(type='path'), None, False, True),
    ('remote_src', dict(type='bool'), False, True, False),
    ('pp', dict(type='path'), None, False, True),
    ('cil', dict(type='path'), None, False, True),
    ('refpolicy', dict(type='bool'), False, True, False),
    ('force', dict(type='bool'), False, True, False),
    ('allow_dangerous', dict(type='raw'), None, True, False),
    ('if', dict(type='str'), None, False, False),
)
ENTRY_KEYS = tuple(option[0] for option in OPTIONS)
SOURCE_KEYS = tuple(option[0] for option in OPTIONS if option[4])
INHERITED = tuple(option[0] for option in OPTIONS if option[3])


class PlanError(FleetsecError):
    pass


def entry_spec(top_level):
    """The argument spec of a module entry: the top level's (with its defaults) or an item of ``modules``."""
    spec = {}
    for key, option, default, dummy, dummy2 in OPTIONS:
        option = dict(option)
        if top_level and default is not None:
            option['default'] = default
        if key == 'name' and not top_level:
            option['required'] = True
        spec[key] = option
    return spec


def argument_spec():
    spec = entry_spec(top_level=True)
    spec.update(
        modules=dict(type='list', elements='dict', options=entry_spec(top_level=False),
                     mutually_exclusive=[list(SOURCE_KEYS)]),
        policy_root=dict(type='path'),
        dest=dict(type='path'),
    )
    return spec


# One requested module. ``kind`` is the source key given (None: enable/disable/remove what is installed) and
# ``source`` its value; ``allow_dangerous`` is a ``_policy_safety.Acknowledged``.
Entry = namedtuple('Entry', ('name', 'state', 'priority', 'kind', 'source', 'version', 'fc', 'iface', 'refpolicy',
                             'force', 'allow_dangerous', 'accumulate'))


def _inherit(raw, defaults, key):
    value = raw.get(key)
    return defaults.get(key) if value is None else value


def entry(raw, defaults):
    """An :class:`Entry` of one raw entry (a dict of :data:`ENTRY_KEYS`), the top level's ``defaults`` filling what
    it leaves unset."""
    name = build.validate_name(raw.get('name'))
    state = _inherit(raw, defaults, 'state') or 'present'
    priority = _inherit(raw, defaults, 'priority')
    priority = DEFAULT_PRIORITY if priority is None else priority
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 999:
        raise PlanError("Module '%s': priority %r is out of range: semodule priorities are 1 to 999 (400: local "
                        "administrator, the default)." % (name, priority))
    given = [k for k in SOURCE_KEYS if raw.get(k) not in (None, '', [])]
    if len(given) > 1:
        raise PlanError("Module '%s': give only one of %s (got %s)." % (name, ', '.join(SOURCE_KEYS), ', '.join(given)))
    if state in ('present', 'generated') and not given:
        raise PlanError("Module '%s': state=%s needs a source: one of %s." % (name, state, ', '.join(SOURCE_KEYS)))
    kind = given[0] if given else None
    version = raw.get('version')
    if version is not None and not VERSION_RE.match(str(version)):
        raise PlanError("Module '%s': version %r is not a module version (digits, then a dot and letters, digits, dots "
                        "or underscores, such as 1.0 or 2.3.1); it is written into the module statement. Nothing was "
                        "changed." % (name, version))
    if raw.get('accumulate') and kind not in (None, 'denials'):
        raise PlanError("Module '%s': accumulate merges denials; it does not apply to %s. Nothing was changed."
                        % (name, kind))
    # an entry with another source ignores the inherited top-level value (as documented)
    accumulate = bool(_inherit(raw, defaults, 'accumulate')) and kind == 'denials'
    return Entry(name, state, priority, kind, raw.get(kind) if kind else None, version, raw.get('fc'),
                 raw.get('if'), bool(_inherit(raw, defaults, 'refpolicy')), bool(_inherit(raw, defaults, 'force')),
                 safety.Acknowledged(_inherit(raw, defaults, 'allow_dangerous')), accumulate)


def request(params):
    """(entries, single, generating) of the module's parameters: the validated entries, whether one module was given
    at the top level, and whether the call only generates and judges (state=generated, never mixed with others)."""
    defaults = dict((key, params.get(key)) for key in INHERITED)
    single = params.get('modules') is None
    raws = [params] if single else params['modules']
    raws = [dict((key, raw.get(key)) for key in ENTRY_KEYS) for raw in raws]
    names = [raw.get('name') for raw in raws]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise PlanError('Each module may appear once in modules; repeated: %s.' % ', '.join(duplicates))
    states = set(_inherit(raw, defaults, 'state') or 'present' for raw in raws)
    if 'generated' in states and len(states) > 1:
        raise PlanError('state=generated installs nothing, so it cannot be mixed with other states in one call '
                        '(got %s). Nothing was changed.' % ', '.join(sorted(states)))
    return [entry(raw, defaults) for raw in raws], single, 'generated' in states
