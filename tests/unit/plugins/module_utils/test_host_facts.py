# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's SELinux facts, read in one place: every module gets the same answer."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import PolicyStore
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner
from ansible_collections.fleetsec.selinux.plugins.module_utils._selinux_state import SelinuxHost


class FakeModule(object):
    check_mode = False

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return None

    def run_command(self, cmd, **kwargs):
        raise AssertionError('reading facts runs no command: %r' % (cmd,))


def _selinuxfs(tmp_path, enforce=True, context=u'system_u:system_r:unconfined_t:s0'):
    mount = tmp_path / 'selinuxfs'
    mount.mkdir()
    if enforce:
        (mount / 'enforce').write_text(u'1')
    mounts = tmp_path / 'mounts'
    mounts.write_text(u'proc /proc proc rw 0 0\nselinuxfs %s selinuxfs rw 0 0\n' % mount)
    current = tmp_path / 'current'
    current.write_text(context + u'\x00')
    return str(mounts), (str(current),)


def test_active_with_a_loaded_policy(tmp_path):
    mounts, current = _selinuxfs(tmp_path)
    assert facts.selinux_active(mounts, current) is True


def test_not_active_without_selinuxfs(tmp_path):
    mounts = tmp_path / 'mounts'
    mounts.write_text(u'proc /proc proc rw 0 0\n')
    assert facts.selinux_active(str(mounts), ()) is False


def test_not_active_when_selinuxfs_is_mounted_but_no_policy_is_loaded(tmp_path):
    # EL9 with SELINUX=disabled in the config: selinuxfs is mounted, the process runs in the 'kernel' context. The
    # planner's own probe (the enforce file exists) called this enabled and ran audit2allow without -p.
    mounts, current = _selinuxfs(tmp_path, context=u'kernel')
    assert facts.selinux_active(mounts, current) is False


def test_the_mode_reader_and_the_probe_agree(tmp_path):
    for context, active in ((u'kernel', False), (u'system_u:system_r:kernel_t:s0', True)):
        sub = tmp_path / context.replace(':', '_')
        sub.mkdir()
        mounts, current = _selinuxfs(sub, context=context)
        host = SelinuxHost(Runner(FakeModule(), {}), proc_mounts=mounts, attr_current=current)
        assert (host.runtime_mode() != 'disabled') is active is facts.selinux_active(mounts, current)


def _policies(tmp_path, config, types=('targeted', 'default', 'mls')):
    if config is not None:
        (tmp_path / 'config').write_text(config)
    for number, name in enumerate(types, 31):
        policy_dir = tmp_path / name / 'policy'
        policy_dir.mkdir(parents=True)
        (policy_dir / ('policy.%d' % number)).write_text(u'')


@pytest.mark.parametrize('config, types, expected', [
    (u'SELINUXTYPE="targeted"\n', ('targeted', 'default'), 'targeted'),     # quotes are not part of the name
    (u'SELINUXTYPE=targeted\nSELINUXTYPE=mls\n', ('targeted', 'mls'), 'mls'),  # the last line wins
    (u'SELINUXTYPE = default # Debian\n', ('default',), 'default'),
    (u'SELINUXTYPE=../../tmp/x\n', ('default',), 'default'),  # never a path: the first type that has a policy
    (u'SELINUX=permissive\n', ('default',), 'default'),
    (u'SELINUX=permissive\n', (), 'targeted'),                 # libselinux's default
    (None, ('mls',), 'mls'),
])
def test_policy_type(tmp_path, config, types, expected):
    _policies(tmp_path, config, types)
    assert facts.policy_type(str(tmp_path)) == expected


def test_the_store_and_the_policy_finder_name_the_same_type(tmp_path):
    # the store said 'targeted' (or '../../tmp/x', a path for semodule -s) where the policy finder said 'default'
    selinux = tmp_path / 'etc' / 'selinux'
    selinux.mkdir(parents=True)
    for config in (u'SELINUX=permissive\n', u'SELINUXTYPE=../../tmp/x\n'):
        (selinux / 'config').write_text(config)
        if not (selinux / 'default').exists():
            _policies(selinux, None, ('default',))
        store = PolicyStore(FakeModule(), Runner(FakeModule(), {}), policy_root=str(tmp_path))
        assert store.policy_type() == 'default'
        assert store.policy_file() == facts.binary_policy(str(selinux)) == str(selinux / 'default/policy/policy.31')


def test_store_root_reads_semanage_conf(tmp_path):
    assert facts.store_root(str(tmp_path)) == '/var/lib/selinux'
    (tmp_path / 'semanage.conf').write_text(u'store-root = /a\n# store-root = /b\nstore-root=/c # last\n')
    assert facts.store_root(str(tmp_path)) == '/c'


def test_semanage_conf_values_outside_sections(tmp_path):
    assert facts.pp_converter(str(tmp_path)) is None
    (tmp_path / 'semanage.conf').write_text(u'compiler-directory = /a/hll\n[sefcontext_compile]\npath = /x\n'
                                            u'compiler-directory = /in/a/section\n[end]\n')
    assert facts.pp_converter(str(tmp_path)) == '/a/hll/pp'
    assert facts.semanage_conf(str(tmp_path), 'path') is None


def test_binary_policy_follows_selinuxtype(tmp_path):
    (tmp_path / 'config').write_text(u'SELINUX=permissive\nSELINUXTYPE=default\n')
    policy_dir = tmp_path / 'default' / 'policy'
    policy_dir.mkdir(parents=True)
    for name in ('policy.31', 'policy.33', 'policy.4'):
        (policy_dir / name).write_text(u'')
    assert facts.binary_policy(str(tmp_path)) == str(policy_dir / 'policy.33')
    assert facts.binary_policy(str(tmp_path / 'none')) is None


@pytest.mark.parametrize('text, expected', [
    (u'SELINUX=permissive\nSELINUXTYPE = targeted # default\n', 'targeted'),
    (u'SELINUXTYPE = mls # default\n', 'mls'),
    (u'SELINUXTYPE="targeted"\n', 'targeted'),
    (u"SELINUXTYPE='mls'\r\n", 'mls'),
    (u'SELINUXTYPE=default\nSELINUXTYPE=mls\n', 'mls'),  # libselinux: the last one wins
    (u'SELINUXTYPE=mls\n#SELINUXTYPE=default\n', 'mls'),
])
def test_binary_policy_reads_selinuxtype_as_libselinux_does(tmp_path, text, expected):
    (tmp_path / 'config').write_text(text)
    for number, name in enumerate(('targeted', 'default', 'mls'), 31):
        policy_dir = tmp_path / name / 'policy'
        policy_dir.mkdir(parents=True)
        (policy_dir / ('policy.%d' % number)).write_text(u'')
    assert facts.binary_policy(str(tmp_path)) == str(tmp_path / expected / 'policy' / ('policy.%d' % {
        'targeted': 31, 'default': 32, 'mls': 33}[expected]))


def test_binary_policy_is_not_another_type_s_policy(tmp_path):
    # the configured type has no binary policy: guessing another type's would explain denials against the wrong policy
    (tmp_path / 'config').write_text(u'SELINUXTYPE = targeted # default\n')
    (tmp_path / 'targeted').mkdir()
    (tmp_path / 'default' / 'policy').mkdir(parents=True)
    (tmp_path / 'default' / 'policy' / 'policy.33').write_text(u'')
    assert facts.binary_policy(str(tmp_path)) is None


def test_parse_mounts():
    assert facts.parse_mounts('sysfs /sys sysfs rw 0 0\nselinuxfs /sys/fs/selinux selinuxfs rw,relatime 0 0\n') \
        == '/sys/fs/selinux'
    assert facts.parse_mounts('sysfs /sys sysfs rw 0 0\n/dev/vda / ext4 rw,relatime 0 0\n') is None
    assert facts.parse_mounts('none /selinux selinuxfs rw 0 0\n') == '/selinux'  # EL6 mount point
    assert facts.parse_mounts('') is None
