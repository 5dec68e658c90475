# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os
import struct

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CheckModeViolation, CommandFailed, FleetsecError, Runner
from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_state as st
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools


PROC_MOUNTS_ENABLED = (
    'sysfs /sys sysfs rw,seclabel,nosuid,nodev,noexec,relatime 0 0\n'
    'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n'
    'selinuxfs /sys/fs/selinux selinuxfs rw,nosuid,noexec,relatime 0 0\n'
    '/dev/vda / ext4 rw,seclabel,relatime 0 0\n'
)
PROC_MOUNTS_DISABLED = 'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n/dev/vda / ext4 rw,relatime 0 0\n'

SESTATUS_ENABLED = (
    'SELinux status:                 enabled\n'
    'SELinuxfs mount:                /sys/fs/selinux\n'
    'SELinux root directory:         /etc/selinux\n'
    'Loaded policy name:             targeted\n'
    'Current mode:                   enforcing\n'
    'Mode from config file:          enforcing\n'
    'Policy MLS status:              enabled\n'
    'Policy deny_unknown status:     allowed\n'
    'Memory protection checking:     actual (secure)\n'
    'Max kernel policy version:      33\n'
)
SESTATUS_DISABLED = 'SELinux status:                 disabled\n'

# recorded on Debian 12 (policycoreutils 3.4) after `semanage permissive -a ntpd_t`
PERMISSIVE_LIST = '\nBuiltin Permissive Types \n\n\nCustomized Permissive Types\n\nntpd_t\n'
PERMISSIVE_LIST_EL = '\nBuiltin Permissive Types \n\nsanlk_resetd_t\n\nCustomized Permissive Types\n\nhttpd_t\nntpd_t\n'

SEINFO_ALL = 'Types: 4\n   httpd_t\n   init_t\n   ntpd_t\n   ntpd_exec_t\n'


# ------------------------------------------------------------------ parsers

@pytest.mark.parametrize('text, mode', [('1', 'enforcing'), ('0', 'permissive'), ('1\n', 'enforcing')])
def test_parse_enforce(text, mode):
    assert st.parse_enforce(text) == mode


def test_parse_enforce_rejects_junk():
    with pytest.raises(FleetsecError):
        st.parse_enforce('2')


@pytest.mark.parametrize('text, mode', [('Enforcing\n', 'enforcing'), ('Permissive\n', 'permissive'), ('Disabled\n', 'disabled')])
def test_parse_getenforce(text, mode):
    assert st.parse_getenforce(text) == mode


def test_parse_getenforce_rejects_junk():
    with pytest.raises(FleetsecError):
        st.parse_getenforce('getenforce: command failed\n')


def test_parse_sestatus():
    info = st.parse_sestatus(SESTATUS_ENABLED)
    assert info['selinux status'] == 'enabled'
    assert info['loaded policy name'] == 'targeted'
    assert st.parse_sestatus(SESTATUS_DISABLED) == {'selinux status': 'disabled'}


@pytest.mark.parametrize('text, major', [
    ('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n', 9),
    ('NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="10.0"\n', 10),
    ('NAME="CentOS Linux"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n', 7),
    ('NAME="AlmaLinux"\nID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.10"\n', 8),
    ('NAME="Oracle Linux Server"\nID="ol"\nID_LIKE="fedora"\nVERSION_ID="9.3"\n', 9),
    ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', None),
    ('NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n', None),
    ('ID=rhel\n', None),
])
def test_el_major(text, major):
    assert st.el_major(st.parse_os_release(text)) == major


def test_parse_permissive_list():
    assert st.parse_permissive_list(PERMISSIVE_LIST) == ([], ['ntpd_t'])
    assert st.parse_permissive_list(PERMISSIVE_LIST_EL) == (['sanlk_resetd_t'], ['httpd_t', 'ntpd_t'])
    assert st.parse_permissive_list('') == ([], [])
    with pytest.raises(FleetsecError):
        st.parse_permissive_list('ValueError: SELinux policy is not managed\n')


def test_parse_seinfo_types():
    assert setools.parse_names(SEINFO_ALL) == set(['httpd_t', 'init_t', 'ntpd_t', 'ntpd_exec_t'])
    # setools 3 prints a heading with a colon and may follow a name with its attributes
    assert setools.parse_names('\nTypes: 2\n   ntpd_t\n   foo_t, alias bar_t\n') == set(['ntpd_t', 'foo_t'])


def policy_bytes(types=(), roles=(), booleans=(), version=33, magic=0xf97cff8c):
    """A kernel binary policy as libsepol writes it, reduced to the header and the entries that name things.

    Types: length, value, properties, bounds, name. Roles: length, value, bounds, name. Booleans: value, state,
    length, name (the one entry whose name directly follows its length).
    """
    data = struct.pack('<II', magic, 8) + b'SE Linux' + struct.pack('<IIII', version, 1, 8, 9)
    for value, name in enumerate(types, 1):
        data += struct.pack('<IIII', len(name), value, 1, 0) + name.encode('ascii')
    for value, name in enumerate(roles, 1):
        data += struct.pack('<III', len(name), value, 0) + name.encode('ascii')
    for value, name in enumerate(booleans, 1):
        data += struct.pack('<III', value, 0, len(name)) + name.encode('ascii')
    return data


POLICY = policy_bytes(types=('ntpd_t', 'ntpd_exec_t', 'xhttpd_t', 'domain'), roles=('system_r',),
                      booleans=('secure_mode_t',))


def test_policy_version():
    assert st.policy_version(POLICY) == 33
    assert st.policy_version(policy_bytes(version=24)) == 24
    assert st.policy_version(policy_bytes(magic=0xf97cff8d)) is None
    assert st.policy_version(b'BZh91AY&SY') is None
    assert st.policy_version(b'') is None


@pytest.mark.parametrize('names, absent', [
    (['ntpd_t', 'ntpd_exec_t'], []),
    (['domain'], []),  # an attribute passes: only probably a type
    (['bogus_t', 'ntpd_t'], ['bogus_t']),
    (['ntpd'], ['ntpd']),  # the start of a type's name
    (['exec_t', 'httpd_t'], ['exec_t', 'httpd_t']),  # the end of a type's name
    (['system_r'], ['system_r']),  # a role
    (['secure_mode_t'], ['secure_mode_t']),  # a boolean: its name directly follows its length
    ([], []),
])
def test_absent_from_policy(names, absent):
    assert st.absent_from_policy(POLICY, names) == absent


@pytest.mark.parametrize('data', [
    policy_bytes(types=('ntpd_t',), version=23),  # type entries had no bounds word then
    policy_bytes(types=('ntpd_t',), version=34),  # not known yet
    b'not a policy',
])
def test_absent_from_policy_says_nothing_about_other_files(data):
    assert st.absent_from_policy(data, ['ntpd_t', 'bogus_t']) is None


def test_check_type_names():
    st.check_type_names(['ntpd_t', 'httpd_sys_script_t'])
    with pytest.raises(st.ModeError) as exc:
        st.check_type_names(['ntpd_t', 'bad name', '-a'])
    assert "'bad name'" not in exc.value.msg and 'bad name, -a' in exc.value.msg


# ------------------------------------------------------------------ decisions

# (state, scope, autorelabel, runtime, policy_change, el) -> (runtime_target, config_mode, relabel, reboot_required)
PLAN_TABLE = [
    # nothing asked
    (None, 'both', True, 'enforcing', False, None, (None, None, False, False)),
    # ordinary changes on an enabled kernel
    ('enforcing', 'both', True, 'permissive', False, None, ('enforcing', 'enforcing', False, False)),
    ('permissive', 'both', True, 'enforcing', False, None, ('permissive', 'permissive', False, False)),
    ('enforcing', 'both', True, 'enforcing', False, None, (None, 'enforcing', False, False)),
    ('permissive', 'runtime', True, 'enforcing', False, None, ('permissive', None, False, False)),
    ('enforcing', 'config', True, 'permissive', False, None, (None, 'enforcing', False, False)),
    # disabled kernel: config first, permissive first with relabel, reboot reported
    ('enforcing', 'both', True, 'disabled', False, None, (None, 'permissive', True, True)),
    ('enforcing', 'config', True, 'disabled', False, None, (None, 'permissive', True, True)),
    ('permissive', 'both', True, 'disabled', False, None, (None, 'permissive', True, True)),
    ('enforcing', 'both', False, 'disabled', False, None, (None, 'enforcing', False, True)),
    ('disabled', 'both', True, 'disabled', False, None, (None, 'disabled', False, False)),
    ('disabled', 'runtime', True, 'disabled', False, None, (None, None, False, False)),
    # runtime-only requests the kernel cannot satisfy: nothing pretended, reboot reported
    ('enforcing', 'runtime', True, 'disabled', False, None, (None, None, False, True)),
    ('disabled', 'runtime', True, 'enforcing', False, None, ('permissive', None, False, True)),
    ('disabled', 'runtime', True, 'permissive', False, None, (None, None, False, True)),
    # disabling: impossible at runtime, permissive meanwhile
    ('disabled', 'both', True, 'enforcing', False, None, ('permissive', 'disabled', False, True)),
    ('disabled', 'both', True, 'permissive', False, None, (None, 'disabled', False, True)),
    ('disabled', 'config', True, 'enforcing', False, None, (None, 'disabled', False, True)),
    ('disabled', 'both', True, 'enforcing', False, 9, ('permissive', 'disabled', False, True)),
    # policy type change needs a reboot and a relabel
    ('enforcing', 'both', True, 'enforcing', True, None, (None, 'enforcing', True, True)),
    ('enforcing', 'both', False, 'enforcing', True, None, (None, 'enforcing', False, True)),
    ('disabled', 'both', True, 'enforcing', True, None, ('permissive', 'disabled', False, True)),
]


@pytest.mark.parametrize('state, scope, autorelabel, runtime, policy_change, el, expected', PLAN_TABLE)
def test_plan_mode_table(state, scope, autorelabel, runtime, policy_change, el, expected):
    plan = st.plan_mode(state, scope, autorelabel, runtime, policy_change=policy_change, el=el)
    assert (plan.runtime_target, plan.config_mode, plan.relabel, plan.reboot_required) == expected


def test_plan_from_disabled_to_enforcing_says_to_run_again():
    plan = st.plan_mode('enforcing', 'both', True, 'disabled')
    assert any('run again to reach enforcing' in note for note in plan.notes)
    assert plan.warnings == []


def test_plan_without_autorelabel_warns_about_lockout():
    plan = st.plan_mode('enforcing', 'both', False, 'disabled')
    assert len(plan.warnings) == 1 and 'unlabelled' in plan.warnings[0]


@pytest.mark.parametrize('el, warned', [(None, False), (7, False), (8, False), (9, True), (10, True)])
def test_plan_el9_disabled_caveat(el, warned):
    plan = st.plan_mode('disabled', 'config', True, 'enforcing', el=el)
    assert bool(plan.warnings) == warned
    if warned:
        assert 'selinux=0' in plan.warnings[0] and ('EL %d' % el) in plan.warnings[0]


@pytest.mark.parametrize('state, runtime, words', [
    ('enforcing', 'disabled', 'disabled in the running kernel'),
    ('permissive', 'disabled', 'disabled in the running kernel'),
    ('disabled', 'enforcing', 'cannot be disabled at runtime'),
    ('disabled', 'permissive', 'cannot be disabled at runtime'),
])
def test_plan_impossible_runtime_requests_warn_and_need_a_reboot(state, runtime, words):
    plan = st.plan_mode(state, 'runtime', True, runtime)
    assert plan.reboot_required is True and plan.config_mode is None and plan.relabel is False
    assert len(plan.warnings) == 1 and words in plan.warnings[0]


@pytest.mark.parametrize('wanted, wanted_state, builtin, customized, add, remove, warned', [
    (['ntpd_t'], 'present', [], [], ['ntpd_t'], [], False),
    (['ntpd_t'], 'present', [], ['ntpd_t'], [], [], False),
    (['ntpd_t', 'ntpd_t'], 'present', [], [], ['ntpd_t'], [], False),
    (['sanlk_resetd_t'], 'present', ['sanlk_resetd_t'], [], [], [], False),
    (['ntpd_t', 'httpd_t'], 'absent', [], ['ntpd_t'], [], ['ntpd_t'], False),
    (['sanlk_resetd_t'], 'absent', ['sanlk_resetd_t'], [], [], [], True),
    ([], 'present', [], ['ntpd_t'], [], [], False),
])
def test_permissive_changes(wanted, wanted_state, builtin, customized, add, remove, warned):
    got = st.permissive_changes(wanted, wanted_state, builtin, customized)
    assert got[0] == add and got[1] == remove and bool(got[2]) == warned


SEINFO_CHECK = st.TypeCheck([], 'seinfo')
POLICY_CHECK = st.TypeCheck([], '/etc/selinux/targeted/policy/policy.33')
NO_CHECK = st.TypeCheck(None, None)


@pytest.mark.parametrize('source', ['seinfo', '/etc/selinux/targeted/policy/policy.33'])
def test_type_check_refuses_names_that_are_not_types(source):
    with pytest.raises(st.ModeError) as exc:
        st.TypeCheck(['bogus_t', 'other_t'], source).refuse_unknown()
    assert exc.value.msg == 'Not a type of the loaded policy: bogus_t, other_t. Nothing was changed.'
    for checked in (SEINFO_CHECK, POLICY_CHECK, NO_CHECK):
        checked.refuse_unknown()


@pytest.mark.parametrize('checked, check_mode, add, unvalidated, warning', [
    (SEINFO_CHECK, True, ['ntpd_t'], [], None),
    (SEINFO_CHECK, False, ['ntpd_t'], [], None),
    (POLICY_CHECK, True, ['ntpd_t'], [], 'weaker check than seinfo'),
    (POLICY_CHECK, False, ['ntpd_t'], [], None),  # semanage checks the name in a real run
    (NO_CHECK, True, [], ['ntpd_t'], 'could not check that ntpd_t are types'),
    (NO_CHECK, False, ['ntpd_t'], [], None),
    (None, True, ['ntpd_t'], [], None),
])
def test_plan_permissive_by_kind_of_check(checked, check_mode, add, unvalidated, warning):
    plan = st.plan_permissive(['ntpd_t', 'httpd_t'], 'present', ['init_t'], ['httpd_t'], checked, check_mode)
    assert (plan.add, plan.remove, plan.unvalidated) == (add, [], unvalidated)
    assert plan.after == sorted(['init_t', 'httpd_t'] + add)
    if warning is None:
        assert plan.warnings == []
    else:
        assert len(plan.warnings) == 1 and warning in plan.warnings[0]


@pytest.mark.parametrize('checked', [POLICY_CHECK, NO_CHECK])
def test_plan_permissive_nothing_to_add_gives_no_warning(checked):
    plan = st.plan_permissive(['httpd_t'], 'absent', [], ['httpd_t'], checked, True)
    assert (plan.add, plan.remove, plan.unvalidated, plan.after, plan.warnings) == ([], ['httpd_t'], [], [], [])


# ------------------------------------------------------------------ host access through the Runner

BINS = dict((name, '/usr/sbin/' + name) for name in ('getenforce', 'setenforce', 'sestatus', 'semanage', 'seinfo'))


class FakeModule(object):
    """Answers commands from a dict; ``setenforce`` writes the fake enforce file like the kernel would."""

    def __init__(self, answers=None, check_mode=False, bins=None, enforce_file=None):
        self.answers = dict(answers or {})
        self.check_mode = check_mode
        self.bins = BINS if bins is None else bins
        self.enforce_file = enforce_file
        self.calls = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return self.bins.get(name)

    def run_command(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        name = os.path.basename(cmd[0])
        if name == 'setenforce' and self.enforce_file:
            with io.open(self.enforce_file, 'w') as handle:
                handle.write(u'1' if cmd[1] == '1' else u'0')
            return 0, '', ''
        return self.answers[name]


def make_host(tmpdir, module, mounts=PROC_MOUNTS_ENABLED, enforce='1', os_release=None, context=u'system_u:system_r:unconfined_t:s0\x00'):
    root = str(tmpdir)
    attr = os.path.join(root, 'attr-current')
    if context is not None:
        with io.open(attr, 'w') as handle:
            handle.write(context)
    selinuxfs = os.path.join(root, 'selinuxfs')
    os.mkdir(selinuxfs)
    if enforce is not None:
        with io.open(os.path.join(selinuxfs, 'enforce'), 'w') as handle:
            handle.write(u'%s' % enforce)
    mounts_file = os.path.join(root, 'mounts')
    with io.open(mounts_file, 'w') as handle:
        handle.write(u'' + mounts.replace('/sys/fs/selinux', selinuxfs))
    release = os.path.join(root, 'os-release')
    if os_release is not None:
        with io.open(release, 'w') as handle:
            handle.write(u'' + os_release)
    module.enforce_file = os.path.join(selinuxfs, 'enforce')
    return st.SelinuxHost(Runner(module, CATALOGUE), proc_mounts=mounts_file, os_release=(release,),
                          relabel_flag=os.path.join(root, 'autorelabel'), attr_current=(attr,))


def test_runtime_mode_from_selinuxfs_without_commands(tmpdir):
    module = FakeModule()
    host = make_host(tmpdir, module, enforce='0')
    assert host.runtime_mode() == 'permissive'
    assert module.calls == []


def test_runtime_mode_disabled_when_selinuxfs_not_mounted(tmpdir):
    module = FakeModule()
    host = make_host(tmpdir, module, mounts=PROC_MOUNTS_DISABLED)
    assert host.runtime_mode() == 'disabled'
    assert module.calls == []


def test_runtime_mode_disabled_when_no_policy_is_loaded(tmpdir):
    # selinuxfs mounted, enforce reads 0, but every process is in the 'kernel' context: getenforce says Disabled
    module = FakeModule()
    host = make_host(tmpdir, module, enforce='0', context=u'kernel\x00')
    assert host.runtime_mode() == 'disabled'
    assert module.calls == []


def test_unreadable_context_means_policy_loaded(tmpdir):
    host = make_host(tmpdir, FakeModule(), enforce='1', context=None)
    assert host.policy_loaded() is True
    assert host.runtime_mode() == 'enforcing'


def test_runtime_mode_falls_back_to_getenforce(tmpdir):
    module = FakeModule({'getenforce': (0, 'Enforcing\n', '')})
    host = st.SelinuxHost(Runner(module, CATALOGUE), proc_mounts=str(tmpdir.join('no-such-file')))
    assert host.runtime_mode() == 'enforcing'
    assert module.calls[0][0] == ['/usr/sbin/getenforce']
    assert module.calls[0][1]['environ_update']['LC_ALL'] == 'C'


def test_loaded_policy(tmpdir):
    host = make_host(tmpdir, FakeModule({'sestatus': (0, SESTATUS_ENABLED, '')}))
    assert host.loaded_policy() == 'targeted'
    host = make_host(tmpdir.mkdir('b'), FakeModule({'sestatus': (0, SESTATUS_DISABLED, '')}))
    assert host.loaded_policy() is None
    host = make_host(tmpdir.mkdir('c'), FakeModule(bins={}))
    assert host.loaded_policy() is None


def test_el_major_reads_os_release(tmpdir):
    host = make_host(tmpdir, FakeModule(), os_release='ID="rhel"\nVERSION_ID="9.4"\n')
    assert host.el_major() == 9
    host = make_host(tmpdir.mkdir('b'), FakeModule())
    assert host.el_major() is None


def test_set_runtime_runs_setenforce_and_reads_back(tmpdir):
    module = FakeModule()
    host = make_host(tmpdir, module, enforce='1')
    assert host.set_runtime('permissive') == 'permissive'
    assert module.calls[0][0] == ['/usr/sbin/setenforce', '0']
    assert host.runtime_mode() == 'permissive'


def test_set_runtime_writes_enforce_file_without_setenforce(tmpdir):
    bins = dict(BINS)
    del bins['setenforce']
    module = FakeModule(bins=bins)
    host = make_host(tmpdir, module, enforce='0')
    assert host.set_runtime('enforcing') == 'enforcing'
    assert module.calls == []
    assert io.open(module.enforce_file).read() == '1'


def test_set_runtime_reports_a_kernel_that_did_not_follow(tmpdir):
    module = FakeModule()
    host = make_host(tmpdir, module, enforce='1')
    module.enforce_file = None  # setenforce "succeeds" but nothing changes
    module.answers['setenforce'] = (0, '', '')
    with pytest.raises(FleetsecError) as exc:
        host.set_runtime('permissive')
    assert 'reports enforcing' in exc.value.msg


def test_set_runtime_failure_is_a_command_failure(tmpdir):
    module = FakeModule()
    host = make_host(tmpdir, module, enforce='1')
    module.enforce_file = None
    module.answers['setenforce'] = (1, '', 'setenforce: SELinux is disabled\n')
    with pytest.raises(CommandFailed) as exc:
        host.set_runtime('permissive')
    assert exc.value.msg == 'setenforce failed for mode permissive (rc=1): setenforce: SELinux is disabled'


def test_create_relabel_flag(tmpdir):
    module = FakeModule()
    host = make_host(tmpdir, module)
    host.create_relabel_flag()
    assert os.path.exists(host.relabel_flag) and module.calls == []


def selinux_dir(tmpdir, policy=None, name='targeted', numbers=(31, 33)):
    """An /etc/selinux with a config naming ``name`` and its ``policy.NN`` files (``policy``: the newest one)."""
    etc = tmpdir.mkdir('etc-selinux')
    etc.join('config').write('SELINUX=enforcing\nSELINUXTYPE=%s\n' % name)
    directory = etc.mkdir(name).mkdir('policy')
    for number in numbers:
        directory.join('policy.%d' % number).write_binary(policy if number == max(numbers) else b'')
    return str(etc)


def test_permissive_domains_and_types(tmpdir):
    module = FakeModule({'semanage': (0, PERMISSIVE_LIST_EL, ''), 'seinfo': (0, SEINFO_ALL, '')})
    host = make_host(tmpdir, module)
    host.selinux_dir = selinux_dir(tmpdir, POLICY)  # not read: seinfo is there
    assert host.permissive_domains() == (['sanlk_resetd_t'], ['httpd_t', 'ntpd_t'])
    assert module.calls[0][0] == ['/usr/sbin/semanage', 'permissive', '-l']
    checked = host.check_types(['ntpd_t', 'httpd_t', 'bogus_t'])
    assert (checked.unknown, checked.source, checked.exact) == (['bogus_t'], 'seinfo', True)
    assert module.calls[1][0] == ['/usr/sbin/seinfo', '--type']


# `semodule -l` (userspace 2.5 and later) and `seinfo POLICY --permissive` of a store where semanage permissive -l
# prints PERMISSIVE_LIST_EL (setools 3 prints the same header and lines)
SEMODULE_L = 'apache\nntp\npermissive_httpd_t\npermissive_ntpd_t\nvirt-sandbox\n'
SEINFO_PERMISSIVE = '\nPermissive Types: 3\n   httpd_t\n   ntpd_t\n   sanlk_resetd_t\n'


def test_parse_module_names():
    assert st.parse_module_names(SEMODULE_L) == ['apache', 'ntp', 'permissive_httpd_t', 'permissive_ntpd_t',
                                                 'virt-sandbox']
    assert st.parse_module_names('No modules.\n') == []
    # userspace 2.0 (EL6): a version beside each name, and Disabled: another form, not read
    assert st.parse_module_names('apache\t2.1.2\nntp\t1.7.0\tDisabled\n') is None
    assert st.parse_module_names('semodule: SELinux policy is not managed\n') is None


def test_split_permissive_as_semanage_lists_them():
    permissive = st.parse_module_names(SEMODULE_L)
    assert st.split_permissive({'httpd_t', 'ntpd_t', 'sanlk_resetd_t'}, permissive) == (
        ['sanlk_resetd_t'], ['httpd_t', 'ntpd_t'])
    # semanage lists nothing at all when the policy has no permissive type, whatever the store holds
    assert st.split_permissive(set(), permissive) == ([], [])
    assert st.split_permissive({'sanlk_resetd_t'}, ['apache']) == (['sanlk_resetd_t'], [])


def test_permissive_domains_from_the_store_listing_and_seinfo(tmpdir):
    bins = dict(BINS, semodule='/usr/sbin/semodule')
    module = FakeModule({'semodule': (0, SEMODULE_L, ''), 'seinfo': (0, SEINFO_PERMISSIVE, '')}, bins=bins)
    host = make_host(tmpdir, module)
    host.selinux_dir = selinux_dir(tmpdir, POLICY)
    assert host.permissive_domains() == st.parse_permissive_list(PERMISSIVE_LIST_EL)
    newest = os.path.join(host.selinux_dir, 'targeted', 'policy', 'policy.33')
    assert [c[0] for c in module.calls] == [['/usr/sbin/semodule', '-l'], ['/usr/sbin/seinfo', newest, '--permissive']]


@pytest.mark.parametrize('answers, bins', [
    # userspace 2.0's listing, a failed listing, a failed seinfo, no seinfo, no semodule: semanage answers
    ({'semodule': (0, 'apache\t2.1.2\n', '')}, None),
    ({'semodule': (1, '', 'semodule: Could not connect to policy handler\n')}, None),
    ({'semodule': (0, SEMODULE_L, ''), 'seinfo': (1, '', 'Invalid policy\n')}, None),
    ({}, ('seinfo',)),
    ({}, ('semodule',)),
])
def test_permissive_domains_by_semanage_when_the_store_cannot_tell(tmpdir, answers, bins):
    names = dict(BINS, semodule='/usr/sbin/semodule')
    for name in bins or ():
        del names[name]
    module = FakeModule(dict(answers, semanage=(0, PERMISSIVE_LIST_EL, '')), bins=names)
    host = make_host(tmpdir, module)
    host.selinux_dir = selinux_dir(tmpdir, POLICY)
    assert host.permissive_domains() == (['sanlk_resetd_t'], ['httpd_t', 'ntpd_t'])
    assert module.calls[-1][0] == ['/usr/sbin/semanage', 'permissive', '-l']


def without_seinfo():
    bins = dict(BINS)
    del bins['seinfo']
    return FakeModule(bins=bins)


def test_check_types_without_seinfo_reads_the_newest_binary_policy(tmpdir):
    module = without_seinfo()
    host = make_host(tmpdir, module)
    host.selinux_dir = selinux_dir(tmpdir, POLICY)
    checked = host.check_types(['ntpd_t', 'bogus_t', 'system_r'])
    assert checked.unknown == ['bogus_t', 'system_r']
    assert checked.source == os.path.join(host.selinux_dir, 'targeted', 'policy', 'policy.33')
    assert checked.exact is False
    assert module.calls == []


def test_selinux_dir_defaults_to_etc_selinux(tmpdir, monkeypatch):
    assert make_host(tmpdir, FakeModule()).selinux_dir == '/etc/selinux'
    monkeypatch.setattr(st, 'SELINUX_DIR', str(tmpdir))
    assert make_host(tmpdir.mkdir('b'), FakeModule()).selinux_dir == str(tmpdir)


@pytest.mark.parametrize('policy, numbers', [
    (None, ()),  # no policy file
    (b'BZh91AY&SY', (33,)),  # not a kernel binary policy
    (policy_bytes(types=('ntpd_t',), version=34), (34,)),  # a version not known
])
def test_check_types_without_seinfo_nor_readable_policy_cannot_tell(tmpdir, policy, numbers):
    host = make_host(tmpdir, without_seinfo())
    host.selinux_dir = selinux_dir(tmpdir, policy, numbers=numbers)
    checked = host.check_types(['ntpd_t', 'bogus_t'])
    assert (checked.unknown, checked.source, checked.exact) == (None, None, False)


def test_check_types_without_seinfo_and_unreadable_policy_cannot_tell(tmpdir):
    host = make_host(tmpdir, without_seinfo())
    host.selinux_dir = selinux_dir(tmpdir, POLICY, numbers=(31,))
    os.mkdir(os.path.join(host.selinux_dir, 'targeted', 'policy', 'policy.33'))  # newest, and open() fails
    assert host.check_types(['ntpd_t', 'bogus_t']).unknown is None


def test_change_permissive_is_one_transaction(tmpdir):
    module = FakeModule({'semanage': (0, '', '')})
    host = make_host(tmpdir, module)
    host.change_permissive(['ntpd_t', 'httpd_t'], ['sshd_t'])
    assert len(module.calls) == 1
    cmd, kwargs = module.calls[0]
    assert cmd == ['/usr/sbin/semanage', 'import']
    assert kwargs['data'] == 'permissive -a ntpd_t\npermissive -a httpd_t\npermissive -d sshd_t\n'


def test_change_permissive_failure_says_nothing_changed(tmpdir):
    err = ('Failed to resolve typepermissive statement at /var/lib/selinux/default/tmp/modules/400/permissive_bogus_t/cil:1\n'
           'Failed to resolve AST\nOSError: [Errno 0] Error\n')
    module = FakeModule({'semanage': (1, '', err)})
    host = make_host(tmpdir, module)
    with pytest.raises(CommandFailed) as exc:
        host.change_permissive(['bogus_t'], [])
    assert len(module.calls) == 1  # no lock message: not retried
    assert exc.value.msg.startswith('semanage failed for permissive domains bogus_t (rc=1): Failed to resolve')
    assert 'Nothing was changed' in exc.value.msg


def test_change_permissive_retries_only_a_held_lock(tmpdir):
    # "lock" inside a type name (clockd_t) is no held lock: one attempt, not six with waits between them
    err = ('Failed to resolve typepermissive statement at /var/lib/selinux/targeted/tmp/modules/400/permissive_clockd_t/'
           'cil:1\nFailed to resolve AST\n')
    module = FakeModule({'semanage': (1, '', err)})
    host = make_host(tmpdir, module)
    host.runner._sleep = lambda seconds: None
    with pytest.raises(CommandFailed):
        host.change_permissive(['clockd_t'], [])
    assert len(module.calls) == 1


def test_change_permissive_in_check_mode_is_refused_by_the_runner(tmpdir):
    # check mode is decided once, in the module (selinux_mode.act); a mutating call that reaches the runner in check
    # mode is a defect and fails before semanage runs
    module = FakeModule(check_mode=True)
    host = make_host(tmpdir, module)
    with pytest.raises(CheckModeViolation):
        host.change_permissive(['ntpd_t'], [])
    host.change_permissive([], [])
    assert module.calls == []


@pytest.mark.parametrize('configfile, flag', [
    ('/etc/selinux/config', '/.autorelabel'),
    ('/mnt/image/etc/selinux/config', '/mnt/image/.autorelabel'),
    ('/mnt/image/etc/selinux/other-name', '/mnt/image/.autorelabel'),
    ('/mnt/image//etc/selinux/./config', '/mnt/image/.autorelabel'),
    ('/tmp/x/config', None),
    ('/etc/sysconfig/selinux', None),  # a symlink: the caller resolves it first
    ('/etc/selinux/targeted/config', None),
    ('/etc/selinux-config', None),
    ('/srv/myetc/selinux/config', None),
])
def test_relabel_flag_for(configfile, flag):
    assert st.relabel_flag_for(configfile) == flag
