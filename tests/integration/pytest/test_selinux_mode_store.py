# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""selinux_mode's permissive domains against the REAL semanage, seinfo and libsemanage of this host.

semanage has no alternate-root option, so each module run happens in a private mount namespace
(``unshare -m``) where the offline copy of the policy store (fixture ``policy_root``) is bind-mounted
over /etc/selinux and /var/lib/selinux: the host store is never touched. The module runs as Ansible
runs it (a separate Python process with its JSON arguments). Each case runs 4 times: check mode,
real, check mode again (unchanged), real again (unchanged). Each real change is one policy rebuild.
"""
import os
import shutil

import pytest

from fleetsec_testlib.store_copy import NAMESPACE_TOOLS, namespace_ok, run_in_store_namespace

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
MODULE = os.path.join(REPO, 'plugins', 'modules', 'selinux_mode.py')
DOMAIN = 'ntpd_t'

pytestmark = [
    pytest.mark.lanes('debian'),
    pytest.mark.skipif(
        not NAMESPACE_TOOLS or shutil.which('semanage') is None or os.geteuid() != 0,
        reason='needs root, unshare and semanage'),
]


def run_module_in(root, args, check_mode=False, tmp_path=None, path=None):
    return run_in_store_namespace(MODULE, root, args, check_mode=check_mode, tmp_path=tmp_path, path=path)


def warnings_of(result):
    """The warning texts of a module result (ansible-core 2.19 wraps each in a WarningSummary)."""
    return [w['event']['msg'] if isinstance(w, dict) else w for w in result.get('warnings', [])]


def permissive_modules(store_list, root):
    return sorted(name for name in store_list(root) if name.startswith('permissive_'))


def four_runs(root, args, tmp_path):
    first, rc1 = run_module_in(root, args, check_mode=True, tmp_path=tmp_path)
    second, rc2 = run_module_in(root, args, tmp_path=tmp_path)
    third, rc3 = run_module_in(root, args, check_mode=True, tmp_path=tmp_path)
    fourth, rc4 = run_module_in(root, args, tmp_path=tmp_path)
    assert (rc1, rc2, rc3, rc4) == (0, 0, 0, 0), (first, second, third, fourth)
    return first, second, third, fourth


@pytest.fixture
def root(policy_root):
    if not namespace_ok():
        pytest.skip('unshare -m is not permitted here')
    return policy_root


def test_permissive_domain_present_then_absent(root, store_list, tmp_path):
    assert permissive_modules(store_list, root) == []

    check, real, check2, real2 = four_runs(root, {'permissive_domains': [DOMAIN]}, tmp_path)
    assert check['changed'] and real['changed']
    assert check['permissive_domains'] == real['permissive_domains'] == [DOMAIN]
    for key in ('runtime_before', 'runtime_after', 'config_before', 'config_after', 'policy', 'reboot_required', 'msg'):
        assert check[key] == real[key], key
    assert real['msg'] == 'permissive domains added: %s' % DOMAIN
    assert real['runtime_after'] == 'disabled' and real['reboot_required'] is False
    assert not check2['changed'] and not real2['changed'] and real2['permissive_domains'] == [DOMAIN]
    assert permissive_modules(store_list, root) == ['permissive_' + DOMAIN]

    check, real, check2, real2 = four_runs(
        root, {'permissive_domains': [DOMAIN], 'permissive_domains_state': 'absent'}, tmp_path)
    assert check['changed'] and real['changed'] and check['permissive_domains'] == real['permissive_domains'] == []
    assert not check2['changed'] and not real2['changed']
    assert permissive_modules(store_list, root) == []


def test_unknown_type_fails_and_changes_nothing(root, store_list, tmp_path):
    before = store_list(root)
    for check_mode in (True, False):
        result, rc = run_module_in(root, {'permissive_domains': [DOMAIN, 'fleetsec_no_such_t']},
                                   check_mode=check_mode, tmp_path=tmp_path)
        assert rc == 1 and result['failed']
        # seinfo is installed here: the module refuses before semanage is called
        assert result['msg'] == 'Not a type of the loaded policy: fleetsec_no_such_t. Nothing was changed.'
    assert store_list(root) == before


@pytest.fixture
def no_seinfo(tmp_path):
    """A PATH with the tools the module needs, seinfo excepted."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    for tool in ('getenforce', 'setenforce', 'sestatus', 'semanage'):
        os.symlink(shutil.which(tool), str(bindir / tool))
    # get_bin_path also looks in /usr/sbin, /sbin, /usr/local/sbin: seinfo lives in /usr/bin, so it is hidden
    assert not os.path.exists('/usr/sbin/seinfo') and not os.path.exists('/sbin/seinfo')
    return str(bindir)


def test_without_seinfo_unknown_type_fails_before_semanage(root, store_list, tmp_path, no_seinfo):
    """Issue #16: the name is looked up in the real binary policy of the store, in check mode too."""
    before = store_list(root)
    for check_mode in (True, False):
        result, rc = run_module_in(root, {'permissive_domains': [DOMAIN, 'fleetsec_no_such_t']},
                                   check_mode=check_mode, tmp_path=tmp_path, path=no_seinfo)
        assert rc == 1 and result['failed'], result
        assert result['msg'] == 'Not a type of the loaded policy: fleetsec_no_such_t. Nothing was changed.'
        assert 'cmd' not in result  # no command failed: the module refused by itself
    assert store_list(root) == before


def test_without_seinfo_real_type_is_a_change_in_check_mode(root, store_list, tmp_path, no_seinfo):
    before = store_list(root)
    result, rc = run_module_in(root, {'permissive_domains': [DOMAIN]}, check_mode=True, tmp_path=tmp_path,
                               path=no_seinfo)
    assert rc == 0 and result['changed'] is True, result
    assert result['permissive_domains'] == [DOMAIN] and result['unvalidated_domains'] == []
    assert result['msg'] == 'permissive domains added: %s' % DOMAIN
    warnings = warnings_of(result)
    assert len(warnings) == 1 and 'weaker check than seinfo' in warnings[0]
    assert '/etc/selinux/default/policy/policy.' in warnings[0]
    assert store_list(root) == before


def test_semanage_transaction_is_all_or_nothing_without_seinfo(root, store_list, tmp_path, no_seinfo):
    """Without seinfo the real semanage import must reject the whole batch (good type included).

    ``domain`` is an attribute: its name is in the type table of the binary policy, so only semanage can refuse it.
    """
    before = store_list(root)
    result, rc = run_module_in(root, {'permissive_domains': [DOMAIN, 'domain']}, tmp_path=tmp_path, path=no_seinfo)
    assert rc == 1 and result['failed']
    assert result['msg'].startswith('semanage failed for permissive domains %s, domain (rc=1): ' % DOMAIN)
    assert 'Nothing was changed (one transaction)' in result['msg']
    assert result['cmd'][-1] == 'import'
    assert store_list(root) == before


def test_dontaudit_off_then_on_with_the_real_semodule(root, tmp_path):
    """dontaudit: false/true through the real semodule -DB/-B: idempotent by libsemanage's own flag file."""
    flag = os.path.join(root, 'var/lib/selinux/default/active/disable_dontaudit')
    first, second, third, fourth = four_runs(root, {'dontaudit': False}, tmp_path)
    assert [r['changed'] for r in (first, second, third, fourth)] == [True, True, False, False]
    assert [r['dontaudit'] for r in (first, second, third, fourth)] == [False] * 4
    assert os.path.exists(flag)
    first, second, third, fourth = four_runs(root, {'dontaudit': True}, tmp_path)
    assert [r['changed'] for r in (first, second, third, fourth)] == [True, True, False, False]
    assert not os.path.exists(flag)
