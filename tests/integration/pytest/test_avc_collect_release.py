# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""avc_collect with each release's own ``ausearch`` (the store steps put it first on PATH): the checkpoint over
``source: ausearch``, and what that release's ``ausearch -i`` prints (the interpreted form an administrator saves and
hands over) read as a file - the same denials as the raw records. The raw form through ``source: ausearch`` is
test_el_matrix.py's. No policy is changed: the module runs by the release's Python, outside any namespace."""
import os
import shutil
import subprocess

import pytest

from fleetsec_testlib.store_copy import STORE_ROOT, run_in_store_namespace

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
AVC_COLLECT = os.path.join(REPO, 'plugins', 'modules', 'avc_collect.py')
SYSCALL = ('type=SYSCALL msg=audit(1700000000.{n}:{n}): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c '
           'a1=5 a2=0 a3=0 items=0 ppid=1 pid=4{n} auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 '
           'fsgid=0 tty=(none) ses=4294967295 comm="{comm}" exe="/usr/local/sbin/{comm}" '
           'subj=system_u:system_r:{src}:s0 key=(null)')
AVC = ('type=AVC msg=audit(1700000000.{n}:{n}): avc:  denied  {{ {perms} }} for  pid=4{n} comm="{comm}" '
       'name="data" dev="vda1" ino=12{n} scontext=system_u:system_r:{src}:s0 '
       'tcontext=system_u:object_r:{tgt}:s0 tclass={tclass} permissive=0')
# (serial, source, target, class, permissions, comm): types both policy families define
EVENTS = [(1, 'ntpd_t', 'user_home_t', 'file', 'read', 'avctest'),
          (2, 'httpd_t', 'var_t', 'dir', 'search', 'httpd'),
          (3, 'ntpd_t', 'user_home_t', 'file', 'read open', 'avctest'),
          (4, 'ntpd_t', 'var_t', 'file', 'write', 'avctest')]

pytestmark = [
    pytest.mark.lanes('debian', 'el9', 'el8', 'el10'),
    pytest.mark.skipif(shutil.which('ausearch') is None or os.geteuid() != 0, reason='needs root and ausearch'),
]


def records(events):
    lines = []
    for n, src, tgt, tclass, perms, comm in events:
        # the kernel's order: the AVC while the call runs, its SYSCALL record when it ends
        lines.append(AVC.format(n=n, src=src, tgt=tgt, tclass=tclass, perms=perms, comm=comm))
        lines.append(SYSCALL.format(n=n, src=src, comm=comm))
    return '\n'.join(lines) + '\n'


def collect(tmp_path, check_mode=False, **args):
    result, rc = run_in_store_namespace(AVC_COLLECT, STORE_ROOT, dict(args, include_rotated=False),
                                        check_mode=check_mode, tmp_path=tmp_path, namespace=False)
    assert rc == 0, result
    return result


def denials(result):
    return sorted((d['source_type'], d['target_type'], d['tclass'], tuple(sorted(d['permissions'])), d['count'])
                  for d in result['denials'])


def test_the_checkpoint_over_the_release_ausearch(tmp_path):
    """The first run returns what is there, the next only what came after it, then nothing; a check-mode run
    returns the new records too and leaves the checkpoint where it was."""
    log, checkpoint = tmp_path / 'audit.log', str(tmp_path / 'avc.checkpoint')
    log.write_text(records(EVENTS[:2]))
    first = collect(tmp_path, source='ausearch', paths=[str(log)], checkpoint=checkpoint)
    assert first['source'] == 'ausearch' and denials(first) == [
        ('httpd_t', 'var_t', 'dir', ('search',), 1), ('ntpd_t', 'user_home_t', 'file', ('read',), 1)], first
    with open(str(log), 'a') as handle:
        handle.write(records(EVENTS[2:]))
    with open(checkpoint) as handle:
        saved = handle.read()
    looked = collect(tmp_path, check_mode=True, source='ausearch', paths=[str(log)], checkpoint=checkpoint)
    with open(checkpoint) as handle:
        assert handle.read() == saved  # check mode: the checkpoint stays
    second = collect(tmp_path, source='ausearch', paths=[str(log)], checkpoint=checkpoint)
    assert denials(second) == denials(looked) == [
        ('ntpd_t', 'user_home_t', 'file', ('open', 'read'), 1), ('ntpd_t', 'var_t', 'file', ('write',), 1)], second
    third = collect(tmp_path, source='ausearch', paths=[str(log)], checkpoint=checkpoint)
    assert denials(third) == [] and not third['changed'], third


def test_the_release_interpreted_output_reads_as_the_raw_records(tmp_path):
    """``ausearch -i`` (names for numbers, dates for epochs, ``----`` between events: its form changed between audit
    2.8, 3.x and 4.0) saved to a file gives the same denials and the same programs as the raw file."""
    raw = tmp_path / 'audit.log'
    raw.write_text(records(EVENTS))
    interpreted = subprocess.run(['ausearch', '-i', '-if', str(raw)], capture_output=True, text=True, check=False,
                                 env=dict(os.environ, LC_ALL='C', TZ='UTC'))
    assert interpreted.returncode == 0 and 'denied' in interpreted.stdout, interpreted.stderr
    saved = tmp_path / 'interpreted.log'
    saved.write_text(interpreted.stdout)
    by_raw = collect(tmp_path, source='file', paths=[str(raw)])
    by_interpreted = collect(tmp_path, source='file', paths=[str(saved)])
    assert denials(by_interpreted) == denials(by_raw) and len(by_raw['denials']) == 3, (by_interpreted, by_raw)
    assert by_interpreted['skipped_lines']['count'] == 0, by_interpreted

    def programs(result):
        return sorted((d['source_type'], d['tclass'], d['comm'], d['exe']) for d in result['denials'])
    assert programs(by_interpreted) == programs(by_raw), (by_interpreted, by_raw)
    assert all(exe and exe.startswith('/usr/local/sbin/') for dummy, dummy, dummy, exe in programs(by_raw)), by_raw
