# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark avc_collect's log scan against grep and ausearch (run by ``make bench``).

Generates a synthetic raw audit.log (default 1 GiB, about 1 % AVC records among SYSCALL,
PATH, PROCTITLE and USER_* noise) in a temporary directory, then in ONE run measures:

* the scan avc_collect uses (``_avc_sources.collect_files`` into a ``Collector``), in a
  child process so its peak RSS is its own;
* ``grep -F 'avc:' FILE | wc -l``;
* ``ausearch -m AVC --raw -if FILE`` (output to /dev/null).

Prints a Markdown section (times, ratios, peak RSS) on stdout. Targets: scan <= 2x grep,
faster than ausearch, peak RSS < 100 MB. Never run by the unit tests.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

NOISE_USERS = ['USER_ACCT', 'USER_START', 'USER_END', 'CRED_ACQ', 'CRED_DISP', 'USER_LOGIN', 'SERVICE_START', 'SERVICE_STOP']
PERMS = ['read', 'open', 'getattr', 'write', 'search', 'execute', 'map', 'ioctl', 'lock', 'create', 'name_connect']
CLASSES = ['file', 'dir', 'sock_file', 'tcp_socket', 'chr_file', 'lnk_file', 'unix_stream_socket']


def parse_size(text):
    """Bytes from '1G', '256M', '64K' or a plain number."""
    units = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    if text[-1:].upper() in units:
        return int(float(text[:-1]) * units[text[-1:].upper()])
    return int(text)


def generate(path, size, seed=1):
    """Write a synthetic raw audit.log of about ``size`` bytes; return (lines, avc_lines)."""
    rnd = random.Random(seed)
    # Zipf-like weights: a few domains/types cause most denials, as on real hosts
    domains = ['d%03d_t' % i for i in range(25)]
    types = ['t%03d_t' % i for i in range(20)]
    dom_w = [1.0 / (i + 1) for i in range(len(domains))]
    typ_w = [1.0 / (i + 1) for i in range(len(types))]
    ts = 1795651800
    serial = 1000
    lines = avc_lines = 0
    written = 0
    block = []
    with open(path, 'w', buffering=1 << 20) as out:
        while written < size:
            ts += rnd.random() < 0.3
            ms = rnd.randrange(1000)
            serial += 1
            pid = rnd.randrange(100, 99999)
            head = 'msg=audit(%d.%03d:%d): ' % (ts, ms, serial)
            r = rnd.random()
            if r < 0.025:
                # a denial event: AVC (sometimes two) + SYSCALL + PATH + PROCTITLE
                dom = rnd.choices(domains, dom_w)[0]
                typ = rnd.choices(types, typ_w)[0]
                comm = dom[:-2]
                recs = []
                for _rec in range(1 + (rnd.random() < 0.2)):
                    recs.append('type=AVC %savc:  denied  { %s } for  pid=%d comm="%s" name="f%d" dev="vda1" ino=%d '
                                'scontext=system_u:system_r:%s:s0 tcontext=system_u:object_r:%s:s0 tclass=%s permissive=0'
                                % (head, rnd.choice(PERMS), pid, comm, rnd.randrange(50), rnd.randrange(1 << 20),
                                   dom, typ, rnd.choice(CLASSES[:4])))
                    avc_lines += 1
                recs.append('type=SYSCALL %sarch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffd a2=80000 a3=0 '
                            'items=1 ppid=1 pid=%d auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 '
                            'tty=(none) ses=4294967295 comm="%s" exe="/usr/sbin/%s" subj=system_u:system_r:%s:s0 key=(null)'
                            % (head, pid, comm, comm, dom))
                recs.append('type=PATH %sitem=0 name="/srv/f" inode=%d dev=fe:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 '
                            'obj=system_u:object_r:%s:s0 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0'
                            % (head, rnd.randrange(1 << 20), typ))
                recs.append('type=PROCTITLE %sproctitle=2F7573722F7362696E2F%s' % (head, comm.encode().hex().upper()))
            elif r < 0.55:
                recs = ['type=SYSCALL %sarch=c000003e syscall=%d success=yes exit=0 a0=3 a1=7ffd a2=0 a3=0 items=1 ppid=1 '
                        'pid=%d auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 '
                        'tty=pts0 ses=3 comm="bash" exe="/usr/bin/bash" subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 '
                        'key="watch"' % (head, rnd.randrange(400), pid),
                        'type=CWD %scwd="/home/user"' % head,
                        'type=PATH %sitem=0 name="/etc/passwd" inode=%d dev=fe:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 '
                        'obj=system_u:object_r:passwd_file_t:s0 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 '
                        'cap_frootid=0' % (head, rnd.randrange(1 << 20)),
                        'type=PROCTITLE %sproctitle=2F62696E2F62617368' % head]
            else:
                kind = rnd.choice(NOISE_USERS)
                recs = ["type=%s %spid=%d uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:crond_t:s0-s0:c0.c1023 "
                        "msg='op=PAM:accounting grantors=pam_access,pam_unix acct=\"root\" exe=\"/usr/sbin/cron\" "
                        "hostname=? addr=? terminal=cron res=success'" % (kind, head, pid)]
            text = '\n'.join(recs) + '\n'
            block.append(text)
            written += len(text)
            lines += len(recs)
            if len(block) >= 4096:
                out.write(''.join(block))
                block = []
        out.write(''.join(block))
    return lines, avc_lines


def child_scan(path):
    """Runs in the child: import the collection and scan once; print JSON."""
    from fleetsec_testlib import store_copy  # noqa: F401  (this checkout's collection, importable)
    from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import Collector
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_sources as sources
    collector = Collector()
    start = time.perf_counter()
    cpu = time.process_time()
    sources.collect_files([path], False, collector)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    print(json.dumps({'seconds': elapsed, 'cpu': cpu, 'records': collector.records, 'unique': len(collector.denials),
                      'lines': len(collector.result_lines()), 'skipped': collector.skipped}))


def run_measured(argv, stdout=subprocess.PIPE, shell=False):
    """Run a command; return (wall s, peak RSS KiB, stdout, user+sys CPU s of it and the children it waited for)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, shell=shell,
                            env=dict(os.environ, LC_ALL='C'))
    out = proc.stdout.read() if stdout == subprocess.PIPE else b''
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit('%s failed with rc=%s' % (argv, proc.returncode))
    return wall, usage.ru_maxrss, out, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', default='1G', help='size of the synthetic log: bytes or with K/M/G suffix (default 1G)')
    parser.add_argument('--repeat', type=int, default=3, help='runs of the scan and of grep; the best is reported')
    parser.add_argument('--keep', action='store_true', help='keep the temporary directory')
    parser.add_argument('--child-scan', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_scan:
        child_scan(args.child_scan)
        return 0
    status = 0
    size = parse_size(args.size)
    subprocess.run([os.path.join(REPO, 'tools', 'collection-tree.sh')], check=True, stdout=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix='avc-bench-')
    try:
        log = os.path.join(tmp, 'audit.log')
        t0 = time.perf_counter()
        n_lines, n_avc = generate(log, size)
        gen = time.perf_counter() - t0
        actual = os.path.getsize(log)
        subprocess.run(['cat', log], stdout=subprocess.DEVNULL, check=True)   # warm the page cache for everyone
        scans, greps = [], []
        result = None
        for _run in range(args.repeat):
            wall, rss, out, _cpu = run_measured([sys.executable, os.path.abspath(__file__), '--child-scan', log])
            result = json.loads(out)
            scans.append((result['seconds'], wall, rss, result['cpu']))
            wall, rss, out, cpu = run_measured("grep -F 'avc:' '%s' | wc -l" % log, shell=True)
            greps.append((wall, int(out.strip()), cpu))
        au_wall, au_rss, _out, au_cpu = run_measured(['ausearch', '-m', 'AVC', '--raw', '-if', log], stdout=subprocess.DEVNULL)
        scan_best = min(s[0] for s in scans)
        scan_wall_best = min(s[1] for s in scans)
        scan_rss = max(s[2] for s in scans)
        grep_best = min(g[0] for g in greps)
        scan_cpu = min(s[3] for s in scans)
        grep_cpu = min(g[2] for g in greps)
        grep_count = greps[0][1]
        paired = sorted(s[0] / g[0] for s, g in zip(scans, greps))
        paired_median = paired[len(paired) // 2]
        ok_grep = scan_best <= 2 * grep_best and paired_median <= 2
        ok_ausearch = scan_best < au_wall
        ok_rss = scan_rss < 100 * 1024
        load = os.getloadavg()
        print('## avc_collect scan benchmark\n')
        print('Synthetic raw audit.log: %.2f GiB, %d lines, %d AVC lines (%.2f %%), generated in %.1f s. '
              'Python %s, %d CPUs, load average before the runs %.2f. Best of %d runs for the scan and grep, '
              '1 run of ausearch; page cache warm.\n'
              % (actual / float(1 << 30), n_lines, n_avc, 100.0 * n_avc / n_lines, gen,
                 sys.version.split()[0], os.cpu_count(), load[0], args.repeat))
        print('| measure | wall time (s) | ratio scan / it (wall) | CPU user+sys (s) | ratio scan / it (CPU) | peak RSS (MiB) |')
        print('|---|---|---|---|---|---|')
        print('| avc_collect scan (`_avc_sources.collect_files`), timed in-process | %.3f | 1.00 | %.3f | 1.00 | %.1f |'
              % (scan_best, scan_cpu, scan_rss / 1024.0))
        print('| avc_collect scan child, wall incl. interpreter start + imports | %.3f | %.2f | | | |'
              % (scan_wall_best, scan_best / scan_wall_best))
        print("| `grep -F 'avc:' FILE \\| wc -l` | %.3f | %.2f | %.3f | %.2f | |"
              % (grep_best, scan_best / grep_best, grep_cpu, scan_cpu / grep_cpu))
        print('| `ausearch -m AVC --raw -if FILE` | %.3f | %.2f | %.3f | %.2f | %.1f |'
              % (au_wall, scan_best / au_wall, au_cpu, scan_cpu / au_cpu, au_rss / 1024.0))
        print('')
        print('Denial records found: %d (grep counted %d lines with `avc:`), unique denials: %d, skipped lines: %d.\n'
              % (result['records'], grep_count, result['unique'], result['skipped']))
        print('All runs, scan then grep back to back (scan in-process s, scan wall s, grep wall s, ratio): %s; '
              'median of the paired ratios: %.2f.\n'
              % (', '.join('(%.3f, %.3f, %.3f, %.2f)' % (s[0], s[1], g[0], s[0] / g[0]) for s, g in zip(scans, greps)),
                 paired_median))
        print('Targets: scan <= 2x grep (best and paired median): **%s** (%.2fx); faster than ausearch: **%s** (%.2fx); peak RSS < 100 MB: **%s** (%.1f MiB).'
              % ('met' if ok_grep else 'NOT met', scan_best / grep_best, 'met' if ok_ausearch else 'NOT met',
                 scan_best / au_wall, 'met' if ok_rss else 'NOT met', scan_rss / 1024.0))
        print('\nCommands: `%s %s --child-scan FILE` (calls `_avc_sources.collect_files([FILE], False, Collector())`, '
              'timed inside the child); `sh -c "grep -F \'avc:\' FILE | wc -l"`; `ausearch -m AVC --raw -if FILE >/dev/null`; '
              'all with LC_ALL=C; peak RSS from wait4().' % (os.path.relpath(sys.executable, REPO), os.path.relpath(__file__, REPO)))
        if result['records'] != grep_count:
            print('\nWARNING: the scan found %d denial records but grep counted %d lines.' % (result['records'], grep_count))
            status = 1  # a missed or invented denial is a defect; a missed speed target is only reported
    finally:
        if args.keep:
            print('\n(kept %s)' % tmp)
        else:
            shutil.rmtree(tmp)
    return status


if __name__ == '__main__':
    sys.exit(main())
