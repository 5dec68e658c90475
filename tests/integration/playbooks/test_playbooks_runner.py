# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks as AWX/AAP runs them: through ansible-runner (the library AWX and ansible-navigator use), with a
private data directory, started from another working directory and without PWD in the environment.

Where the artefacts land (the job's artifact directory, never the working directory) and what the job returns
(set_stats: the report totals and its Markdown, the change set for review) is asserted on the files and on runner's
events. The host is this machine (local connection) reading a written audit log; rollout.yml runs its review run,
collect.yml its read-only report with and without a change set, and deployments that must be refused (deploying
needs the enforcing VM: test_playbooks_vm.py).
"""
import os
import stat
import subprocess
import sys
import time

import pytest
import yaml

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
# where the module store, its copies and the collection's state live on this (the managed) host
HOST_STATE = ('/var/lib/selinux', '/etc/selinux', '/var/lib/fleetsec-selinux')


def _collections():
    return subprocess.run([os.path.join(REPO, 'tools', 'collection-tree.sh')], check=True,
                          capture_output=True, text=True).stdout.strip()


def _change_set_utils():
    """The collection's own reader of a change set (module_utils/_change_set.py)."""
    path = _collections()
    if path not in sys.path:
        sys.path.insert(0, path)
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _change_set
    return _change_set


def _host_state():
    """Every file of the host's SELinux store and configuration, and the collection's state: path, size, mtime."""
    found = {}
    for top in HOST_STATE:
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(folder, name)
                info = os.lstat(path)
                found[path] = (info.st_size, info.st_mtime_ns, stat.S_IMODE(info.st_mode))
    return found


@pytest.fixture
def job(tmp_path, monkeypatch):
    """A runner private data dir for this machine, and a function that runs one playbook in it (check=True: in
    check mode)."""
    collections = _collections()
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

    def run(playbook, ident, check=False, **extravars):
        extravars.setdefault('fleetsec_audit_paths', [str(log)])
        # the runner keeps a run's command line in env/cmdline and reuses it when the next run gives none
        (private / 'env' / 'cmdline').unlink(missing_ok=True)
        result = ansible_runner.run(
            private_data_dir=str(private), playbook=playbook, ident=ident, quiet=True, extravars=extravars,
            cmdline='--check' if check else None,
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
    # the Markdown report itself (below fleetsec_report_markdown_limit): the text of the file, rendered once
    assert stats['fleetsec_report_markdown'] == md
    # without a module name: a report only, no change set, no triage
    assert not (artifacts / 'fleetsec-selinux' / 'policy').exists()
    assert not [key for key in stats if key.startswith(('fleetsec_change_set', 'fleetsec_module'))], sorted(stats)
    assert 'ntp_port_t' not in md
    # never the working directory, nor "/" (what PWD-based paths gave under a launcher without a shell)
    assert os.listdir(str(cwd)) == []
    assert not os.path.exists('/selinux-report') and not os.path.exists('/fleetsec-selinux')


def test_the_review_run_succeeds_and_returns_the_change_set_and_its_digest(job):
    """An AWX workflow's Approval node needs a review job that succeeds: the review run no longer fails at a gate,
    it writes the change set and returns its digest."""
    result, stats, artifacts, cwd = job('fleetsec.selinux.rollout', 'rollout', fleetsec_module_name='fleetsec_runner')
    out = _stdout(result)
    assert result.status == 'successful', out
    policy = artifacts / 'fleetsec-selinux' / 'policy'
    te = (policy / 'fleetsec_runner.te').read_text()
    assert 'allow ntpd_t user_home_t:file read;' in te
    # one export of the reviewed source: local_policy_module's dest (state=generated), 0600 like every export
    assert stat.S_IMODE((policy / 'fleetsec_runner.te').stat().st_mode) == 0o600
    assert not os.path.exists('/var/lib/fleetsec-selinux/modules/fleetsec_runner.json')  # generated, not installed
    assert (policy / 'fleetsec_runner.avc').read_text().count('avc:  denied') == 1  # 3 records, 1 denial
    changes = yaml.safe_load((policy / 'fleetsec_runner.changes.yml').read_text())
    assert stat.S_IMODE((policy / 'fleetsec_runner.changes.yml').stat().st_mode) == 0o600
    assert changes['digest'] == stats['fleetsec_change_set_digest'] and changes == stats['fleetsec_change_set']
    assert changes['module']['te'] == te == stats['fleetsec_module_te']
    assert changes['module']['rules'] == stats['fleetsec_module_rules'] == ['allow ntpd_t user_home_t:file read;']
    assert changes['policy']['file'] == POLICY + '/policy.33' and changes['policy']['checksum'].startswith('sha256:')
    assert [(d['rule'], d['hosts']) for d in changes['denials']] == [
        ('allow ntpd_t user_home_t:file { read };', ['fleet-host'])]
    # the port denial is a remedy with its command, reason, host and record, and not a rule of the module
    assert [(r['kind'], r['command'], r['hosts']) for r in changes['remedies']] == [
        ('port', 'semanage port -a -t ntp_port_t -p udp 8089', ['fleet-host'])]
    assert 'name_bind' in changes['remedies'][0]['denials'][0] and 'name_bind' not in te
    assert stats['fleetsec_denial_lines'] == 1 and 'ntp_port_t' in stats['fleetsec_remedies'][0], stats
    # what the review shows: one item per line (a literal "\n" between them was the defect), and the approval
    assert '"- semanage port -a -t ntp_port_t -p udp 8089  # udp/8089' in out and '\\n' not in out
    assert '-e approve=%s' % changes['digest'] in out
    assert os.listdir(str(cwd)) == []


def test_rollout_module_only_puts_every_denial_into_the_module(job):
    result, stats, artifacts, cwd = job('fleetsec.selinux.rollout', 'rollout-module-only',
                                        fleetsec_module_name='fleetsec_runner', fleetsec_remediation='module_only')
    assert result.status == 'successful', _stdout(result)
    assert stats['fleetsec_remedies'] == [] and stats['fleetsec_denial_lines'] == 2
    assert 'name_bind' in stats['fleetsec_module_te']


def test_a_second_review_run_writes_the_same_change_set_and_changes_nothing(job, tmp_path):
    folder = tmp_path / 'kept'
    first, stats1, artifacts, cwd = job('fleetsec.selinux.rollout', 'review-1', fleetsec_module_name='fleetsec_runner',
                                        fleetsec_artifact_dir=str(folder))
    assert first.status == 'successful', _stdout(first)
    second, stats2, artifacts, cwd = job('fleetsec.selinux.rollout', 'review-2', fleetsec_module_name='fleetsec_runner',
                                         fleetsec_artifact_dir=str(folder))
    assert second.status == 'successful', _stdout(second)
    assert stats2['fleetsec_change_set_digest'] == stats1['fleetsec_change_set_digest']
    assert second.stats['changed'] == {}, second.stats


def test_a_deployment_is_refused_unless_the_approved_digest_names_the_file(job, tmp_path):
    """Approval binds to content: nothing is captured or regenerated, and a digest that does not name the file's
    content (or a file edited after the review) stops the run before any host is touched."""
    folder = tmp_path / 'kept'
    review, stats, artifacts, cwd = job('fleetsec.selinux.rollout', 'review', fleetsec_module_name='fleetsec_runner',
                                        fleetsec_artifact_dir=str(folder))
    assert review.status == 'successful', _stdout(review)
    path = folder / 'policy' / 'fleetsec_runner.changes.yml'
    reviewed, right = path.read_text(), stats['fleetsec_change_set_digest']
    cases = [
        ('wrong digest', 'sha256:' + '0' * 64, reviewed, 'does not name this change set (its digest is %s)' % right),
        ('approve=true', 'true', reviewed, "approve='true' is not a change set digest"),
        ('edited after the review', right, reviewed.replace('udp/8089 is unreserved_port_t', 'udp/8089 is fine'),
         'the file was changed after it was written'),
        ('no change set', right, None, 'cannot be read'),
    ]
    for case, approve, text, expected in cases:
        if text is None:
            path.unlink()
        else:
            path.write_text(text)
        result = job('fleetsec.selinux.rollout', 'deploy', fleetsec_module_name='fleetsec_runner',
                     fleetsec_artifact_dir=str(folder), approve=approve)[0]
        out = _stdout(result)
        assert result.status == 'failed' and expected in out, (case, out[-3000:])
        # nothing regenerated, nothing deployed, the file left as it was
        for task in ('Capture and collect the denials', 'Generate the module once', 'Apply the reviewed remedies',
                     'Load the reviewed module', 'TASK [Enforce]'):
            assert task not in out or 'skipping' in out.split(task)[1][:300], (case, task)
        assert (path.read_text() if path.exists() else None) == text, case


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
    # (and a Markdown report above fleetsec_report_markdown_limit is returned as a note naming the file)
    second, stats, artifacts, cwd = job('fleetsec.selinux.collect', 'collect-2', fleetsec_artifact_dir=str(folder),
                                        fleetsec_report_markdown_limit=100)
    assert second.status == 'successful', _stdout(second)
    assert second.stats['changed'] == {}, second.stats
    assert (folder / 'report' / 'fleet-report.html').stat().st_size > 0
    md = folder / 'report' / 'fleet-report.md'
    assert stats['fleetsec_report_markdown'] == (
        'The Markdown report is %d characters, more than fleetsec_report_markdown_limit (100): read %s.'
        % (len(md.read_text()), md))


def test_collect_with_a_module_name_writes_the_change_set_of_the_review_and_nothing_on_the_host(job, tmp_path):
    """collect.yml -e fleetsec_module_name: the same change set as rollout's review run (tasks/review.yml), triaged,
    generated on the host and installed nowhere. Check mode, real, check mode, real: the first check writes nothing
    and says what would change (the same digest), the reruns change nothing and leave the file byte for byte."""
    folder = tmp_path / 'kept'
    changes = folder / 'policy' / 'fleetsec_collect.changes.yml'
    before = _host_state()
    check, stats, artifacts, cwd = job('fleetsec.selinux.collect', 'collect-cs-check', check=True,
                                       fleetsec_module_name='fleetsec_collect', fleetsec_artifact_dir=str(folder))
    assert check.status == 'successful', _stdout(check)
    assert check.stats['changed'] and not (folder / 'policy').exists(), check.stats  # would write it; did not
    first, stats1, artifacts, cwd = job('fleetsec.selinux.collect', 'collect-cs-1',
                                        fleetsec_module_name='fleetsec_collect', fleetsec_artifact_dir=str(folder))
    assert first.status == 'successful', _stdout(first)
    written = changes.read_bytes()
    data = yaml.safe_load(written)
    # the collection's reader takes it: the digest names its content, and it is the one the job returned
    reviewed = _change_set_utils().load(data, stats1['fleetsec_change_set_digest'])
    assert reviewed['digest'] == data['digest'] == stats['fleetsec_change_set_digest']  # check mode: the same plan
    assert stats1['fleetsec_change_set_path'] == str(changes) and stats1['fleetsec_change_set'] == data
    assert stat.S_IMODE(changes.stat().st_mode) == 0o600
    # triaged as rollout does by default: the port denial is a remedy, the file read the module's one rule
    assert data['module']['rules'] == ['allow ntpd_t user_home_t:file read;']
    assert [(r['kind'], r['hosts']) for r in data['remedies']] == [('port', ['fleet-host'])]
    assert (folder / 'report' / 'fleet-report.md').read_text() == stats1['fleetsec_report_markdown']
    # check mode again, then for real again: nothing to change, nothing changed
    for ident, check in (('collect-cs-check-2', True), ('collect-cs-2', False)):
        second, stats2, artifacts, cwd = job('fleetsec.selinux.collect', ident, check=check,
                                             fleetsec_module_name='fleetsec_collect', fleetsec_artifact_dir=str(folder))
        assert second.status == 'successful', _stdout(second)
        assert second.stats['changed'] == {}, (ident, second.stats)
    assert changes.read_bytes() == written and stats2['fleetsec_change_set_digest'] == data['digest']
    # read-only on the host: generated and judged on a private copy of the store, installed nowhere
    assert _host_state() == before
    assert os.listdir(str(cwd)) == []


def test_a_module_name_that_is_not_one_is_refused_before_a_path_is_built_from_it(job):
    result, stats, artifacts, cwd = job('fleetsec.selinux.collect', 'bad-name', fleetsec_module_name='../../escape')
    out = _stdout(result)
    assert result.status == 'failed' and "fleetsec_module_name '../../escape' is not a module name" in out, out[-3000:]
    assert not (artifacts / 'fleetsec-selinux').exists() and not (artifacts / 'escape.avc').exists()


def test_adopt_writes_the_hosts_customisations_as_a_change_set_and_changes_nothing(job, tmp_path):
    """adopt.yml: the host's local customisations (this machine's store has disabled policy modules and no local
    settings) become a change set with no module, read back by the collection's reader; the host is not changed and
    a rerun changes nothing. The collect report lists the same modules in its Local customisations section."""
    folder = tmp_path / 'kept'
    before = _host_state()
    first, stats, artifacts, cwd = job('fleetsec.selinux.adopt', 'adopt-1', fleetsec_artifact_dir=str(folder))
    assert first.status == 'successful', _stdout(first)
    changes = folder / 'policy' / 'adopted.changes.yml'
    data = yaml.safe_load(changes.read_bytes())
    adopted = _change_set_utils().load(data, stats['fleetsec_change_set_digest'])
    assert adopted['te'] is None and data['module'] is None and data['name'] == 'adopted'
    exported = subprocess.run(['semanage', 'export'], capture_output=True, text=True, check=True).stdout
    disabled = sorted(line.split()[-1] for line in exported.splitlines() if line.startswith('module -d '))
    assert sorted(m['name'] for m in data['local_modules'] if not m['enabled']) == disabled
    assert all(m['host'] == 'fleet-host' for m in data['local_modules'])
    second, stats2, artifacts, cwd = job('fleetsec.selinux.adopt', 'adopt-2', fleetsec_artifact_dir=str(folder))
    assert second.status == 'successful' and second.stats['changed'] == {}, second.stats
    assert stats2['fleetsec_change_set_digest'] == data['digest']
    assert _host_state() == before
    report, stats3, artifacts, cwd = job('fleetsec.selinux.collect', 'collect-local', fleetsec_artifact_dir=str(folder))
    assert report.status == 'successful', _stdout(report)
    section = stats3['fleetsec_report_markdown'].split('## Local customisations')[1].split('\n## ')[0]
    assert 'No local setting.' in section and '- fleet-host: %s (priority' % disabled[0] in section
