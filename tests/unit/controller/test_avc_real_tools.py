# SPDX-License-Identifier: GPL-3.0-or-later
"""avc_collect's parser and wrappers against the REAL SELinux tools installed on this machine.

SELinux is disabled in this kernel, so audit2allow/audit2why get the Debian policy with ``-p``.
Skipped (with the reason) where the tools or the policy are missing.
"""
import os
import shutil
import subprocess

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils import _audit2why as a2w
from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_sources as sources
from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import Collector
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'avc')
POLICY = '/etc/selinux/default/policy/policy.33'

needs_tools = pytest.mark.skipif(
    not (shutil.which('audit2allow') and shutil.which('audit2why') and os.path.exists(POLICY)),
    reason='audit2allow/audit2why or %s missing' % POLICY)
needs_ausearch = pytest.mark.skipif(shutil.which('ausearch') is None, reason='ausearch missing')


class SubprocessModule:
    """The two AnsibleModule methods the Runner uses, with a real subprocess (controller side)."""
    check_mode = True

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return shutil.which(name, path=':'.join((opt_dirs or []) + [os.environ.get('PATH', '')]))

    def run_command(self, cmd, check_rc=False, environ_update=None, binary_data=False, data=None, cwd=None):
        env = dict(os.environ, **(environ_update or {}))
        proc = subprocess.run(cmd, input=data, capture_output=True, text=True, env=env, cwd=cwd, check=False)
        return proc.returncode, proc.stdout, proc.stderr


def collect(*names):
    c = Collector()
    sources.collect_files([os.path.join(FIXTURES, n) for n in names], False, c)
    return c


@needs_tools
def test_audit2allow_accepts_the_lines_and_writes_the_expected_rules():
    lines = collect('ntpd.log', 'hex.log').result_lines()
    proc = subprocess.run(['audit2allow', '-p', POLICY], input='\n'.join(lines) + '\n',
                          capture_output=True, text=True, check=True)
    rules = [line for line in proc.stdout.splitlines() if line.startswith('allow ')]
    assert 'allow ntpd_t user_home_t:file { open read };' in rules
    assert 'allow httpd_t postgresql_port_t:tcp_socket name_connect;' in rules


SEPOLGEN_CHECK = """
import sys
from sepolgen import audit
audit.AVCMessage.analyze = lambda self: None   # syntax only: no policy lookup
parser = audit.AuditParser()
parser.parse_string(sys.stdin.read())
print(len(parser.avc_msgs), len(parser.invalid_msgs))
for msg in parser.avc_msgs:
    print(msg.scontext.type, msg.tcontext.type, msg.tclass, ' '.join(msg.accesses))
"""


@pytest.mark.skipif(not os.path.exists('/usr/bin/python3') or
                    subprocess.run(['/usr/bin/python3', '-c', 'import sepolgen'], check=False).returncode != 0,
                    reason='the system python3 has no sepolgen')
def test_the_real_sepolgen_parser_reads_every_line_as_an_avc():
    collector = collect('raw_audit.log', 'user_avc.log', 'interpreted.log', 'syslog.log', 'hex.log', 'ntpd.log')
    lines = collector.result_lines()
    proc = subprocess.run(['/usr/bin/python3', '-c', SEPOLGEN_CHECK], input='\n'.join(lines) + '\n',
                          capture_output=True, text=True, check=True)
    out = proc.stdout.splitlines()
    assert out[0] == '%d 0' % len(lines)
    expected = ['%s %s %s %s' % (d['source_type'], d['target_type'], d['tclass'], ' '.join(d['permissions']))
                for d in collector.result_denials()]
    assert out[1:] == expected


@needs_tools
def test_explain_with_the_real_audit2why():
    lines = collect('ntpd.log').result_lines()
    result = a2w.explain(Runner(SubprocessModule(), CATALOGUE), lines, POLICY)
    assert [result[line]['kind'] for line in lines] == ['missing_rule', 'boolean']
    assert result[lines[1]]['booleans'] == ['httpd_can_network_connect', 'httpd_can_network_connect_db']


@needs_ausearch
def test_real_ausearch_if_gives_the_same_denials_as_the_file_scan():
    names = ('raw_audit.log', 'ntpd.log')
    via_ausearch = Collector()
    sources.collect_ausearch(Runner(SubprocessModule(), CATALOGUE), via_ausearch, None,
                             [os.path.join(FIXTURES, n) for n in names])
    direct = collect(*names)
    assert sorted(via_ausearch.result_lines()) == sorted(direct.result_lines())
    assert via_ausearch.records == direct.records == 13
    ntpd = [d for d in via_ausearch.result_denials() if d['source_type'] == 'ntpd_t'][0]
    assert ntpd['exe'] == '/usr/local/sbin/avctest'


@needs_tools
def test_binary_policy_is_found_on_this_host_when_selinux_is_off():
    if facts.selinux_active():
        pytest.skip('SELinux is active here: audit2why needs no -p')
    assert facts.binary_policy() == POLICY


TRIAGE_LOG = (
    # a page created in root's home and moved into the web root keeps user_home_t (Debian refpolicy's /root)
    'type=AVC msg=audit(1795000000.100:901): avc:  denied  { read } for  pid=81 comm="httpd" '
    'path="/var/www/html/index.html" dev="vda" ino=12 scontext=system_u:system_r:httpd_t:s0 '
    'tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0\n'
    # a web server on a non-standard port
    'type=AVC msg=audit(1795000000.200:902): avc:  denied  { name_bind } for  pid=81 comm="httpd" src=8089 '
    'scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:unreserved_port_t:s0 tclass=tcp_socket '
    'permissive=0\n'
    # a genuinely missing rule
    'type=AVC msg=audit(1795000000.300:903): avc:  denied  { net_admin } for  pid=9 comm="ntpd" capability=12 '
    'scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:system_r:ntpd_t:s0 tclass=capability permissive=0\n')

needs_setools = pytest.mark.skipif(not (shutil.which('sesearch') and shutil.which('matchpathcon')),
                                   reason='setools or matchpathcon missing')


@needs_tools
@needs_setools
def test_triage_on_this_hosts_policy(monkeypatch, tmp_path):
    from ansible_collections.fleetsec.selinux.plugins.modules import avc_collect
    from fleetsec_testlib.module_helpers import run_module
    if facts.selinux_active():
        pytest.skip('SELinux is active here: the triage would read the running policy, not the one the test names')
    log = tmp_path / 'audit.log'
    log.write_text(TRIAGE_LOG)
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [str(log)], 'triage': True})
    assert not failed, result
    by_class = dict((d['tclass'], d['remedy']) for d in result['denials'])
    assert by_class['file']['remedy'] == 'relabel' and by_class['file']['evidence']['default_type'] == 'httpd_sys_content_t'
    assert by_class['tcp_socket']['remedy'] == 'port' and by_class['tcp_socket']['evidence']['proposed_type'] == 'http_port_t'
    assert by_class['capability']['remedy'] == 'allow'
    assert result['remedies'] == {'relabel': 1, 'fcontext': 0, 'boolean': 0, 'port': 1, 'dac': 0, 'allow': 1, 'none': 0}
    assert all('explanation' in d for d in result['denials'])   # triage implies explain


def test_triage_without_setools_fails_before_reading(monkeypatch, tmp_path):
    from ansible_collections.fleetsec.selinux.plugins.modules import avc_collect
    from fleetsec_testlib.module_helpers import run_module
    log = tmp_path / 'audit.log'
    log.write_text(TRIAGE_LOG)
    bare = tmp_path / 'bin'
    bare.mkdir()
    for tool in ('audit2why',):
        if shutil.which(tool):
            (bare / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv('PATH', str(bare))
    monkeypatch.setattr(avc_collect.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: shutil.which(name, path=str(bare)))
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [str(log)], 'triage': True})
    assert failed and 'sesearch' in result['msg'] and 'setools' in result['msg']
