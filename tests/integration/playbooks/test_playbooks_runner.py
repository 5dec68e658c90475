# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks as AWX/AAP runs them: through ansible-runner (the library AWX and ansible-navigator use), with a
private data directory, started from another working directory and without PWD in the environment.

Where the artefacts land (the job's artifact directory, never the working directory) and what the job returns
(set_stats: the report totals, the generated module for review) is asserted on the files and on runner's events.
The host is this machine (local connection) reading a written audit log; rollout.yml runs up to its review gate
(deploying needs the enforcing VM, see tools/demo.sh).
"""
import os
import stat
import subprocess
import time

import pytest

ansible_runner = pytest.importorskip('ansible_runner')

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
VENV = os.path.join(REPO, '.venv', 'bin')
POLICY = '/etc/selinux/default/policy'
DENIAL = ('type=AVC msg=audit({ts:.3f}:{serial}): avc:  denied  {{ read }} for  pid=4242 comm="avctest" '
          'name="secret.txt" dev="vda1" ino=1234 scontext=system_u:system_r:ntpd_t:s0 '
          'tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=1\n')
# ntpd answering on a non-standard port: a port label, not an allow rule (least_privilege, rollout's default)
BIND = ('type=AVC msg=audit({ts:.3f}:{serial}): avc:  denied  {{ name_bind }} for  pid=4242 comm="avctest" src=8089 '
        'scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:unreserved_port_t:s0 tclass=udp_socket '
        'permissive=1\n')

pytestmark = pytest.mark.skipif(not os.path.isdir(POLICY), reason='needs the Debian policy (tools/setup.sh)')


@pytest.fixture
def job(tmp_path, monkeypatch):
    """A runner private data dir for this machine, and a function that runs one playbook in it."""
    collections = subprocess.run([os.path.join(REPO, 'tools', 'collection-tree.sh')], check=True,
                                 capture_output=True, text=True).stdout.strip()
    log = tmp_path / 'audit.log'
    now = time.time()
    log.write_text(''.join(DENIAL.format(ts=now - 60 + i, serial=100 + i) for i in range(3)) +
                   BIND.format(ts=now - 50, serial=110))
    private = tmp_path / 'private'
    (private / 'inventory').mkdir(parents=True)
    (private / 'inventory' / 'hosts').write_text(
        'fleet-host ansible_connection=local ansible_become=false ansible_python_interpreter=%s\n'
        % os.path.join(VENV, 'python'))
    elsewhere = tmp_path / 'cwd'
    elsewhere.mkdir()
    monkeypatch.chdir(str(elsewhere))
    monkeypatch.delenv('PWD', raising=False)
    monkeypatch.delenv('FLEETSEC_ARTIFACT_DIR', raising=False)
    monkeypatch.setenv('PATH', '%s:%s' % (VENV, os.environ['PATH']))

    def run(playbook, ident, **extravars):
        extravars.setdefault('fleetsec_audit_paths', [str(log)])
        result = ansible_runner.run(
            private_data_dir=str(private), playbook=playbook, ident=ident, quiet=True, extravars=extravars,
            envvars={'ANSIBLE_COLLECTIONS_PATH': collections, 'ANSIBLE_LOCALHOST_WARNING': '0'})
        stats = [e for e in result.events if e.get('event') == 'playbook_on_stats']
        artifacts = private / 'artifacts' / ident
        return result, (stats[-1]['event_data'].get('artifact_data') or {}) if stats else {}, artifacts, elsewhere
    return run


def _stdout(result):
    return result.stdout.read() if hasattr(result.stdout, 'read') else str(result.stdout)


def test_collect_writes_into_the_job_artifacts_and_returns_the_report(job):
    result, stats, artifacts, cwd = job('fleetsec.selinux.collect', 'collect')
    assert result.status == 'successful', _stdout(result)
    report = artifacts / 'fleetsec-selinux' / 'report'
    md = (report / 'fleet-report.md').read_text()
    assert 'fleet-host' in md and 'ntpd_t' in md and 'user_home_t' in md
    assert (report / 'fleet-report.html').stat().st_size > 0
    # the job's result, as AWX shows it (set_stats)
    assert stats['fleetsec_report_dir'] == str(report)
    assert stats['fleetsec_report_totals']['hosts'] == 1 and stats['fleetsec_report_totals']['denials'] == 2
    assert stats['fleetsec_report_domains'] == {'ntpd_t': {'hosts': 1, 'denials': 2}}
    # never the working directory, nor "/" (what PWD-based paths gave under a launcher without a shell)
    assert os.listdir(str(cwd)) == []
    assert not os.path.exists('/selinux-report') and not os.path.exists('/fleetsec-selinux')


def test_rollout_stops_at_the_review_gate_with_the_module_in_the_job_artifacts(job):
    result, stats, artifacts, cwd = job('fleetsec.selinux.rollout', 'rollout', fleetsec_module_name='fleetsec_runner')
    out = _stdout(result)
    assert result.status == 'failed' and 'Review %s' % (artifacts / 'fleetsec-selinux' / 'policy') in out, out
    policy = artifacts / 'fleetsec-selinux' / 'policy'
    te = (policy / 'fleetsec_runner.te').read_text()
    assert 'allow ntpd_t user_home_t:file read;' in te
    # one export of the reviewed source: local_policy_module's dest (state=generated), 0600 like every export
    assert stat.S_IMODE((policy / 'fleetsec_runner.te').stat().st_mode) == 0o600
    assert not os.path.exists('/var/lib/fleetsec-selinux/modules/fleetsec_runner.json')  # generated, not installed
    assert (policy / 'fleetsec_runner.avc').read_text().count('avc:  denied') == 1  # 3 records, 1 denial
    assert stats['fleetsec_module_te'] == te and stats['fleetsec_module_rules'] == ['allow ntpd_t user_home_t:file read;']
    assert stats['fleetsec_denial_lines'] == 1
    # the port denial is a remedy, shown at the gate with its reason, and not a rule of the module
    assert len(stats['fleetsec_remedies']) == 1 and 'ntp_port_t' in stats['fleetsec_remedies'][0], stats
    assert 'Remedies, applied on the hosts that need them (1)' in out and 'name_bind' not in te
    assert os.listdir(str(cwd)) == []


def test_rollout_module_only_puts_every_denial_into_the_module(job):
    result, stats, artifacts, cwd = job('fleetsec.selinux.rollout', 'rollout-module-only',
                                        fleetsec_module_name='fleetsec_runner', fleetsec_remediation='module_only')
    assert result.status == 'failed'
    assert stats['fleetsec_remedies'] == [] and stats['fleetsec_denial_lines'] == 2
    assert 'name_bind' in stats['fleetsec_module_te']


@pytest.mark.parametrize('value', ['relative/dir', '/', '/tmp/../etc'])
def test_a_folder_that_is_not_absolute_is_refused_before_anything_is_written(job, value):
    result, stats, artifacts, cwd = job('fleetsec.selinux.collect', 'bad', fleetsec_artifact_dir=value)
    out = _stdout(result)
    assert result.status == 'failed' and 'is not an absolute path below /' in out, out
    assert not (artifacts / 'fleetsec-selinux').exists() and os.listdir(str(cwd)) == []
    assert 'fleet-report' not in out.split('is not an absolute path')[0]


@pytest.mark.parametrize('playbook, variable, value, message', [
    ('fleetsec.selinux.collect', 'fleetsec_final_state', 'off', 'value of fleetsec_final_state must be one of: enforcing, permissive'),
    ('fleetsec.selinux.collect', 'fleetsec_domains', {'httpd_t': 1}, "argument 'fleetsec_domains' is of type dict"),
    ('fleetsec.selinux.rollout', 'fleetsec_remediation', 'everything', 'value of fleetsec_remediation must be one of'),
])
def test_a_variable_of_the_wrong_type_or_choice_stops_the_play_before_anything(job, playbook, variable, value, message):
    result, stats, artifacts, cwd = job(playbook, 'spec', fleetsec_module_name='fleetsec_runner', **{variable: value})
    out = _stdout(result)
    assert result.status == 'failed' and message in out, out[-3000:]
    assert not (artifacts / 'fleetsec-selinux').exists()


def test_a_second_collect_reports_no_change(job, tmp_path):
    """make demo's rerun failed on "changed=1": the report carries its generation time, and writing it counted as a
    change of the fleet. (One folder for both runs: under AWX each job has its own, created by that job.)"""
    folder = tmp_path / 'kept'
    first, stats, artifacts, cwd = job('fleetsec.selinux.collect', 'collect-1', fleetsec_artifact_dir=str(folder))
    assert first.status == 'successful', _stdout(first)
    second, stats, artifacts, cwd = job('fleetsec.selinux.collect', 'collect-2', fleetsec_artifact_dir=str(folder))
    assert second.status == 'successful', _stdout(second)
    assert second.stats['changed'] == {}, second.stats
    assert (folder / 'report' / 'fleet-report.html').stat().st_size > 0
