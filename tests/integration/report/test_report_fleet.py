# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report at fleet scale, as a user meets it: 500 simulated hosts (7 unreachable, 3 failing, 5 with SELinux
disabled, 12 permissive) go through the playbooks' own report tasks; the page is opened in headless Chromium and
driven like a user (typing into the filter, choosing from the lists, clicking a column header), and its
screenshots are checked, not only its DOM.

Every expected figure is computed here from the simulated observations, independently of the report's filter.
"""
import json
import os
import random
import shutil
import subprocess

import pytest

from browser import Browser

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
VENV = os.path.join(REPO, '.venv', 'bin')
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

HOSTS = 500
DOWN, BROKEN, DISABLED, PERMISSIVE = range(0, 7), range(7, 10), range(10, 15), range(15, 27)
DOMAINS = {
    'httpd_t': ('httpd', '/usr/sbin/httpd'), 'ntpd_t': ('ntpd', '/usr/sbin/ntpd'),
    'postfix_smtpd_t': ('smtpd', '/usr/libexec/postfix/smtpd'), 'sshd_t': ('sshd', '/usr/sbin/sshd'),
    'named_t': ('named', '/usr/sbin/named'), 'mysqld_t': ('mysqld', '/usr/libexec/mysqld'),
    'nginx_t': ('nginx', '/usr/sbin/nginx'), 'crond_t': ('crond', '/usr/sbin/crond'),
    'rsync_t': ('rsync', '/usr/bin/rsync'), 'snmpd_t': ('snmpd', '/usr/sbin/snmpd'),
    'dovecot_t': ('dovecot', '/usr/sbin/dovecot'), 'squid_t': ('squid', '/usr/sbin/squid'),
}
TARGETS = [('user_home_t', 'file', ['read']), ('var_t', 'dir', ['write', 'add_name']), ('tmp_t', 'sock_file', ['write']),
           ('etc_t', 'file', ['open', 'read']), ('unreserved_port_t', 'tcp_socket', ['name_bind'])]
# one pool entry per (domain, target type, class): coverage by a rule then depends on that triple alone
POOL = [(domain, target, tclass, perms) for domain in sorted(DOMAINS) for target, tclass, perms in TARGETS]
COVERED = [entry for n, entry in enumerate(POOL) if n % 3 == 0]
RULES = ['allow %s %s:%s { %s };' % (d, t, c, ' '.join(p)) for d, t, c, p in COVERED]


def host_name(n):
    return 'app%03d.fleet.test' % n


def simulate():
    """Inventory host variables of the fleet, and the figures the report must show."""
    rnd = random.Random(20261130)
    inventory, seen = {}, {}
    for n in range(HOSTS):
        name = host_name(n)
        if n in DOWN:
            inventory[name] = {'fleetsec_test_down': True, 'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1',
                               'ansible_port': 9, 'ansible_ssh_common_args': '-o ConnectTimeout=5'}
            continue
        runtime = 'disabled' if n in DISABLED else 'enforcing'
        mode = {'runtime_before': runtime, 'config_before': runtime,
                'permissive_domains': ['httpd_t'] if n in PERMISSIVE else []}
        if n in BROKEN:  # observed its mode, then failed
            inventory[name] = {'fleetsec_test_fail': True, 'fleetsec_mode': mode}
            continue
        denials = []
        for domain, target, tclass, perms in ([] if n in DISABLED else rnd.sample(POOL, rnd.randint(0, 5))):
            first = '2026-11-%02dT%02d:00:00Z' % (rnd.randint(20, 24), rnd.randint(0, 23))
            comm, exe = DOMAINS[domain]
            denials.append({'source_type': domain, 'target_type': target, 'tclass': tclass, 'permissions': perms,
                            'count': rnd.randint(1, 9), 'first_seen': first, 'last_seen': first,
                            'comm': comm, 'exe': exe, 'path': '/srv/%s/%s' % (domain, target),
                            'explanation': {'kind': 'missing_rule', 'booleans': []}})
            seen.setdefault((domain, target, tclass), set()).add(name)
        inventory[name] = {'ansible_connection': 'local', 'fleetsec_mode': mode,
                           'fleetsec_avc': {'denials': denials, 'records': len(denials), 'skipped_lines': {'count': 0}}}
    return inventory, seen


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    out = tmp_path_factory.mktemp('fleet-report')
    inventory, seen = simulate()
    hosts_file = out / 'hosts.json'
    hosts_file.write_text(json.dumps({'all': {'hosts': inventory}}))
    collections = subprocess.run([os.path.join(REPO, 'tools', 'collection-tree.sh')], check=True,
                                 capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_FORKS='25', ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_DISPLAY_SKIPPED_HOSTS='False')
    cmd = [os.path.join(VENV, 'ansible-playbook'), '-i', str(hosts_file), os.path.join(HERE, 'write-report-fleet.yml'),
           '-e', 'fleetsec_report_dir=%s' % (out / 'report'), '-e', 'ansible_python_interpreter=%s' % os.path.join(VENV, 'python'),
           '-e', json.dumps({'fleetsec_module_rules': RULES})]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    # the play fails (10 hosts could not be reached or failed) but the report is written for the fleet
    assert proc.returncode in (2, 4), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'unreachable=1' in proc.stdout and 'failed=1' in proc.stdout, proc.stdout[-3000:]
    return out / 'report', seen


def test_markdown_report_counts_the_fleet(fleet):
    report, seen = fleet
    md = (report / 'fleet-report.md').read_text()
    assert '%d host(s), %d unique denial(s) across the fleet' % (HOSTS, len(seen)) in md
    assert '- **7 unreachable**: %s' % ', '.join(host_name(n) for n in DOWN) in md
    assert '- **3 failed**: %s' % ', '.join(host_name(n) for n in BROKEN) in md
    assert '- **5 disabled**:' in md and '- **12 permissive**:' in md
    most = max(seen.items(), key=lambda item: (len(item[1]), item[0]))
    rows = [line for line in md.splitlines() if line.startswith('| %d: ' % len(most[1]))]
    assert any(' | %s | %s | %s | ' % most[0] in row for row in rows), rows


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is installed by tools/setup.sh')
def test_the_page_reads_filters_and_sorts_at_500_hosts(fleet):
    report, seen = fleet
    uncovered = [key for key in seen if key not in set((d, t, c) for d, t, c, p in COVERED)]
    browser = Browser(CHROMIUM)
    try:
        browser.open('file://%s' % (report / 'fleet-report.html'))
        text = browser.js
        assert text('document.getElementById("card-hosts").textContent') == str(HOSTS)
        assert text('document.getElementById("card-unique").textContent') == str(len(seen))
        assert text('document.getElementById("card-uncovered").textContent') == str(len(uncovered))
        assert text('document.getElementById("card-attention").textContent') == str(7 + 3 + 5 + 12)
        assert text('document.querySelectorAll("#denials tr.denial").length') == len(seen)
        assert text('document.querySelectorAll("#hosts tr.host").length') == HOSTS
        # the hosts of the most widespread denial, expandable from its row, are exactly the hosts that have it
        most = max(len(hosts) for hosts in seen.values())
        assert text('document.querySelector("#denials tr.denial td summary").textContent') == str(most)
        top = max(seen.items(), key=lambda item: (len(item[1]), item[0]))
        listed = text('Array.from(document.querySelectorAll("#denials tr.denial")).filter(function (r) {'
                      ' return r.getAttribute("data-hosts") == "%d"; }).map(function (r) {'
                      ' return r.querySelector("details span").textContent; })' % most)
        assert ', '.join(sorted(top[1])) in listed
        full = browser.screenshot()
        height = full.size[1]

        # typing into the filter, then choosing "not covered", as a user does
        browser.resize(1400, 1000)
        browser.type_into('#q', 'ntpd_t')
        expect_ntpd = len([k for k in seen if k[0] == 'ntpd_t'])
        assert text('document.querySelectorAll("#denials tr.denial:not([hidden])").length') == expect_ntpd
        assert text('document.getElementById("shown").textContent') == '%d of %d shown' % (expect_ntpd, len(seen))
        text('(function(){var s=document.getElementById("cov");s.value="no";s.dispatchEvent(new Event("change"));})()')
        expect_both = len([k for k in uncovered if k[0] == 'ntpd_t'])
        assert text('document.querySelectorAll("#denials tr.denial:not([hidden])").length') == expect_both
        assert text('location.hash') == '#q=ntpd_t&cov=no'
        filtered = browser.screenshot()

        # clicking the "hosts" header sorts by it (most first), clicking again reverses
        browser.resize(1400, 1000)
        text('(function(){var q=document.getElementById("q");q.value="";q.dispatchEvent(new Event("input"));'
             'var s=document.getElementById("cov");s.value="";s.dispatchEvent(new Event("change"));})()')
        browser.click('#denials th[data-key="hosts"]')
        counts = text('Array.from(document.querySelectorAll("#denials tr.denial")).map(function (r) {'
                      ' return Number(r.getAttribute("data-hosts")); })')
        assert counts == sorted(counts, reverse=True) and counts[0] == most
        browser.click('#denials th[data-key="hosts"]')
        counts = text('Array.from(document.querySelectorAll("#denials tr.denial")).map(function (r) {'
                      ' return Number(r.getAttribute("data-hosts")); })')
        assert counts == sorted(counts)

        # a shared address restores a view: the permissive hosts of the per-host table
        browser.open('file://%s#hq=permissive' % (report / 'fleet-report.html'))
        assert text('document.querySelectorAll("#hosts tr.host:not([hidden])").length') == 12
    finally:
        browser.close()

    # what the screenshots show: the pictures and the coverage colours are painted, and the filtered view shows
    # only red (not covered) cells, fewer of them, on a much shorter page
    def pixels(img, rgb):
        return dict((colour, n) for n, colour in img.getcolors(maxcolors=1 << 22)).get(rgb, 0)
    assert pixels(full, (0xdd, 0xe4, 0xee)) > 5000, 'table headers not painted'
    assert pixels(full, (0x4a, 0x78, 0xb5)) > 12 * 16 * 20, 'the per-domain bars are not painted'
    for colour in ((0x5f, 0x5f, 0x5f), (0xb0, 0x00, 0x20), (0xd9, 0x6c, 0x00), (0xc9, 0xa8, 0x00), (0x2e, 0x7d, 0x32)):
        assert pixels(full, colour) > 150, 'state colour %s not painted' % (colour,)
    red, green = pixels(full, (0xf6, 0xd5, 0xd5)), pixels(full, (0xd8, 0xef, 0xd8))
    assert red > 200 * len(uncovered) and green > 200 * (len(seen) - len(uncovered))
    assert pixels(filtered, (0xd8, 0xef, 0xd8)) == 0 and 0 < pixels(filtered, (0xf6, 0xd5, 0xd5)) < red
    assert filtered.size[1] < height
