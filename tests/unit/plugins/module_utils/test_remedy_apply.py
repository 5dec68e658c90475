# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Applying remedies: the input grammar, the parsers of the tools' real output, and the plan's decisions (the state
the tools would report given as tables). The real tools are met in tests/integration/pytest/test_remedy_store.py and
the VM target remedy_vm."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_model as pm
from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy_apply as ra
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils._setools import parse_portcon
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError

# `semanage export` of the EL9 targeted store (userspace 3.6) after one import of a boolean, a port and a rule
EXPORT_EL9 = """boolean -D
login -D
port -D
fcontext -D
module -D
permissive -D
boolean -m -1 httpd_can_network_connect
boolean -m -0 nis_enabled
port -a -t http_port_t -r 's0' -p tcp 8089
port -a -t http_port_t -r 's0' -p tcp 8090-8092
fcontext -a -f a -t httpd_sys_content_t -r 's0' '/srv/app(/.*)?'
fcontext -a -f d -t var_t '/srv/data'
module -d amtu
"""
SEINFO_BOOLEANS = """
Booleans: 3
   bool httpd_can_network_connect false;
   bool httpd_execmem false;
   bool deny_execmem false;
"""
PORTCON = """
Portcon: 4
   portcon tcp 22 system_u:object_r:ssh_port_t:s0
   portcon tcp 80 system_u:object_r:http_port_t:s0
   portcon tcp 512-1023 system_u:object_r:hi_reserved_port_t:s0
   portcon tcp 1024-32767 system_u:object_r:unreserved_port_t:s0
"""
FILE_CONTEXTS = """# comment
/var/www(/.*)?\tsystem_u:object_r:httpd_sys_content_t:s0
/var/run\t-l\tsystem_u:object_r:var_run_t:s0
/srv/data\t-d\tsystem_u:object_r:var_t:s0
/dev/null\t-c\tsystem_u:object_r:null_device_t:s0
/bin/.*\t<<none>>
/etc(/.*)?\tsystem_u:object_r:etc_t:s0
/etc/shadow.*\t--\tsystem_u:object_r:shadow_t:s0
"""


def test_export_is_read_as_the_local_customisations():
    booleans, ports, fcontexts = ra.parse_export(EXPORT_EL9)[:3]
    assert booleans == {'httpd_can_network_connect': True, 'nis_enabled': False}
    assert ports == {('tcp', 8089, 8089): 'http_port_t', ('tcp', 8090, 8092): 'http_port_t'}
    assert fcontexts == {('/srv/app(/.*)?', 'a'): 'httpd_sys_content_t', ('/srv/data', 'd'): 'var_t'}


def test_seinfo_booleans_and_file_contexts():
    assert setools.parse_booleans(SEINFO_BOOLEANS) == {
        'httpd_can_network_connect': False, 'httpd_execmem': False, 'deny_execmem': False}
    fc = ra.parse_file_contexts(FILE_CONTEXTS)
    assert fc[('/var/www(/.*)?', 'a')] == 'httpd_sys_content_t'
    assert fc[('/var/run', 'l')] == 'var_run_t'
    assert fc[('/dev/null', 'c')] == 'null_device_t'
    assert fc[('/bin/.*', 'a')] is None


def test_attribute_types_skip_the_header():
    text = '\nAttributes: 1\n   attribute port_type;\n      http_port_t\n      ssh_port_t\n'
    assert setools.members_of(text) == {'http_port_t', 'ssh_port_t'}


def test_restorecon_output_of_both_generations():
    new = ('Would relabel /var/www/html/index.html from unconfined_u:object_r:admin_home_t:s0 to '
           'unconfined_u:object_r:httpd_sys_content_t:s0\n')
    old = ('restorecon reset /var/www/html/index.html context unconfined_u:object_r:admin_home_t:s0->'
           'unconfined_u:object_r:httpd_sys_content_t:s0\n')
    for text in (new, old, new.replace('Would relabel', 'Relabeled')):
        assert ra.relabelled_paths(text) == {'/var/www/html/index.html': (
            'unconfined_u:object_r:admin_home_t:s0', 'unconfined_u:object_r:httpd_sys_content_t:s0')}
    assert ra.relabelled_paths('Would relabel /x from <no context> to a:b:c:s0\n') == {'/x': (None, None)}
    assert ra.relabelled_paths('') == {}


@pytest.mark.parametrize('value, expected', [('8089', (8089, 8089)), (8089, (8089, 8089)), ('8000-8010', (8000, 8010)),
                                             (' 1 ', (1, 1)), ('65535', (65535, 65535))])
def test_ports(value, expected):
    assert ra.parse_ports(value) == expected


@pytest.mark.parametrize('value', ['0', '65536', '10-5', '80,81', '-1', 'http', '8080 -t shadow_t', ''])
def test_bad_ports(value):
    with pytest.raises(ra.RemedyError):
        ra.parse_ports(value)


@pytest.mark.parametrize('target', ['/srv/app(/.*)?', '/opt/app/bin/[^/]+', r'/srv/app\.d(/.*)?', '/var/lib/x/.*\\.sock'])
def test_good_targets(target):
    assert ra.check_target(target) == target


@pytest.mark.parametrize('target', ['srv/app', "/srv/x' -t shadow_t '/etc", '/srv/a b', '/srv/x\n', '/srv/$(id)',
                                    '/srv/x;reboot', '/srv/x"', '/srv/(', '/srv/x\\\'', '/' + 'a' * 1100, '', None])
def test_bad_targets(target):
    with pytest.raises(ra.RemedyError):
        ra.check_target(target)


def test_validate_refuses_before_anything_runs():
    for params in ({'booleans': [{'name': 'a b', 'state': True}]},
                   {'ports': [{'ports': '80', 'proto': 'icmp', 'setype': 'http_port_t'}]},
                   {'ports': [{'ports': '80', 'proto': 'tcp', 'setype': 'http_port_t -r s15'}]},
                   {'fcontexts': [{'target': '/x', 'ftype': 'z', 'setype': 'var_t'}]},
                   {'restorecon': ['relative/path']},
                   {'denials': ['not a dict']},
                   {'denials': [{'remedy': {'remedy': 'port', 'evidence': {'protocol': 'tcp; x', 'port': 1,
                                                                           'proposed_type': 'http_port_t'}}}]}):
        with pytest.raises(ra.RemedyError):
            ra.validate(params)


PORT = {'remedy': 'port', 'evidence': {'protocol': 'tcp', 'port': 8089, 'proposed_type': 'http_port_t'}}


@pytest.mark.parametrize('denials, words', [
    # what triage results fed back can hold when they come from a host: wrong types and ranges, refused by name
    ('not a list', 'denials in denials: a str, expected a list'),
    ([{'remedy': dict(PORT, evidence='x')}], 'denials[0].remedy.evidence in denials: a str'),
    ([{'remedy': dict(PORT, evidence=dict(PORT['evidence'], port=70000))}], 'ports are 1-65535'),
    ([{'remedy': dict(PORT, evidence=dict(PORT['evidence'], port=8089.9))}], 'expected a whole number'),
    ([{'remedy': dict(PORT, evidence=dict(PORT['evidence'], port=True))}], 'expected a whole number'),
    ([{'remedy': dict(PORT, evidence=dict(PORT['evidence'], port='80; x'))}], 'expected a whole number'),
    ([{'remedy': dict(PORT, evidence=dict(PORT['evidence'], port=None))}], 'expected a whole number'),
    ([{'remedy': {'remedy': 'boolean', 'evidence': {'booleans': 'httpd_x'}}}], 'evidence.booleans in denials'),
    ([{'remedy': {'remedy': 'boolean', 'evidence': {'booleans': ['httpd_x']}}}], 'evidence.booleans[0] in denials'),
    ([{'remedy': {'remedy': 'relabel', 'evidence': {'path': ['/etc']}}}], 'Invalid path'),
    ([{'remedy': {'remedy': 'chmod 777', 'evidence': {}}}], 'Unknown remedy'),
    ([{'remedy': None}], 'denials[0] has none'),
])
def test_triaged_denials_are_checked_like_the_options(denials, words):
    with pytest.raises(ra.RemedyError) as info:
        ra.validate({'denials': denials})
    assert words in info.value.msg, info.value.msg


def test_a_port_as_text_is_taken():
    assert ra.validate({'denials': [{'remedy': dict(PORT, evidence=dict(PORT['evidence'], port='8089'))}]}).ports == {
        ('tcp', 8089, 8089): 'http_port_t'}


def test_validate_takes_the_triaged_remedies_and_leaves_allow(tmp_path):
    target = tmp_path / 'index.html'
    target.write_text(u'x')
    wanted = ra.validate({'denials': [
        {'remedy': {'remedy': 'relabel', 'evidence': {'path': str(target)}}},
        {'remedy': {'remedy': 'boolean', 'evidence': {'booleans': [{'name': 'httpd_can_network_connect'}]}}},
        {'remedy': {'remedy': 'port', 'evidence': {'protocol': 'tcp', 'port': 8089, 'proposed_type': 'http_port_t'}}},
        {'remedy': {'remedy': 'allow', 'evidence': {}}},
    ], 'booleans': [{'name': 'httpd_can_network_connect', 'state': False}]})
    assert wanted.relabel == [str(target)]
    # an explicit value wins over the triage's
    assert wanted.booleans == {'httpd_can_network_connect': False}
    assert wanted.ports == {('tcp', 8089, 8089): 'http_port_t'}


# `sesearch -A -b NAME` answers: the rules each boolean guards, in setools 4's words
SESEARCH_B = {
    'httpd_execmem': 'allow httpd_t httpd_t:process execmem; [ httpd_execmem ]:True\n',
    'deny_execmem': 'allow httpd_t httpd_t:process execmem; [ deny_execmem ]:False\n',
    'httpd_can_network_connect': 'allow httpd_t port_type:tcp_socket name_connect; [ httpd_can_network_connect ]:True\n',
    'mmap_low_allowed': 'allow httpd_t httpd_t:memprotect mmap_zero; [ mmap_low_allowed ]:True\n',
    'secure_mode_insmod': 'allow httpd_t httpd_t:capability sys_module; [ secure_mode_insmod ]:False\n',
    'innocent_sounding': 'allow httpd_t httpd_t:process execstack; [ innocent_sounding ]:True\n',
    'cluster_b': 'allow httpd_t httpd_t:process execmem; [ cluster_a && cluster_b ]:False\n',
    # a boolean that guards a type rule: the domain it turns on runs the daemon's helper unconfined
    'httpd_run_unconfined': 'type_transition httpd_t bin_t:process unconfined_t; [ httpd_run_unconfined ]:True\n',
}


class _SesearchRunner(object):
    """sesearch -b NAME from SESEARCH_B; with ``conditionals``, also the conditional rules script of setools' Python
    (_setools.BOOLEAN_SCRIPT: the rules of every expression naming one of the booleans; rc 3 for one unknown name),
    else that script fails and sesearch answers."""

    def __init__(self, script, conditionals=False):
        self.script = script
        self.conditionals = conditionals
        self.asked = []
        self.commands = {}

    def path(self, name, required=True):
        return self.script

    def run(self, name, args=(), check=True, what=None, hint=None):
        if name == 'setools_python':
            assert args[1] == setools.BOOLEAN_SCRIPT and check is False
            names = json.loads(args[3])['booleans']
            self.asked.append(names)
            rc = 0 if self.conditionals and (len(names) > 1 or names[0] in SESEARCH_B) else 3
            lines = sorted(set(line for text in SESEARCH_B.values() for line in text.splitlines()
                               if set(names) & set(line.split('[')[1].split(']')[0].split())))
            return type('Result', (), {'rc': rc, 'stdout': ''.join(line + '\n' for line in lines) if rc == 0 else ''})()
        self.asked.append(args[args.index('-b') + 1])
        if args[args.index('-b') + 1] not in SESEARCH_B:
            if check:
                raise ra.FleetsecError('sesearch failed')  # what the runner raises for a failed checked run
            return type('Result', (), {'rc': 1, 'stdout': ''})()
        return type('Result', (), {'rc': 0, 'stdout': SESEARCH_B[args[args.index('-b') + 1]]})()


@pytest.mark.parametrize('name, state, reason', [
    ('httpd_execmem', True, 'allow httpd_t httpd_t:process execmem: execmem'), ('httpd_execmem', False, None),
    ('deny_execmem', False, 'execmem'), ('deny_execmem', True, None),
    ('httpd_can_network_connect', True, None),
    ('mmap_low_allowed', True, 'mmap_zero'),
    ('secure_mode_insmod', False, 'capability sys_module'), ('secure_mode_insmod', True, None),
    # the name says nothing: what the rules grant does
    ('innocent_sounding', True, 'execstack'),
    # an expression that names other booleans too: its rules are judged whichever way this one is set
    ('cluster_b', True, 'execmem'), ('cluster_b', False, 'execmem'),
    # type rules are rules too
    ('httpd_run_unconfined', True, 'privileged domain unconfined_t')])
@pytest.mark.parametrize('conditionals', [True, False], ids=['conditionals', 'sesearch'])
def test_a_boolean_is_judged_by_the_rules_it_turns_on(tmp_path, name, state, reason, conditionals):
    script = tmp_path / 'sesearch'
    script.write_bytes(b'#!/usr/bin/python3\n')
    runner = _SesearchRunner(str(script), conditionals)
    current = ra.Current(runner, str(tmp_path / 'policy.33'), None, False)
    facts = pm.derive_facts({'domain': set(['httpd_t', 'unconfined_t']), 'unconfined_domain_type': set(['unconfined_t'])},
                            {'httpd_t': set(['domain']), 'unconfined_t': set(['domain', 'unconfined_domain_type']),
                             'bin_t': set(), 'port_type': set()}, {}, {}, {}, {})
    current._cache['model'] = pm.PolicyModel(facts, [], rules_of=lambda names: {}, default_types=lambda paths: {})
    found = current.boolean_findings(name, state)
    if reason is None:
        assert found == []
    else:
        assert found and reason in found[0]
    # read from the conditionals, else (the script failed) by sesearch
    assert runner.asked == ([[name]] if conditionals else [[name], name])


class _RegexSesearchRunner(_SesearchRunner):
    """setools 4's sesearch -b PATTERN -rb: the rules of every boolean the pattern matches, each once."""

    def run(self, name, args=(), check=True, what=None, hint=None):
        if '-rb' not in args:
            return _SesearchRunner.run(self, name, args, check, what, hint)
        pattern = args[args.index('-b') + 1]
        self.asked.append(pattern)
        lines = []
        for boolean, text in sorted(SESEARCH_B.items()):
            if re.match(pattern, boolean):
                lines.extend(line for line in text.splitlines() if line not in lines)
        return type('Result', (), {'rc': 0, 'stdout': '\n'.join(lines) + '\n'})()


def test_the_rules_of_several_booleans_are_read_in_one_query(tmp_path):
    script = tmp_path / 'sesearch'
    script.write_bytes(b'#!/usr/bin/python3\n')  # setools 4 (a Python script)
    facts = pm.derive_facts({'domain': set(['httpd_t', 'unconfined_t']), 'unconfined_domain_type': set(['unconfined_t'])},
                            {'httpd_t': set(['domain']), 'unconfined_t': set(['domain', 'unconfined_domain_type']),
                             'bin_t': set(), 'port_type': set()}, {}, {}, {}, {})
    names = ['cluster_b', 'deny_execmem', 'httpd_execmem', 'httpd_run_unconfined', 'secure_mode_insmod']
    judged = {}
    for runner in (_SesearchRunner(str(script)), _RegexSesearchRunner(str(script))):
        current = ra.Current(runner, str(tmp_path / 'policy.33'), None, False)
        current._cache['model'] = pm.PolicyModel(facts, [], rules_of=lambda names: {}, default_types=lambda paths: {})
        if isinstance(runner, _RegexSesearchRunner):
            current.read_boolean_rules(names)
        judged[type(runner)] = [current.boolean_findings(name, state) for name in names for state in (True, False)]
    # the same findings, from one sesearch instead of one per boolean (after the conditionals script failed)
    assert judged[_RegexSesearchRunner] == judged[_SesearchRunner] and any(judged[_SesearchRunner])
    # one query whose pattern matches each name whole (Python 2.7 and 3.6 escape '_' too: the same expression)
    assert len(runner.asked) == 2 and runner.asked[0] == names, runner.asked
    assert all(re.match(runner.asked[1], name) for name in names), runner.asked
    assert not re.match(runner.asked[1], 'cluster_bb') and not re.match(runner.asked[1], 'xcluster_b')
    # the same findings from the conditionals themselves, in one run of setools' Python
    runner = _SesearchRunner(str(script), conditionals=True)
    current = ra.Current(runner, str(tmp_path / 'policy.33'), None, False)
    current._cache['model'] = pm.PolicyModel(facts, [], rules_of=lambda names: {}, default_types=lambda paths: {})
    current.read_boolean_rules(names)
    assert [current.boolean_findings(name, state) for name in names for state in (True, False)] == judged[
        _SesearchRunner]
    assert runner.asked == [names]


def test_labels_in_range_sees_every_label_inside():
    portcons = [('tcp', 22, 22, 'ssh_port_t'), ('tcp', 1024, 32767, 'unreserved_port_t'), ('tcp', 8080, 8080, 'http_cache_port_t')]
    assert ra.labels_in_range(portcons, ('tcp', 8079, 8081)) == {'unreserved_port_t', 'http_cache_port_t'}
    assert ra.labels_in_range(portcons, ('tcp', 8089, 8089)) == {'unreserved_port_t'}
    assert ra.labels_in_range(portcons, ('udp', 22, 22)) == {None}
    assert ra.labels_in_range(portcons, ('tcp', 20, 1030)) == {None, 'ssh_port_t', 'unreserved_port_t'}


# `seinfo POLICY -u -x` of the EL9 targeted policy (userspace 3.6), abridged
SEINFO_USERS = """
Users: 4
   user guest_u roles guest_r level s0 range s0;
   user staff_u roles { staff_r sysadm_r system_r unconfined_r } level s0 range s0 - s0:c0.c1023;
   user user_u roles user_r level s0 range s0;
   user unconfined_u roles { system_r unconfined_r } level s0 range s0 - s0:c0.c1023;
"""
USERS = setools.parse_users(SEINFO_USERS)


class Current(object):
    """What semanage export, seinfo and the file contexts would say, as tables."""

    def __init__(self, booleans=None, local=None, running=None, live=False, defaults=None,
                 default_seuser='unconfined_u'):
        self.policy = '/etc/selinux/targeted/policy/policy.33'
        self.live = live
        self.judged = []
        self._defaults = defaults if defaults is not None else {'httpd_can_network_connect': False, 'deny_execmem': False,
                                                                'nis_enabled': False}
        self._default_seuser = default_seuser
        self._booleans = booleans or {'httpd_can_network_connect': False, 'httpd_execmem': False,
                                      'deny_execmem': False}
        local = tuple(local or ({}, {}, {}))
        self._local = ra.LocalCustomisations(*(local + ({}, {}, {}, {}, {})[len(local):]))
        self._running = running or {}

    def booleans(self):
        return self._booleans

    def read_listings(self, kinds):
        self.listings = sorted(set(kinds))

    def read_boolean_rules(self, names):
        self.read_together = sorted(names)

    def boolean_findings(self, name, state):
        # the judgement itself is the verdict's (test_a_boolean_is_judged_by_the_rules_it_turns_on); here its answer
        return ['allow httpd_t httpd_t:process execmem: execmem (executable memory or stack)'] if (
            (name == 'httpd_execmem' and state) or (name == 'deny_execmem' and not state)) else []

    def running_booleans(self):
        return self._running

    def local(self):
        return self._local

    def portcons(self):
        return parse_portcon(PORTCON)

    def types_of(self, attribute):
        return {'port_type': {'http_port_t', 'ssh_port_t', 'http_cache_port_t'},
                'file_type': {'httpd_sys_content_t', 'var_t'}}[attribute]

    def builtin_fcontexts(self):
        return ra.parse_file_contexts(FILE_CONTEXTS)

    def label_findings(self, target, setype):
        # the judgement itself is local_policy_module's (test_policy_verdict.py); here only its answer matters
        self.judged.append((target, setype))
        if target.startswith('/.'):
            return ['reaches from the root of the file system']
        if target.startswith('/usr'):
            return ['can relabel files the policy protects: /usr/bin (bin_t)']
        return ['gives out the protected type shadow_t'] if setype == 'shadow_t' else []

    def boolean_defaults(self):
        return self._defaults

    def users(self):
        return USERS

    def default_seuser(self):
        local = self._local.logins.get('__default__')
        return local[0] if local else self._default_seuser


def wanted(**params):
    return ra.validate(params)


def test_plan_changes_only_what_differs():
    current = Current(booleans={'httpd_can_network_connect': True, 'httpd_execmem': False, 'deny_execmem': False})
    plan = ra.plan(wanted(booleans=[{'name': 'httpd_can_network_connect', 'state': True}],
                          ports=[{'ports': '80', 'proto': 'tcp', 'setype': 'http_port_t'}],
                          fcontexts=[{'target': '/var/www(/.*)?', 'setype': 'httpd_sys_content_t'}]), current, None)
    assert plan.lines == [] and not plan.changed


@pytest.mark.parametrize('params, listings', [
    ({'booleans': [{'name': 'httpd_can_network_connect', 'state': True}]}, ['booleans']),
    ({'fcontexts': [{'target': '/srv/app(/.*)?', 'setype': 'httpd_sys_content_t'}]}, ['attributes', 'booleans']),
    ({'ports': [{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'}]}, ['attributes', 'booleans', 'portcon']),
    ({'ports': [{'ports': '8089', 'proto': 'tcp', 'state': 'absent'}]}, ['booleans', 'portcon']),
])
def test_plan_reads_the_listings_it_needs_together(params, listings):
    """One seinfo for the policy's listings the plan reads (booleans always; attributes for a port label or a
    file-context rule; the policy's port labels for a port label and its removal)."""
    current = Current()
    ra.plan(wanted(**params), current, None)
    assert current.listings == listings


def test_plan_one_line_per_change_in_import_syntax():
    plan = ra.plan(wanted(booleans=[{'name': 'httpd_can_network_connect', 'state': True}],
                          ports=[{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'}],
                          fcontexts=[{'target': '/srv/app(/.*)?', 'setype': 'httpd_sys_content_t'}]), Current(), None)
    assert plan.lines == ['boolean -m -1 httpd_can_network_connect', 'port -a -t http_port_t -p tcp 8089',
                          "fcontext -a -f a -t httpd_sys_content_t '/srv/app(/.*)?'"]
    assert plan.before == ['boolean httpd_can_network_connect off', 'port tcp/8089 unreserved_port_t',
                           'fcontext /srv/app(/.*)? none']


def test_absent_removes_only_local_labels_and_rules():
    local = ({}, {('tcp', 8089, 8089): 'http_port_t'}, {('/srv/app(/.*)?', 'a'): 'httpd_sys_content_t'})
    plan = ra.plan(wanted(ports=[{'ports': '8089', 'proto': 'tcp', 'state': 'absent'},
                                 {'ports': '22', 'proto': 'tcp', 'state': 'absent'},
                                 {'ports': '9999', 'proto': 'udp', 'state': 'absent'}],
                          fcontexts=[{'target': '/srv/app(/.*)?', 'state': 'absent'},
                                     {'target': '/srv/data', 'ftype': 'd', 'state': 'absent'},
                                     {'target': '/srv/none', 'state': 'absent'}]),
                   Current(local=local), None)
    assert plan.lines == ['port -d -p tcp 8089', "fcontext -d -f a '/srv/app(/.*)?'"]
    assert plan.before == ['port tcp/8089 http_port_t', 'fcontext /srv/app(/.*)? httpd_sys_content_t']
    assert plan.after == ['port tcp/8089 none', 'fcontext /srv/app(/.*)? none']
    # the policy's own label of tcp/22 and rule of /srv/data stay, with a word; what is not there is no change
    assert len(plan.warnings) == 2 and 'tcp/22' in plan.warnings[0] and '/srv/data' in plan.warnings[1]


def test_present_and_absent_of_one_key_are_refused():
    with pytest.raises(ra.RemedyError) as info:
        wanted(ports=[{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'},
                      {'ports': '8089', 'proto': 'tcp', 'state': 'absent'}])
    assert 'both present and absent' in info.value.msg


def test_a_running_value_that_differs_is_a_change():
    plan = ra.plan(wanted(booleans=[{'name': 'httpd_can_network_connect', 'state': True}]),
                   Current(booleans={'httpd_can_network_connect': True}, running={'httpd_can_network_connect': False}), None)
    assert plan.lines == ['boolean -m -1 httpd_can_network_connect']


def test_local_records_are_modified():
    local = ({}, {('tcp', 8089, 8089): 'http_cache_port_t'}, {('/srv/app(/.*)?', 'a'): 'var_t'})
    plan = ra.plan(wanted(ports=[{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'}],
                          fcontexts=[{'target': '/srv/app(/.*)?', 'setype': 'httpd_sys_content_t'}]),
                   Current(local=local), None)
    assert plan.lines == ['port -m -t http_port_t -p tcp 8089', "fcontext -m -f a -t httpd_sys_content_t '/srv/app(/.*)?'"]


@pytest.mark.parametrize('params, message', [
    (dict(booleans=[{'name': 'no_such', 'state': True}]), 'Unknown boolean'),
    (dict(ports=[{'ports': '22', 'proto': 'tcp', 'setype': 'http_port_t'}]), 'belongs to another service (ssh_port_t)'),
    (dict(ports=[{'ports': '20-30', 'proto': 'tcp', 'setype': 'http_port_t'}], allow_dangerous=['tcp/20-30']),
     'belongs to another service (ssh_port_t)'),
    (dict(ports=[{'ports': '8089', 'proto': 'tcp', 'setype': 'var_t'}]), 'not a port type'),
    (dict(fcontexts=[{'target': '/srv/data', 'ftype': 'd', 'setype': 'httpd_sys_content_t'}]), 'The policy itself gives'),
    (dict(fcontexts=[{'target': '/srv/x', 'setype': 'http_port_t'}]), 'not a file type'),
    (dict(booleans=[{'name': 'httpd_execmem', 'state': True}]), 'turning boolean httpd_execmem on hands out power'),
    (dict(booleans=[{'name': 'deny_execmem', 'state': True}]), None),
    (dict(ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}]), 'privileged port(s) tcp/600'),
    (dict(fcontexts=[{'target': '/.*', 'setype': 'var_t'}]), 'the file-context rule /.* var_t: reaches from the root'),
])
def test_plan_refusals(params, message):
    if message is None:
        assert ra.plan(wanted(**params), Current(), None).lines == ['boolean -m -1 deny_execmem']
        return
    with pytest.raises(ra.RemedyError) as err:
        ra.plan(wanted(**params), Current(), None)
    assert message in err.value.msg


def test_acknowledged_power_is_planned():
    plan = ra.plan(wanted(booleans=[{'name': 'httpd_execmem', 'state': True}],
                          ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}],
                          fcontexts=[{'target': '/.*', 'setype': 'var_t'}],
                          allow_dangerous=['httpd_execmem', 'tcp/600', '/.*']), Current(), None)
    assert len(plan.lines) == 3


@pytest.mark.parametrize('acks', [True, 'yes', [' httpd_execmem ', 'tcp/600', '/.*;']])
def test_allow_dangerous_is_read_as_local_policy_module_reads_it(acks):
    """One vocabulary: ``true`` acknowledges every change, and a listed key is compared whitespace-normalised with
    ``;`` ignored, as a module's rule texts are (remedy took only exact names in a list before)."""
    plan = ra.plan(wanted(booleans=[{'name': 'httpd_execmem', 'state': True}],
                          ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}],
                          fcontexts=[{'target': '/.*', 'setype': 'var_t'}], allow_dangerous=acks), Current(), None)
    assert len(plan.lines) == 3


@pytest.mark.parametrize('acks', [False, 'no', [], None])
def test_allow_dangerous_false_acknowledges_nothing(acks):
    with pytest.raises(ra.RemedyError) as err:
        ra.plan(wanted(ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}], allow_dangerous=acks),
                Current(), None)
    assert 'privileged port(s) tcp/600' in err.value.msg


@pytest.mark.parametrize('acks', [{'tcp/600': True}, [{'rule': 'tcp/600'}]])
def test_allow_dangerous_of_another_type_is_a_clear_error(acks):
    with pytest.raises(FleetsecError) as err:
        wanted(ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}], allow_dangerous=acks)
    assert err.value.msg.startswith('allow_dangerous') and 'Nothing was changed' in err.value.msg


class Runner(object):
    def __init__(self, stdout):
        self.stdout = stdout
        self.calls = []

    def run(self, name, args, **kwargs):
        self.calls.append((name, list(args)))
        return type('R', (), {'stdout': self.stdout, 'rc': 0})()


def test_relabel_plans_only_the_paths_restorecon_would_change(tmp_path):
    good, bad, fresh = (tmp_path / n for n in ('good', 'bad', 'fresh'))
    for path in (good, bad, fresh):
        path.write_text(u'x')
    runner = Runner('Would relabel %s from a:b:admin_home_t:s0 to a:b:httpd_sys_content_t:s0\n' % bad)
    plan = ra.plan(wanted(restorecon=[str(good), str(bad), str(fresh)],
                          fcontexts=[{'target': str(fresh), 'setype': 'httpd_sys_content_t'}]),
                   Current(live=True), runner)
    assert runner.calls == [('restorecon', ['-n', '-v'] + sorted([str(good), str(bad), str(fresh)]))]
    assert plan.relabel == [str(bad)] and plan.pending == [str(fresh)]
    assert 'label %s a:b:admin_home_t:s0' % bad in plan.before


def test_relabel_without_selinux_warns_and_runs_nothing(tmp_path):
    (tmp_path / 'f').write_text(u'x')
    runner = Runner('')
    plan = ra.plan(wanted(restorecon=[str(tmp_path / 'f')]), Current(live=False), runner)
    assert runner.calls == [] and not plan.changed and 'SELinux is not active' in plan.warnings[0]


@pytest.mark.parametrize('name', ['httpd_can_network_connect\n', 'a' * 129, '_x', '1x', 'x-y', ''])
def test_bad_identifiers(name):
    with pytest.raises(ra.RemedyError):
        ra.validate({'booleans': [{'name': name, 'state': True}]})


def test_a_relabel_remedy_whose_file_is_gone_is_skipped_with_a_warning(tmp_path):
    gone = str(tmp_path / 'removed-since')
    wanted = ra.validate({'denials': [{'remedy': {'remedy': 'relabel', 'evidence': {'path': gone}}}]})
    assert wanted.relabel == [] and gone in wanted.warnings[0]
    with pytest.raises(ra.RemedyError):
        ra.validate({'restorecon': [gone]})   # asked for explicitly: an error


def test_removing_a_boolean_setting_deletes_all_then_sets_the_kept_ones_again():
    local = ra.parse_export(EXPORT_EL9)
    plan = ra.plan(wanted(booleans=[{'name': 'httpd_can_network_connect', 'state': 'absent'}]),
                   Current(local=local, booleans={'httpd_can_network_connect': True, 'nis_enabled': False}), None)
    assert plan.lines == ['boolean -D', 'boolean -m -0 nis_enabled']
    assert plan.after == ['boolean httpd_can_network_connect off (policy default)']
    # no local setting: nothing to remove
    assert ra.plan(wanted(booleans=[{'name': 'httpd_can_network_connect', 'state': 'absent'}]), Current(), None).lines == []


def test_removing_a_protective_boolean_setting_needs_an_acknowledgement():
    local = ({'deny_execmem': True}, {}, {})
    with pytest.raises(ra.RemedyError, match='turns it off'):
        ra.plan(wanted(booleans=[{'name': 'deny_execmem', 'state': 'absent'}]),
                Current(local=local, booleans={'deny_execmem': True}), None)


def test_an_equivalence_amounts_to_the_rules_of_the_other_tree():
    builtin = {('/var/www(/.*)?', 'a'): 'httpd_sys_content_t', ('/var/www/cgi-bin(/.*)?', 'a'): 'httpd_sys_script_exec_t',
               ('/var/wwwx', 'a'): 'x_t', ('/var/www', 'd'): None}
    assert ra.equivalent_rules('/srv/my.site', '/var/www', builtin) == [
        ('/srv/my\\.site(/.*)?', 'httpd_sys_content_t'), ('/srv/my\\.site/cgi-bin(/.*)?', 'httpd_sys_script_exec_t')]


# `semanage export` after equivalences and login mappings were added (userspace 3.6: the range quoted, an equivalence
# as EQUAL PATH), with lines that do not parse
EXPORT_ALL_KINDS = EXPORT_EL9 + """login -a -s user_u -r 's0' '%adm'
login -a -s staff_u -r 's0-s0:c0.c1023' alice
login -a -s user_u __default__
fcontext -a -e /var/www /srv/fleetsec-mirror
fcontext -a -f a -t var_t '/srv/unterminated
port -a -t http_port_t -p tcp not-a-port
login -d bob
boolean
"""


def test_export_of_every_kind_is_one_named_tuple():
    found = ra.parse_export(EXPORT_ALL_KINDS)
    assert isinstance(found, ra.LocalCustomisations)
    assert found._fields == ('booleans', 'ports', 'fcontexts', 'equivalences', 'logins')
    assert found.booleans == {'httpd_can_network_connect': True, 'nis_enabled': False}
    assert found.ports == {('tcp', 8089, 8089): 'http_port_t', ('tcp', 8090, 8092): 'http_port_t'}
    assert found.fcontexts == {('/srv/app(/.*)?', 'a'): 'httpd_sys_content_t', ('/srv/data', 'd'): 'var_t'}
    assert found.equivalences == {'/srv/fleetsec-mirror': '/var/www'}
    assert not [key for key in found.fcontexts if key[0] == '/srv/fleetsec-mirror']
    assert found.logins == {'%adm': ('user_u', 's0'), 'alice': ('staff_u', 's0-s0:c0.c1023'),
                            '__default__': ('user_u', None)}
    assert found[1] is found.ports and found[2] is found.fcontexts   # indexes 0-2 keep their meaning
    assert ra.parse_export('') == ra.LocalCustomisations({}, {}, {}, {}, {})


@pytest.mark.parametrize('params, words', [
    ({'booleans': [{'name': 'httpd_enable_homedirs', 'state': 'maybe'}]}, 'true, false or absent'),
    ({'booleans': [{'name': 'httpd_enable_homedirs', 'state': None}]}, 'true, false or absent'),
    ({'booleans': [{'name': 'httpd_enable_homedirs', 'state': True},
                   {'name': 'httpd_enable_homedirs', 'state': 'absent'}]}, 'both present and absent'),
    ({'equivalences': [{'path': '/srv/x(/.*)?', 'equal': '/var/www'}]}, 'Invalid equivalence path'),
    ({'equivalences': [{'path': '/srv/x/', 'equal': '/var/www'}]}, 'Invalid equivalence path'),
    ({'equivalences': [{'path': '/', 'equal': '/var/www'}]}, 'Invalid equivalence path'),
    ({'equivalences': [{'path': 'srv/x', 'equal': '/var/www'}]}, 'Invalid equivalence path'),
    ({'equivalences': [{'path': '/srv/a b', 'equal': '/var/www'}]}, 'Invalid equivalence path'),
    ({'equivalences': [{'path': '/srv/../etc', 'equal': '/var/www'}]}, 'Invalid equivalence path'),
    ({'equivalences': [{'path': "/srv/x' /etc '", 'equal': '/var/www'}]}, 'Invalid equivalence path'),
    ({'equivalences': [{'path': '/srv/x', 'equal': '/var/www;id'}]}, 'Invalid equivalence equal'),
    ({'equivalences': [{'path': '/srv/x', 'equal': '/var/www'}, {'path': '/srv/x', 'state': 'absent'}]},
     'both present and absent'),
    ({'logins': [{'login': 'alice bob', 'seuser': 'user_u'}]}, 'Invalid login'),
    ({'logins': [{'login': '%', 'seuser': 'user_u'}]}, 'Invalid login'),
    ({'logins': [{'login': '-r', 'seuser': 'user_u'}]}, 'Invalid login'),
    ({'logins': [{'login': 'alice', 'seuser': 'user_u -r s15'}]}, 'Invalid SELinux user'),
    ({'logins': [{'login': 'alice', 'seuser': 'user_u', 'range': 's0; id'}]}, 'Invalid range'),
    ({'logins': [{'login': 'alice', 'seuser': 'user_u', 'range': 'c0.c1023'}]}, 'Invalid range'),
    ({'logins': [{'login': 'alice', 'seuser': 'user_u', 'range': "s0' -s staff_u '"}]}, 'Invalid range'),
    ({'logins': [{'login': '__default__', 'state': 'absent'}]}, '__default__ cannot be removed'),
    ({'logins': [{'login': 'alice', 'seuser': 'user_u'}, {'login': 'alice', 'state': 'absent'}]},
     'both present and absent'),
])
def test_new_kinds_are_refused_before_anything_runs(params, words):
    with pytest.raises(ra.RemedyError) as info:
        ra.validate(params)
    assert words in info.value.msg, info.value.msg


@pytest.mark.parametrize('state, expected', [('absent', 'absent'), ('Absent', 'absent'), ('yes', True), ('off', False),
                                             (1, True), ('false', False)])
def test_boolean_states(state, expected):
    found = ra.validate({'booleans': [{'name': 'httpd_enable_homedirs', 'state': state}]})
    if expected == 'absent':
        assert found.booleans_absent == {'httpd_enable_homedirs'} and found.booleans == {}
    else:
        assert found.booleans == {'httpd_enable_homedirs': expected} and not found.booleans_absent


@pytest.mark.parametrize('level', ['s0', 's0-s0:c0.c1023', 's0:c1,c3', 's0 - s0:c0.c1023', 's15:c0.c1023'])
def test_good_ranges(level):
    assert ra.validate({'logins': [{'login': '%wheel', 'seuser': 'user_u', 'range': level}]}).logins == {
        '%wheel': ('user_u', level)}


LOCAL_BOOLEANS = ({'httpd_can_network_connect': True, 'nis_enabled': False}, {}, {})


def test_a_removal_and_a_new_setting_are_one_delete_and_every_kept_setting():
    current = Current(booleans={'httpd_can_network_connect': True, 'nis_enabled': False, 'httpd_execmem': False,
                                'deny_execmem': False}, local=LOCAL_BOOLEANS, defaults={'nis_enabled': False})
    plan = ra.plan(wanted(booleans=[{'name': 'nis_enabled', 'state': 'absent'},
                                    {'name': 'deny_execmem', 'state': True}]), current, None)
    assert plan.lines == ['boolean -D', 'boolean -m -1 deny_execmem', 'boolean -m -1 httpd_can_network_connect']


def test_a_removal_sets_the_running_value_when_selinux_is_active():
    current = Current(booleans={'httpd_can_network_connect': True, 'deny_execmem': False}, live=True,
                      local=({'httpd_can_network_connect': True}, {}, {}), running={'httpd_can_network_connect': True})
    plan = ra.plan(wanted(booleans=[{'name': 'httpd_can_network_connect', 'state': 'absent'}]), current, None)
    assert plan.lines == ['boolean -D'] and plan.running == {'httpd_can_network_connect': False}
    assert plan.policy == current.policy
    current.live = False
    assert ra.plan(wanted(booleans=[{'name': 'httpd_can_network_connect', 'state': 'absent'}]), current, None).running == {}


def test_a_removal_whose_default_cannot_be_read_is_refused():
    current = Current(local=({'deny_execmem': True}, {}, {}), defaults={})
    with pytest.raises(ra.RemedyError) as info:
        ra.plan(wanted(booleans=[{'name': 'deny_execmem', 'state': 'absent'}]), current, None)
    assert 'cannot be read from the store' in info.value.msg


class FakeRunner(object):
    def __init__(self, stdout=''):
        self.calls = []
        self.stdout = stdout

    def run(self, name, args, **kwargs):
        self.calls.append((name, list(args), kwargs.get('hint')))
        return type('R', (), {'stdout': self.stdout})()

    def run_with_retry(self, name, args, **kwargs):
        self.calls.append((name, list(args), kwargs.get('data')))

    def change(self, name, args, **kwargs):
        self.calls.append((name, list(args), kwargs.get('hint')))
        return type('R', (), {'stdout': ''})()


def test_act_imports_once_then_sets_the_running_value_the_new_policy_holds():
    plan = ra.RemedyPlan()
    # the value predicted from the store (off) is not what is set: the new binary policy's (on) is
    plan.lines, plan.running, plan.policy = ['boolean -D'], {'httpd_can_network_connect': False}, '/p/policy.33'
    runner = FakeRunner(SEINFO_BOOLEANS.replace('httpd_can_network_connect false', 'httpd_can_network_connect true'))
    assert ra.act(plan, runner, False) == []
    assert [call[:2] for call in runner.calls] == [('semanage', ['import']), ('seinfo', ['/p/policy.33', '-b', '-x']),
                                                   ('setsebool', ['httpd_can_network_connect', '1'])]
    assert runner.calls[0][2] == 'boolean -D\n' and 'committed' in runner.calls[2][2]


def test_act_without_a_removal_reads_no_booleans():
    plan = ra.RemedyPlan()
    plan.lines = ['boolean -m -1 httpd_can_network_connect']
    runner = FakeRunner()
    ra.act(plan, runner, False)
    assert [call[0] for call in runner.calls] == ['semanage']


def test_equivalences_are_added_modified_and_removed():
    local = ({}, {}, {}, {'/srv/old': '/var/www', '/srv/same': '/var/www', '/srv/gone': '/var/www'})
    plan = ra.plan(wanted(equivalences=[{'path': '/srv/old', 'equal': '/srv/data'},
                                        {'path': '/srv/same', 'equal': '/var/www'},
                                        {'path': '/srv/new', 'equal': '/var/www'},
                                        {'path': '/srv/gone', 'state': 'absent'},
                                        {'path': '/srv/never', 'state': 'absent'}]), Current(local=local), None)
    assert plan.lines == ['fcontext -a -e /var/www /srv/new', 'fcontext -d -e /var/www /srv/old',
                          'fcontext -a -e /srv/data /srv/old', 'fcontext -d -e /var/www /srv/gone']
    assert plan.before == ['equivalence /srv/new none', 'equivalence /srv/old /var/www', 'equivalence /srv/gone /var/www']
    assert plan.after == ['equivalence /srv/new /var/www', 'equivalence /srv/old /srv/data', 'equivalence /srv/gone none']
    assert plan.subs


def test_an_equivalence_is_judged_as_the_rules_it_amounts_to():
    current = Current()
    with pytest.raises(ra.RemedyError) as info:
        ra.plan(wanted(equivalences=[{'path': '/srv/fleetsec-etc', 'equal': '/etc'}]), current, None)
    # judged as the rules it amounts to (each rule below /etc moved to the path): the shadow one refuses it
    assert current.judged == [('/srv/fleetsec-etc(/.*)?', 'etc_t'), ('/srv/fleetsec-etc/shadow.*', 'shadow_t')]
    assert ('the equivalence /srv/fleetsec-etc = /etc amounts to the rule /srv/fleetsec-etc/shadow.* shadow_t: gives '
            'out the protected type shadow_t') in info.value.msg
    with pytest.raises(ra.RemedyError) as info:
        ra.plan(wanted(equivalences=[{'path': '/usr/bin', 'equal': '/var/www'}]), Current(), None)
    assert 'the equivalence /usr/bin = /var/www amounts to the rule /usr/bin(/.*)? httpd_sys_content_t: can relabel' \
        in info.value.msg
    acknowledged = ra.plan(wanted(equivalences=[{'path': '/usr/bin', 'equal': '/var/www'}], allow_dangerous=['/usr/bin']),
                           Current(), None)
    assert acknowledged.lines == ['fcontext -a -e /var/www /usr/bin']


def test_an_equivalence_with_no_tree_of_the_policy_is_refused():
    for equal in ('/fleetsec/none', '/var/ww', '/srv/dat'):
        with pytest.raises(ra.RemedyError) as info:
            ra.plan(wanted(equivalences=[{'path': '/srv/x', 'equal': equal}]), Current(), None)
        assert 'is not a tree of the policy' in info.value.msg


def test_logins_are_added_modified_and_removed():
    local = ({}, {}, {}, {}, {'alice': ('user_u', 's0'), '%adm': ('guest_u', None), 'carol': ('user_u', None)})
    plan = ra.plan(wanted(logins=[{'login': 'alice', 'seuser': 'user_u'},
                                  {'login': '%adm', 'seuser': 'user_u', 'range': 's0'},
                                  {'login': 'bob', 'seuser': 'guest_u'},
                                  {'login': '__default__', 'seuser': 'user_u'},
                                  {'login': 'carol', 'state': 'absent'},
                                  {'login': 'dave', 'state': 'absent'}]), Current(local=local, default_seuser='guest_u'),
                   None)
    assert plan.lines == ["login -m -s user_u -r s0 '%adm'", "login -m -s user_u '__default__'",
                          "login -a -s guest_u 'bob'", "login -d 'carol'"]
    assert plan.after[-1] == 'login carol none' and plan.changes[-1].endswith('-> guest_u')


@pytest.mark.parametrize('params, kwargs, message', [
    (dict(logins=[{'login': 'alice', 'seuser': 'staff_u'}]), {}, 'mapping the login alice to staff_u'),
    (dict(logins=[{'login': '%wheel', 'seuser': 'unconfined_u'}]), {}, 'mapping the login %wheel to unconfined_u'),
    (dict(logins=[{'login': 'alice', 'seuser': 'fleetsec_u'}]), {}, 'fleetsec_u is not an SELinux user'),
    (dict(logins=[{'login': 'alice', 'state': 'absent'}]),
     dict(local=({}, {}, {}, {}, {'alice': ('user_u', None)}), default_seuser='unconfined_u'),
     "gives it __default__'s SELinux user unconfined_u"),
])
def test_login_refusals(params, kwargs, message):
    with pytest.raises(ra.RemedyError) as info:
        ra.plan(wanted(**params), Current(**kwargs), None)
    assert message in info.value.msg
    login = (params['logins'][0])['login']
    if 'fleetsec_u' not in message:
        assert ra.plan(wanted(allow_dangerous=[login], **params), Current(**kwargs), None).lines


def test_nothing_asked_of_a_new_kind_reads_nothing():
    class Nothing(Current):
        def users(self):
            raise AssertionError('read')
    assert ra.plan(wanted(logins=[], equivalences=[]), Nothing(), None).lines == []


def test_a_boolean_whose_rules_cannot_be_read_is_never_passed(tmp_path):
    script = tmp_path / 'sesearch'
    script.write_bytes(b'#!/usr/bin/python3\n')
    current = ra.Current(_SesearchRunner(str(script)), str(tmp_path / 'policy.33'), None, False)
    with pytest.raises(ra.FleetsecError):
        current.boolean_findings('no_rules_readable', True)


@pytest.mark.parametrize('params, key', [
    (dict(booleans=[{'name': 'httpd_execmem', 'state': True}]), 'httpd_execmem'),
    (dict(ports=[{'ports': '600', 'proto': 'tcp', 'setype': 'http_port_t'}]), 'tcp/600'),
    (dict(fcontexts=[{'target': '/.*', 'setype': 'var_t'}]), '/.*'),
])
def test_a_refusal_names_what_acknowledges_it_and_that_acknowledges_it(params, key):
    """The one vocabulary of both modules: the failure's ``acknowledge`` holds the exact strings to list in
    allow_dangerous, and listing them is what lets the same call through."""
    with pytest.raises(ra.RemedyError) as err:
        ra.plan(wanted(**params), Current(), None)
    details = err.value.fail_kwargs()
    assert details['acknowledge'] == [key] and len(details['refused']) == 1
    assert details['msg'].endswith('listing it in allow_dangerous: %s.' % key)
    assert ra.plan(wanted(allow_dangerous=details['acknowledge'], **params), Current(), None).lines


def test_what_a_run_learnt_is_kept_private_and_a_failure_is_a_warning(tmp_path):
    cache = tmp_path / 'state' / 'cache'
    current = ra.Current(None, str(tmp_path / 'policy.33'), None, False, cache_dir=str(cache))
    assert current.keep_learnt() == []  # nothing queried: nothing kept, no folder made
    assert not (tmp_path / 'state').exists()
    pruned = []
    current._learn(str(cache / 'policy-model-1.json'), b'{"old": 1}')
    current._learn(str(cache / 'policy-model-1.json'), b'{"a": 1}', pruned.append)  # the later answer wins
    assert current.keep_learnt() == []
    assert (cache / 'policy-model-1.json').read_bytes() == b'{"a": 1}' and pruned == [str(cache / 'policy-model-1.json')]
    assert [oct(p.stat().st_mode & 0o777) for p in (tmp_path / 'state', cache, cache / 'policy-model-1.json')] == [
        oct(0o700), oct(0o700), oct(0o600)]
    # a cache that cannot be written: a warning, the run goes on
    (tmp_path / 'file').write_text(u'')
    current = ra.Current(None, str(tmp_path / 'policy.33'), None, False, cache_dir=str(tmp_path / 'file' / 'cache'))
    current._learn(str(tmp_path / 'file' / 'cache' / 'policy-model-1.json'), b'{}')
    warnings = current.keep_learnt()
    assert len(warnings) == 1 and 'could not be kept' in warnings[0] and current.learnt == []
