# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Files, rotation, checkpoint, since, and the ausearch/journalctl command lines."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import gzip
import io
import json
import os
import time

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_sources as sources
from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import Collector
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, Runner

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'avc')


def fixture_bytes(name):
    with io.open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def write(path, data, mode='wb'):
    with io.open(str(path), mode) as f:
        f.write(data)


AVC = (b'type=AVC msg=audit(%d.000:%d): avc:  denied  { %s } for  pid=1 comm="c" name="n" '
       b'scontext=system_u:system_r:%s:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n')


def avc(ts, serial, perm=b'read', domain=b'ntpd_t'):
    return AVC % (ts, serial, perm, domain)


def summary(collector):
    return sorted((d['source_type'], tuple(d['permissions']), d['count']) for d in collector.result_denials())


# -- since --------------------------------------------------------------------

def test_since_keywords_epoch_and_iso():
    now = 1764115800.0
    assert sources.since_to_epoch(None) is None
    assert sources.since_to_epoch('recent', now=now) == now - 600
    assert sources.since_to_epoch('1764115800') == 1764115800.0
    assert sources.since_to_epoch('2026-11-26T00:10:00Z') == 1795651800.0
    assert sources.since_to_epoch('2026-11-26T01:10:00+01:00') == 1795651800.0
    assert sources.since_to_epoch('2026-11-25T23:10:00-01:00') == 1795651800.0
    assert sources.since_to_epoch('2026-11-26 00:10') == 1795651800.0
    assert sources.since_to_epoch('2026-11-26') == calendar.timegm((2026, 11, 26, 0, 0, 0, 0, 0, 0))
    assert sources.since_to_epoch('boot', uptime_reader=lambda: '100.5 200.0\n') == pytest.approx(time.time() - 100.5, abs=2)
    today = sources.since_to_epoch('today', now=now)
    assert time.localtime(today)[3:6] == (0, 0, 0) and now - 86400 < today <= now


@pytest.mark.parametrize('bad', ['yesterday', '2026-13-01', '26/11/2026', 'nan', 'inf'])
def test_since_rejects_garbage_with_a_helpful_message(bad):
    with pytest.raises(sources.SourceError) as exc:
        sources.since_to_epoch(bad)
    assert bad in exc.value.msg


def test_since_boot_without_proc_uptime_is_a_clear_error():
    def broken():
        raise IOError(2, 'No such file or directory')
    with pytest.raises(sources.SourceError) as exc:
        sources.since_to_epoch('boot', uptime_reader=broken)
    assert '/proc/uptime' in exc.value.msg


# -- files ----------------------------------------------------------------------

def test_expand_paths_orders_rotated_files_oldest_first(tmp_path):
    for name in ('audit.log', 'audit.log.1', 'audit.log.2', 'audit.log.10', 'audit.log.3.gz',
                 'audit.log-20261120', 'audit.log.bak', 'other.log'):
        write(tmp_path / name, b'')
    base = str(tmp_path / 'audit.log')
    files, missing = sources.expand_paths([base])
    assert [os.path.basename(p) for p in files] == [
        'audit.log-20261120', 'audit.log.10', 'audit.log.3.gz', 'audit.log.2', 'audit.log.1', 'audit.log']
    assert missing == []
    files, missing = sources.expand_paths([base, str(tmp_path / 'nope*.log')], include_rotated=False)
    assert files == [base] and missing == [str(tmp_path / 'nope*.log')]
    files, missing = sources.expand_paths([str(tmp_path / 'o*.log')])
    assert [os.path.basename(p) for p in files] == ['other.log']


def test_scan_file_across_small_windows_equals_one_pass(tmp_path, monkeypatch):
    data = fixture_bytes('raw_audit.log') + fixture_bytes('ntpd.log') + fixture_bytes('user_avc.log')
    path = tmp_path / 'audit.log'
    write(path, data * 40)
    whole = Collector()
    whole.scan(data * 40, final=True)
    monkeypatch.setattr(sources, 'READ_CHUNK', 4096)
    windowed = Collector()
    end = sources.scan_file(str(path), windowed)
    assert end == len(data) * 40
    assert windowed.result_denials() == whole.result_denials()
    assert windowed.records == whole.records == 40 * 16
    staff = [d for d in windowed.result_denials() if d['source_type'] == 'staff_t'][0]
    assert staff['exe'] == '/usr/bin/bash'


def test_exe_found_when_syscall_is_in_the_next_window(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, 'READ_CHUNK', 4096)
    pad = b'type=USER_ACCT msg=audit(1.0:1): pid=1 uid=0 res=success\n'
    syscall = (b'type=SYSCALL msg=audit(1764115800.123:4242): arch=c000003e syscall=257 pid=812 '
               b'comm="avctest" exe="/usr/local/sbin/avctest" subj=system_u:system_r:ntpd_t:s0 key=(null)\n')
    first = avc(1764115800, 4242).replace(b'.000:', b'.123:')
    # place the AVC so that its SYSCALL record starts after the first window
    filler = pad * ((4096 + 4096 - len(first) - 10) // len(pad))
    write(tmp_path / 'a.log', filler + first + syscall)
    c = Collector()
    sources.scan_file(str(tmp_path / 'a.log'), c)
    assert c.result_denials()[0]['exe'] == '/usr/local/sbin/avctest'


def test_gzip_and_overlong_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, 'READ_CHUNK', 4096)
    with gzip.open(str(tmp_path / 'audit.log.1.gz'), 'wb') as f:
        f.write(avc(100, 1) + avc(101, 2, b'write'))
    write(tmp_path / 'audit.log', b'x avc: ' + b'A' * 3 * 1024 * 1024 + b'\n' + avc(102, 3, b'open'))
    c = Collector()
    entries = sources.collect_files([str(tmp_path / 'audit.log')], True, c)
    assert summary(c) == [('ntpd_t', ('open', 'read', 'write'), 3)]
    assert c.skipped == 1
    assert [os.path.basename(e['path']) for e in entries] == ['audit.log.1.gz', 'audit.log']


def test_no_file_and_unreadable_file_messages(tmp_path):
    with pytest.raises(sources.SourceError) as exc:
        sources.collect_files([str(tmp_path / 'missing.log')], True, Collector())
    assert 'No audit log file matches' in exc.value.msg and 'source=journal' in exc.value.msg
    write(tmp_path / 'ok.log', avc(1, 1))
    warnings = []
    real_open = sources.os.open

    def deny(path, *args):
        if path.endswith('bad.log'):
            raise OSError(13, 'Permission denied')
        return real_open(path, *args)
    write(tmp_path / 'bad.log', avc(2, 2))
    sources.os.open = deny
    try:
        c = Collector()
        sources.collect_files([str(tmp_path / 'bad.log'), str(tmp_path / 'ok.log')], False, c, warn=warnings.append)
    finally:
        sources.os.open = real_open
    assert c.records == 1
    assert warnings == ['Cannot read %s: Permission denied' % (tmp_path / 'bad.log')]


# -- checkpoint -------------------------------------------------------------

def run_once(paths, state):
    c = Collector(after=sources.checkpoint_last_event(state))
    files = sources.collect_files(paths, True, c, state, checkpointing=True)
    return c, sources.new_checkpoint('file', c.last_event or sources.checkpoint_last_event(state), files)


def test_checkpoint_survives_rotation_and_ignores_partial_lines(tmp_path):
    log = tmp_path / 'audit.log'
    write(log, avc(100, 1) + avc(101, 2, b'write'))
    c, state = run_once([str(log)], None)
    assert summary(c) == [('ntpd_t', ('read', 'write'), 2)]
    assert state['last_event'] == [101.0, 2]

    # nothing new: nothing returned, state unchanged
    c, state2 = run_once([str(log)], state)
    assert c.records == 0 and sources.same_checkpoint(state, state2)

    # auditd appends, then rotates (audit.log -> audit.log.1) and writes a new audit.log;
    # the new file ends with a partial line that must wait for the next run
    write(log, avc(102, 3, b'open'), mode='ab')
    os.rename(str(log), str(tmp_path / 'audit.log.1'))
    write(log, avc(103, 4, b'getattr') + avc(104, 5, b'lock')[:40])
    c, state3 = run_once([str(log)], state2)
    assert summary(c) == [('ntpd_t', ('getattr', 'open'), 2)]
    assert state3['last_event'] == [103.0, 4]

    # the partial line is completed later
    write(log, avc(104, 5, b'lock')[40:], mode='ab')
    c, state4 = run_once([str(log)], state3)
    assert summary(c) == [('ntpd_t', ('lock',), 1)]


def test_checkpoint_resumes_a_small_file_that_grew(tmp_path, monkeypatch):
    log = tmp_path / 'audit.log'
    write(log, avc(100, 1))                       # shorter than the head digest
    c, state = run_once([str(log)], None)
    write(log, avc(101, 2, b'write'), mode='ab')
    seen = []
    real_scan = sources.scan_file

    def spy(path, collector, start=0, stop_at_partial=False, **kwargs):
        seen.append(start)
        return real_scan(path, collector, start, stop_at_partial, **kwargs)
    monkeypatch.setattr(sources, 'scan_file', spy)
    c, state = run_once([str(log)], state)
    assert seen == [len(avc(100, 1))]             # resumed, not re-read from 0
    assert summary(c) == [('ntpd_t', ('write',), 1)]


def test_checkpoint_rereads_a_truncated_file_but_drops_old_events(tmp_path):
    log = tmp_path / 'audit.log'
    write(log, avc(100, 1) + avc(101, 2))
    c, state = run_once([str(log)], None)
    # copytruncate-style rotation: same inode, new content from the start
    write(log, avc(99, 9, b'write') + avc(105, 3, b'open'))
    c, state = run_once([str(log)], state)
    assert summary(c) == [('ntpd_t', ('open',), 1)]


def test_checkpoint_file_roundtrip_and_errors(tmp_path):
    class FakeModule(object):
        tmpdir = str(tmp_path)

        def atomic_move(self, src, dest):
            os.rename(src, dest)
    path = str(tmp_path / 'state.json')
    assert sources.load_checkpoint(path) is None
    state = sources.new_checkpoint('file', (1.5, 2), [{'path': '/x', 'dev': 1, 'ino': 2, 'offset': 3, 'size': 3,
                                                       'head': 'ab', 'head_len': 3}])
    sources.save_checkpoint(FakeModule(), path, state)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    assert sources.load_checkpoint(path) == state
    assert sources.checkpoint_last_event(state) == (1.5, 2)
    write(tmp_path / 'bad.json', b'{not json')
    with pytest.raises(sources.SourceError) as exc:
        sources.load_checkpoint(str(tmp_path / 'bad.json'))
    assert 'remove it' in exc.value.msg


# -- commands ---------------------------------------------------------------

class FakeModule(object):
    def __init__(self, answers, bins=None):
        self.answers = list(answers)
        self.calls = []
        self.check_mode = False
        self.bins = bins or {'ausearch': '/usr/sbin/ausearch', 'journalctl': '/usr/bin/journalctl'}

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return self.bins.get(name)

    def run_command(self, cmd, **kwargs):
        self.calls.append(cmd)
        return self.answers.pop(0)


def test_ausearch_reads_input_logs_or_each_file_and_accepts_no_matches():
    raw = fixture_bytes('ntpd.log').decode('ascii')
    module = FakeModule([(0, raw, ''), (1, '', '<no matches>\n')])
    c = Collector()
    sources.collect_ausearch(Runner(module, CATALOGUE), c, 'boot', ['/l/audit.log.1', '/l/audit.log'])
    assert module.calls == [
        ['/usr/sbin/ausearch', '-m', 'AVC,USER_AVC,SELINUX_ERR,USER_SELINUX_ERR', '--raw', '-ts', 'boot', '-if', '/l/audit.log.1'],
        ['/usr/sbin/ausearch', '-m', 'AVC,USER_AVC,SELINUX_ERR,USER_SELINUX_ERR', '--raw', '-ts', 'boot', '-if', '/l/audit.log'],
    ]
    assert summary(c) == [('httpd_t', ('name_connect',), 1), ('ntpd_t', ('open', 'read'), 2)]
    assert [d['exe'] for d in c.result_denials()] == ['/usr/local/sbin/avctest', None]
    module = FakeModule([(0, '', '')])
    sources.collect_ausearch(Runner(module, CATALOGUE), Collector())
    assert module.calls[0][-1] == '--input-logs'


def test_ausearch_failure_is_reported():
    module = FakeModule([(10, '', 'Error opening checkpoint\n')])
    with pytest.raises(CommandFailed) as exc:
        sources.collect_ausearch(Runner(module, CATALOGUE), Collector())
    assert exc.value.rc == 10 and 'Error opening checkpoint' in exc.value.msg


def test_journal_reads_audit_and_kernel_transports_without_double_counting(monkeypatch):
    monkeypatch.setenv('TZ', 'UTC')
    time.tzset()
    out = (
        '1764115800.123456 host kernel: audit: type=1400 audit(1764115800.123:4242): avc:  denied  { read } for  '
        'pid=812 comm="avctest" name="secret.txt" dev="vda" ino=1234 scontext=system_u:system_r:ntpd_t:s0 '
        'tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0\n'
        '1764115800.124000 host audit[812]: AVC avc:  denied  { read } for  pid=812 comm="avctest" name="secret.txt" '
        'dev="vda" ino=1234 scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:user_home_t:s0 tclass=file '
        'permissive=0\n'
        '1764115801.000000 host audit[1]: SELINUX_ERR op=security_bounded_transition seresult=denied '
        'oldcontext=system_u:system_r:init_t:s0 newcontext=system_u:system_r:x_t:s0\n')
    module = FakeModule([(0, out, '')])
    c = Collector()
    try:
        sources.collect_journal(Runner(module, CATALOGUE), c, since_epoch=1764115000.7)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert module.calls[0] == ['/usr/bin/journalctl', '--no-pager', '--quiet', '-o', 'short-unix',
                               '--since', '2025-11-25 23:56:40', '_TRANSPORT=audit', '+', '_TRANSPORT=kernel']
    assert summary(c) == [('ntpd_t', ('read',), 1)]
    assert [(e['op'], e['newcontext']) for e in c.result_errors()] == [
        ('security_bounded_transition', 'system_u:system_r:x_t:s0')]


def test_one_megabyte_record_binary_garbage_and_invalid_utf8_in_a_file(tmp_path):
    big = (b'type=AVC msg=audit(5.000:5): avc:  denied  { read } for  pid=1 name="' + b'x' * (1 << 20) +
           b'" scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file\n')
    garbage = bytes(bytearray(range(256))) * 64 + b'\n'
    write(tmp_path / 'audit.log', avc(1, 1) + big + garbage + b'\xff\xfe context=\xc3\x28\n' + avc(6, 6, b'open'))
    c = Collector()
    sources.collect_files([str(tmp_path / 'audit.log')], False, c)
    assert summary(c) == [('ntpd_t', ('open', 'read'), 2)]
    assert c.skipped == 1 and 'line longer than 65536 bytes' in c.samples[0]


# -- hostile input (adversarial testing of avc_collect) --------------------------

@pytest.mark.parametrize('bad', [
    '2026-02-30T25:61:61Z', '2026-02-30', '2025-02-29', '2026-04-31T00:00:00Z', '2026-11-26T24:00:00Z',
    '2026-11-26T23:60:00Z', '2026-11-26T23:59:61Z', '0000-01-01', '2026-00-10',
    '2026-11-26T00:10:00+99:99', '2026-11-26T00:10:00+24:00', '2026-11-26T00:10:00-05:60',
])
def test_since_refuses_impossible_dates_times_and_offsets(bad):
    with pytest.raises(sources.SourceError) as exc:
        sources.since_to_epoch(bad)
    assert 'since=%r' % bad in exc.value.msg


def test_since_accepts_the_edges_of_the_calendar():
    assert sources.since_to_epoch('2024-02-29') == calendar.timegm((2024, 2, 29, 0, 0, 0, 0, 0, 0))
    assert sources.since_to_epoch('2026-12-31T23:59:59Z') == calendar.timegm((2026, 12, 31, 23, 59, 59, 0, 0, 0))
    # a leap second (RFC 3339 allows :60) is the first second of the next minute
    assert sources.since_to_epoch('2016-12-31T23:59:60Z') == calendar.timegm((2017, 1, 1, 0, 0, 0, 0, 0, 0))
    assert sources.since_to_epoch('2026-11-26T14:10:00+14:00') == 1795651800.0
    assert sources.since_to_epoch('2026-11-25T12:10:00-12:00') == 1795651800.0
    assert sources.since_to_epoch('2026-11-26T05:39:00+0529') == 1795651800.0


def checkpoint_variants():
    entry = {'path': '/x', 'dev': 1, 'ino': 2, 'offset': 3, 'size': 3, 'head': 'ab', 'head_len': 3}
    good = {'version': 1, 'source': 'file', 'last_event': [1.5, 2], 'files': [entry]}
    return [
        ('last_event', dict(good, last_event='abc')),
        ('last_event', dict(good, last_event=[None, 1])),
        ('last_event', dict(good, last_event=[1.5, 2, 3])),
        ('last_event', dict(good, last_event={'ts': 1})),
        ('files', dict(good, files={'a': 1})),
        ('files', dict(good, files='abc')),
        ('files', dict(good, files=None)),
        ('files[0]', dict(good, files=[None])),
        ('files[0].offset', dict(good, files=[dict(entry, offset='10')])),
        ('files[0].offset', dict(good, files=[dict(entry, offset=-5)])),
        ('files[0].offset', dict(good, files=[dict(entry, offset=1.5)])),
        ('files[0].head_len', dict(good, files=[dict(entry, head_len='512')])),
        ('files[0].head_len', dict(good, files=[dict(entry, head_len=10 ** 9)])),
        ('files[0].dev', dict(good, files=[dict(entry, dev=None)])),
        ('files[0].head', dict(good, files=[dict(entry, head=[1])])),
        ('source', dict(good, source=['file'])),
        ('version', dict(good, version=True)),
    ]


@pytest.mark.parametrize('index', range(len(checkpoint_variants())))
def test_checkpoint_with_valid_json_but_wrong_types_is_a_clear_error(tmp_path, index):
    field, state = checkpoint_variants()[index]
    path = tmp_path / 'state.json'
    write(path, json.dumps(state).encode('ascii'))
    with pytest.raises(sources.SourceError) as exc:
        sources.load_checkpoint(str(path))
    assert 'Checkpoint %s' % path in exc.value.msg
    assert field in exc.value.msg, exc.value.msg
    assert 'remove it' in exc.value.msg


def test_checkpoint_written_by_new_checkpoint_loads_back(tmp_path):
    path = tmp_path / 'state.json'
    for state in (sources.new_checkpoint('ausearch', None, []),
                  sources.new_checkpoint('file', (1764115800.123, 4242), [
                      {'path': '/var/log/audit/audit.log', 'dev': 64768, 'ino': 1234, 'offset': 0, 'size': 0,
                       'head': 'e3b0', 'head_len': 0}])):
        write(path, json.dumps(state).encode('ascii'))
        assert sources.load_checkpoint(str(path)) == state


def test_checkpoint_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(sources.SourceError) as exc:
        sources.load_checkpoint(str(tmp_path))
    assert 'Checkpoint %s is a directory' % tmp_path in exc.value.msg


def test_a_directory_or_symlink_loop_beside_a_good_file_is_named_in_a_warning(tmp_path):
    write(tmp_path / 'ok.log', avc(1, 1))
    (tmp_path / 'dir.log').mkdir()
    os.symlink(str(tmp_path / 'loop.log'), str(tmp_path / 'loop.log'))
    warnings = []
    c = Collector()
    paths = [str(tmp_path / name) for name in ('dir.log', 'ok.log', 'loop.log')]
    sources.collect_files(paths, False, c, warn=warnings.append)
    assert c.records == 1
    assert warnings == ['Cannot read %s: is a directory' % paths[0],
                        'Cannot read %s: Too many levels of symbolic links' % paths[2]]
    assert sources.readable_files(paths, False) == [paths[1]]


@pytest.mark.parametrize('euid, hint', [(0, False), (1000, True)])
def test_run_as_root_hint_only_when_not_root(tmp_path, monkeypatch, euid, hint):
    write(tmp_path / 'bad.log', avc(2, 2))
    (tmp_path / 'dir.log').mkdir()
    real_open = sources.os.open

    def deny(path, *args):
        if path.endswith('bad.log'):
            raise OSError(13, 'Permission denied')
        return real_open(path, *args)
    monkeypatch.setattr(sources.os, 'open', deny)
    monkeypatch.setattr(sources.os, 'geteuid', lambda: euid)
    paths = [str(tmp_path / 'bad.log'), str(tmp_path / 'dir.log')]
    with pytest.raises(sources.SourceError) as exc:
        sources.collect_files(paths, False, Collector())
    assert '%s: Permission denied' % paths[0] in exc.value.msg
    assert '%s: is a directory' % paths[1] in exc.value.msg
    assert ('run as root' in exc.value.msg) is hint
    with pytest.raises(sources.SourceError) as exc:
        sources.readable_files(paths[1:], False)
    assert 'run as root' not in exc.value.msg         # not a permission problem


def test_truncated_gzip_keeps_the_records_before_the_damage_and_reads_the_other_files(tmp_path):
    data = b''.join(avc(1000 + i, i, domain=b'd%d_t' % (i * 7919 % 10007)) for i in range(2000))
    with gzip.open(str(tmp_path / 'audit.log.2.gz'), 'wb') as f:
        f.write(data)
    with io.open(str(tmp_path / 'audit.log.2.gz'), 'rb') as f:
        compressed = f.read()
    write(tmp_path / 'audit.log.2.gz', compressed[:len(compressed) // 2])
    write(tmp_path / 'audit.log.1', avc(5000, 5000, b'write'))
    write(tmp_path / 'audit.log', avc(5001, 5001, b'open'))
    warnings = []
    c = Collector()
    entries = sources.collect_files([str(tmp_path / 'audit.log')], True, c, warn=warnings.append)
    assert 100 < c.records - 2 < 2000
    assert [os.path.basename(e['path']) for e in entries] == ['audit.log.2.gz', 'audit.log.1', 'audit.log']
    assert len(warnings) == 1 and warnings[0].startswith('%s is damaged' % (tmp_path / 'audit.log.2.gz'))
    # without a warn callback, damage is an error, never silent
    with pytest.raises(sources.SourceError) as exc:
        sources.scan_file(str(tmp_path / 'audit.log.2.gz'), Collector())
    assert 'is damaged' in exc.value.msg
