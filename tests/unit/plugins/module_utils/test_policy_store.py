# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import bz2
import hashlib
import io
import json
import os
import shutil
import stat
import tempfile

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils import _files as files_mod
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_store as store_mod
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CheckModeViolation, CommandFailed, Runner

HELP_34 = """usage:  semodule [option]... MODE...
  -X,--priority=PRIORITY    set priority for following operations (1-999)
  -E,--extract=MODULE_NAME  extract module
  -m, --checksum   print module checksum (SHA256).
"""
HELP_25 = "  -X,--priority=PRIORITY    set priority\n  -E,--extract=MODULE_NAME  extract module\n"
HELP_24 = "  -X,--priority=PRIORITY    set priority\n  -lfull\n"
HELP_EL6 = "usage:  semodule [option]... MODE...\n  -i,--install=MODULE_PKG   install a new module\n"

LIST_34 = """100 accountsd       pp          sha256:cac955e7cd4bccaa225f6c119e8e9a222df0cdbb3e1266ab32d3fbdb6f562344
100 ntp             pp          sha256:1111111111111111111111111111111111111111111111111111111111111111
400 ntp             pp          sha256:2222222222222222222222222222222222222222222222222222222222222222
400 acme            pp disabled sha256:921ff3043297e34cc51f806ce26b34e88b568c3bec5de1307742bddce8f8d0a0
400 acmecil         cil         sha256:3333333333333333333333333333333333333333333333333333333333333333
"""


def test_parse_list_userspace_34():
    mods = store_mod.parse_list(LIST_34)
    assert mods['ntp'] == [
        {'priority': 400, 'kind': 'pp', 'enabled': True, 'checksum': 'sha256:' + '2' * 64},
        {'priority': 100, 'kind': 'pp', 'enabled': True, 'checksum': 'sha256:' + '1' * 64},
    ]
    assert mods['acme'][0]['enabled'] is False and mods['acmecil'][0]['kind'] == 'cil'


def test_parse_list_without_checksums_and_el6():
    assert store_mod.parse_list('400 acme pp disabled\n200 vendor cil\n') == {
        'acme': [{'priority': 400, 'kind': 'pp', 'enabled': False, 'checksum': None}],
        'vendor': [{'priority': 200, 'kind': 'cil', 'enabled': True, 'checksum': None}]}
    assert store_mod.parse_list('acme\t1.0\nold\t1.2\tDisabled\n', has_priority=False) == {
        'acme': [{'priority': None, 'kind': None, 'enabled': True, 'checksum': None}],
        'old': [{'priority': None, 'kind': None, 'enabled': False, 'checksum': None}]}


class FakeModule(object):
    def __init__(self, answers, check_mode=False):
        self.answers = list(answers)
        self.calls = []
        self.check_mode = check_mode

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name.startswith('/'):
            return name if name == '/usr/libexec/selinux/hll/pp' else None
        return '/usr/sbin/' + name

    def run_command(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        answer = self.answers.pop(0)
        if len(answer) == 4:  # side effect: write files into cwd
            for name, data in answer[3].items():
                with io.open(os.path.join(kwargs['cwd'], name), 'wb') as handle:
                    handle.write(data)
        return answer[:3]

    def atomic_move(self, src, dest):
        os.rename(src, dest)


def make_store(answers, root=None, check_mode=False):
    module = FakeModule(answers, check_mode=check_mode)
    runner = Runner(module, CATALOGUE, sleep=lambda s: None)
    return store_mod.PolicyStore(module, runner, policy_root=root), module


@pytest.mark.parametrize('help_text, method', [
    (HELP_34, 'list'), (HELP_25, 'extract'), (HELP_24, 'stored'), (HELP_EL6, 'stored'),
])
def test_method_follows_userspace_features(help_text, method):
    store, dummy = make_store([(0, help_text, '')])
    assert store.method() == method


def test_listing_uses_the_alternate_root_and_checksums():
    store, module = make_store([(0, HELP_34, ''), (0, LIST_34, '')], root='/srv/img')
    assert store.modules(checksums=True)['acme'][0]['checksum'].startswith('sha256:921f')
    assert store.entry('acme', 300) is None
    # -s: without it semodule takes the store name from the HOST's config, not the root's (no config there: targeted)
    assert module.calls[1][0] == ['/usr/sbin/semodule', '-p', '/srv/img', '-s', 'targeted', '-lfull', '-m']
    assert module.calls[1][1]['environ_update']['LC_ALL'] == 'C'


def test_the_checksum_of_one_module_is_its_cil_in_the_store(tmp_path):
    """Without ``checksums`` the store is listed without ``-m`` (which hashes every module); the checksum of the
    module asked for is the sha256 of its ``cil`` file, bzip2 undone, as libsemanage computes it."""
    root = str(tmp_path)
    folder = os.path.join(root, 'var/lib/selinux/targeted/active/modules/400/acme')
    os.makedirs(folder)
    cil = b'(allow ntpd_t user_home_t (file (read)))\n'
    with open(os.path.join(folder, 'cil'), 'wb') as handle:
        handle.write(bz2.compress(cil))
    store, module = make_store([(0, HELP_34, ''), (0, '400 acme pp\n', '')], root=root)
    assert store.installed_checksum('acme', 400, str(tmp_path)) == 'sha256:' + hashlib.sha256(cil).hexdigest()
    assert [c[0][-1] for c in module.calls] == ['--help', '-lfull']


def test_listing_el6_uses_plain_l():
    store, module = make_store([(0, HELP_EL6, ''), (0, 'acme\t1.0\n', '')])
    assert store.entry('acme', 400)['priority'] is None
    assert module.calls[1][0] == ['/usr/sbin/semodule', '-l']


@pytest.mark.parametrize('operations, root, help_text, expected', [
    ([('install', 400, '/t/a.pp'), ('install', 400, '/t/b.pp'), ('remove', 300, 'c'), ('disable', 'd')], None, HELP_34,
     ['-X', '400', '-i', '/t/a.pp', '-i', '/t/b.pp', '-X', '300', '-r', 'c', '-d', 'd']),
    ([('install', 400, '/t/a.pp'), ('enable', 'a')], '/srv/img', HELP_34,
     ['-p', '/srv/img', '-s', 'targeted', '-n', '-X', '400', '-i', '/t/a.pp', '-e', 'a']),
    ([('install', 400, '/t/a.pp'), ('remove', 400, 'b')], None, HELP_EL6, ['-i', '/t/a.pp', '-r', 'b']),
])
def test_transaction_args(operations, root, help_text, expected):
    store, dummy = make_store([(0, help_text, '')], root=root)
    assert store.transaction_args(operations) == expected


LOCKED = (1, '', 'libsemanage.semanage_get_lock: Could not get direct transaction lock at '
                 '/var/lib/selinux/default/semanage.trans.LOCK. (Resource temporarily unavailable).\n')


def test_commit_retries_while_the_lock_is_held():
    store, module = make_store([(0, HELP_34, ''), LOCKED, LOCKED, (0, '', 'libsemanage.add_user: user sddm not in password file')])
    store.commit([('install', 400, '/t/a.pp')])
    assert [c[0] for c in module.calls[1:]] == [['/usr/sbin/semodule', '-X', '400', '-i', '/t/a.pp']] * 3


def test_commit_gives_up_after_a_bounded_number_of_attempts(monkeypatch):
    monkeypatch.setattr(store_mod, 'LOCK_ATTEMPTS', 3)
    store, module = make_store([(0, HELP_34, ''), LOCKED, LOCKED, LOCKED])
    with pytest.raises(CommandFailed) as info:
        store.commit([('remove', 400, 'a')])
    assert 'transaction lock' in info.value.msg and 'Nothing was changed' in info.value.msg
    assert len(module.calls) == 4


def test_commit_does_not_retry_other_failures():
    store, module = make_store([(0, HELP_34, ''), (1, '', 'semodule:  Failed on /t/a.pp!\n')])
    with pytest.raises(CommandFailed):
        store.commit([('install', 400, '/t/a.pp')])
    assert len(module.calls) == 2


def test_a_full_file_system_is_named_not_a_lock_to_retry():
    full = (1, '', 'libsemanage.semanage_copy_file: Could not write 4096 bytes to /var/lib/selinux/default/tmp/x '
                   '(No space left on device).\nsemodule:  Failed!\n')
    store, module = make_store([(0, HELP_34, ''), full])
    with pytest.raises(store_mod.StoreError) as info:
        store.commit([('install', 400, '/t/a.pp')])
    assert 'file system holding the policy store (/var/lib/selinux) is full' in info.value.msg
    assert 'retry later' not in info.value.msg and 'Nothing was changed' in info.value.msg
    assert len(module.calls) == 2  # not retried


def test_commit_in_check_mode_is_refused_before_semodule_runs():
    store, module = make_store([(0, HELP_34, '')], check_mode=True)
    with pytest.raises(CheckModeViolation):
        store.commit([('install', 400, '/t/a.pp')])
    assert len(module.calls) == 1 and '--help' in module.calls[0][0]


def test_built_checksum_of_pp_is_the_checksum_of_its_cil(tmpdir):
    pp = tmpdir.join('a.pp')
    pp.write_binary(b'\x8f\xff\x7c\xf9binary')
    store, module = make_store([(0, HELP_34, ''), (0, '(allow a_t b_t (file (read)))\n', '')])
    assert store.built_checksum(str(pp), 'pp') == files_mod.sha256_bytes(b'(allow a_t b_t (file (read)))\n')
    assert module.calls[1][0] == ['/usr/libexec/selinux/hll/pp', str(pp)]
    cil = tmpdir.join('a.cil')
    cil.write_binary(b'(allow a b (file (read)))\n')
    assert store.built_checksum(str(cil), 'cil') == files_mod.sha256_bytes(b'(allow a b (file (read)))\n')


def test_pp_converter_is_the_one_semanage_conf_names(tmpdir):
    """libsemanage converts a .pp with the ``pp`` of its compiler-directory: the checksum compared with ``semodule -m``
    must come from that converter, not from a fixed path (an EL userspace beside the host's used the host's)."""
    root = tmpdir.mkdir('root')
    root.mkdir('etc').mkdir('selinux').join('semanage.conf').write(
        'module-store = direct\ncompiler-directory = /opt/el/hll\n[setfiles]\ncompiler-directory = /no\n[end]\n')
    pp = tmpdir.join('a.pp')
    pp.write_binary(b'\x8f\xff\x7c\xf9binary')
    store, module = make_store([(0, HELP_34, ''), (0, '(allow a_t b_t (file (read)))\n', '')], root=str(root))
    host_bin_path = module.get_bin_path
    module.get_bin_path = lambda name, **kw: name if name.startswith('/opt/el/') else host_bin_path(name, **kw)
    assert store.built_checksum(str(pp), 'pp') == files_mod.sha256_bytes(b'(allow a_t b_t (file (read)))\n')
    assert module.calls[1][0] == ['/opt/el/hll/pp', str(pp)]


def test_extracted_checksum_on_userspace_25(tmpdir):
    answers = [(0, HELP_25, ''), (0, '400 acme pp\n', ''), (0, '', '', {'acme.pp': b'PPDATA'})]
    store, module = make_store(answers)
    assert store.installed_checksum('acme', 400, str(tmpdir)) == files_mod.sha256_bytes(b'PPDATA')
    assert module.calls[2][0] == ['/usr/sbin/semodule', '-X', '400', '-E', 'acme']
    assert store.built_checksum(_write(tmpdir, 'b.pp', b'PPDATA'), 'pp') == files_mod.sha256_bytes(b'PPDATA')


def _write(tmpdir, name, data):
    path = tmpdir.join(name)
    path.write_binary(data)
    return str(path)


def test_stored_checksum_on_el6(tmpdir):
    root = str(tmpdir)
    os.makedirs(os.path.join(root, 'etc/selinux/targeted/modules/active/modules'))
    with io.open(os.path.join(root, 'etc/selinux/config'), 'w') as handle:
        handle.write(u'SELINUX=enforcing\nSELINUXTYPE=targeted\n')
    with io.open(os.path.join(root, 'etc/selinux/targeted/modules/active/modules/acme.pp'), 'wb') as handle:
        handle.write(bz2.compress(b'PPDATA'))
    store, dummy = make_store([(0, HELP_EL6, ''), (0, 'acme\t1.0\n', '')], root=root)
    assert store.installed_checksum('acme', 400, root) == files_mod.sha256_bytes(b'PPDATA')


def test_policy_file_picks_the_newest_version(tmpdir):
    root = str(tmpdir)
    os.makedirs(os.path.join(root, 'etc/selinux/default/policy'))
    with io.open(os.path.join(root, 'etc/selinux/config'), 'w') as handle:
        handle.write(u'# c\nSELINUXTYPE=default\n')
    for name in ('policy.31', 'policy.33', 'policy.33.bak'):
        io.open(os.path.join(root, 'etc/selinux/default/policy', name), 'w').close()
    store, dummy = make_store([], root=root)
    assert store.policy_file() == os.path.join(root, 'etc/selinux/default/policy/policy.33')
    shutil.rmtree(os.path.join(root, 'etc/selinux/default/policy'))
    with pytest.raises(store_mod.StoreError):
        store.policy_file()


@pytest.mark.parametrize('record, force, refused', [
    (None, False, True), (None, True, False), ({'priority': 400}, False, False),
])
def test_ownership(record, force, refused):
    store, dummy = make_store([(0, HELP_34, ''), (0, LIST_34, '')])
    if refused:
        with pytest.raises(store_mod.NotOurModule) as info:
            store.check_ownership('ntp', record, force)
        assert "'ntp' is already installed at priority 400, priority 100 (distribution policy)" in info.value.msg
        assert 'force=true' in info.value.msg
    else:
        store.check_ownership('ntp', record, force)


def test_ownership_of_a_new_name_needs_nothing():
    store, dummy = make_store([(0, HELP_34, ''), (0, LIST_34, '')])
    store.check_ownership('brand_new', None, False)


RECORD = {'name': 'acme', 'priority': 400, 'checksum': 'sha256:x', 'source_sha256': 'y', 'rules': [], 'findings': []}


def test_record_roundtrip_and_modes(tmpdir):
    root = str(tmpdir)
    store, dummy = make_store([], root=root)
    assert store.read_record('acme') is None
    store.write_record('acme', RECORD)
    path = os.path.join(root, 'var/lib/fleetsec-selinux/modules/acme.json')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(root, 'var/lib/fleetsec-selinux')).st_mode) == 0o700
    assert store.read_record('acme') == RECORD
    with io.open(path, 'w') as handle:
        handle.write(u'{not json')
    assert store.read_record('acme') is None
    store.remove_record('acme')
    assert not os.path.exists(path)
    assert json.dumps(store.read_record('acme')) == 'null'


@pytest.mark.parametrize('text, expected', [
    (u'SELINUX=enforcing\nSELINUXTYPE="targeted"\n', 'targeted'),          # quotes: not part of the name
    (u'SELINUXTYPE=targeted\nSELINUXTYPE=mls\n', 'mls'),                   # the last line wins, as in libselinux
    (u'SELINUXTYPE = default # Debian\n', 'default'),
    (u'SELINUX=permissive\n', 'targeted'),
])
def test_policy_type_reads_the_config_as_libselinux_does(tmpdir, text, expected):
    root = str(tmpdir)
    os.makedirs(os.path.join(root, 'etc/selinux'))
    with io.open(os.path.join(root, 'etc/selinux/config'), 'w') as handle:
        handle.write(text)
    store, dummy = make_store([], root=root)
    assert store.policy_type() == expected


def _planted(root, data, dir_mode=0o700, file_mode=0o600):
    path = os.path.join(root, 'var/lib/fleetsec-selinux/modules/acme.json')
    os.makedirs(os.path.dirname(path))
    with io.open(path, 'w') as handle:
        handle.write(u'%s' % json.dumps(data))
    os.chmod(os.path.dirname(path), dir_mode)
    os.chmod(os.path.dirname(os.path.dirname(path)), dir_mode)
    os.chmod(path, file_mode)
    return path


@pytest.mark.parametrize('dir_mode, file_mode', [(0o777, 0o600), (0o700, 0o666), (0o770, 0o600)])
def test_record_writable_by_others_is_refused_with_its_path(tmpdir, dir_mode, file_mode):
    root = str(tmpdir)
    _planted(root, RECORD, dir_mode, file_mode)
    store, dummy = make_store([], root=root)
    with pytest.raises(store_mod.StoreError) as info:
        store.read_record('acme')
    assert 'Refusing to trust' in info.value.msg and 'writable by group or others' in info.value.msg


def test_record_owned_by_another_user_is_refused(tmpdir, monkeypatch):
    root = str(tmpdir)
    _planted(root, RECORD)
    monkeypatch.setattr(store_mod.os, 'geteuid', lambda: os.getuid() + 1)
    store, dummy = make_store([], root=root)
    with pytest.raises(store_mod.StoreError) as info:
        store.read_record('acme')
    assert 'owned by uid %d' % os.getuid() in info.value.msg


@pytest.mark.parametrize('data, problem', [
    ({}, 'field name is null'),
    (dict(RECORD, priority='400'), 'field priority is "400"'),
    (dict(RECORD, priority=True), 'field priority is true'),
    (dict(RECORD, rules='allow a b:c d;'), 'field rules'),
    (dict(RECORD, rules=[1]), 'non-text item'),
    (dict(RECORD, findings=['x']), 'non-object item'),
    (dict(RECORD, name='postfix'), 'it names module "postfix"'),
    (dict(RECORD, denials='type=AVC'), 'field denials is not a list of text'),
    (dict(RECORD, denials=[{'scontext': 'x'}]), 'field denials is not a list of text'),
    ([], 'not a JSON object'),
])
def test_corrupt_record_counts_as_none_and_says_why(tmpdir, data, problem):
    root = str(tmpdir)
    _planted(root, data)
    store, dummy = make_store([], root=root)
    assert store.read_record('acme') is None
    assert problem in store.record_problems['acme']


def test_records_are_checked_writable_before_the_commit(tmpdir, monkeypatch):
    root = str(tmpdir)
    store, dummy = make_store([], root=root)
    store.check_record_writable(['acme'])  # creates the directories, 0700
    assert stat.S_IMODE(os.stat(os.path.join(root, 'var/lib/fleetsec-selinux/modules')).st_mode) == 0o700

    def refuse(*args, **kwargs):
        raise OSError(1, 'Operation not permitted')  # what an immutable or read-only directory answers
    monkeypatch.setattr(tempfile, 'mkstemp', refuse)
    with pytest.raises(store_mod.StoreError) as info:
        store.check_record_writable(['acme'])
    assert 'Cannot write records' in info.value.msg and 'transaction was not started' in info.value.msg
