# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of fleetsec.selinux.local_policy_module.

* ``src`` (top level or in ``modules`` entries) with ``remote_src: false`` is a
  ``.te`` file on the CONTROLLER: it is found like the ``template`` action finds
  files (``files/`` search path, relative to the role or playbook), read,
  templated when its name ends in ``.j2``, and passed to the module as ``te``.
  A sibling ``.fc`` file with the same base name is passed as ``fc``.
* ``dest``: the final ``.te`` (and ``.fc``) of every module are written to that
  controller folder (0600 files) for review and commit, outside check mode.

Runs under ansible-core 2.16 and 2.19.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.action import ActionBase

try:  # ansible-core >= 2.19: file contents must be trusted before templating
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - ansible-core < 2.19
    trust_as_template = None

MODULE = 'fleetsec.selinux.local_policy_module'


# the largest controller-side source read (.te, .fc, .if, templates): far above any reviewable module
MAX_SOURCE_BYTES = 16 * 1024 * 1024


def _strip_suffixes(path):
    base = path[:-3] if path.endswith('.j2') else path
    return os.path.splitext(base)[0]


def write_if_changed(path, text):
    """Write ``text`` to ``path`` atomically with mode 0600; return True when the content changed."""
    data = to_bytes(text, errors='surrogate_or_strict')
    try:
        with open(path, 'rb') as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


class _ExportFailed(Exception):
    def __init__(self, path, error):
        super(_ExportFailed, self).__init__(path)
        self.path = path
        self.error = error


def _same_content(path, text):
    try:
        with open(path, 'rb') as handle:
            return handle.read() == to_bytes(text, errors='surrogate_or_strict')
    except FileNotFoundError:
        return False


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def _template(self, text, task_vars):
        if trust_as_template is not None:
            templar = self._templar.copy_with_new_env(available_variables=task_vars)
            return templar.template(trust_as_template(text), escape_backslashes=False,
                                    preserve_trailing_newlines=True)
        with self._templar.set_temporary_context(available_variables=task_vars):
            return self._templar.template(text, escape_backslashes=False, preserve_trailing_newlines=True,
                                          convert_data=False)

    def _read_controller_file(self, path):
        real = self._loader.get_real_file(path, decrypt=True)
        try:
            with open(real, 'rb') as handle:
                data = handle.read(MAX_SOURCE_BYTES + 1)  # never more: a huge file is refused, not held in memory
        finally:
            self._loader.cleanup_tmp_file(real)
        if len(data) > MAX_SOURCE_BYTES:
            raise AnsibleActionFail('%s is larger than %d MiB: not a policy source a person could review (the '
                                    'targeted policy\'s largest module source is far smaller). Nothing was run.'
                                    % (path, MAX_SOURCE_BYTES // (1 << 20)))
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise AnsibleActionFail('%s is not UTF-8 text (a binary file, such as a compiled .pp, passed as src?): '
                                    'byte %d cannot be decoded. Pass a .pp with the pp option; nothing was run.'
                                    % (path, exc.start))
        if '\0' in text:
            raise AnsibleActionFail('%s holds NUL bytes: it is not a policy source (a binary file passed as src?). '
                                    'Nothing was run.' % path)
        return text

    def _resolve_src(self, entry, remote_default, task_vars):
        """Replace a controller-side ``src`` in ``entry`` by ``te`` (+ ``fc``); keep target-side ones."""
        src = entry.get('src')
        remote = entry.get('remote_src')
        if remote is None:
            remote = remote_default
        if not src or remote:
            return entry
        if entry.get('te') is not None:
            raise AnsibleActionFail("Module '%s': give either src or te, not both." % entry.get('name'))
        try:
            found = self._find_needle('files', src)
        except AnsibleError as err:
            raise AnsibleActionFail('Could not find src %s on the controller: %s' % (src, to_native(err)))
        text = self._read_controller_file(found)
        if found.endswith('.j2'):
            text = self._template(text, task_vars)
        entry = dict(entry)
        entry.pop('src')
        entry['te'] = to_text(text)
        sibling = _strip_suffixes(found) + '.fc'
        if entry.get('fc') is None and os.path.isfile(sibling):
            entry['fc'] = self._read_controller_file(sibling)
        entry.setdefault('remote_src', False)
        return entry

    def _dest_dir(self, dest):
        dest = os.path.expanduser(dest)
        if not os.path.isabs(dest):
            dest = os.path.join(self._loader.get_basedir(), dest)
        return dest

    @staticmethod
    def _check_dest(folder, names):
        """Refuse, BEFORE the module runs, a dest that could not take the files: writing them is the last step,
        after the policy transaction, and a failure there would leave a loaded module without its reviewed copy."""
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise AnsibleActionFail('dest %s exists and is not a directory; nothing was run.' % folder)
        existing = folder
        while not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
            raise AnsibleActionFail('dest %s cannot be written on the controller (%s is not a writable directory); '
                                    'nothing was run.' % (folder, existing))
        for name in names:
            for suffix in ('.te', '.fc'):
                path = os.path.join(folder, name + suffix)
                if os.path.lexists(path) and not os.path.isfile(path):
                    raise AnsibleActionFail('dest file %s exists and is not a regular file; nothing was run.' % path)

    def _export(self, folder, entries, modules):
        """Write each module's reviewed .te (and its .fc) into ``folder``; in check mode, only tell which would
        change. Returns ``(written, unchanged)`` paths."""
        fcs = dict((e.get('name'), e.get('fc')) for e in entries if isinstance(e, dict))
        written, unchanged = [], []
        for mod in modules:
            if not mod.get('te'):
                continue
            files = [('%s.te' % mod['name'], mod['te'])]
            if fcs.get(mod['name']):
                files.append(('%s.fc' % mod['name'], fcs[mod['name']]))
            for filename, text in files:
                path = os.path.join(folder, filename)
                if self._task.check_mode:
                    changed = not _same_content(path, text)
                else:
                    try:
                        changed = write_if_changed(path, text)
                    except OSError as exc:
                        raise _ExportFailed(path, exc)
                (written if changed else unchanged).append(path)
        return written, unchanged

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        dest = args.pop('dest', None)
        remote_default = bool(args.get('remote_src'))
        if args.get('modules'):
            if not isinstance(args['modules'], list):
                raise AnsibleActionFail('modules must be a list of dicts.')
            args['modules'] = [self._resolve_src(dict(e), remote_default, task_vars) if isinstance(e, dict) else e
                               for e in args['modules']]
        else:
            args = self._resolve_src(args, remote_default, task_vars)

        entries = args['modules'] if args.get('modules') else [args]
        folder = self._dest_dir(dest) if dest else None
        if folder:
            self._check_dest(folder, [str(e.get('name')) for e in entries if isinstance(e, dict) and e.get('name')])

        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        if result.get('failed') or not dest:
            return result

        try:
            written, unchanged = self._export(folder, entries, result.get('modules', []))
        except _ExportFailed as exc:
            result.update(failed=True, msg='The module ran (%s), but writing the reviewed source %s on the '
                          'controller failed: %s' % (result.get('msg', 'done'), exc.path, exc.error))
            return result
        result['dest_files'] = sorted(written + unchanged)
        if written:
            result['changed'] = True
        return result
