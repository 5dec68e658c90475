# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: decide what local_policy_module must do, then do it in ONE transaction.

For each requested module: prepare the source (generate / read / version),
compare with the record and the store (compile only when the record cannot
prove it unchanged), check ownership and safety, and collect store
operations.  All operations of all modules run as one ``semodule`` call.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import tempfile
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_build as build
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_grants as grants
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import read_bytes, sha256_bytes
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


ENTRY_KEYS = ('name', 'state', 'priority', 'version', 'denials', 'te', 'fc', 'if', 'src', 'remote_src', 'pp', 'cil',
              'refpolicy', 'force', 'allow_dangerous')
SOURCE_KEYS = ('denials', 'te', 'src', 'pp', 'cil')
RECORD_VERSION = 1
DEVEL_INCLUDE = '/usr/share/selinux/devel/include'


class PlanError(FleetsecError):
    pass


def _newest_mtime(top):
    newest = 0
    for base, dummy, files in os.walk(top):
        for name in files:
            try:
                newest = max(newest, os.stat(os.path.join(base, name)).st_mtime)
            except OSError:
                continue
    return newest


def rules_diff(name, before, after, priority):
    return {
        'before_header': '%s (priority %s, installed)' % (name, priority),
        'after_header': '%s (priority %s, requested)' % (name, priority),
        'before': ''.join('%s\n' % r for r in before),
        'after': ''.join('%s\n' % r for r in after),
    }


class Planner(object):

    def __init__(self, module, runner, store, defaults):
        self.module = module
        self.runner = runner
        self.store = store
        self.defaults = defaults
        self.warnings = []
        self._workdir = None
        self._iface = None
        self._single = True

    # ------------------------------------------------------------ helpers ---
    def workdir(self):
        if self._workdir is None:
            base = getattr(self.module, 'tmpdir', None) or tempfile.gettempdir()
            self._workdir = tempfile.mkdtemp(prefix='fleetsec-policy-', dir=base)
            os.chmod(self._workdir, 0o700)
        return self._workdir

    def _entry_dir(self, name):
        path = os.path.join(self.workdir(), name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.mkdir(path, 0o700)
        return path

    def policy_file_for_audit2allow(self):
        """``-p POLICY`` is needed where SELinux is disabled, and always for an alternate root."""
        if self.store.root or not facts.selinux_active():
            return self.store.policy_file()
        return None

    def interface_info(self):
        """Path of up-to-date sepolgen interface info for ``audit2allow -R`` (regenerated when missing or stale)."""
        if self._iface is not None:
            return self._iface
        target = os.path.join(self.store.state_dir, 'interface_info')
        headers = _newest_mtime(DEVEL_INCLUDE) if os.path.isdir(DEVEL_INCLUDE) else 0
        if os.path.exists(target) and os.stat(target).st_mtime >= headers:
            self._iface = target
            return target
        out = os.path.join(self.workdir(), 'interface_info')
        args = ['-o', out]
        try:
            args[:0] = ['-p', self.store.policy_file()]
        except FleetsecError:
            pass
        self.runner.run('sepolgen_ifgen', args, what='interface information for audit2allow -R')
        if self.module.check_mode:
            self._iface = out
        else:
            self.store._ensure_dir(self.store.state_dir)
            os.chmod(out, 0o600)
            self.module.atomic_move(out, target)
            os.chmod(target, 0o600)
            self._iface = target
        return self._iface

    def _opt(self, entry, key):
        value = entry.get(key)
        if value is None:
            return self.defaults.get(key)
        return value

    # ------------------------------------------------------------- source ---
    def prepare(self, entry):
        """Resolve the entry's source into a dict: kind, te, fc, if, rules, findings, source_sha256, version ..."""
        name = build.validate_name(entry.get('name'))
        state = self._opt(entry, 'state') or 'present'
        priority = self._opt(entry, 'priority')
        priority = 400 if priority is None else priority
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 999:
            raise PlanError("Module '%s': priority %r is out of range: semodule priorities are 1 to 999 (400: local "
                            "administrator, the default)." % (name, priority))
        given = [k for k in SOURCE_KEYS if entry.get(k) not in (None, '', [])]
        if len(given) > 1:
            raise PlanError("Module '%s': give only one of %s (got %s)." % (name, ', '.join(SOURCE_KEYS), ', '.join(given)))
        prep = {'name': name, 'state': state, 'priority': priority, 'kind': given[0] if given else None,
                'te': None, 'fc': entry.get('fc'), 'if': entry.get('if'), 'rules': [], 'findings': [],
                'dropped': [], 'booleans': [], 'version': None, 'path': None, 'expanded': None,
                'force': bool(self._opt(entry, 'force')),
                'allow_dangerous': safety.parse_allow_dangerous(self._opt(entry, 'allow_dangerous'))}
        if state == 'present' and not given:
            raise PlanError("Module '%s': state=present needs a source: one of %s." % (name, ', '.join(SOURCE_KEYS)))
        if state == 'absent' or not given:
            return prep
        kind = prep['kind']
        if kind in ('pp', 'cil'):
            path = entry[kind]
            if not os.path.isfile(path):
                raise PlanError("Module '%s': %s file %s does not exist on the target." % (name, kind, path))
            prep['path'] = path
            data = read_bytes(path)
            if kind == 'pp':
                declared = build.package_module_name(data)
                if declared != name:
                    raise PlanError("Module '%s': the package %s declares the module '%s', and semodule installs a "
                                    "package under the name it declares. Rebuild it as '%s' or pass name: %s. Nothing "
                                    "was changed." % (name, path, declared, name, declared))
            prep['source_sha256'] = build.sha256_text(kind, sha256_bytes(data))
            prep['version'] = entry.get('version')
            return prep
        if kind == 'denials':
            lines = build.denial_lines(entry['denials'])
            refpolicy = bool(self._opt(entry, 'refpolicy'))
            iface = self.interface_info() if refpolicy else None
            te, stderr = build.generate(self.runner, name, lines, policy_file=self.policy_file_for_audit2allow(),
                                        refpolicy=refpolicy, interface_info=iface)
            prep['dropped'] = build.uncovered_denials(lines, build.parse_te(te), stderr)
            self._explain_dropped(prep['dropped'])
            prep['booleans'] = build.boolean_hints(te)
            if not build.parse_te(te) and not prep['dropped']:
                raise PlanError("Module '%s': no AVC denial found in denials (%d lines)." % (name, len(lines)))
        elif kind == 'src':
            if not os.path.isfile(entry['src']):
                raise PlanError("Module '%s': src %s does not exist on the target (remote_src=true)." % (name, entry['src']))
            te = build.read_file_text(entry['src'])
            if not prep['fc']:
                sibling = os.path.splitext(entry['src'])[0] + '.fc'
                if os.path.isfile(sibling):
                    prep['fc'] = build.read_file_text(sibling)
        else:
            te = entry['te']
        if build.is_refpolicy_source(te) or prep['if']:
            build.check_m4_safe(name, te, prep['fc'], prep['if'])
        version = entry.get('version') or build.derive_version(te, prep['fc'], prep['if'])
        prep['version'] = version
        prep['te'] = build.set_header(te, name, version)
        parsed = build.parse_te(prep['te'])
        prep['parsed'] = parsed
        prep['rules'] = build.rule_texts(parsed)
        if not parsed and kind == 'denials' and prep['dropped'] and not self._single:
            # in a batch, an entry with nothing to install must not sink the others: warn, install nothing for it
            prep['skip'] = 'every denial was dropped (%s)' % '; '.join(sorted(set(d['reason'] for d in prep['dropped'])))
            return prep
        if not parsed:
            raise PlanError("Module '%s': the source holds no rule%s." % (
                name, ' (every denial was dropped: %s)' % prep['dropped'][0]['reason'] if prep['dropped'] else ''))
        prep['findings'] = safety.analyse(parsed)
        prep['source_sha256'] = build.source_fingerprint(prep['te'], prep['fc'], prep['if'])
        return prep

    def compile(self, prep):
        """Build the package in a private directory; return (path, package kind)."""
        directory = self._entry_dir(prep['name'])
        if prep['kind'] in ('pp', 'cil'):
            path = os.path.join(directory, '%s.%s' % (prep['name'], prep['kind']))
            shutil.copyfile(prep['path'], path)
            os.chmod(path, 0o600)
            return path, prep['kind']
        built = build.compile_module(self.runner, directory, prep['name'], prep['te'], prep['fc'], prep['if'])
        if built['expanded']:
            # refpolicy: judge the rules the macros expand to, not the macro names
            prep['findings'] = safety.analyse(build.parse_te(built['expanded']))
        return built['pp'], 'pp'

    # --------------------------------------------------------------- plan ---
    def plan(self, prep):
        """Fill ``prep`` with the decision: operations, checksums, whether compiled."""
        name, priority, state = prep['name'], prep['priority'], prep['state']
        store = self.store
        entries = store.modules().get(name, [])
        at_priority = store.entry(name, priority)
        record = store.read_record(name)
        prep.update(operations=[], compiled=False, installed_before=None, checksum=None, package=None,
                    record=record, before_rules=list(record.get('rules', [])) if record else [])
        if prep.get('skip'):
            self.warnings.append("Module '%s': nothing installed, %s." % (name, prep['skip']))
            return prep
        if at_priority is not None:
            prep['installed_before'] = store.installed_checksum(name, priority, self.workdir())
        prep['checksum'] = prep['installed_before']
        # our module installed at another priority than requested (priority changed, or absent with the default)
        old_priority = record.get('priority') if record else None
        moved = (old_priority is not None and old_priority != priority and store.features()['priority']
                 and store.entry(name, old_priority) is not None)
        if state == 'absent':
            if at_priority is not None:
                store.check_ownership(name, record, prep['force'])
                prep['operations'].append(('remove', priority, name))
            if moved:
                prep['operations'].append(('remove', old_priority, name))
            prep['checksum'] = None
            return prep
        if prep['kind'] is None:
            if not entries:
                raise PlanError("Module '%s' is not installed: state=%s without a source needs an installed module."
                                % (name, state))
            self._plan_enable(prep, entries)
            return prep
        same_by_record = (
            record is not None and at_priority is not None and record.get('priority') == priority
            and record.get('source_sha256') == prep['source_sha256']
            and record.get('checksum') == prep['installed_before'] and prep['installed_before'] is not None)
        if same_by_record:
            prep['findings'] = record.get('findings', prep['findings'])
        else:
            package, package_kind = self.compile(prep)
            prep['compiled'] = True
            prep['package'] = package
            expected = store.built_checksum(package, package_kind)
            prep['checksum'] = expected
            if at_priority is None or expected is None or expected != prep['installed_before']:
                store.check_ownership(name, record, prep['force'])
                prep['operations'].append(('install', priority, package))
        if moved:
            prep['operations'].append(('remove', old_priority, name))
        safety.acknowledge(prep['findings'], prep['allow_dangerous'])
        self._plan_enable(prep, entries)
        return prep

    def _plan_enable(self, prep, entries):
        want_enabled = prep['state'] != 'disabled'
        enabled = any(e['enabled'] for e in entries) if entries else True
        if entries and enabled != want_enabled or (not entries and not want_enabled):
            prep['operations'].append(('enable' if want_enabled else 'disable', prep['name']))

    # ---------------------------------------------------------------- run ---
    def _explain_dropped(self, dropped):
        """Name what the policy does not define (user, role, type, MLS level) in the reason of each dropped denial
        that audit2allow left without a rule and without a word."""
        vague = [d for d in dropped if d['reason'] == build.GENERIC_DROP]
        if not vague or not self.runner.has('seinfo_policy'):
            return
        try:
            defined = grants.defined_names(self.runner, self.store.policy_file())
        except FleetsecError:
            return  # the generic reason stays: explaining is a courtesy, never a failure
        for item in vague:
            contexts = build.denial_contexts(item['line'])
            problems = []
            for context in contexts or ():
                problems.extend(p for p in grants.context_problems(context, defined) if p not in problems)
            if problems:
                item['reason'] = 'not defined in the policy: %s' % ', '.join(problems)

    def run(self, entries, single):
        self._single = single
        names = [e.get('name') for e in entries]
        duplicates = sorted(set(n for n in names if names.count(n) > 1))
        if duplicates:
            raise PlanError('Each module may appear once in modules; repeated: %s.' % ', '.join(duplicates))
        try:
            preps = [self.plan(self.prepare(entry)) for entry in entries]
            operations = []
            for prep in preps:
                operations.extend(prep['operations'])
            rebuilds = 1 if operations else 0
            installs = [p for p in preps if 'install' in [op[0] for op in p['operations']]]
            if installs:
                self._judge(installs, operations)
            if operations and not self.module.check_mode:
                self.store.check_record_writable([p['name'] for p in preps if p['kind'] is not None])
                self.store.commit(operations)
                self._after_commit(preps)
            return self._result(preps, rebuilds, single)
        finally:
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)

    def _judge(self, installs, operations):
        """Before the commit, in check mode too: try the whole transaction on a private copy of the store, then
        gate every module on what the built policy grants (attributes, aliases, CIL and .pp included)."""
        judged = all(self.runner.has(name) for name in grants.GRANT_COMMANDS)
        if not judged and not all(p['allow_dangerous'] is True for p in installs):
            # refused before the trial rebuild, which would only be thrown away
            raise PlanError(
                "Judging what module(s) %s grant needs setools (sesearch, seinfo); install %s. Nothing was changed."
                % (', '.join(p['name'] for p in installs), grants.SETOOLS_HINT))
        new_policy = self.store.trial(operations, self.workdir())
        if not judged:
            self.warnings.append('setools is missing: what the modules grant was not judged (allow_dangerous: true).')
            return
        found = grants.judge(grants.dump(self.runner, self.store.policy_file()),
                             grants.dump(self.runner, new_policy))
        names = dict((p['name'], grants.mentions(self._module_text(p))) for p in installs) if len(installs) > 1 else {}
        for prep in installs:
            known = set(safety.normalise(f['rule']) for f in prep['findings'])
            for finding in found:
                ours = [n for n in names if finding['subject'] in names[n]] or [p['name'] for p in installs]
                if prep['name'] in ours and safety.normalise(finding['rule']) not in known:
                    prep['findings'].append({'rule': finding['rule'], 'reason': finding['reason']})
        for prep in installs:
            safety.gate(prep['name'], prep['findings'], prep['allow_dangerous'])

    def _module_text(self, prep):
        """The text a module is written in (te, CIL, or the CIL of a .pp) for telling a batch's modules apart."""
        if prep['te'] is not None:
            return prep['te']
        if prep['kind'] == 'cil':
            return build.read_file_text(prep['package'])
        for name in ('hll_pp', 'hll_pp_lib'):
            if self.runner.has(name):
                return to_text(self.runner.run(name, [prep['package']], what='reading %s' % prep['name']).stdout)
        return ''

    def _after_commit(self, preps):
        """Records after a successful transaction (libsemanage applied every operation).

        The store is listed again only when something cannot be known beforehand: the name inside a prebuilt
        pp/cil, or a checksum the package could not be converted to (each listing costs ~0.4 s).
        """
        installs = [p for p in preps if 'install' in [op[0] for op in p['operations']]]
        if any(p['kind'] in ('pp', 'cil') or p['checksum'] is None for p in installs):
            self.store.modules(refresh=True)
            for prep in installs:
                if self.store.entry(prep['name'], prep['priority']) is None:
                    raise PlanError("Module '%s' is not listed after installing %s: does the package declare another "
                                    "module name?" % (prep['name'], os.path.basename(prep['package'])))
                prep['checksum'] = self.store.installed_checksum(prep['name'], prep['priority'], self.workdir()) \
                    or prep['checksum']
        for prep in preps:
            verbs = [op[0] for op in prep['operations']]
            if prep.get('skip'):
                continue
            if prep['state'] == 'absent':
                self.store.remove_record(prep['name'])
            elif prep['kind'] is not None and ('install' in verbs or 'remove' in verbs or prep['record'] is None
                                               or prep['record'].get('checksum') != prep['checksum']):
                self._write_record(prep)

    def _write_record(self, prep):
        self.store.write_record(prep['name'], {
            'format': RECORD_VERSION, 'name': prep['name'], 'priority': prep['priority'], 'kind': prep['kind'],
            'version': prep['version'], 'source_sha256': prep['source_sha256'], 'checksum': prep['checksum'],
            'rules': prep['rules'], 'findings': prep['findings'], 'installed_at': int(time.time()),
        })

    # ------------------------------------------------------------- result ---
    def _action(self, prep):
        verbs = [op[0] for op in prep['operations']]
        return '+'.join(verbs) if verbs else 'none'

    def _result(self, preps, rebuilds, single):
        per_module = []
        findings, dropped, booleans, all_rules = [], [], [], []
        changed = False
        before, after = [], []
        for prep in preps:
            # records of adopted/unchanged modules are refreshed without a transaction
            if not self.module.check_mode and not prep['operations'] and prep['kind'] is not None \
                    and not prep.get('skip') \
                    and prep['state'] != 'absent' and prep['checksum'] is not None \
                    and (prep['record'] is None or prep['record'].get('source_sha256') != prep['source_sha256']
                         or prep['record'].get('priority') != prep['priority']):
                self._write_record(prep)
            mod_changed = bool(prep['operations'])
            changed = changed or mod_changed
            for finding in prep['findings']:
                findings.append(dict(finding, module=prep['name']))
            for item in prep['dropped']:
                dropped.append(dict(item, module=prep['name']))
                self.warnings.append("Module '%s': denial not allowed by any generated rule (%s): %s"
                                     % (prep['name'], item['reason'], item['line']))
            for item in prep['booleans']:
                booleans.append(dict(item, module=prep['name']))
                self.warnings.append("Module '%s': %s could be allowed by the boolean(s) %s instead"
                                     % (prep['name'], item['rule'], ', '.join(item['booleans'])))
            all_rules.extend(prep['rules'])
            new_rules = [] if prep['state'] == 'absent' else (prep['rules'] if prep['kind'] else prep['before_rules'])
            before.append((prep['name'], prep['before_rules'] if prep['installed_before'] is not None else []))
            after.append((prep['name'], new_rules))
            per_module.append({
                'name': prep['name'], 'state': prep['state'], 'changed': mod_changed, 'action': self._action(prep),
                'te': prep['te'], 'rules': prep['rules'], 'version': prep['version'], 'checksum': prep['checksum'],
                'installed_before': prep['installed_before'], 'priority': prep['priority'],
                'compiled': prep['compiled'],
            })
        actions = ['%s %s' % (m['action'], m['name']) for m in per_module if m['changed']]
        if actions:
            msg = '%s; %d policy rebuild%s%s' % (', '.join(actions), rebuilds, '' if rebuilds == 1 else 's',
                                                 ' (check mode)' if self.module.check_mode else '')
        else:
            msg = 'all modules up to date, no policy rebuild'
        first = preps[0] if single else None
        result = {
            'changed': changed, 'msg': msg, 'rebuilds': rebuilds, 'modules': per_module, 'dangerous': findings,
            'dropped': dropped, 'booleans': booleans, 'rules': all_rules,
            'te': first['te'] if first else None,
            'checksum': first['checksum'] if first else None,
            'installed_before': first['installed_before'] if first else None,
            'priority': first['priority'] if first else self.defaults.get('priority'),
        }
        if self.module._diff:
            if single:
                result['diff'] = rules_diff(first['name'], before[0][1], after[0][1], first['priority'])
            else:
                result['diff'] = {
                    'before': ''.join('%s: %s\n' % (n, r) for n, rules in before for r in rules),
                    'after': ''.join('%s: %s\n' % (n, r) for n, rules in after for r in rules),
                }
        return result
