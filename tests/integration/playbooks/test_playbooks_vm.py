# SPDX-License-Identifier: GPL-3.0-or-later
"""The reviewed change set on the enforcing VM, through ansible-runner as AWX runs it: the review run, a denial
logged between review and approval, a refused digest, the deployment of exactly what was reviewed (the store's
checksum is the reviewed module's), a rerun that changes nothing, and enforce.yml alone with the committed file on a
host that lost the module and the remedy.

Run by tools/vm-integration.sh with the VM it started (FLEETSEC_VM_RUN: its run directory); skipped without one.
"""
import os
import shutil
import subprocess

import pytest
import yaml

ansible_runner = pytest.importorskip('ansible_runner')

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
RUN = os.environ.get('FLEETSEC_VM_RUN', '')
NAME = 'fleetsec_vmreview'
APP = ['systemd-run', '--wait', '--quiet', '-p', 'Type=oneshot', '/usr/local/sbin/avctest']
FILES = ['/etc/ntp.conf', '/root/fleetsec-data.txt']
WEB = ['systemd-run', '--wait', '--quiet', '-p', 'Type=oneshot', '/usr/local/sbin/avcweb', '/srv/fleetsec-site/index.html']
EXERCISE = ['sh', '-c', '%s; %s' % (' '.join(APP + FILES), ' '.join(WEB))]
# the configuration moved into place keeps a type ntpd_t may not read (a relabel fixes it); the data file has a type
# only a rule can open to ntpd_t; the late file is read after the review (its denial must not be deployed); a web
# server (a copy of cat started as httpd_t) serves a site under /srv, whose files have the generic type their path
# gets (var_t): a file-context rule for the site's tree fixes it, not a rule for var_t

SETUP = '''set -e
printf 'server 127.127.1.0\\n' >/etc/ntp.conf && chcon -t mysqld_db_t /etc/ntp.conf
printf 'data\\n' >/root/fleetsec-data.txt && chcon -t games_data_t /root/fleetsec-data.txt
printf 'late\\n' >/root/fleetsec-late.txt && chcon -t named_zone_t /root/fleetsec-late.txt
install -m 0755 /usr/bin/cat /usr/local/sbin/avcweb && chcon -t httpd_exec_t /usr/local/sbin/avcweb
mkdir -p /srv/fleetsec-site && printf '<h1>site</h1>\\n' >/srv/fleetsec-site/index.html
auditctl -l | grep -q fleetsec-fullpath || auditctl -w /etc/shadow -p w -k fleetsec-fullpath
if semodule -l | grep -qx %s; then semodule -r %s; fi
if semanage fcontext -l -C | grep -q fleetsec-site; then semanage fcontext -d '/srv/fleetsec-site(/.*)?'; fi
restorecon -R /srv/fleetsec-site
''' % (NAME, NAME)

pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(RUN, 'inventory.yml')),
                                reason='needs the enforcing VM (tools/vm-integration.sh sets FLEETSEC_VM_RUN)')


def vm(script, check=True, args=()):
    done = subprocess.run([os.path.join(REPO, 'tools', 'vm', 'ssh.sh'), '-d', RUN, 'sh', '-s'] + list(args), input=script,
                          capture_output=True, text=True, check=False)
    if check and done.returncode:
        raise AssertionError('VM: %s\n%s%s' % (script, done.stdout, done.stderr))
    return done


@pytest.fixture
def job(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', '%s:%s' % (os.path.join(REPO, '.venv', 'bin'), os.environ['PATH']))
    collections = subprocess.run([os.path.join(REPO, 'tools', 'collection-tree.sh')], check=True,
                                 capture_output=True, text=True).stdout.strip()
    private = tmp_path / 'private'
    (private / 'inventory').mkdir(parents=True)
    shutil.copy(os.path.join(RUN, 'inventory.yml'), str(private / 'inventory' / 'vm.yml'))
    (private / 'inventory' / 'groups.yml').write_text('canary:\n  hosts:\n    fleetsec-vm:\n')
    folder = tmp_path / 'artifacts'

    def run(playbook, ident, **extravars):
        extravars.setdefault('fleetsec_module_name', NAME)
        extravars.setdefault('fleetsec_artifact_dir', str(folder))
        result = ansible_runner.run(
            private_data_dir=str(private), playbook=playbook, ident=ident, quiet=True, extravars=extravars,
            envvars={'ANSIBLE_COLLECTIONS_PATH': collections, 'ANSIBLE_PIPELINING': '1',
                     'ANSIBLE_HOST_KEY_CHECKING': '0', 'ANSIBLE_NOCOLOR': '1'})
        stats = [e for e in result.events if e.get('event') == 'playbook_on_stats']
        out = result.stdout.read() if hasattr(result.stdout, 'read') else str(result.stdout)
        return result, (stats[-1]['event_data'].get('artifact_data') or {}) if stats else {}, out
    run.folder = folder
    return run


def _loaded_checksum():
    listing = vm('semodule -l -m').stdout.split('\n')
    found = [row.split()[1] for row in listing if row.split()[:1] == [NAME]]
    return found[0] if found else None


def test_review_then_deploy_exactly_the_reviewed_change_set(job, tmp_path):
    with open(os.path.join(REPO, 'tools', 'vm', 'make-denial.sh')) as script:
        vm(script.read(), args=['setup'])
    vm(SETUP)
    assert vm(' '.join(APP + FILES), check=False).returncode != 0 and vm(' '.join(WEB), check=False).returncode != 0

    # 1. review: capture on the canary (ntpd_t permissive), collect, plan, generate and judge; nothing installed
    review, stats, out = job('fleetsec.selinux.rollout', 'review',
                             local_policy_permissive_domains=['ntpd_t', 'httpd_t'],
                             local_policy_exercise_command=EXERCISE)
    assert review.status == 'successful', out[-6000:]
    path = job.folder / 'policy' / ('%s.changes.yml' % NAME)
    changes = yaml.safe_load(path.read_text())
    digest = stats['fleetsec_change_set_digest']
    assert changes['digest'] == digest and _loaded_checksum() is None
    assert [(r['kind'], r['change'], r['hosts']) for r in changes['remedies']] == [
        ('fcontext', {'fcontext': '/srv/fleetsec-site(/.*)?', 'setype': 'httpd_sys_content_t',
                      'restorecon': '/srv/fleetsec-site'}, ['fleetsec-vm']),
        ('relabel', {'restorecon': '/etc/ntp.conf'}, ['fleetsec-vm'])], changes['remedies']
    te = changes['module']['te']
    assert 'games_data_t' in te and 'mysqld_db_t' not in te and 'var_t' not in te, te

    # 2. the application reads another file after the review: a denial nobody reviewed
    vm(' '.join(APP + ['/root/fleetsec-late.txt']), check=False)

    # 3. a digest that does not name the file: refused, nothing changed
    refused, unused_stats, out = job('fleetsec.selinux.rollout', 'wrong', approve='sha256:' + '1' * 64)
    assert refused.status == 'failed' and 'does not name this change set' in out, out[-3000:]
    assert _loaded_checksum() is None and 'mysqld_db_t' in vm('ls -Z /etc/ntp.conf').stdout

    # 4. the reviewed digest: exactly the reviewed module and remedy; the late denial reported, not deployed
    deployed, stats, out = job('fleetsec.selinux.rollout', 'deploy', approve=digest)
    assert deployed.status == 'successful', out[-6000:]
    assert _loaded_checksum() == changes['module']['checksum']
    assert 'net_conf_t' in vm('ls -Z /etc/ntp.conf').stdout and vm('getenforce').stdout.strip() == 'Enforcing'
    assert 'httpd_sys_content_t' in vm('ls -Z /srv/fleetsec-site/index.html').stdout
    assert '/srv/fleetsec-site(/.*)?' in vm('semanage fcontext -l -C').stdout
    late = stats['fleetsec_unreviewed']['fleetsec-vm']
    assert late and all('named_zone_t' in line for line in late), stats['fleetsec_unreviewed']
    assert 'Not in the reviewed change set' in (job.folder / 'report' / 'fleet-report.md').read_text()
    assert vm(' '.join(APP + FILES)).returncode == 0 and vm(' '.join(WEB)).returncode == 0  # both work, enforcing

    # 5. again: nothing changes
    again, unused_stats, out = job('fleetsec.selinux.rollout', 'again', approve=digest)
    assert again.status == 'successful' and again.stats['changed'] == {}, (again.stats, out[-4000:])

    # 6. enforce.yml alone, from the committed copy, on a host that lost the module and the relabel
    vm('semodule -r %s && chcon -t mysqld_db_t /etc/ntp.conf && semanage fcontext -d "/srv/fleetsec-site(/.*)?" '
       '&& restorecon -R /srv/fleetsec-site' % NAME)
    committed = tmp_path / 'git' / ('%s.changes.yml' % NAME)
    committed.parent.mkdir()
    shutil.copy(str(path), str(committed))
    alone, unused_stats, out = job('fleetsec.selinux.enforce', 'enforce', approve=digest, fleetsec_changes=str(committed))
    assert alone.status == 'successful', out[-6000:]
    assert _loaded_checksum() == changes['module']['checksum'] and 'net_conf_t' in vm('ls -Z /etc/ntp.conf').stdout
    assert 'httpd_sys_content_t' in vm('ls -Z /srv/fleetsec-site/index.html').stdout
    # nothing is taken away again: the VM is a throw-away overlay that tools/vm-integration.sh removes right after
    # this test, its last step (a removal is a policy rebuild in the TCG guest, minutes of the VM lane)
