# SPDX-License-Identifier: GPL-3.0-or-later
"""The EL store's file contexts answer as EL9's do (run by the integration-store-el9 step, with userspace 3.6 first
on PATH and FLEETSEC_STORE_ROOT set; skipped on the host store).

A store built with the wrong path aliases labels every /run path var_run_t: systemd's own /run/systemd/* then gets
the wrong type and an enforcing boot of the EL9-like VM fails (journald cannot be started).
"""
import os
import shutil
import subprocess

import pytest

ROOT = os.environ.get('FLEETSEC_STORE_ROOT')
FC = os.path.join(ROOT or '/', 'etc/selinux/targeted/contexts/files/file_contexts')

pytestmark = [
    pytest.mark.lanes('el9'),
    pytest.mark.skipif(not ROOT or not os.path.exists(FC) or not shutil.which('selabel_lookup'),
                       reason='needs an EL targeted store (FLEETSEC_STORE_ROOT) and selabel_lookup'),
]


def lookup(path, mode=None):
    args = ['selabel_lookup', '-b', 'file', '-k', path, '-f', FC]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return out.rsplit('Default context:', 1)[-1].strip().split(':')[2]


@pytest.mark.parametrize('path, expected', [
    ('/run/systemd/notify', 'init_var_run_t'),       # /run is an alias of the /var/run the c9s file contexts use
    ('/var/run/systemd/notify', 'init_var_run_t'),
    ('/etc/shadow', 'shadow_t'),
    ('/root/secret.txt', 'admin_home_t'),             # EL's label for root's home (Debian's refpolicy: user_home_t)
    ('/var/www/html/index.html', 'httpd_sys_content_t'),
])
def test_el9_file_contexts(path, expected):
    assert lookup(path) == expected
