# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decision tables for local_policy_module: module input -> exact sequence of (mocked) commands -> result.

Plain Python data (PyYAML is not installed for the 2.7/3.6 target-side test runs).

``{ROOT}`` is the test's policy_root, ``{TMP}`` the module's private build directory, ``{SHA_A}`` /
``{SHA_B}`` / ``{SHA_D}`` the checksums of the CIL texts ``CIL_A`` / ``CIL_B`` / ``CIL_DANGER`` that the mocked
pp-to-CIL converter prints.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import io
import json
import os
import re
import shutil
import struct

import pytest

from ansible.module_utils import basic

from fleetsec_testlib.module_helpers import run_module

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_store
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner
from ansible_collections.fleetsec.selinux.plugins.modules import local_policy_module as lpm

CIL_A = '(allow ntpd_t user_home_t (file (read)))\n'
CIL_B = '(allow ntpd_t user_home_t (file (read open)))\n'
CIL_DANGER = '(allow ntpd_t shadow_t (file (write)))\n'
SHA = dict((key, 'sha256:' + hashlib.sha256(text.encode('ascii')).hexdigest())
           for key, text in (('SHA_A', CIL_A), ('SHA_B', CIL_B), ('SHA_D', CIL_DANGER)))
CIL_OF = dict((SHA[key], text) for key, text in (('SHA_A', CIL_A), ('SHA_B', CIL_B), ('SHA_D', CIL_DANGER)))
HELP = 'usage: semodule\n  -X,--priority=PRIORITY\n  -E,--extract=MODULE_NAME\n  -m, --checksum   print module checksum\n'
TE = 'require { type ntpd_t; type user_home_t; class file read; }\nallow ntpd_t user_home_t:file read;\n'
DANGER = 'require { type ntpd_t; type shadow_t; class file write; }\nallow ntpd_t shadow_t:file write;\n'
AVC = ('type=AVC msg=audit(1700000000.1:1): avc:  denied  { read } for  pid=1 comm="x" '
       'scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0')
GENERATED = ('\nmodule acme 1.0;\n\nrequire {\n\ttype user_home_t;\n\ttype ntpd_t;\n\tclass file read;\n}\n\n'
             '#============= ntpd_t ==============\nallow ntpd_t user_home_t:file read;\n')


POLICY = '{ROOT}/etc/selinux/default/policy/policy.33'
# the installed policy as the verdict reads it (setools 4.4's output): what is protected is read from attributes
MODEL = [
    {'cmd': 'sesearch -A -s domain -ds %s' % POLICY},
    {'cmd': 'sesearch -A -p load_policy,mac_admin,mac_override,module_load,setbool,setcheckreqprot,setenforce,'
            'setsecparam,sys_module %s' % POLICY},
    {'cmd': 'seinfo %s -a -t --constrain --genfscon --validatetrans -x' % POLICY,
     'out': '\nConstraints: 0\n\nTypes: 3\n   type ntpd_t, domain;\n   type shadow_t, file_type, security_file_type;\n'
            '   type user_home_t, file_type;\n\nType Attributes: 3\n   attribute domain;\n\tntpd_t\n'
            '   attribute file_type;\n\tshadow_t\n\tuser_home_t\n   attribute security_file_type;\n\tshadow_t\n'
            '\nValidatetrans: 0\n'},
]


def judged(operations='-X 400 -i {TMP}/acme/acme.pp', check_mode=False, cached=False):
    """The verdict's reads of the installed policy (none when an earlier real run kept its facts: ``cached``); in
    check mode, then the trial transaction on a private copy of the store (a real run builds once, for real)."""
    steps = [] if cached else list(MODEL)
    if check_mode:
        steps.append({'cmd': 'semodule -p {TRIAL} -s default -n %s' % operations})
    return steps


# the pp-to-CIL converter that gives a built package the checksum it will have once installed
TO_CIL = {'cmd': '/usr/libexec/selinux/hll/pp {TMP}/acme/acme.pp', 'out': CIL_A}
TO_CIL_DANGER = {'cmd': '/usr/libexec/selinux/hll/pp {TMP}/acme/acme.pp', 'out': CIL_DANGER}
# what the policy defines, read before a module is generated from denials (seinfo 4.4's output)
CLASSES = [{'cmd': 'seinfo {ROOT}/etc/selinux/default/policy/policy.33 --common -c -x',
            'out': '\nClasses: 2\n   class dir\ninherits file\n{\n\tsearch\n}\n   class file\ninherits file\n\n'
                   '\nCommons: 1\n   common file\n{\n\topen\n\tread\n}\n'}]
BUILD = [
    {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
    {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
]

CASES = [
    {'id': 'fresh install from te',
     'args': {'name': 'acme', 'te': 'TE'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '100 ntp pp {SHA_B}\n'},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp') + [
         {'cmd': 'semodule -p {ROOT} -s default -n -X 400 -i {TMP}/acme/acme.pp',
          'err': 'libsemanage.add_user: user sddm not in password file'}],
     'expect': {'changed': True,
                'rebuilds': 1,
                'checksum': '{SHA_A}',
                'installed_before': None,
                'priority': 400,
                'rules': ['allow ntpd_t user_home_t:file read;']},
     'record': {'checksum': '{SHA_A}', 'priority': 400}},
    {'id': 'check mode compiles to compare but installs nothing',
     'check_mode': True,
     'args': {'name': 'acme', 'te': 'TE', 'priority': 300},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL] + judged('-X 300 -i {TMP}/acme/acme.pp', check_mode=True),
     'expect': {'changed': True, 'rebuilds': 1, 'checksum': '{SHA_A}', 'installed_before': None, 'priority': 300},
     'record': None},
    {'id': 'same content already installed by hand is adopted without a transaction',
     'args': {'name': 'acme', 'te': 'TE'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '400 acme pp {SHA_A}\n'},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL],
     'expect': {'changed': False, 'rebuilds': 0, 'checksum': '{SHA_A}', 'installed_before': '{SHA_A}'},
     'record': {'checksum': '{SHA_A}'}},
    {'id': 'a different module of that name that is not ours is refused',
     'args': {'name': 'acme', 'te': 'TE'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '200 acme pp {SHA_B}\n'},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL],
     'failed': "A module named 'acme' is already installed at priority 200 (third-party package) and was not "
               'installed by fleetsec.selinux'},
    {'id': 'force overrides a vendor module',
     'args': {'name': 'acme', 'te': 'TE', 'force': True},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '200 acme pp {SHA_B}\n'},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp') + [
         {'cmd': 'semodule -p {ROOT} -s default -n -X 400 -i {TMP}/acme/acme.pp'}],
     'expect': {'changed': True, 'rebuilds': 1, 'installed_before': None}},
    {'id': 'dangerous rule refused',
     'args': {'name': 'acme', 'te': 'DANGER'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL_DANGER] + judged('-X 400 -i {TMP}/acme/acme.pp'),
     'failed': "Refusing to load module 'acme': 1 dangerous rule(s) not acknowledged: allow ntpd_t shadow_t:file "
               'write (write (write) to shadow_t, a security file (SELinux policy and configuration, passwords))'},
    {'id': 'dangerous rule acknowledged by its text',
     'check_mode': True,
     'args': {'name': 'acme', 'te': 'DANGER', 'allow_dangerous': ['allow ntpd_t shadow_t:file write']},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL_DANGER] + judged('-X 400 -i {TMP}/acme/acme.pp', check_mode=True),
     'expect': {'changed': True,
                'dangerous': [{'rule': 'allow ntpd_t shadow_t:file write',
                               'reason': 'write (write) to shadow_t, a security file (SELinux policy and '
                                         'configuration, passwords)',
                               'acknowledged': True,
                               'module': 'acme'}]}},
    {'id': 'compile error installs nothing',
     'args': {'name': 'acme', 'te': 'TE'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '400 acme pp {SHA_B}\n'},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te',
                   'rc': 1,
                   'err': "acme.te:3:ERROR 'syntax error' at token 'allow' on line 3:\n"}],
     'failed': "Compiling module 'acme' failed (rc=1): acme.te:3:ERROR 'syntax error' at token 'allow' on line 3:"},
    {'id': 'denials are generated with audit2allow and the policy of the root',
     'check_mode': True,
     'args': {'name': 'acme', 'denials': ['AVC', 'AVC'], 'version': '1.0'},
     'commands': CLASSES + [
         {'cmd': 'audit2allow -m acme -p {ROOT}/etc/selinux/default/policy/policy.33', 'out': 'GENERATED',
          'stdin': 'AVC\n'},
         {'cmd': 'semodule --help', 'out': 'HELP'},
         {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''},
         {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
         {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
         TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp', check_mode=True),
     'expect': {'changed': True, 'rebuilds': 1, 'te': 'GENERATED_SORTED', 'dropped': [], 'booleans': []}},
    {'id': 'absent removes our module',
     'record_before': {'priority': 400, 'checksum': '{SHA_A}', 'source_sha256': 'x', 'rules': ['allow a b:c d;']},
     'diff': True,
     'args': {'name': 'acme', 'state': 'absent'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '400 acme pp {SHA_A}\n'},
                  {'cmd': 'semodule -p {ROOT} -s default -n -X 400 -r acme'}],
     'expect': {'changed': True,
                'rebuilds': 1,
                'checksum': None,
                'installed_before': '{SHA_A}',
                'diff': {'before': 'allow a b:c d;\n',
                         'after': '',
                         'before_header': 'acme (priority 400, installed)',
                         'after_header': 'acme (priority 400, requested)'}},
     'record': None},
    {'id': 'absent of a module that is not installed is a no-op',
     'args': {'name': 'acme', 'state': 'absent'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '100 ntp pp {SHA_B}\n'}],
     'expect': {'changed': False, 'rebuilds': 0}},
    {'id': 'disable an installed module without a source',
     'args': {'name': 'ntp', 'state': 'disabled'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '100 ntp pp {SHA_B}\n'},
                  {'cmd': 'semodule -p {ROOT} -s default -n -d ntp'}],
     'expect': {'changed': True, 'rebuilds': 1}},
    {'id': 'enabled on a module that is already enabled changes nothing',
     'args': {'name': 'ntp', 'state': 'enabled'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '100 ntp pp {SHA_B}\n'}],
     'expect': {'changed': False, 'rebuilds': 0}},
    {'id': 'enabled needs an installed module or a source',
     'args': {'name': 'acme', 'state': 'enabled'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'}, {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''}],
     'failed': "Module 'acme' is not installed: state=enabled without a source needs an installed module."},
    {'id': 'several modules in ONE transaction',
     'args': {'modules': [{'name': 'acme', 'te': 'TE'},
                          {'name': 'old', 'state': 'absent'},
                          {'name': 'ntp', 'state': 'disabled'}]},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                  {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '100 ntp pp {SHA_B}\n400 old pp {SHA_B}\n'},
                  {'cmd': 'checkmodule -M -m -o {TMP}/acme/acme.mod {TMP}/acme/acme.te'},
                  {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod'},
                  TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp -r old -d ntp') + [
         {'cmd': 'semodule -p {ROOT} -s default -n -X 400 -i {TMP}/acme/acme.pp -r old -d ntp'}],
     'record_before_old': True,
     'expect': {'changed': True, 'rebuilds': 1, 'te': None, 'checksum': None}},
    {'id': 'invalid name fails before any command',
     'args': {'name': '9lives', 'te': 'TE'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'}, {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''}],
     'failed': "Invalid module name '9lives'"},
    {'id': 'present needs a source',
     'args': {'name': 'acme'},
     'commands': [{'cmd': 'semodule --help', 'out': 'HELP'}],
     'failed': "Module 'acme': state=present needs a source"},
]

CONSTANTS = {'TE': TE, 'DANGER': DANGER, 'HELP': HELP, 'AVC': AVC, 'GENERATED': GENERATED}


def _expand(value, root):
    if isinstance(value, dict):
        return dict((k, _expand(v, root)) for k, v in value.items())
    if isinstance(value, list):
        return [_expand(v, root) for v in value]
    if isinstance(value, str):
        if value in CONSTANTS:
            return CONSTANTS[value]
        if value == 'GENERATED_SORTED':
            return GENERATED.replace('\ttype user_home_t;\n\ttype ntpd_t;\n', '\ttype ntpd_t;\n\ttype user_home_t;\n')
        value = value.replace('AVC\n', AVC + '\n')
        value = value.replace('{ROOT}', root)
        for key, sha in SHA.items():
            value = value.replace('{%s}' % key, sha)
    return value


TMP_RE = re.compile(r'\S*/fleetsec-policy-[^/\s]+')
TRIAL_RE = re.compile(r'\S*/fleetsec-policy-[^/\s]+/trial-[^/\s]+')


class Script(object):
    """Answers run_command from the case's command list, checking each argv (and stdin) on the way."""

    def __init__(self, commands, root):
        self.commands = list(commands)
        self.root = root
        self.seen = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name.startswith('/'):
            return name if name == '/usr/libexec/selinux/hll/pp' else None
        return name

    def run_command(self, args, **kwargs):
        if args[:2] == ['semodule', '-p'] and TRIAL_RE.match(args[2]):
            # the trial transaction builds a binary policy in its private copy of the store
            built = os.path.join(args[2], 'etc/selinux/default/policy')
            assert not os.listdir(built), 'the copied policy must be removed before the trial'
            io.open(os.path.join(built, 'policy.33'), 'w').close()
        text = TMP_RE.sub('{TMP}', TRIAL_RE.sub('{TRIAL}', ' '.join(args))).replace(self.root, '{ROOT}')
        self.seen.append(text)
        if not self.commands:
            raise AssertionError('unexpected command: %s' % text)
        step = self.commands.pop(0)
        assert text == TMP_RE.sub('{TMP}', step['cmd']).replace(self.root, '{ROOT}'), text
        if 'stdin' in step:
            assert kwargs.get('data') == step['stdin']
        if text == 'semodule -p {ROOT} -s default -lfull':
            return 0, self._listed(step.get('out', '')), ''
        if step.get('rebuilds'):  # the commit writes the rebuilt binary policy
            with io.open(os.path.join(self.root, 'etc/selinux/default/policy/policy.33'), 'wb') as handle:
                handle.write(step['rebuilds'].encode('ascii'))
        if step.get('rc', 0) == 0 and args[0] in ('semodule_package', 'sepolgen-ifgen'):
            with io.open(args[args.index('-o') + 1], 'wb') as handle:
                handle.write(b'PP' if args[0] == 'semodule_package' else b'IFACE')
        return step.get('rc', 0), step.get('out', ''), step.get('err', '')

    def _listed(self, out):
        """What ``semodule -lfull`` prints for a listing written with checksums (``-m``'s form), the store's ``cil``
        file of each module written beside it, as libsemanage keeps them (the checksum is the CIL's sha256)."""
        base = os.path.join(self.root, 'var/lib/selinux/default/active/modules')
        shutil.rmtree(base, ignore_errors=True)
        lines = []
        for line in out.splitlines():
            fields = line.split()
            if fields and fields[-1].startswith('sha256:'):
                folder = os.path.join(base, fields[0], fields[1])
                os.makedirs(folder)
                with io.open(os.path.join(folder, 'cil'), 'wb') as handle:
                    handle.write(CIL_OF[fields[-1]].encode('ascii'))
                fields = fields[:-1]
            lines.append(' '.join(fields) + '\n')
        return ''.join(lines)


@pytest.fixture
def root(tmpdir):
    path = str(tmpdir.mkdir('root'))
    os.makedirs(os.path.join(path, 'etc/selinux/default/policy'))
    with io.open(os.path.join(path, 'etc/selinux/config'), 'w') as handle:
        handle.write(u'SELINUX=enforcing\nSELINUXTYPE=default\n')
    io.open(os.path.join(path, 'etc/selinux/default/policy/policy.33'), 'w').close()
    return path


def record_file(root, name):
    return os.path.join(root, 'var/lib/fleetsec-selinux/modules/%s.json' % name)


def write_record(root, name, data):
    """A sound record of ``name`` with the fields in ``data`` (the others get neutral values)."""
    record = {'name': name, 'priority': 400, 'source_sha256': 'x', 'checksum': None, 'rules': [], 'findings': []}
    record.update(data)
    if not os.path.isdir(os.path.dirname(record_file(root, name))):
        os.makedirs(os.path.dirname(record_file(root, name)), 0o700)
    with io.open(record_file(root, name), 'w') as handle:
        handle.write(u"%s" % json.dumps(record))


@pytest.fixture(autouse=True)
def one_call_at_a_time(monkeypatch):
    """The scripted commands are answered in order: the reads started beside the rest (Runner.later) run when asked."""
    monkeypatch.setattr(Runner, 'max_workers', 1)


def run_case(monkeypatch, root, case):
    case = _expand(case, root)
    script = Script(case['commands'], root)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', script.get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', script.run_command)
    if case.get('record_before'):
        write_record(root, case['args']['name'], case['record_before'])
    if case.get('record_before_old'):
        write_record(root, 'old', {'priority': 400, 'checksum': SHA['SHA_B']})
    args = dict(case['args'], policy_root=root)
    result, failed = run_module(monkeypatch, lpm.main, args, check_mode=case.get('check_mode', False),
                                diff=case.get('diff', False))
    return case, script, result, failed


@pytest.mark.parametrize('case', CASES, ids=[c['id'] for c in CASES])
def test_decision_table(monkeypatch, root, case):
    case, script, result, failed = run_case(monkeypatch, root, case)
    if 'failed' in case:
        assert failed, result
        assert case['failed'] in result['msg']
        assert not any(' -i ' in c or ' -r ' in c for c in script.seen if not c.startswith('semodule -p {TRIAL}'))
        return
    assert not failed, result
    assert script.commands == [], 'commands not run: %s' % script.commands
    for key, value in case['expect'].items():
        assert result[key] == value, key
    if 'record' in case:
        name = case['args']['name']
        if case['record'] is None:
            assert not os.path.exists(record_file(root, name))
        else:
            with io.open(record_file(root, name)) as handle:
                record = json.load(handle)
            for key, value in case['record'].items():
                assert record[key] == value
    if case.get('check_mode'):
        assert not os.path.exists(os.path.join(root, 'var/lib/fleetsec-selinux'))


def test_same_keys_in_check_mode_and_real_run(monkeypatch, root):
    real = run_case(monkeypatch, root, CASES[0])[2]
    check_case = dict(CASES[1], args={'name': 'acme', 'te': 'TE', 'priority': 300})
    check_case['commands'] = [c for c in check_case['commands'] if c not in MODEL]  # the first run kept the facts
    check = run_case(monkeypatch, str(root) + '', check_case)[2]
    assert sorted(real) == sorted(check)


def test_keeping_new_facts_removes_older_policies_facts_only(monkeypatch, root):
    """The facts kept for a policy replace those of older policies; other kept answers (a module's generated
    source) stay."""
    cache = os.path.join(root, 'var/lib/fleetsec-selinux/cache')
    os.makedirs(cache, 0o700)
    for name in ('policy-model-old.json', 'generated-other.json'):
        with io.open(os.path.join(cache, name), 'wb') as handle:
            handle.write(b'{}')
    run_case(monkeypatch, root, CASES[0])
    names = sorted(os.listdir(cache))
    assert len(names) == 2 and names[0] == 'generated-other.json' and names[1].startswith('policy-model-'), names
    assert names[1] != 'policy-model-old.json'


def test_the_policy_facts_are_kept_by_a_real_run_only(monkeypatch, root):
    """A real run keeps the facts it read (per policy checksum, 0600 in a 0700 folder); check mode writes nothing; a
    cache file that is not this user's alone is never used (it could blind the verdict)."""
    cache = os.path.join(root, 'var/lib/fleetsec-selinux/cache')
    run_case(monkeypatch, root, CASES[1])
    assert not os.path.exists(cache)
    run_case(monkeypatch, root, CASES[0])
    (name,) = os.listdir(cache)
    assert name.startswith('policy-model-') and oct(os.stat(os.path.join(cache, name)).st_mode & 0o777) == oct(0o600)
    assert oct(os.stat(cache).st_mode & 0o777) == oct(0o700)
    os.chmod(os.path.join(cache, name), 0o666)
    case, script, result, failed = run_case(monkeypatch, root, dict(CASES[1], args={'name': 'acme', 'te': 'TE', 'priority': 300}))
    assert not failed and script.commands == []  # the planted file was ignored: the facts were read again


def test_unchanged_rerun_builds_nothing(monkeypatch, root):
    run_case(monkeypatch, root, CASES[0])
    rerun = {'args': {'name': 'acme', 'te': 'TE'}, 'commands': [
        {'cmd': 'semodule --help', 'out': 'HELP'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '100 ntp pp {SHA_B}\n400 acme pp {SHA_A}\n'}]}
    case, script, result, failed = run_case(monkeypatch, root, rerun)
    assert not failed and script.commands == []
    assert (result['changed'], result['rebuilds'], result['modules'][0]['compiled']) == (False, 0, False)
    assert result['installed_before'] == result['checksum'] == SHA['SHA_A']


def test_modified_installed_module_is_reinstalled(monkeypatch, root):
    """The record matches the source, but someone replaced the module: compile, compare, reinstall."""
    run_case(monkeypatch, root, CASES[0])
    drift = {'args': {'name': 'acme', 'te': 'TE'}, 'commands': [
        {'cmd': 'semodule --help', 'out': 'HELP'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '400 acme pp {SHA_B}\n'}] + list(BUILD) + [
        TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp', cached=True) + [
        {'cmd': 'semodule -p {ROOT} -s default -n -X 400 -i {TMP}/acme/acme.pp'}]}
    case, script, result, failed = run_case(monkeypatch, root, drift)
    assert not failed and script.commands == []
    assert result['installed_before'] == SHA['SHA_B'] and result['checksum'] == SHA['SHA_A'] and result['rebuilds'] == 1


@pytest.mark.parametrize('listed_after, failed_msg', [
    ('400 acme pp {SHA_A}\n', None),
    ('400 other pp {SHA_A}\n', "Module 'acme' is not listed after installing acme.pp: does the package declare another module name?"),
])
def test_prebuilt_pp_is_checked_by_name_after_install(monkeypatch, root, listed_after, failed_msg):
    with io.open(os.path.join(root, 'prebuilt.pp'), 'wb') as handle:
        handle.write(package_bytes('acme'))
    case = {'args': {'name': 'acme', 'pp': '{ROOT}/prebuilt.pp'}, 'commands': [
        {'cmd': 'semodule --help', 'out': 'HELP'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''},
        TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp') + [
        {'cmd': 'semodule -p {ROOT} -s default -n -X 400 -i {TMP}/acme/acme.pp'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': listed_after}]}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert script.commands == []
    if failed_msg:
        assert failed and result['msg'] == failed_msg
        assert not os.path.exists(record_file(root, 'acme'))
    else:
        assert not failed and result['checksum'] == SHA['SHA_A'] and result['rebuilds'] == 1
        assert os.path.exists(record_file(root, 'acme'))


def package_bytes(name):
    """The header of a policy package declaring module ``name`` (what semodule reads the name from)."""
    ident = b'SE Linux Module'
    body = struct.pack('<II', 0xf97cff8d, len(ident)) + ident + struct.pack('<IIIII', 2, 21, 1, 8, 0)
    body += struct.pack('<I', len(name)) + name.encode('ascii') + struct.pack('<I', 3) + b'1.0'
    return struct.pack('<IIII', 0xf97cff8f, 1, 1, 16) + body


def test_prebuilt_pp_declaring_another_name_is_refused_before_anything_runs(monkeypatch, root):
    """semodule installs a package under the name it declares: postfix passed as acme_evil would replace postfix."""
    with io.open(os.path.join(root, 'evil.pp'), 'wb') as handle:
        handle.write(package_bytes('postfix'))
    case = {'args': {'name': 'acme_evil', 'pp': '{ROOT}/evil.pp'}, 'commands': []}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert failed and "declares the module 'postfix'" in result['msg'] and 'Nothing was changed' in result['msg']
    assert script.seen == []


def test_priority_change_moves_our_module_in_one_transaction(monkeypatch, root):
    write_record(root, 'acme', {'priority': 400, 'checksum': SHA['SHA_A'], 'source_sha256': 'x'})
    case = {'args': {'name': 'acme', 'te': 'TE', 'priority': 300}, 'commands': [
        {'cmd': 'semodule --help', 'out': 'HELP'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '400 acme pp {SHA_A}\n'}] + list(BUILD) + [
        TO_CIL] + judged('-X 300 -i {TMP}/acme/acme.pp -X 400 -r acme') + [
        {'cmd': 'semodule -p {ROOT} -s default -n -X 300 -i {TMP}/acme/acme.pp -X 400 -r acme'}]}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed and script.commands == []
    assert result['rebuilds'] == 1 and result['modules'][0]['action'] == 'install+remove'
    with io.open(record_file(root, 'acme')) as handle:
        assert json.load(handle)['priority'] == 300


def test_absent_finds_our_module_at_its_recorded_priority(monkeypatch, root):
    write_record(root, 'acme', {'priority': 300, 'checksum': SHA['SHA_A'], 'source_sha256': 'x'})
    case = {'args': {'name': 'acme', 'state': 'absent'}, 'commands': [
        {'cmd': 'semodule --help', 'out': 'HELP'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '300 acme pp {SHA_A}\n'},
        {'cmd': 'semodule -p {ROOT} -s default -n -X 300 -r acme'}]}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed and script.commands == [] and result['changed']
    assert not os.path.exists(record_file(root, 'acme'))


def test_remote_src_reads_the_target_file_and_its_sibling_fc(monkeypatch, root):
    with io.open(os.path.join(root, 'acme.te'), 'w') as handle:
        handle.write(u'module acme 1.0;\n' + TE)
    with io.open(os.path.join(root, 'acme.fc'), 'w') as handle:
        handle.write(u'/opt/acme(/.*)?  system_u:object_r:user_home_t:s0\n')
    case = {'args': {'name': 'acme', 'src': '{ROOT}/acme.te', 'remote_src': True}, 'commands': [
        {'cmd': 'semodule --help', 'out': 'HELP'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''},
        BUILD[0],
        {'cmd': 'semodule_package -o {TMP}/acme/acme.pp -m {TMP}/acme/acme.mod -f {TMP}/acme/acme.fc'},
        TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp') + [
        {'cmd': 'semodule -p {ROOT} -s default -n -X 400 -i {TMP}/acme/acme.pp'}]}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed and script.commands == []
    assert result['te'].startswith('module acme 1.') and result['te'] != 'module acme 1.0;\n' + TE
    assert result['rules'] == ['allow ntpd_t user_home_t:file read;']


def test_missing_remote_src_fails_clearly(monkeypatch, root):
    case = {'args': {'name': 'acme', 'src': '/nonexistent/acme.te', 'remote_src': True}, 'commands': []}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert failed and result['msg'] == "Module 'acme': src /nonexistent/acme.te does not exist on the target (remote_src=true)."


AVC_LATER = AVC.replace('1700000000.1:1', '1700000360.1:7').replace('pid=1 ', 'pid=9 ')


def generate_commands(lines, install):
    """audit2allow on ``lines`` (the exact stdin), then the build of GENERATED; the commit when ``install``, else (check
    mode, state=generated) the trial on a private copy."""
    return CLASSES + [
        {'cmd': 'audit2allow -m acme -p {ROOT}/etc/selinux/default/policy/policy.33', 'out': 'GENERATED',
         'stdin': ''.join(line + '\n' for line in lines)},
        {'cmd': 'semodule --help', 'out': 'HELP'},
        {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': ''}] + list(BUILD) + [
        TO_CIL] + judged('-X 400 -i {TMP}/acme/acme.pp', check_mode=not install) + (
        [{'cmd': 'semodule -p {ROOT} -s default -n -X 400 -i {TMP}/acme/acme.pp'}] if install else [])


@pytest.mark.parametrize('check_mode', [True, False])
def test_accumulate_generates_from_the_recorded_and_the_new_denials(monkeypatch, root, check_mode):
    """The role's rerun that captured only part of the workload must not shrink the module: accumulate merges
    the denials of the module's record with the new ones (sorted, so the same set gives the same source)."""
    write_record(root, 'acme', {'denials': [AVC_LATER]})
    case = {'args': {'name': 'acme', 'denials': [AVC], 'accumulate': True, 'version': '1.0'},
            'check_mode': check_mode, 'commands': generate_commands(sorted([AVC, AVC_LATER]), not check_mode)}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed, result
    assert script.commands == []
    with io.open(record_file(root, 'acme')) as handle:
        recorded = json.load(handle)['denials']
    assert recorded == ([AVC_LATER] if check_mode else sorted([AVC, AVC_LATER]))


def test_accumulate_reads_the_record_once(monkeypatch, root):
    """The record that gives the merged denials is the one the decision is made against: read once, not twice
    (a record replaced between two reads would have built the module from one and judged it by the other)."""
    write_record(root, 'acme', {'denials': [AVC_LATER]})
    reads = []
    real = _policy_store.PolicyStore.read_record
    monkeypatch.setattr(_policy_store.PolicyStore, 'read_record',
                        lambda self, name: reads.append(name) or real(self, name))
    case = {'args': {'name': 'acme', 'denials': [AVC], 'accumulate': True, 'version': '1.0'}, 'check_mode': True,
            'commands': generate_commands(sorted([AVC, AVC_LATER]), False)}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed, result
    assert reads == ['acme']


def test_without_accumulate_the_given_denials_replace_the_recorded_ones(monkeypatch, root):
    write_record(root, 'acme', {'denials': [AVC_LATER]})
    case = {'args': {'name': 'acme', 'denials': [AVC], 'version': '1.0'}, 'commands': generate_commands([AVC], True)}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed and script.commands == []
    with io.open(record_file(root, 'acme')) as handle:
        assert json.load(handle)['denials'] == [AVC]


def test_accumulate_with_another_source_is_refused_before_anything_runs(monkeypatch, root):
    case = {'args': {'name': 'acme', 'te': 'TE', 'accumulate': True}, 'commands': []}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert failed and result['msg'] == ("Module 'acme': accumulate merges denials; it does not apply to te. "
                                        "Nothing was changed.")
    assert script.seen == []


def test_generated_judges_the_module_and_installs_nothing(monkeypatch, root):
    """The rollout's review step: the same generation, build, trial and gate as present, outside check mode, and no
    commit, no record (a changing command would raise CheckModeViolation before it ran)."""
    case = {'args': {'name': 'acme', 'denials': [AVC], 'version': '1.0', 'state': 'generated'},
            'commands': generate_commands([AVC], install=False)}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed, result
    assert script.commands == []
    assert (result['changed'], result['rebuilds']) == (False, 0)
    assert result['msg'] == ('generated and judged acme; nothing installed (state=generated): install acme would '
                             'need a policy rebuild')
    assert result['rules'] == ['allow ntpd_t user_home_t:file read;'] and result['modules'][0]['changed'] is False
    assert not os.path.exists(os.path.join(root, 'var/lib/fleetsec-selinux'))


@pytest.mark.parametrize('state, check_mode', [('generated', False), ('present', True), ('present', False)])
def test_interface_information_is_kept_only_by_a_run_that_applies(monkeypatch, root, state, check_mode):
    """audit2allow -R's interface information is regenerated in the run's private directory; only the apply stage
    keeps it in the state directory: state=generated and check mode leave the host as it was."""
    # (the comparison reads --interface-info=PATH as {TMP}/...)
    audit2allow = {'cmd': 'audit2allow -R {TMP}/interface_info -m acme -p '
                          '{ROOT}/etc/selinux/default/policy/policy.33', 'out': 'GENERATED', 'stdin': AVC + '\n'}
    commands = generate_commands([AVC], install=state == 'present' and not check_mode)
    commands[len(CLASSES)] = audit2allow
    # the interface information comes first: its stamp is part of the key of the kept generation
    commands.insert(0, {'cmd': 'sepolgen-ifgen -p {ROOT}/etc/selinux/default/policy/policy.33 -o '
                               '{TMP}/interface_info'})
    case = {'args': {'name': 'acme', 'denials': [AVC], 'version': '1.0', 'state': state, 'refpolicy': True},
            'check_mode': check_mode, 'commands': commands}
    case, script, result, failed = run_case(monkeypatch, root, case)
    assert not failed, result
    assert script.commands == []
    kept = os.path.join(root, 'var/lib/fleetsec-selinux/interface_info')
    if state == 'present' and not check_mode:
        with io.open(kept, 'rb') as handle:
            assert handle.read() == b'IFACE'
        assert oct(os.stat(kept).st_mode & 0o777) in ('0600', '0o600')
    else:
        assert not os.path.exists(os.path.join(root, 'var/lib/fleetsec-selinux'))


@pytest.mark.parametrize('args, message', [
    ({'modules': [{'name': 'acme', 'te': 'TE', 'state': 'generated'}, {'name': 'old', 'state': 'absent'}]},
     'state=generated installs nothing, so it cannot be mixed with other states in one call (got absent, generated).'),
    ({'name': 'acme', 'state': 'generated'}, "Module 'acme': state=generated needs a source: one of denials, te"),
])
def test_generated_is_refused_before_anything_runs(monkeypatch, root, args, message):
    case, script, result, failed = run_case(monkeypatch, root, {'args': args, 'commands': []})
    assert failed and message in result['msg'], result
    assert script.seen == []


LISTED = {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '400 acme pp {SHA_A}\n'}


def test_an_unchanged_rerun_reuses_the_kept_source(monkeypatch, root):
    """A run that applies keeps audit2allow's answer (keyed by the denials, the policy's checksum and the tools);
    the next unchanged run runs neither audit2allow nor the two seinfo of the classes, and lists the store without
    ``-m``: the one checksum it needs is read from the module's CIL in the store."""
    args = {'name': 'acme', 'denials': [AVC], 'version': '1.0'}
    case, script, result, failed = run_case(monkeypatch, root, {'args': args, 'commands': generate_commands(
        [AVC], install=True)})
    assert not failed and script.commands == [], result
    assert 'generated-acme.json' in os.listdir(os.path.join(root, 'var/lib/fleetsec-selinux/cache'))
    for dummy in range(2):
        case, script, result, failed = run_case(monkeypatch, root, {'args': args, 'commands': [
            {'cmd': 'semodule --help', 'out': 'HELP'}, LISTED]})
        assert not failed and script.commands == [] and result['changed'] is False, result
        assert result['checksum'] == SHA['SHA_A']


def test_the_first_rerun_after_its_own_install_reuses_the_kept_source(monkeypatch, root):
    """The module's own transaction rebuilds the policy, so the policy's checksum changes; a transaction of plain
    generated modules defines no name and removes none, so the generation is kept under the rebuilt policy's
    checksum and the first rerun runs neither audit2allow nor seinfo. Another rebuild still generates again."""
    args = {'name': 'acme', 'denials': [AVC], 'version': '1.0'}
    commands = generate_commands([AVC], install=True)
    commands[-1] = dict(commands[-1], rebuilds='REBUILT WITH acme')
    case, script, result, failed = run_case(monkeypatch, root, {'args': args, 'commands': commands})
    assert not failed and script.commands == [] and result['changed'], result
    case, script, result, failed = run_case(monkeypatch, root, {'args': args, 'commands': [
        {'cmd': 'semodule --help', 'out': 'HELP'}, LISTED]})
    assert not failed and script.commands == [] and result['changed'] is False, result
    assert not [c for c in script.seen if c.startswith(('audit2allow', 'seinfo'))], script.seen
    with io.open(os.path.join(root, 'etc/selinux/default/policy/policy.33'), 'wb') as handle:
        handle.write(b'REBUILT BY ANOTHER PROGRAM')
    rerun = {'args': args, 'check_mode': True, 'commands': generate_commands([AVC], install=False)}
    case, script, result, failed = run_case(monkeypatch, root, rerun)
    assert not failed and script.commands == [], result
    assert any(c.startswith('audit2allow ') for c in script.seen), script.seen


def test_the_kept_source_goes_with_the_module(monkeypatch, root):
    """state=absent removes the module's kept audit2allow answer with its record; a check-mode absent keeps both."""
    args = {'name': 'acme', 'denials': [AVC], 'version': '1.0'}
    case, script, result, failed = run_case(monkeypatch, root, {'args': args, 'commands': generate_commands(
        [AVC], install=True)})
    assert not failed and script.commands == [], result
    kept = os.path.join(root, 'var/lib/fleetsec-selinux/cache/generated-acme.json')
    assert os.path.exists(kept) and os.path.exists(record_file(root, 'acme'))
    for check_mode in (True, False):
        case, script, result, failed = run_case(monkeypatch, root, {
            'args': {'name': 'acme', 'state': 'absent'}, 'check_mode': check_mode,
            'commands': [{'cmd': 'semodule --help', 'out': 'HELP'}, LISTED] + (
                [] if check_mode else [{'cmd': 'semodule -p {ROOT} -s default -n -X 400 -r acme'}])})
        assert not failed and script.commands == [] and result['changed'], result
        assert os.path.exists(kept) is check_mode and os.path.exists(record_file(root, 'acme')) is check_mode


def test_the_checksum_is_listed_when_the_store_keeps_no_cil(monkeypatch, root):
    """Without the module's ``cil`` file in the store, its checksum comes from ``semodule -lfull -m``."""
    write_record(root, 'acme', {'priority': 400, 'checksum': SHA['SHA_A'], 'source_sha256': 'x'})
    case, script, result, failed = run_case(monkeypatch, root, {
        'args': {'name': 'acme', 'state': 'enabled'},
        'commands': [{'cmd': 'semodule --help', 'out': 'HELP'},
                     {'cmd': 'semodule -p {ROOT} -s default -lfull', 'out': '400 acme pp\n'},
                     {'cmd': 'semodule -p {ROOT} -s default -lfull -m', 'out': '400 acme pp {SHA_A}\n'}]})
    assert not failed and script.commands == [] and result['changed'] is False, result
    assert result['checksum'] == SHA['SHA_A']


@pytest.mark.parametrize('change', ['policy', 'denials', 'untrusted', 'not text', 'check mode'])
def test_a_kept_generation_is_used_only_for_the_same_input_and_from_a_trusted_file(monkeypatch, root, change):
    """audit2allow runs again for another policy (any rebuild), other denials, a kept file others may write or
    whose fields are not of their types; a check-mode run keeps nothing."""
    args = {'name': 'acme', 'denials': [AVC], 'version': '1.0'}
    case, script, result, failed = run_case(monkeypatch, root, {
        'args': args, 'check_mode': change == 'check mode',
        'commands': generate_commands([AVC], install=change != 'check mode')})
    assert not failed and script.commands == [], result
    kept = os.path.join(root, 'var/lib/fleetsec-selinux/cache/generated-acme.json')
    assert os.path.exists(kept) is (change != 'check mode')
    lines = [AVC]
    if change == 'policy':
        with io.open(os.path.join(root, 'etc/selinux/default/policy/policy.33'), 'wb') as handle:
            handle.write(b'rebuilt')
    elif change == 'denials':
        lines = [AVC.replace('comm="x"', 'comm="y"')]
    elif change == 'untrusted':
        os.chmod(kept, 0o666)
    elif change == 'not text':
        with io.open(kept, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
        data['te'] = ['allow ntpd_t shadow_t:file write;']
        with io.open(kept, 'wb') as handle:
            handle.write(json.dumps(data).encode('utf-8'))
    commands = generate_commands(lines, install=False)
    if change not in ('policy', 'check mode'):  # the first run kept the facts of this policy for the verdict
        commands = [c for c in commands if c not in MODEL]
    case, script, result, failed = run_case(monkeypatch, root, {
        'args': dict(args, denials=lines), 'check_mode': True, 'commands': commands})
    assert not failed and script.commands == [], result
    assert any(c.startswith('audit2allow ') for c in script.seen), script.seen
