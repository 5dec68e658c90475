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
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_model as model
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_verdict as verdict
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import write_atomic
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import lock_held, read_bytes, sha256_bytes
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, FleetsecError


ENTRY_KEYS = ('name', 'state', 'priority', 'version', 'denials', 'te', 'fc', 'if', 'src', 'remote_src', 'pp', 'cil',
              'refpolicy', 'force', 'allow_dangerous', 'accumulate')
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


class ModulePlan(object):
    """What one requested module is and what must be done for it (Python 2.7-safe, no dict of 25 keys).

    Filled in three steps: the source (:meth:`Planner.prepare`), the decision against the record and the store
    (:meth:`Planner.plan`), then the checksum known after the commit.
    """
    __slots__ = ('name', 'state', 'priority', 'kind', 'force', 'allow_dangerous', 'te', 'fc', 'iface', 'path',
                 'version', 'parsed', 'rules', 'findings', 'dropped', 'booleans', 'source_sha256', 'skip',
                 'operations', 'compiled', 'installed_before', 'checksum', 'package', 'record', 'record_read',
                 'before_rules', 'denials')

    def __init__(self, name, state, priority, kind, force=False, allow_dangerous=None, fc=None, iface=None):
        self.name, self.state, self.priority, self.kind = name, state, priority, kind
        self.force, self.allow_dangerous = force, allow_dangerous
        self.te, self.fc, self.iface, self.path, self.version = None, fc, iface, None, None
        self.parsed, self.rules, self.findings, self.dropped, self.booleans = [], [], [], [], []
        self.source_sha256 = self.skip = None
        self.operations, self.compiled = [], False
        self.installed_before = self.checksum = self.package = self.record = None
        self.record_read = False  # read once per run: accumulate's merge and the decision see the same record
        self.before_rules = []
        self.denials = None  # the denial lines a generated module was built from (kept in its record)

    def verbs(self):
        return [op[0] for op in self.operations]

    def action(self):
        return '+'.join(self.verbs()) or 'none'

    def record_data(self):
        data = {
            'format': RECORD_VERSION, 'name': self.name, 'priority': self.priority, 'kind': self.kind,
            'version': self.version, 'source_sha256': self.source_sha256, 'checksum': self.checksum,
            'rules': self.rules, 'findings': self.findings, 'installed_at': int(time.time()),
        }
        if self.denials is not None:
            data['denials'] = self.denials
        return data

    def record_stale(self):
        """True when the record no longer describes this module as requested (source, priority, checksum or the
        denials it was generated from)."""
        record = self.record
        return (record is None or record.get('source_sha256') != self.source_sha256
                or record.get('priority') != self.priority or record.get('checksum') != self.checksum
                or (self.denials is not None and record.get('denials') != self.denials))

    def report(self):
        return {
            'name': self.name, 'state': self.state, 'changed': bool(self.operations), 'action': self.action(),
            'te': self.te, 'fc': self.fc, 'rules': self.rules, 'version': self.version, 'checksum': self.checksum,
            'installed_before': self.installed_before, 'priority': self.priority, 'compiled': self.compiled,
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
        self._classes = None  # {class: permissions} of the policy, read once per run
        self._single = True
        self.generating = False
        self._policy = None  # the verdict's reading of the installed policy, started early (Runner.later)

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
        """``-p POLICY`` is needed where SELinux is not active, and always for an alternate root."""
        if self.store.root or not facts.selinux_active():
            return self.store.policy_file()
        return None

    def interface_info(self):
        """Path of up-to-date sepolgen interface info for ``audit2allow -R`` (regenerated when missing or stale;
        kept in the state directory only outside check mode)."""
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
        self._iface = out
        if not self.module.check_mode:
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
    def _options(self, entry):
        """A ModulePlan with the entry's validated options (name, state, priority, one source kind)."""
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
        if state in ('present', 'generated') and not given:
            raise PlanError("Module '%s': state=%s needs a source: one of %s." % (name, state, ', '.join(SOURCE_KEYS)))
        if entry.get('accumulate') and given and given[0] != 'denials':
            raise PlanError("Module '%s': accumulate merges denials; it does not apply to %s. Nothing was changed."
                            % (name, given[0]))
        return ModulePlan(name, state, priority, given[0] if given else None, force=bool(self._opt(entry, 'force')),
                          allow_dangerous=safety.parse_allow_dangerous(self._opt(entry, 'allow_dangerous')),
                          fc=entry.get('fc'), iface=entry.get('if'))

    def prepare(self, entry):
        """Resolve the entry's source: a ModulePlan with its kind, text, rules, findings, fingerprint and version."""
        plan = self._options(entry)
        if plan.state == 'absent' or plan.kind is None:
            return plan
        if plan.kind in ('pp', 'cil'):
            return self._prepare_package(plan, entry)
        if plan.kind == 'denials':
            te = self._generate(plan, entry)
        elif plan.kind == 'src':
            te = self._read_src(plan, entry['src'])
        else:
            te = entry['te']
        return self._prepare_text(plan, te, entry.get('version'))

    def _prepare_package(self, plan, entry):
        path = entry[plan.kind]
        if not os.path.isfile(path):
            raise PlanError("Module '%s': %s file %s does not exist on the target." % (plan.name, plan.kind, path))
        plan.path = path
        data = read_bytes(path)
        if plan.kind == 'pp':
            declared = build.package_module_name(data)
            if declared != plan.name:
                raise PlanError("Module '%s': the package %s declares the module '%s', and semodule installs a "
                                "package under the name it declares. Rebuild it as '%s' or pass name: %s. Nothing "
                                "was changed." % (plan.name, path, declared, plan.name, declared))
        plan.source_sha256 = build.sha256_text(plan.kind, sha256_bytes(data))
        plan.version = entry.get('version')
        return plan

    def _denials(self, plan, entry):
        """The entry's denial lines; with ``accumulate``, merged with those of the module's record, sorted."""
        lines = build.denial_lines(entry['denials'])
        if self._opt(entry, 'accumulate'):
            plan.record, plan.record_read = self.store.read_record(plan.name), True
            lines = sorted(set(build.denial_lines((plan.record or {}).get('denials') or []) + lines))
        plan.denials = lines
        return lines

    def _generate(self, plan, entry):
        """audit2allow's module for the entry's denials; what it left without a rule goes to ``plan.dropped``."""
        lines, unknown_classes = self._defined_classes_only(self._denials(plan, entry))
        refpolicy = bool(self._opt(entry, 'refpolicy'))
        iface = self.interface_info() if refpolicy else None
        te, stderr = build.generate(self.runner, plan.name, lines, policy_file=self.policy_file_for_audit2allow(),
                                    refpolicy=refpolicy, interface_info=iface)
        plan.dropped = unknown_classes + build.uncovered_denials(lines, build.parse_te(te), stderr)
        self._explain_dropped(plan.dropped)
        plan.booleans = build.boolean_hints(te)
        if not build.parse_te(te) and not plan.dropped:
            raise PlanError("Module '%s': no AVC denial found in denials (%d lines)." % (plan.name, len(lines)))
        return te

    def _defined_classes_only(self, lines):
        """(lines, dropped): the denials of classes and permissions the policy defines (records of another release
        name others); without setools, every line (a rule naming an unknown class then fails the trial)."""
        if self._classes is None:
            self._classes = {}
            if self.runner.has('seinfo'):
                try:
                    self._classes = grants.defined_classes(self.runner, self.store.policy_file())
                except FleetsecError:
                    pass  # the trial transaction still refuses a module the policy cannot link
        if not self._classes:
            return lines, []
        return build.split_undefined_classes(lines, self._classes)

    def _read_src(self, plan, src):
        if not os.path.isfile(src):
            raise PlanError("Module '%s': src %s does not exist on the target (remote_src=true)." % (plan.name, src))
        if not plan.fc:
            sibling = os.path.splitext(src)[0] + '.fc'
            if os.path.isfile(sibling):
                plan.fc = build.read_file_text(sibling)
        return build.read_file_text(src)

    def _prepare_text(self, plan, te, version):
        if build.is_refpolicy_source(te) or plan.iface:
            build.check_m4_safe(plan.name, te, plan.fc, plan.iface)
        plan.version = version or build.derive_version(te, plan.fc, plan.iface)
        plan.te = build.set_header(te, plan.name, plan.version)
        plan.parsed = build.parse_te(plan.te)
        plan.rules = build.rule_texts(plan.parsed)
        if not plan.parsed and plan.kind == 'denials' and plan.dropped and not self._single:
            # in a batch, an entry with nothing to install must not sink the others: warn, install nothing for it
            plan.skip = 'every denial was dropped (%s)' % '; '.join(sorted(set(d['reason'] for d in plan.dropped)))
            return plan
        if not plan.parsed:
            raise PlanError("Module '%s': the source holds no rule%s." % (
                plan.name, ' (every denial was dropped: %s)' % plan.dropped[0]['reason'] if plan.dropped else ''))
        plan.findings = safety.analyse(plan.parsed)
        plan.source_sha256 = build.source_fingerprint(plan.te, plan.fc, plan.iface)
        return plan

    def compile(self, plan):
        """Build the package in a private directory; return (path, package kind)."""
        directory = self._entry_dir(plan.name)
        if plan.kind in ('pp', 'cil'):
            path = os.path.join(directory, '%s.%s' % (plan.name, plan.kind))
            shutil.copyfile(plan.path, path)
            os.chmod(path, 0o600)
            return path, plan.kind
        built = build.compile_module(self.runner, directory, plan.name, plan.te, plan.fc, plan.iface)
        if built['expanded']:
            # refpolicy: judge the rules the macros expand to, not the macro names
            plan.findings = safety.analyse(build.parse_te(built['expanded']))
        return built['pp'], 'pp'

    # --------------------------------------------------------------- plan ---
    def plan(self, plan):
        """Decide against the record and the store: operations, checksums, whether compiled."""
        store = self.store
        entries = store.modules().get(plan.name, [])
        if not plan.record_read:
            plan.record, plan.record_read = store.read_record(plan.name), True
        plan.before_rules = list(plan.record.get('rules', [])) if plan.record else []
        if plan.skip:
            self.warnings.append("Module '%s': nothing installed, %s." % (plan.name, plan.skip))
            return plan
        at_priority = store.entry(plan.name, plan.priority)
        if at_priority is not None:
            plan.installed_before = store.installed_checksum(plan.name, plan.priority, self.workdir())
        plan.checksum = plan.installed_before
        # our module installed at another priority than requested (priority changed, or absent with the default)
        old_priority = plan.record.get('priority') if plan.record else None
        moved = (old_priority is not None and old_priority != plan.priority and store.features()['priority']
                 and store.entry(plan.name, old_priority) is not None)
        if plan.state == 'absent':
            if at_priority is not None:
                store.check_ownership(plan.name, plan.record, plan.force)
                plan.operations.append(('remove', plan.priority, plan.name))
            plan.checksum = None
        elif plan.kind is None:  # enable/disable what is installed, wherever it is
            if not entries:
                raise PlanError("Module '%s' is not installed: state=%s without a source needs an installed module."
                                % (plan.name, plan.state))
            self._plan_enable(plan, entries)
            return plan
        else:
            self._plan_install(plan, at_priority is not None)
        if moved:
            plan.operations.append(('remove', old_priority, plan.name))
        if plan.state != 'absent':
            safety.acknowledge(plan.findings, plan.allow_dangerous)
            self._plan_enable(plan, entries)
        return plan

    def _plan_install(self, plan, installed):
        """Compile only when the record cannot prove the installed module is this source; install when it differs."""
        record = plan.record
        same_by_record = (
            record is not None and installed and record.get('priority') == plan.priority
            and record.get('source_sha256') == plan.source_sha256
            and record.get('checksum') == plan.installed_before and plan.installed_before is not None)
        if same_by_record:
            plan.findings = record.get('findings', plan.findings)
            return
        plan.package, package_kind = self.compile(plan)
        plan.compiled = True
        plan.checksum = self.store.built_checksum(plan.package, package_kind)
        if not installed or plan.checksum is None or plan.checksum != plan.installed_before:
            self.store.check_ownership(plan.name, record, plan.force)
            plan.operations.append(('install', plan.priority, plan.package))

    def _plan_enable(self, plan, entries):
        want_enabled = plan.state != 'disabled'
        enabled = any(e['enabled'] for e in entries) if entries else True
        if entries and enabled != want_enabled or (not entries and not want_enabled):
            plan.operations.append(('enable' if want_enabled else 'disable', plan.name))

    def _explain_dropped(self, dropped):
        """Name what the policy does not define (user, role, type, MLS level) in the reason of each dropped denial
        that audit2allow left without a rule and without a word."""
        vague = [d for d in dropped if d['reason'] == build.GENERIC_DROP]
        if not vague or not self.runner.has('seinfo'):
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

    # ---------------------------------------------------------------- run ---
    def run(self, entries, single):
        """Decide every module, judge the installs on a trial of the whole transaction, then (outside check mode,
        the one place it is decided) commit and write the records."""
        self._single = single
        names = [e.get('name') for e in entries]
        duplicates = sorted(set(n for n in names if names.count(n) > 1))
        if duplicates:
            raise PlanError('Each module may appear once in modules; repeated: %s.' % ', '.join(duplicates))
        self.generating = self._generating(entries)
        if self.generating:
            self.runner.check_mode = True  # nothing may change the host: a changing command would be an error
        try:
            prepared = [self.prepare(entry) for entry in entries]
            self._policy = self._start_policy_read(prepared)
            plans = [self.plan(plan) for plan in prepared]
            operations = [op for plan in plans for op in plan.operations]
            installs = [p for p in plans if 'install' in p.verbs()]
            # a module enabled again brings back everything it holds: judged like an install
            enables = [p for p in plans if 'enable' in p.verbs() and 'install' not in p.verbs()
                       and self.store.modules().get(p.name)]
            if installs or enables:
                self._judge(installs + enables, operations)
            if not (self.module.check_mode or self.generating):
                if operations:
                    self.store.check_record_writable([p.name for p in plans if p.kind is not None])
                    self._failing_well(installs, lambda: self.store.commit(operations))
                    self._checksums_after_commit(installs)
                self._update_records(plans)
            return self._result(plans, 1 if operations else 0, single)
        finally:
            if self._policy is not None:
                self._policy.wait()
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)

    def _generating(self, entries):
        """True for state=generated (decide and judge, install nothing); it cannot be mixed with other states."""
        states = set(self._opt(entry, 'state') or 'present' for entry in entries)
        if 'generated' in states and len(states) > 1:
            raise PlanError('state=generated installs nothing, so it cannot be mixed with other states in one call '
                            '(got %s). Nothing was changed.' % ', '.join(sorted(states)))
        return 'generated' in states

    def _judge(self, judged, operations):
        """Before anything is built, in check mode too: ONE verdict over everything the transaction installs or
        enables (``_policy_verdict``), from the modules' own CIL and narrow queries of the installed policy, then the
        gate. Check mode and state=generated also try the transaction on a private copy of the store, so that they
        report what would fail to link as the real run would; a real run builds once, for real."""
        texts = None
        if all(self.runner.has(name) for name in grants.GRANT_TOOLS):
            texts = [(plan.name, self._cil_text(plan)) for plan in judged]
        if texts is None or any(text is None for dummy, text in texts):
            if not all(p.allow_dangerous is True for p in judged):
                # refused before anything is built
                raise PlanError(
                    "Judging what module(s) %s grant needs setools (sesearch, seinfo) and the store's pp-to-CIL "
                    "converter (policycoreutils); install %s. Nothing was changed."
                    % (', '.join(p.name for p in judged), setools.HINT))
            self.warnings.append('setools or the pp-to-CIL converter is missing: what the modules grant was not '
                                 'judged (allow_dangerous: true).')
        else:
            found = verdict.judge((self._policy or self._policy_read()).result(), texts)
            for plan in judged:
                plan.findings = found[plan.name]
        for plan in judged:
            safety.gate(plan.name, plan.findings, plan.allow_dangerous)
        if self.module.check_mode or self.generating:
            self._failing_well(judged, lambda: self.store.trial(operations, self.workdir()))

    def _failing_well(self, plans, transaction):
        """Run ``transaction``; when it fails for a batch of several installs, find the module that breaks it: each
        install tried alone on a private copy of the store (nothing of the real store changes), the first that fails
        named with semodule's message. A held lock or a lone module fails as it is."""
        try:
            return transaction()
        except CommandFailed as err:
            installs = [p for p in plans if 'install' in p.verbs()]
            if len(installs) < 2 or lock_held(err):
                raise
            for plan in installs:
                operation = [op for op in plan.operations if op[0] == 'install']
                try:
                    self.store.trial(operation, self.workdir())
                except CommandFailed as alone:
                    raise PlanError(
                        "The transaction of %d modules failed, and module '%s' fails alone: %s. Nothing was changed "
                        "(libsemanage applies all or none of a transaction); fix or leave out that module."
                        % (len(installs), plan.name, (alone.stderr or alone.stdout or alone.msg).strip()),
                        rc=alone.rc, stdout=alone.stdout, stderr=alone.stderr, cmd=alone.cmd, module=plan.name)
            raise

    def _policy_read(self):
        return self.runner.later(lambda: model.read_model(
            self.runner, self.store.policy_file(), facts.selinux_dir(self.store.root), self.store.policy_type(),
            cache_dir=self.store.cache_dir(), save=None if self.module.check_mode or self.generating else self._save_cache))

    def _start_policy_read(self, prepared):
        """Start reading the installed policy for the verdict beside the listing and the builds, when a module will
        likely be installed (its source is not the one its record describes) or enabled; an unchanged rerun reads
        nothing. Read-only, so harmless when the decision then needs no verdict."""
        if not all(self.runner.has(name) for name in grants.GRANT_TOOLS):
            return None
        for plan in prepared:
            if plan.state == 'enabled' and plan.kind is None:
                return self._policy_read()
            if plan.kind is not None and plan.state != 'absent' and not plan.skip:
                if not plan.record_read:
                    plan.record, plan.record_read = self.store.read_record(plan.name), True
                if plan.record is None or plan.record.get('source_sha256') != plan.source_sha256:
                    return self._policy_read()
        return None

    def _save_cache(self, path, data):
        """Keep the policy's facts for the next run (0700 folder, 0600 file; a cache that cannot be written is only
        a slower next run)."""
        try:
            self.store.ensure_cache_dir()
            write_atomic(self.module, path, data, mode=0o600, tmpdir=os.path.dirname(path))
        except (IOError, OSError, FleetsecError) as err:
            self.warnings.append('The policy facts could not be kept in %s (%s): the next run reads them again.'
                                 % (path, err))

    def _cil_text(self, plan):
        """The CIL a module of the transaction reaches the store as (a .te or .pp through the store's converter,
        its file contexts included); the stored module's for one that is enabled again. None: no converter."""
        if 'install' not in plan.verbs():
            data = self.store.module_cil(plan.name, self.workdir())
        elif plan.kind == 'cil':
            data = read_bytes(plan.package)
        else:
            data = self.store.pp_to_cil(plan.package, 'reading %s' % plan.name)
        return None if data is None else to_text(data, errors='surrogate_or_replace')

    def _checksums_after_commit(self, installs):
        """The store is listed again only when something cannot be known beforehand: the name inside a prebuilt
        pp/cil, or a checksum the package could not be converted to (each listing costs ~0.4 s)."""
        if not any(p.kind in ('pp', 'cil') or p.checksum is None for p in installs):
            return
        self.store.modules(refresh=True)
        for plan in installs:
            if self.store.entry(plan.name, plan.priority) is None:
                raise PlanError("Module '%s' is not listed after installing %s: does the package declare another "
                                "module name?" % (plan.name, os.path.basename(plan.package)))
            plan.checksum = self.store.installed_checksum(plan.name, plan.priority, self.workdir()) or plan.checksum

    def _update_records(self, plans):
        """Records of what is installed now: written after a transaction, and for adopted or unchanged modules whose
        record is missing or stale (no transaction needed); removed with the module."""
        for plan in plans:
            if plan.skip:
                continue
            if plan.state == 'absent':
                if plan.operations:
                    self.store.remove_record(plan.name)
            elif plan.kind is not None and (plan.operations or plan.checksum is not None) \
                    and ('install' in plan.verbs() or 'remove' in plan.verbs() or plan.record_stale()):
                self._write_record(plan)

    def _write_record(self, plan):
        self.store.write_record(plan.name, plan.record_data())

    # ------------------------------------------------------------- result ---
    def _collect(self, plans):
        """Findings, dropped denials and boolean hints of every module, each named; their warnings."""
        findings, dropped, booleans = [], [], []
        for plan in plans:
            findings.extend(dict(finding, module=plan.name) for finding in plan.findings)
            for item in plan.dropped:
                dropped.append(dict(item, module=plan.name))
                self.warnings.append("Module '%s': denial not allowed by any generated rule (%s): %s"
                                     % (plan.name, item['reason'], item['line']))
            for item in plan.booleans:
                booleans.append(dict(item, module=plan.name))
                self.warnings.append("Module '%s': %s could be allowed by the boolean(s) %s instead"
                                     % (plan.name, item['rule'], ', '.join(item['booleans'])))
        return findings, dropped, booleans

    def _result(self, plans, rebuilds, single):
        findings, dropped, booleans = self._collect(plans)
        per_module = [plan.report() for plan in plans]
        actions = ['%s %s' % (m['action'], m['name']) for m in per_module if m['changed']]
        if self.generating:
            for module in per_module:
                module['changed'] = False
            msg = 'generated and judged %s; nothing installed (state=generated)%s' % (
                ', '.join(m['name'] for m in per_module),
                ': %s would need a policy rebuild' % ', '.join(actions) if actions else '')
            actions, rebuilds = [], 0
        elif actions:
            msg = '%s; %d policy rebuild%s%s' % (', '.join(actions), rebuilds, '' if rebuilds == 1 else 's',
                                                 ' (check mode)' if self.module.check_mode else '')
        else:
            msg = 'all modules up to date, no policy rebuild'
        first = plans[0] if single else None
        result = {
            'changed': bool(actions), 'msg': msg, 'rebuilds': rebuilds, 'modules': per_module, 'dangerous': findings,
            'dropped': dropped, 'booleans': booleans, 'rules': [rule for plan in plans for rule in plan.rules],
            'te': first.te if first else None,
            'checksum': first.checksum if first else None,
            'installed_before': first.installed_before if first else None,
            'priority': first.priority if first else self.defaults.get('priority'),
        }
        if self.generating:
            result['policy'] = self._judged_policy()
        if self.module._diff:
            result['diff'] = self._diff(plans, first)
        return result

    def _judged_policy(self):
        """The binary policy the generated modules were judged against: its path and checksum."""
        path = self.store.policy_file()
        try:
            return {'file': path, 'checksum': sha256_bytes(read_bytes(path))}
        except (IOError, OSError):
            return {'file': path, 'checksum': None}

    def _diff(self, plans, first):
        def after(plan):
            if plan.state == 'absent':
                return []
            return plan.rules if plan.kind else plan.before_rules

        def before(plan):
            return plan.before_rules if plan.installed_before is not None else []
        if first is not None:
            return rules_diff(first.name, before(first), after(first), first.priority)
        return {
            'before': ''.join('%s: %s\n' % (p.name, r) for p in plans for r in before(p)),
            'after': ''.join('%s: %s\n' % (p.name, r) for p in plans for r in after(p)),
        }
