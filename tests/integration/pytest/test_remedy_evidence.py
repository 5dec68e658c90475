# SPDX-License-Identifier: GPL-3.0-or-later
"""Least-privilege triage against a REAL policy: the evidence comes from matchpathcon, sesearch and seinfo on the
store under test (this host's Debian refpolicy in integration-store; the EL9 targeted store with userspace 3.6 in
integration-store-el9), and the decisions are the ones an SELinux expert makes on those records."""
import os
import subprocess

import pytest

from fleetsec_testlib.store_copy import STORE_ROOT, store_type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy as rem
from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner

SELINUX = os.path.join(STORE_ROOT, 'etc/selinux')
TYPE = store_type(STORE_ROOT) if os.path.exists(os.path.join(SELINUX, 'config')) else None
POLICY = facts.binary_policy(SELINUX) if TYPE else None
FC = os.path.join(SELINUX, TYPE or '-', 'contexts/files/file_contexts')
# the type each policy gives root's home
HOME_TYPE = {'targeted': 'admin_home_t', 'default': 'user_home_t'}.get(TYPE)

pytestmark = [
    pytest.mark.lanes('debian', 'el9', 'el8', 'el10'),
    pytest.mark.skipif(not POLICY or not os.path.exists(FC) or HOME_TYPE is None,
                       reason='needs a policy store with its binary policy and file contexts'),
]


class Module(object):
    check_mode = False

    def get_bin_path(self, name, required=False, opt_dirs=None):
        for folder in os.environ.get('PATH', '').split(os.pathsep) + ['/usr/sbin', '/sbin']:
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK):
                return path
        return None

    def run_command(self, cmd, check_rc=False, environ_update=None, data=None, binary_data=False, cwd=None):
        env = dict(os.environ, **(environ_update or {}))
        proc = subprocess.run(cmd, input=data.encode() if data else None, capture_output=True, env=env, cwd=cwd,
                              check=False)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.fixture(scope='module')
def evidence():
    return rem.Evidence(Runner(Module(), CATALOGUE), POLICY, file_contexts=FC)


def test_a_web_page_moved_from_roots_home_is_relabelled(evidence):
    d = {'source_type': 'httpd_t', 'target_type': HOME_TYPE, 'tclass': 'file', 'permissions': ['getattr', 'open', 'read'],
         'path': '/var/www/html/index.html'}
    found = rem.triage(d, evidence)
    assert found['remedy'] == 'relabel', found
    assert found['evidence']['default_type'] == 'httpd_sys_content_t'


def test_roots_own_file_read_by_a_daemon_is_an_allow_rule(evidence):
    d = {'source_type': 'ntpd_t', 'target_type': HOME_TYPE, 'tclass': 'file', 'permissions': ['read'],
         'path': '/root/secret.txt'}
    found = rem.triage(d, evidence)
    assert found['remedy'] == 'allow' and 'a relabel changes nothing' in found['reason']


def test_a_web_server_on_port_8089_gets_a_port_label(evidence):
    # 8089 is unreserved_port_t in both policies (8081 is transproxy_port_t: see the next case's rule)
    d = {'source_type': 'httpd_t', 'target_type': 'unreserved_port_t', 'tclass': 'tcp_socket',
         'permissions': ['name_bind'], 'port': 8089}
    found = rem.triage(d, evidence)
    assert found['remedy'] == 'port', found
    assert found['evidence']['current_type'] == 'unreserved_port_t' and found['evidence']['proposed_type'] == 'http_port_t'
    assert 'http_port_t' in found['evidence']['candidates']


@pytest.mark.parametrize('port, owner', [(5432, 'postgresql_port_t'), (8081, 'transproxy_port_t')])
def test_a_port_of_another_service_is_not_taken(evidence, port, owner):
    d = {'source_type': 'httpd_t', 'target_type': owner, 'tclass': 'tcp_socket', 'permissions': ['name_bind'],
         'port': port}
    found = rem.triage(d, evidence)
    assert found['remedy'] == 'allow' and 'already labelled %s' % owner in found['reason']


@pytest.mark.parametrize('tclass, perms, expected', [
    # the site's pages: the content type
    ('file', ['getattr', 'open', 'read'], {'targeted': 'httpd_sys_content_t', 'default': 'httpd_sys_content_t'}),
    # its upload folder: the read-write sibling - which httpd_t may write only with httpd_builtin_scripting, on in
    # EL's policy and off in Debian's: there, no content type will do, and no cache or log type is proposed instead
    ('dir', ['add_name', 'write'], {'targeted': 'httpd_sys_rw_content_t', 'default': None}),
])
def test_a_site_under_srv_gets_a_file_context_rule_not_a_var_t_rule(evidence, tclass, perms, expected):
    """The textbook case: the site lives in /srv/acme, whose files get var_t by default. Triage said "a relabel
    changes nothing" and the module allowed httpd_t every var_t file; the tree now gets the type httpd_t's own
    rules give what was denied and the least else."""
    path = '/srv/acme/index.html' if tclass == 'file' else '/srv/acme/uploads'
    d = {'source_type': 'httpd_t', 'target_type': 'var_t', 'tclass': tclass, 'permissions': perms, 'path': path}
    found = rem.triage(d, evidence)
    if expected[TYPE] is None:
        assert found['remedy'] == 'allow' and 'no file context rule' not in found['reason'], found
        assert "no file-context rule proposed: no file type of httpd_t's own" in found['reason'], found
        return
    assert found['remedy'] == 'fcontext', found
    assert found['evidence']['setype'] == expected[TYPE] and found['evidence']['default_type'] == 'var_t'
    tree = '/srv/acme' if tclass == 'file' else '/srv/acme/uploads'
    assert (found['evidence']['tree'], found['evidence']['target']) == (tree, tree + '(/.*)?')
