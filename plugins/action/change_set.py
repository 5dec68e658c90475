# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleetsec.selinux.change_set: write a reviewed change set, or read one back bound to the approved digest.

Runs on the controller only (nothing is sent to the host). Runs under ansible-core 2.16 and 2.19.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import yaml

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.fleetsec.selinux.plugins.action.local_policy_module import write_if_changed
from ansible_collections.fleetsec.selinux.plugins.module_utils._change_set import (
    MODULE_NAME_RE, ChangeSetError, build, load,
)

# a change set holds one module's text and its evidence: far below this
MAX_BYTES = 64 * 1024 * 1024
HEADER = u'''# fleetsec.selinux change set of the local policy module {name}: everything one deployment does.
# Read it (module text, findings, remedies with their hosts and reasons, the denials and who reported them),
# commit it, then deploy exactly this content:
#   ansible-playbook -i INVENTORY fleetsec.selinux.enforce -e fleetsec_module_name={name} -e approve={digest}
# The digest is over the content: a file edited by hand is refused. To change it, run the review again.
'''


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line texts (the module) as literal blocks: the file reads and diffs like the source."""

    def analyze_scalar(self, scalar):
        if '\n' not in scalar or '\t' not in scalar:
            return super(_Dumper, self).analyze_scalar(scalar)
        # a tab is literal inside a literal block (the module's indentation); the emitter counts it as special
        analysis = super(_Dumper, self).analyze_scalar(scalar.replace('\t', ' '))
        analysis.allow_flow_plain = analysis.allow_block_plain = analysis.allow_single_quoted = False
        analysis.scalar = scalar
        return analysis


def _text_representer(dumper, value):
    style = '|' if '\n' in value else None
    return dumper.represent_scalar(u'tag:yaml.org,2002:str', value, style=style)


_Dumper.add_representer(str, _text_representer)


def render(change_set):
    body = yaml.dump(change_set, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     width=1000)
    text = HEADER.format(name=change_set['name'], digest=change_set['digest']) + body
    if yaml.safe_load(text) != change_set:  # pragma: no cover - a YAML round trip that changed a value
        raise AnsibleActionFail('The change set does not read back as written; nothing was written.')
    return text


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def _path(self, args):
        path = args.get('path')
        if not isinstance(path, str) or not path:
            raise AnsibleActionFail('path: the change set file (NAME.changes.yml) is required.')
        path = os.path.expanduser(path)
        return path if os.path.isabs(path) else os.path.join(self._loader.get_basedir(), path)

    def _write(self, args, path):
        name = args.get('name')
        if not isinstance(name, str) or not MODULE_NAME_RE.match(name):
            raise AnsibleActionFail('name: a module name ([A-Za-z][A-Za-z0-9_]*) is required.')
        try:
            change_set = build(name, args.get('plan') or {}, args.get('module'), args.get('policy'),
                               args.get('acknowledged'))
        except ChangeSetError as err:
            raise AnsibleActionFail('The change set cannot be written: %s Nothing was written.' % err)
        text = render(change_set)
        before = _read(path, missing_ok=True)
        result = {'path': path, 'digest': change_set['digest'], 'change_set': change_set,
                  'changed': before != text}
        if self._task.diff:
            result['diff'] = {'before': before or '', 'after': text, 'before_header': path, 'after_header': path}
        if result['changed'] and not self._task.check_mode:
            try:
                write_if_changed(path, text)
            except OSError as err:
                raise AnsibleActionFail('%s cannot be written: %s' % (path, err))
        return result

    def _approved(self, args, path):
        text = _read(path)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise AnsibleActionFail('%s is not YAML: %s. Nothing was deployed.' % (path, err))
        try:
            found = load(data, args.get('digest'))
        except ChangeSetError as err:
            raise AnsibleActionFail('%s is refused: %s Nothing was deployed.' % (path, err))
        return dict(found, path=path, changed=False)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars or {})
        del tmp
        # plain types: what a host or a task returned may be a tagged or unsafe text that YAML cannot write
        args = json.loads(json.dumps(dict(self._task.args)))
        unknown = set(args) - set(['state', 'path', 'name', 'plan', 'module', 'policy', 'acknowledged', 'digest'])
        if unknown:
            raise AnsibleActionFail('Unsupported parameters: %s.' % ', '.join(sorted(unknown)))
        state = args.get('state', 'approved')
        if state not in ('present', 'approved'):
            raise AnsibleActionFail('state: one of present, approved.')
        path = self._path(args)
        result.update(self._write(args, path) if state == 'present' else self._approved(args, path))
        return result


def _read(path, missing_ok=False):
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_BYTES + 1)
    except (IOError, OSError) as err:
        if missing_ok and not os.path.lexists(path):
            return None
        raise AnsibleActionFail('The change set %s cannot be read: %s. Nothing was deployed.' % (path, err))
    if len(data) > MAX_BYTES:
        raise AnsibleActionFail('%s is larger than %d MiB: not a change set. Nothing was deployed.'
                                % (path, MAX_BYTES >> 20))
    return to_text(data, errors='surrogate_or_strict')
