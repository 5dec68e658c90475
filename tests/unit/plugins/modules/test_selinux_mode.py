# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decision tables for fleetsec.selinux.selinux_mode: input + host state -> commands run + result.

The host is simulated in a temp dir: a selinuxfs ``enforce`` file (that the fake
``setenforce`` writes, as the kernel would), ``/proc/mounts``, os-release, the
config file with its policy directories, the permissive-domain store behind a
fake ``semanage`` (``import`` is all or nothing, as in libsemanage) and the
policy's types behind a fake ``seinfo`` and, when given, in a binary policy file.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json
import os
import stat
import shutil
import struct

import pytest

from ansible.module_utils import basic

from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_state
from ansible_collections.fleetsec.selinux.plugins.modules import selinux_mode

from fleetsec_testlib.module_helpers import run_module


RESULT_KEYS = set(['changed', 'runtime_before', 'runtime_after', 'config_before', 'config_after', 'policy',
                   'permissive_domains', 'permissive_builtin', 'unvalidated_domains', 'dontaudit', 'reboot_required',
                   'msg'])

EL_CONFIG = (
    '# This file controls the state of SELinux on the system.\n'
    '# SELINUX= can take one of these three values:\n'
    'SELINUX=enforcing\n'
    '# SELINUXTYPE= can take one of these three values:\n'
    'SELINUXTYPE=targeted\n'
)

DEBIAN_OS = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
EL9_OS = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'
KNOWN_TYPES = ('ntpd_t', 'httpd_t', 'init_t', 'sshd_t')
NO_SEINFO = ('getenforce', 'setenforce', 'sestatus', 'semanage')


def binary_policy(types):
    """A kernel binary policy (version 33) reduced to its header and type entries, as libsepol writes them."""
    data = struct.pack('<II', 0xf97cff8c, 8) + b'SE Linux' + struct.pack('<IIII', 33, 1, 8, 9)
    for value, name in enumerate(types, 1):
        data += struct.pack('<IIII', len(name), value, 1, 0) + name.encode('ascii')
    return data


def _write(path, text):
    with io.open(path, 'w', newline='') as handle:
        handle.write(u'' + text)


def _read(path):
    with io.open(path, 'r', newline='') as handle:
        return handle.read()


def _read_bytes(path):
    with open(path, 'rb') as handle:
        return handle.read()


def _write_bytes(path, data):
    with open(path, 'wb') as handle:
        handle.write(data)


class FakeHost(object):
    """A simulated SELinux host (see module docstring)."""

    def __init__(self, root, runtime='enforcing', config=EL_CONFIG, os_release=DEBIAN_OS, loaded='targeted',
                 policies=('targeted', 'mls'), customized=(), builtin=(), bins=None, policy=None):
        self.root = root
        self.selinuxfs = os.path.join(root, 'selinuxfs')
        os.mkdir(self.selinuxfs)
        self.enforce = os.path.join(self.selinuxfs, 'enforce')
        self.mounts = os.path.join(root, 'mounts')
        mounts = 'proc /proc proc rw 0 0\n'
        if runtime != 'disabled':
            mounts += 'selinuxfs %s selinuxfs rw,relatime 0 0\n' % self.selinuxfs
            _write(self.enforce, '1' if runtime == 'enforcing' else '0')
        _write(self.mounts, mounts)
        self.os_release = os.path.join(root, 'os-release')
        _write(self.os_release, os_release)
        self.etc = os.path.join(root, 'etc', 'selinux')
        os.makedirs(self.etc)
        for name in policies:
            os.makedirs(os.path.join(self.etc, name, 'policy'))
        if policy is not None:  # the binary policy of the config's SELINUXTYPE (targeted)
            with open(os.path.join(self.etc, 'targeted', 'policy', 'policy.33'), 'wb') as handle:
                handle.write(policy)
        self.store = os.path.join(root, 'var', 'lib', 'selinux')
        for name in policies:
            os.makedirs(os.path.join(self.store, name, 'active'))
        _write(os.path.join(self.etc, 'semanage.conf'), 'module-store = direct\nstore-root = %s\n' % self.store)
        self.configfile = os.path.join(self.etc, 'config')
        if config is not None:
            _write(self.configfile, config)
        # the relabel flag of this fake root (the config is ROOT/etc/selinux/config), and the live /.autorelabel
        # (RELABEL_FLAG), which only the live config may touch
        self.relabel = os.path.join(root, '.autorelabel')
        self.live_relabel = os.path.join(root, 'live-autorelabel')
        self.attr_current = os.path.join(root, 'attr-current')
        _write(self.attr_current, 'system_u:system_r:unconfined_t:s0-s0:c0.c1023\x00')
        self.loaded = loaded if runtime != 'disabled' else None
        self.customized = list(customized)
        self.builtin = list(builtin)
        self.bins = bins if bins is not None else ('getenforce', 'setenforce', 'sestatus', 'semanage', 'seinfo',
                                                   'semodule')
        self.calls = []

    # -- what the module sees
    def install(self, monkeypatch):
        monkeypatch.setattr(_selinux_state, 'PROC_MOUNTS', self.mounts)
        monkeypatch.setattr(_selinux_state, 'OS_RELEASE_PATHS', (self.os_release,))
        monkeypatch.setattr(_selinux_state, 'RELABEL_FLAG', self.live_relabel)
        monkeypatch.setattr(_selinux_state, 'ATTR_CURRENT_PATHS', (self.attr_current,))
        monkeypatch.setattr(_selinux_state, 'SELINUX_DIR', self.etc)
        host = self

        def get_bin_path(module, name, required=False, opt_dirs=None):
            return '/usr/sbin/' + name if name in host.bins else None

        def run_command(module, cmd, **kwargs):
            return host.run(cmd, kwargs)

        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', get_bin_path)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)

    def run(self, cmd, kwargs):
        assert kwargs['environ_update']['LC_ALL'] == 'C'
        name = os.path.basename(cmd[0])
        args = cmd[1:]
        self.calls.append([name] + args)
        if name == 'setenforce':
            if not os.path.exists(self.enforce):
                return 1, '', 'setenforce: SELinux is disabled\n'
            _write(self.enforce, args[0])
            return 0, '', ''
        if name == 'getenforce':
            return 0, self.runtime().capitalize() + '\n', ''
        if name == 'sestatus':
            if self.runtime() == 'disabled':
                return 0, 'SELinux status:                 disabled\n', ''
            return 0, ('SELinux status:                 enabled\nLoaded policy name:             %s\n'
                       'Current mode:                   %s\n' % (self.loaded, self.runtime())), ''
        if name == 'seinfo':
            return 0, 'Types: %d\n%s' % (len(KNOWN_TYPES), ''.join('   %s\n' % t for t in KNOWN_TYPES)), ''
        if name == 'semodule' and args in (['-DB'], ['-B']):
            flag = os.path.join(self.store, 'targeted', 'active', 'disable_dontaudit')
            if args == ['-DB']:
                _write(flag, '')
            elif os.path.exists(flag):
                os.unlink(flag)
            return 0, '', ''
        if name == 'semanage' and args == ['permissive', '-l']:
            out = '\nBuiltin Permissive Types \n\n%s\nCustomized Permissive Types\n\n%s' % (
                ''.join(t + '\n' for t in self.builtin), ''.join(t + '\n' for t in self.customized))
            return 0, out, ''
        if name == 'semanage' and args == ['import']:
            store = list(self.customized)
            for line in kwargs['data'].splitlines():
                dummy, op, domain = line.split()
                if domain not in KNOWN_TYPES:
                    return 1, '', 'Failed to resolve typepermissive statement\nOSError: [Errno 0] Error\n'
                if op == '-a':
                    store.append(domain)
                else:
                    store.remove(domain)
            self.customized = sorted(store)
            return 0, '', 'libsemanage.add_user: user sddm not in password file\n'
        raise AssertionError('unexpected command %r' % (cmd,))

    # -- what the tests look at
    def runtime(self):
        if not os.path.exists(self.enforce):
            return 'disabled'
        return 'enforcing' if _read(self.enforce).strip() == '1' else 'permissive'

    def config(self):
        return _read(self.configfile) if os.path.exists(self.configfile) else None

    def mutating_calls(self):
        return [c for c in self.calls if c[0] in ('setenforce', 'semodule') or c[:2] == ['semanage', 'import']]

    def snapshot(self):
        config = _read_bytes(self.configfile) if os.path.exists(self.configfile) else None
        return (self.runtime(), config, os.path.exists(self.relabel), os.path.exists(self.live_relabel),
                list(self.customized))


@pytest.fixture
def make_host(tmpdir, monkeypatch):
    made = []

    def factory(**kwargs):
        made.append(1)
        host = FakeHost(str(tmpdir.mkdir('host%d' % len(made))), **kwargs)
        host.install(monkeypatch)
        return host
    return factory


def call(monkeypatch, host, args, check_mode=False, diff=False):
    """Run the module; warnings given with module.warn() are returned as result['warnings']."""
    args = dict(args)
    args.setdefault('configfile', host.configfile)
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: warnings.append(text))
    result, failed = run_module(monkeypatch, selinux_mode.main, args, check_mode=check_mode, diff=diff)
    if warnings:
        result['warnings'] = warnings
    return result, failed


# ------------------------------------------------------------------ decision table
# host state + input -> result figures, commands that change the host, config lines after
TABLE = [
    # id, host kwargs, module args,
    #   expected (changed, runtime_after, config_after, reboot_required), mutating commands, relabel flag
    ('runtime-and-config-to-permissive', dict(runtime='enforcing'), dict(state='permissive'),
     (True, 'permissive', 'permissive', False), [['setenforce', '0']], False),
    ('already-enforcing', dict(runtime='enforcing'), dict(state='enforcing'),
     (False, 'enforcing', 'enforcing', False), [], False),
    ('runtime-only', dict(runtime='permissive'), dict(state='enforcing', scope='runtime'),
     (True, 'enforcing', 'enforcing', False), [['setenforce', '1']], False),
    ('config-only-leaves-runtime', dict(runtime='enforcing'), dict(state='permissive', scope='config'),
     (True, 'enforcing', 'permissive', False), [], False),
    ('disabled-kernel-to-enforcing-goes-permissive-first', dict(runtime='disabled'), dict(state='enforcing'),
     (True, 'disabled', 'permissive', True), [], True),
    ('disabled-kernel-to-enforcing-without-relabel', dict(runtime='disabled'), dict(state='enforcing', autorelabel=False),
     (False, 'disabled', 'enforcing', True), [], False),
    ('disabled-kernel-to-permissive', dict(runtime='disabled', config=EL_CONFIG.replace('=enforcing', '=disabled')),
     dict(state='permissive'), (True, 'disabled', 'permissive', True), [], True),
    ('disable-sets-permissive-meanwhile', dict(runtime='enforcing'), dict(state='disabled'),
     (True, 'permissive', 'disabled', True), [['setenforce', '0']], False),
    ('disable-on-el9', dict(runtime='permissive', os_release=EL9_OS), dict(state='disabled', scope='config'),
     (True, 'permissive', 'disabled', True), [], False),
    ('disabled-stays-disabled', dict(runtime='disabled', config=EL_CONFIG.replace('=enforcing', '=disabled')),
     dict(state='disabled'), (False, 'disabled', 'disabled', False), [], False),
    ('policy-change', dict(runtime='enforcing'), dict(state='enforcing', policy='mls'),
     (True, 'enforcing', 'enforcing', True), [], True),
    ('missing-config-created', dict(runtime='permissive', config=None), dict(state='permissive'),
     (True, 'permissive', 'permissive', False), [], False),
    ('runtime-request-on-disabled-kernel', dict(runtime='disabled'), dict(state='enforcing', scope='runtime'),
     (False, 'disabled', 'enforcing', True), [], False),
    ('disable-at-runtime-goes-permissive', dict(runtime='enforcing'), dict(state='disabled', scope='runtime'),
     (True, 'permissive', 'enforcing', True), [['setenforce', '0']], False),
    ('domains-only', dict(runtime='enforcing'), dict(permissive_domains=['ntpd_t']),
     (True, 'enforcing', 'enforcing', False), [['semanage', 'import']], False),
    ('empty-config-gets-both-keys', dict(runtime='enforcing', config=''), dict(state='enforcing'),
     (True, 'enforcing', 'enforcing', False), [], False),
    ('config-without-selinuxtype-on-disabled-kernel', dict(runtime='disabled', config='SELINUX=disabled\n',
                                                           policies=('default',)),
     dict(state='permissive'), (True, 'disabled', 'permissive', True), [], True),
]


@pytest.mark.parametrize('host_kwargs, args, expected, mutating, relabel', [t[1:] for t in TABLE], ids=[t[0] for t in TABLE])
def test_decision_table(monkeypatch, make_host, host_kwargs, args, expected, mutating, relabel):
    host = make_host(**host_kwargs)
    result, failed = call(monkeypatch, host, args)
    assert not failed, result
    assert set(result) - set(['warnings']) == RESULT_KEYS
    assert (result['changed'], result['runtime_after'], result['config_after'], result['reboot_required']) == expected
    assert host.mutating_calls() == mutating
    assert os.path.exists(host.relabel) == relabel
    assert not os.path.exists(host.live_relabel)
    # what the module reports is what the host now is
    assert result['runtime_after'] == host.runtime()
    assert selinux_mode.config.read_config(host.config())['mode'] == result['config_after']


@pytest.mark.parametrize('host_kwargs, args', [t[1:3] for t in TABLE], ids=[t[0] for t in TABLE])
def test_check_real_check_real(monkeypatch, make_host, host_kwargs, args):
    """Check mode predicts the real run with the SAME keys and changes nothing; the second round is unchanged."""
    host = make_host(**host_kwargs)
    before = host.snapshot()
    predicted, failed = call(monkeypatch, host, args, check_mode=True)
    assert not failed, predicted
    assert host.snapshot() == before
    assert host.mutating_calls() == []
    real, failed = call(monkeypatch, host, args)
    assert not failed, real
    assert sorted(predicted) == sorted(real)
    for key in RESULT_KEYS:
        assert predicted[key] == real[key], key
    again, failed = call(monkeypatch, host, args, check_mode=True)
    assert not failed and again['changed'] is False
    host.calls = []
    last, failed = call(monkeypatch, host, args)
    assert not failed and last['changed'] is False and host.mutating_calls() == []
    assert last['reboot_required'] == real['reboot_required']


# ------------------------------------------------------------------ details a user sees

def test_disabled_to_enforcing_message(monkeypatch, make_host):
    host = make_host(runtime='disabled')
    result, failed = call(monkeypatch, host, dict(state='enforcing'))
    assert not failed
    assert result['runtime_before'] == result['runtime_after'] == 'disabled'
    assert 'config SELINUX: enforcing -> permissive' in result['msg']
    assert 'run again to reach enforcing' in result['msg'] and 'reboot required' in result['msg']
    assert 'SELINUX=permissive\n' in host.config()


def test_el9_disabled_warns(monkeypatch, make_host):
    host = make_host(runtime='enforcing', os_release=EL9_OS)
    result, failed = call(monkeypatch, host, dict(state='disabled'))
    assert not failed
    assert any('selinux=0' in w for w in result['warnings'])
    assert 'selinux=0' in result['msg']


def test_debian_disabled_does_not_warn(monkeypatch, make_host):
    host = make_host(runtime='enforcing')
    result, failed = call(monkeypatch, host, dict(state='disabled'))
    assert not failed and not result.get('warnings')


def test_diff_mode(monkeypatch, make_host):
    host = make_host(runtime='permissive')
    result, failed = call(monkeypatch, host, dict(state='permissive', scope='config'), check_mode=True, diff=True)
    assert not failed
    assert result['diff'] == {
        'before': EL_CONFIG, 'after': EL_CONFIG.replace('SELINUX=enforcing', 'SELINUX=permissive'),
        'before_header': host.configfile, 'after_header': host.configfile}
    assert host.config() == EL_CONFIG


def test_diff_of_created_file(monkeypatch, make_host):
    host = make_host(runtime='enforcing', config=None)
    result, failed = call(monkeypatch, host, dict(state='enforcing'), diff=True)
    assert not failed and result['changed']
    assert result['diff']['before'] == '' and result['diff']['before_header'].endswith('(absent)')
    assert result['diff']['after'] == host.config()
    assert result['config_before'] is None and result['policy'] == 'targeted'  # the loaded policy


def test_missing_config_on_disabled_host_uses_the_only_installed_policy(monkeypatch, make_host):
    host = make_host(runtime='disabled', config=None, policies=('default',))
    result, failed = call(monkeypatch, host, dict(state='permissive', autorelabel=False))
    assert not failed
    assert selinux_mode.config.read_config(host.config()) == {'mode': 'permissive', 'policy': 'default'}


def test_missing_config_with_unknown_policy_fails(monkeypatch, make_host):
    host = make_host(runtime='disabled', config=None, policies=('default', 'mls'))
    result, failed = call(monkeypatch, host, dict(state='permissive', autorelabel=False))
    assert failed and 'set the policy option' in result['msg'] and 'default, mls' in result['msg']
    assert host.config() is None


def test_crlf_config_keeps_crlf(monkeypatch, make_host):
    host = make_host(runtime='enforcing', config=EL_CONFIG.replace('\n', '\r\n'))
    result, failed = call(monkeypatch, host, dict(state='permissive', scope='config'))
    assert not failed and result['changed']
    assert host.config() == EL_CONFIG.replace('SELINUX=enforcing', 'SELINUX=permissive').replace('\n', '\r\n')


def test_symlinked_configfile_keeps_the_link(monkeypatch, make_host):
    host = make_host(runtime='enforcing')
    link = os.path.join(host.root, 'sysconfig-selinux')
    os.symlink(os.path.relpath(host.configfile, host.root), link)
    result, failed = call(monkeypatch, host, dict(state='permissive', scope='config', configfile=link), diff=True)
    assert not failed and result['changed'] and result['diff']['after_header'] == link
    assert os.path.islink(link)
    assert 'SELINUX=permissive\n' in host.config()


def test_non_canonical_line_is_normalised(monkeypatch, make_host):
    host = make_host(runtime='enforcing', config='SELINUX = "enforcing"\nSELINUXTYPE=targeted\n')
    result, failed = call(monkeypatch, host, dict(state='enforcing'))
    assert not failed and result['changed']
    assert result['config_before'] == result['config_after'] == 'enforcing'
    assert 'form libselinux reads' in result['msg']
    assert host.config() == 'SELINUX=enforcing\nSELINUXTYPE=targeted\n'


def test_permissive_domains_present_and_absent(monkeypatch, make_host):
    host = make_host(runtime='enforcing', builtin=['init_t'])
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t', 'httpd_t']))
    assert not failed and result['changed']
    assert result['permissive_domains'] == ['httpd_t', 'init_t', 'ntpd_t']
    assert result['permissive_builtin'] == ['init_t']  # the policy's own: not a change of this host
    assert host.customized == ['httpd_t', 'ntpd_t']
    assert result['runtime_after'] == 'enforcing' and result['reboot_required'] is False
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t'], permissive_domains_state='absent'))
    assert not failed and result['changed'] and result['permissive_domains'] == ['httpd_t', 'init_t']
    assert 'permissive domains removed: ntpd_t' in result['msg']
    result, failed = call(monkeypatch, host, dict(permissive_domains=['init_t'], permissive_domains_state='absent'))
    assert not failed and not result['changed'] and 'builtin' in result['warnings'][0]


def test_state_and_domains_together(monkeypatch, make_host):
    host = make_host(runtime='permissive')
    result, failed = call(monkeypatch, host, dict(state='enforcing', permissive_domains=['ntpd_t']))
    assert not failed
    assert host.mutating_calls() == [['setenforce', '1'], ['semanage', 'import']]
    assert result['runtime_after'] == 'enforcing' and result['permissive_domains'] == ['ntpd_t']


def test_domains_listed_when_not_asked(monkeypatch, make_host):
    host = make_host(runtime='enforcing', customized=['ntpd_t'], builtin=['init_t'])
    result, failed = call(monkeypatch, host, dict(state='enforcing'))
    assert not failed and result['permissive_domains'] == ['init_t', 'ntpd_t']
    assert not [c for c in host.calls if c[0] == 'seinfo']


def test_domains_null_when_not_asked_and_semanage_missing_or_failing(monkeypatch, make_host):
    host = make_host(runtime='enforcing', bins=('getenforce', 'setenforce', 'sestatus'))
    result, failed = call(monkeypatch, host, dict(state='enforcing'))
    assert not failed and result['permissive_domains'] is None
    host = make_host(runtime='disabled', config=None, policies=('default',))
    original = host.run
    host.run = lambda cmd, kwargs: ((1, '', 'ValueError: SELinux policy is not managed or store cannot be accessed.\n')
                                    if cmd[1:3] == ['permissive', '-l'] else original(cmd, kwargs))
    result, failed = call(monkeypatch, host, dict(state='disabled'))
    assert not failed and result['permissive_domains'] is None
    # asked for: the same failure fails the module
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t']))
    assert failed and 'store cannot be accessed' in result['msg']


# ------------------------------------------------------------------ without seinfo (issue #16)

@pytest.mark.parametrize('check_mode', [True, False])
def test_without_seinfo_a_name_missing_from_the_binary_policy_fails_before_semanage(monkeypatch, make_host, check_mode):
    host = make_host(runtime='enforcing', bins=NO_SEINFO, policy=binary_policy(KNOWN_TYPES))
    before = host.snapshot()
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t', 'bogus_t']), check_mode=check_mode)
    assert failed and result['msg'] == 'Not a type of the loaded policy: bogus_t. Nothing was changed.'
    assert not [c for c in host.calls if c[0] == 'semanage']
    assert host.snapshot() == before


def test_without_seinfo_a_name_in_the_binary_policy_is_a_change_with_a_warning(monkeypatch, make_host):
    host = make_host(runtime='enforcing', bins=NO_SEINFO, policy=binary_policy(KNOWN_TYPES))
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t']), check_mode=True)
    assert not failed and result['changed'] is True
    assert result['permissive_domains'] == ['ntpd_t'] and result['unvalidated_domains'] == []
    assert result['msg'] == 'permissive domains added: ntpd_t'
    assert len(result['warnings']) == 1 and 'seinfo (setools) is missing' in result['warnings'][0]
    assert 'weaker check' in result['warnings'][0] and host.etc in result['warnings'][0]
    assert host.mutating_calls() == [] and host.customized == []
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t']))
    assert not failed and result['changed'] and not result.get('warnings') and host.customized == ['ntpd_t']


def test_without_seinfo_nor_binary_policy_check_mode_reports_unvalidated_domains(monkeypatch, make_host):
    host = make_host(runtime='enforcing', bins=NO_SEINFO, customized=['httpd_t'])
    for domains in (['ntpd_t'], ['bogus_t']):  # cannot be told apart without seinfo or a policy file
        result, failed = call(monkeypatch, host, dict(permissive_domains=domains + ['httpd_t']), check_mode=True)
        assert not failed, result
        assert result['changed'] is True  # a real run adds the domain or fails: it cannot end unchanged
        assert result['unvalidated_domains'] == domains
        assert result['permissive_domains'] == ['httpd_t']  # not predicted as added
        assert result['msg'] == ('permissive domains to add if semanage accepts them as types (not checked): %s'
                                 % domains[0])
        assert len(result['warnings']) == 1 and 'could not check that %s are types' % domains[0] in result['warnings'][0]
        assert host.mutating_calls() == []
    # the real run: semanage's transaction is the check
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t', 'bogus_t']))
    assert failed and 'Nothing was changed' in result['msg'] and result['rc'] == 1
    assert host.customized == ['httpd_t']
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t']))
    assert not failed and result['changed'] and result['unvalidated_domains'] == [] and not result.get('warnings')
    assert host.customized == ['httpd_t', 'ntpd_t'] and result['permissive_domains'] == ['httpd_t', 'ntpd_t']
    result, failed = call(monkeypatch, host, dict(permissive_domains=['ntpd_t']), check_mode=True)
    assert not failed and not result['changed'] and result['unvalidated_domains'] == [] and not result.get('warnings')


@pytest.mark.parametrize('runtime, config_text, expected_config', [
    ('enforcing', 'SELINUX=enforcing\nSELINUXTYPE=default\n', 'enforcing'),
    ('permissive', 'SELINUX=enforcing\nSELINUXTYPE=default\n', 'enforcing'),
    ('disabled', 'SELINUX=disabled\nSELINUXTYPE=default\n', 'disabled'),
    ('enforcing', None, None),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_read_only_query_reports_and_changes_nothing(monkeypatch, make_host, runtime, config_text, expected_config, check_mode):
    host = make_host(runtime=runtime, config=config_text)
    before = host.snapshot()
    result, failed = call(monkeypatch, host, dict(), check_mode=check_mode)
    assert not failed, result
    assert result['changed'] is False and result['reboot_required'] is False
    assert result['runtime_before'] == result['runtime_after'] == runtime
    assert result['config_before'] == result['config_after'] == expected_config
    assert result['msg'] == 'no change needed'
    assert host.snapshot() == before
    assert host.mutating_calls() == []


# ------------------------------------------------------------------ bad input: failed, nothing changed

BAD = [
    ('unknown-state', dict(state='enforced'), 'value of state must be one of'),
    ('policy-without-state', dict(policy='mls', permissive_domains=['ntpd_t']), 'state'),
    ('policy-not-installed', dict(state='enforcing', policy='strict'), "Policy type 'strict' is not installed"),
    ('policy-path-like', dict(state='enforcing', policy='../x'), "Invalid policy type '../x'"),
    ('policy-with-runtime-scope', dict(state='enforcing', policy='mls', scope='runtime'), 'scope=runtime'),
    ('domain-not-in-policy', dict(state='permissive', permissive_domains=['ntpd_t', 'bogus_t']), 'Not a type of the loaded policy: bogus_t'),
    ('domain-bad-name', dict(permissive_domains=['ntpd_t; reboot']), 'Invalid SELinux type name'),
    ('config-dir-missing', dict(state='permissive', configfile='/nonexistent-dir/config'), 'does not exist'),
]


@pytest.mark.parametrize('args, words', [b[1:] for b in BAD], ids=[b[0] for b in BAD])
@pytest.mark.parametrize('check_mode', [False, True])
def test_bad_input_fails_and_changes_nothing(monkeypatch, make_host, args, words, check_mode):
    host = make_host(runtime='enforcing')
    before = host.snapshot()
    result, failed = call(monkeypatch, host, args, check_mode=check_mode)
    assert failed, result
    assert words in result['msg']
    assert host.snapshot() == before
    assert host.mutating_calls() == []


def test_runtime_request_on_disabled_kernel_warns_and_changes_nothing(monkeypatch, make_host):
    host = make_host(runtime='disabled')
    before = host.snapshot()
    result, failed = call(monkeypatch, host, dict(state='enforcing', scope='runtime'))
    assert not failed and not result['changed'] and result['reboot_required'] is True
    assert result['runtime_after'] == 'disabled'
    assert 'disabled in the running kernel' in result['warnings'][0]
    assert host.snapshot() == before and host.mutating_calls() == []


def test_unwritable_config_fails(monkeypatch, make_host):
    host = make_host(runtime='enforcing')
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode: False if path.startswith(host.etc) else real_access(path, mode))
    result, failed = call(monkeypatch, host, dict(state='permissive'))
    assert failed and 'Cannot write' in result['msg']
    assert host.snapshot()[:2] == ('enforcing', EL_CONFIG.encode('ascii'))


@pytest.mark.parametrize('special', ['fifo', 'device-link'])
@pytest.mark.parametrize('check_mode', [True, False])
def test_configfile_that_is_no_regular_file_is_refused_before_it_is_read(monkeypatch, make_host, special, check_mode):
    """A FIFO would block the read forever; a symlink to a device node would get the node replaced by a file."""
    host = make_host(runtime='enforcing')
    path = os.path.join(host.etc, 'special')
    if special == 'fifo':
        os.mkfifo(path)
        reason = 'is a FIFO'
    else:
        os.symlink('/dev/null', path)
        reason = 'is a character device'
    result, failed = call(monkeypatch, host, dict(state='permissive', scope='config', configfile=path),
                          check_mode=check_mode)
    assert failed and reason in result['msg'] and 'must be a regular file' in result['msg'], result
    assert stat.S_ISCHR(os.stat('/dev/null').st_mode)
    assert special != 'fifo' or stat.S_ISFIFO(os.stat(path).st_mode)


def test_setenforce_failure_is_reported(monkeypatch, make_host):
    host = make_host(runtime='enforcing')
    os.chmod(host.selinuxfs, 0o755)
    original = host.run

    def refuse(cmd, kwargs):
        if os.path.basename(cmd[0]) == 'setenforce':
            host.calls.append(['setenforce'] + cmd[1:])
            return 1, '', 'setenforce: setenforce() failed\n'
        return original(cmd, kwargs)

    host.run = refuse
    result, failed = call(monkeypatch, host, dict(state='permissive', scope='runtime'))
    assert failed and result['msg'] == 'setenforce failed for mode permissive (rc=1): setenforce: setenforce() failed'
    assert result['cmd'] == ['/usr/sbin/setenforce', '0'] and host.runtime() == 'enforcing'


def test_failure_after_a_change_names_what_was_done(monkeypatch, make_host):
    host = make_host(runtime='enforcing')
    original = host.run
    host.run = lambda cmd, kwargs: ((1, '', 'setenforce: setenforce() failed\n') if cmd[0].endswith('setenforce')
                                    else original(cmd, kwargs))
    result, failed = call(monkeypatch, host, dict(state='permissive'))
    assert failed
    assert result['msg'] == ('setenforce failed for mode permissive (rc=1): setenforce: setenforce() failed. '
                             'Already done before this failure: config SELINUX: enforcing -> permissive')
    assert 'SELINUX=permissive\n' in host.config() and host.runtime() == 'enforcing'


def test_dontaudit_off_and_on_is_idempotent_and_honest_in_check_mode(monkeypatch, make_host):
    host = make_host()
    read, failed = call(monkeypatch, host, {})
    assert not failed and read['dontaudit'] is True and not read['changed']
    check, failed = call(monkeypatch, host, {'dontaudit': False}, check_mode=True)
    assert not failed and check['changed'] and check['dontaudit'] is False
    assert host.mutating_calls() == []
    off, failed = call(monkeypatch, host, {'dontaudit': False})
    assert not failed and off['changed'] and off['dontaudit'] is False
    assert host.mutating_calls() == [['semodule', '-DB']]
    again, failed = call(monkeypatch, host, {'dontaudit': False})
    assert not failed and not again['changed'] and len(host.mutating_calls()) == 1
    on, failed = call(monkeypatch, host, {'dontaudit': True})
    assert not failed and on['changed'] and on['dontaudit'] is True
    assert host.mutating_calls()[-1] == ['semodule', '-B']
    assert 'policy rebuilt with its dontaudit rules' in on['msg']


def test_dontaudit_without_a_store_fails_and_changes_nothing(monkeypatch, make_host):
    host = make_host()
    shutil.rmtree(host.store)
    result, failed = call(monkeypatch, host, {'dontaudit': False})
    assert failed and 'no SELinux policy store' in result['msg']
    assert host.mutating_calls() == []


# ------------------------------------------------------------------ config file robustness

def _utf8_json(result):
    """The result as Ansible sends it back: strict UTF-8 JSON (a lone surrogate or a raw byte fails here)."""
    return json.dumps(result, ensure_ascii=False).encode('utf-8', 'strict')


@pytest.mark.parametrize('data, line, key', [
    (b'# caf\xe9\nSELINUX=enforcing\nSELINUXTYPE=targ\xffeted\n', 3, 'SELINUXTYPE'),
    (b'SELINUX=enforc\xe9ng\nSELINUXTYPE=targeted\n', 1, 'SELINUX'),
], ids=['selinuxtype', 'selinux'])
@pytest.mark.parametrize('args', [dict(state='permissive', scope='config'), dict(state='enforcing', policy='mls'),
                                  dict()], ids=['state', 'state-and-policy', 'read-only'])
@pytest.mark.parametrize('check_mode', [False, True])
def test_non_utf8_value_is_refused_before_anything_is_written(monkeypatch, make_host, data, line, key, args,
                                                              check_mode):
    host = make_host(runtime='enforcing')
    _write_bytes(host.configfile, data)
    before = host.snapshot()
    result, failed = call(monkeypatch, host, args, check_mode=check_mode)
    assert failed, result
    assert result['msg'].startswith('%s line %d: the value of %s is not valid UTF-8' % (host.configfile, line, key))
    assert 'Nothing was changed' in result['msg']
    _utf8_json(result)
    assert host.snapshot() == before and _read_bytes(host.configfile) == data
    assert host.mutating_calls() == []


def test_non_utf8_bytes_outside_the_values_are_kept_byte_for_byte(monkeypatch, make_host):
    host = make_host(runtime='enforcing')
    data = b'# caf\xe9\nSELINUX = enforcing # r\xe9gl\xe9\nSELINUXTYPE=targeted\nOTHER=\xff\xfe\n'
    _write_bytes(host.configfile, data)
    predicted, failed = call(monkeypatch, host, dict(state='permissive'), check_mode=True, diff=True)
    assert not failed, predicted
    assert _read_bytes(host.configfile) == data
    result, failed = call(monkeypatch, host, dict(state='permissive'), diff=True)
    assert not failed, result
    assert _read_bytes(host.configfile) == b'# caf\xe9\n# r\xe9gl\xe9\nSELINUX=permissive\nSELINUXTYPE=targeted\nOTHER=\xff\xfe\n'
    assert (result['changed'], result['config_before'], result['config_after'], result['policy']) == (
        True, 'enforcing', 'permissive', 'targeted')
    assert predicted['diff'] == result['diff']
    # the diff is shown, the undecodable bytes as U+FFFD; the whole result is valid UTF-8 JSON
    assert result['diff']['after'] == u'# caf\ufffd\n# r\ufffdgl\ufffd\nSELINUX=permissive\nSELINUXTYPE=targeted\nOTHER=\ufffd\ufffd\n'
    _utf8_json(predicted)
    _utf8_json(result)
    again, failed = call(monkeypatch, host, dict(state='permissive'))
    assert not failed and not again['changed']


@pytest.mark.parametrize('text', ['', 'this is not a config file\n\x01\x02 = =\n[main]\nSELINUX\n'],
                         ids=['empty', 'garbage'])
def test_config_without_selinuxtype_gets_the_loaded_policy(monkeypatch, make_host, text):
    host = make_host(runtime='enforcing', config=text)
    result, failed = call(monkeypatch, host, dict(state='permissive', scope='config'))
    assert not failed, result
    assert selinux_mode.config.read_config(host.config()) == {'mode': 'permissive', 'policy': 'targeted'}
    assert host.config().startswith(text)
    assert 'config SELINUX: None -> permissive' in result['msg']
    assert 'config SELINUXTYPE: None -> targeted' in result['msg']
    assert result['policy'] == 'targeted' and result['config_after'] == 'permissive'


@pytest.mark.parametrize('text', ['', 'garbage\n'], ids=['empty', 'garbage'])
def test_config_without_selinuxtype_on_a_disabled_host_gets_the_only_installed_policy(monkeypatch, make_host, text):
    host = make_host(runtime='disabled', config=text, policies=('default',))
    result, failed = call(monkeypatch, host, dict(state='permissive', autorelabel=False))
    assert not failed, result
    assert selinux_mode.config.read_config(host.config()) == {'mode': 'permissive', 'policy': 'default'}
    assert result['policy'] == 'default'


@pytest.mark.parametrize('text', ['', 'garbage\n', 'SELINUX=disabled\nSELINUXTYPE=\n'], ids=['empty', 'garbage', 'unset'])
@pytest.mark.parametrize('check_mode', [False, True])
def test_config_without_selinuxtype_and_unknown_policy_is_refused(monkeypatch, make_host, text, check_mode):
    host = make_host(runtime='disabled', config=text, policies=('default', 'mls'))
    before = host.snapshot()
    result, failed = call(monkeypatch, host, dict(state='permissive', autorelabel=False), check_mode=check_mode)
    assert failed, result
    assert result['msg'] == ('%s sets no SELINUXTYPE and its policy type is unknown (installed beside it: default, '
                             'mls): set the policy option. Nothing was changed.' % host.configfile)
    assert host.snapshot() == before
    # the policy option says which one
    result, failed = call(monkeypatch, host, dict(state='permissive', autorelabel=False, policy='mls'),
                          check_mode=check_mode)
    assert not failed and result['policy'] == 'mls'


def test_relabel_flag_goes_to_the_root_of_the_config(monkeypatch, make_host):
    host = make_host(runtime='disabled')
    result, failed = call(monkeypatch, host, dict(state='enforcing'))
    assert not failed, result
    assert os.path.exists(host.relabel) and not os.path.exists(host.live_relabel)
    assert 'created %s (relabel at next boot)' % host.relabel in result['msg']


def test_relabel_flag_of_a_symlinked_config_is_that_of_its_target(monkeypatch, make_host):
    host = make_host(runtime='disabled')
    link = os.path.join(host.root, 'sysconfig-selinux')
    os.symlink(host.configfile, link)
    result, failed = call(monkeypatch, host, dict(state='permissive', configfile=link))
    assert not failed, result
    assert os.path.exists(host.relabel) and not os.path.exists(host.live_relabel)


def test_relabel_flag_of_a_config_linked_from_an_etc_selinux_directory_is_that_of_the_link(monkeypatch, make_host):
    host = make_host(runtime='disabled')
    elsewhere = os.path.join(host.root, 'elsewhere')
    os.mkdir(elsewhere)
    shutil.move(host.configfile, os.path.join(elsewhere, 'config'))
    os.symlink(os.path.join(elsewhere, 'config'), host.configfile)
    result, failed = call(monkeypatch, host, dict(state='permissive'))
    assert not failed, result
    assert os.path.exists(host.relabel) and not os.path.exists(host.live_relabel)
    assert not os.path.exists(os.path.join(elsewhere, '.autorelabel'))


@pytest.mark.parametrize('host_kwargs, args', [
    (dict(runtime='disabled'), dict(state='enforcing')),
    (dict(runtime='disabled'), dict(state='permissive')),
    (dict(runtime='enforcing'), dict(state='enforcing', policy='mls')),
], ids=['enable-enforcing', 'enable-permissive', 'policy-change'])
@pytest.mark.parametrize('check_mode', [False, True])
def test_relabel_for_a_config_outside_an_etc_selinux_directory_is_refused(monkeypatch, make_host, host_kwargs, args,
                                                                          check_mode):
    host = make_host(**host_kwargs)
    staging = os.path.join(host.root, 'staging')
    os.mkdir(staging)
    for name in ('targeted', 'mls'):
        os.makedirs(os.path.join(staging, name, 'policy'))
    other = os.path.join(staging, 'selinux-config')
    text = EL_CONFIG.replace('=enforcing', '=disabled')
    _write(other, text)
    before = host.snapshot()
    result, failed = call(monkeypatch, host, dict(args, configfile=other), check_mode=check_mode)
    assert failed, result
    assert result['msg'] == (
        'autorelabel: this change needs a relabel, but %s is not in an etc/selinux directory, so the root file '
        'system it belongs to, where .autorelabel would go, is unknown. Set autorelabel=false (and create '
        'ROOT/.autorelabel yourself if the file belongs to a root file system at ROOT). Nothing was changed.'
        % os.path.realpath(other))
    assert _read(other) == text and host.snapshot() == before
    assert not os.path.exists(os.path.join(staging, '.autorelabel'))
    # without autorelabel it is changed, and no flag anywhere is touched
    result, failed = call(monkeypatch, host, dict(args, configfile=other, autorelabel=False), check_mode=check_mode)
    assert not failed and result['changed'], result
    assert not os.path.exists(host.relabel) and not os.path.exists(host.live_relabel)
    assert not os.path.exists(os.path.join(staging, '.autorelabel'))
