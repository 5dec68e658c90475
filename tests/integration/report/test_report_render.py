# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report as a user sees it: written by the playbooks' own tasks, opened in headless Chromium.

The DOM Chromium builds must hold the tables with the right rows, and a screenshot must show them
(header cells and the red "not covered" cells are painted).
"""
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
VENV = os.path.join(REPO, '.venv', 'bin')
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars']


def write_report(out, inventory='hosts.yml', data='report-data.json'):
    collections = subprocess.run([os.path.join(REPO, 'tools', 'collection-tree.sh')], check=True,
                                 capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0')
    cmd = [os.path.join(VENV, 'ansible-playbook'), '-i', os.path.join(HERE, inventory), os.path.join(HERE, 'write-report.yml'),
           '-e', 'fleetsec_report_dir=%s' % out, '-e', 'ansible_python_interpreter=%s' % os.path.join(VENV, 'python'),
           '-e', 'report_data=%s' % os.path.join(HERE, data)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope='module')
def report_dir(tmp_path_factory):
    return write_report(tmp_path_factory.mktemp('report'))


@pytest.fixture(scope='module')
def hostile_report_dir(tmp_path_factory):
    return write_report(tmp_path_factory.mktemp('hostile'), 'hosts-hostile.yml', 'hostile-data.json')


def test_markdown_report_lists_hosts_domains_and_coverage(report_dir):
    md = (report_dir / 'fleet-report.md').read_text()
    assert '2 host(s), 3 unique denial(s) across the fleet\n(3 unique denial(s) per host, 2 of them not covered' in md
    assert '| web2.example.test | permissive | permissive | enforcing | httpd_t |' in md
    assert re.search(r'\| 1: web1\.example\.test \| ntpd_t \| user_home_t \| file \| open read \| avctest \| '
                     r'/root/secret\.txt \| 4 \| .* \| yes \|', md)
    assert re.search(r'\| 1: web2\.example\.test \| ntpd_t \| user_home_t \| file \| getattr \| .* \| no \|', md)
    assert 'boolean (httpd_can_network_connect)' in md
    assert '## Hosts that need attention\n\n- **1 permissive**: web2.example.test' in md
    assert '## Hosts still permissive\n\n- web2.example.test' in md


def test_markdown_report_shows_the_local_customisations_and_who_lacks_each(report_dir):
    """The fleet's drift: each local setting with the hosts that have it and those that lack it (those first), and
    the modules beyond the policy's own per host (the change sets it runs)."""
    md = (report_dir / 'fleet-report.md').read_text()
    section = md.split('## Local customisations')[1].split('\n## ')[0]
    rows = [line for line in section.splitlines() if line.startswith('| ') and 'setting' not in line]
    assert rows[0] == '| boolean httpd_enable_cgi off | 1: web1.example.test | 1: web2.example.test |', rows
    assert '| equivalence /srv/www = /var/www | 2: web1.example.test, web2.example.test | none |' in rows
    assert len(rows) == 6
    assert '- web1.example.test: fleetsec_demo (priority 400, sha256:aaaaaaaaaaaa)' in section
    assert '- web2.example.test: none' in section


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is installed by tools/setup.sh')
def test_html_report_renders_its_tables_in_chromium(report_dir, tmp_path):
    page = 'file://%s' % (report_dir / 'fleet-report.html')
    dom = subprocess.run([CHROMIUM] + FLAGS + ["--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count('<table') == 3  # the local customisations, the denials across the fleet, the hosts
    assert len(re.findall(r'<td class="no">no</td>', dom)) == 2
    assert len(re.findall(r'<td class="yes">yes</td>', dom)) == 1

    from PIL import Image
    shot = tmp_path / 'report.png'
    subprocess.run([CHROMIUM] + FLAGS + ['--window-size=1400,1000', '--screenshot=%s' % shot, page],
                   capture_output=True, timeout=120, check=True)
    img = Image.open(str(shot)).convert('RGB')
    colours = img.getcolors(maxcolors=1 << 20)
    painted = dict((rgb, n) for n, rgb in colours)
    header = painted.get((0xdd, 0xe4, 0xee), 0)
    uncovered = painted.get((0xf6, 0xd5, 0xd5), 0)
    covered = painted.get((0xd8, 0xef, 0xd8), 0)
    assert header > 2000, 'table header cells not painted (%d px)' % header
    assert uncovered > 200 and covered > 100, 'coverage cells not painted (%d/%d px)' % (uncovered, covered)


def test_markdown_report_keeps_hostile_values_in_their_cells(hostile_report_dir):
    md = (hostile_report_dir / 'fleet-report.md').read_text()
    assert '- **1 unreadable**: evil-types.example.test' in md
    assert 'evil-types.example.test: result unreadable: records is' in md
    denials = md.split('## Denials across the fleet')[1].split('\n## ')[0]
    rows = [line for line in denials.splitlines() if line.startswith('|')]
    assert len(rows) == 2 + 4  # header, rule, the 3 denials of the recorded hosts and evil-text's one: no injected row
    assert '<script>' not in md and '<img' not in md and '&lt;script&gt;' in md
    evil = [line for line in rows if 'evil_t' in line][0]
    assert evil.count(' | ') == 12 and '\\| injected \\| row \\|' in evil


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is installed by tools/setup.sh')
def test_html_report_shows_hostile_values_as_text_in_chromium(hostile_report_dir):
    page = 'file://%s' % (hostile_report_dir / 'fleet-report.html')
    dom = subprocess.run([CHROMIUM] + FLAGS + ['--dump-dom', page], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert '<title>SELinux fleet report</title>' in dom  # no script a host sent ran (it would rename the page)
    assert '<img src="x"' not in dom and '<script>document' not in dom
    assert '&lt;script&gt;document.title="pwned"&lt;/script&gt;' in dom  # shown as text
    for host in ('web1.example.test', 'web2.example.test', 'evil-types.example.test', 'evil-text.example.test'):
        assert '<td>%s' % host in dom
    assert 'result unreadable: records is' in dom
    # customisations a host sent that the remedy's grammar refuses are named as that host's problem, as text; a
    # module name with markup stays text
    assert 'evil-text.example.test: customisations' in dom and 'Invalid boolean name' in dom
    assert '&lt;img src=x onerror=alert(1)&gt;' in dom


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is installed by tools/setup.sh')
def test_a_row_shows_its_reason_command_and_raw_record_and_the_page_fits_1400_px(report_dir, hostile_report_dir):
    """The remedy's reason was a tooltip and no command or record was shown; the page was 85 px wider than a
    1400 px window. Every row's details open on the reason, the command a person would run and the raw record."""
    from browser import Browser
    browser = Browser(CHROMIUM, width=1400, height=1000)
    try:
        browser.open('file://%s' % (report_dir / 'fleet-report.html'))
        browser.js('document.querySelectorAll("details").forEach(function (d) { d.open = true; })')
        assert browser.js('document.documentElement.scrollWidth') <= 1400
        rows = browser.js('Array.from(document.querySelectorAll("#denials tr.denial td.act")).map('
                          'function (c) { return c.innerText; }).join("\\n---\\n")')
        assert 'Run: restorecon -v /root/secret.txt' in rows and 'the policy gives its path admin_home_t' in rows
        assert 'Record: type=AVC msg=audit(1796000462.000:100)' in rows and 'ino=123456789' in rows
        assert 'Run: setsebool -P httpd_can_network_connect on' in rows
        assert 'Run: allow ntpd_t user_home_t:file { getattr };' in rows  # no narrower remedy: the rule
        # long names a host sends (a process name without a space) wrap in their cell too
        browser.open('file://%s' % (hostile_report_dir / 'fleet-report.html'))
        browser.js('document.querySelectorAll("details").forEach(function (d) { d.open = true; })')
        assert browser.js('document.documentElement.scrollWidth') <= 1400
    finally:
        browser.close()
    md = (report_dir / 'fleet-report.md').read_text()
    assert 'run: restorecon -v /root/secret.txt' in md and 'run: setsebool -P httpd_can_network_connect on' in md
