# SPDX-License-Identifier: GPL-3.0-or-later
"""Property/fuzz tests for the AVC parser: random and mutated records never raise.

Controller-side (Python 3.11, hypothesis). Malformed candidate lines must be counted in
``skipped``; every line that is produced must be one a real audit2allow would parse.
"""
import io
import os
import re

from hypothesis import HealthCheck, example, given, settings, strategies as st

from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_sources as sources
from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import Collector, parse_line, Malformed

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'avc')
SEEDS = []
for name in sorted(os.listdir(FIXTURES)):
    if name.endswith('.log'):
        with open(os.path.join(FIXTURES, name), 'rb') as f:
            SEEDS.extend(line for line in f.read().split(b'\n') if line)

LINE_RE = re.compile(
    r'^type=AVC msg=audit\(\d+\.\d+:\d+\): avc:  denied  \{ [a-z0-9_]+( [a-z0-9_]+)* \} for '
    r'( pid=\d+)?( comm=("[!#-~]*"|[0-9A-F]+))?( path=("[!#-~]*"|[0-9A-F]+))?( name=("[!#-~]*"|[0-9A-F]+))?'
    r'( (src|dest)=\d+)? scontext=\S+ tcontext=\S+ tclass=[a-z0-9_]+( permissive=[01])?$')

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_outputs(collector):
    denials = collector.result_denials()
    lines = collector.result_lines()
    assert len(denials) == len(lines)
    for d, line in zip(denials, lines):
        assert LINE_RE.match(line), line
        assert '\n' not in line
        assert d['count'] >= 1 and d['permissions'] == sorted(set(d['permissions']))
    skipped = collector.result_skipped()
    assert skipped['count'] >= len(skipped['samples']) and len(skipped['samples']) <= 5


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data):
    c = Collector()
    c.scan(data, final=True)
    check_outputs(c)


@st.composite
def mutated(draw):
    line = bytearray(draw(st.sampled_from(SEEDS)))
    for _step in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(['flip', 'cut', 'insert', 'delete', 'dup']))
        if not line:
            break
        pos = draw(st.integers(0, len(line) - 1))
        if op == 'flip':
            line[pos] = draw(st.integers(0, 255))
        elif op == 'cut':
            del line[pos:]
        elif op == 'insert':
            line[pos:pos] = draw(st.binary(min_size=1, max_size=20))
        elif op == 'delete':
            del line[pos:pos + draw(st.integers(1, 30))]
        else:
            line[pos:pos] = line[pos:pos + draw(st.integers(1, 40))]
    return bytes(line)


@FUZZ
@given(st.lists(mutated(), min_size=1, max_size=30))
def test_mutated_records_never_raise_and_failures_are_counted(lines):
    c = Collector()
    c.scan(b'\n'.join(lines) + b'\n', final=True)
    check_outputs(c)
    expected_skips = 0
    for line in lines:
        for part in line.split(b'\n'):
            # a denial cut before its context fields is counted as malformed too
            if b'context=' in part or re.search(br'avc:[ \t]+denied[ \t]+\{', part):
                try:
                    parse_line(part)
                except Malformed:
                    expected_skips += 1
    assert c.skipped == expected_skips


@FUZZ
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=40), st.integers(1, 4096))
def test_chunked_scan_equals_whole_scan(lines, chunk):
    data = b'\n'.join(lines) + b'\n'
    whole = Collector()
    whole.scan(data, final=True)
    pieces = Collector()
    pos = 0
    upto = 0
    while upto < len(data):
        upto = min(len(data), upto + chunk)
        pos = pieces.scan(data[:upto], pos, final=upto == len(data))
    assert pieces.result_lines() == whole.result_lines()
    assert [(d['source_type'], d['count'], d['permissions']) for d in pieces.result_denials()] == \
        [(d['source_type'], d['count'], d['permissions']) for d in whole.result_denials()]
    assert pieces.skipped == whole.skipped


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=40),
       st.binary(max_size=40))
def test_untrusted_fields_roundtrip_through_hex(text, raw):
    value = text.encode('utf-8') + raw
    hexed = value.hex().upper()
    if not value:
        return
    line = ('type=AVC msg=audit(1.5:2): avc:  denied  { read } for  pid=3 comm=%s name=%s '
            'scontext=system_u:system_r:a_t:s0 tcontext=system_u:object_r:b_t:s0 tclass=file permissive=0' % (hexed, hexed))
    c = Collector()
    c.scan(line.encode('ascii'), final=True)
    (d,) = c.result_denials()
    (out,) = c.result_lines()
    assert LINE_RE.match(out)
    # decoded text re-encodes to the same bytes when it was valid UTF-8
    try:
        assert d['comm'] == value.decode('utf-8')
    except UnicodeDecodeError:
        assert '\\x' in d['comm']
    second = Collector()
    second.scan(out.encode('ascii'), final=True)
    assert second.result_denials()[0]['comm'] == d['comm']


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(SEEDS), mutated()), min_size=1, max_size=40))
def test_fast_path_gives_the_same_result_as_full_parsing(lines):
    data = b'\n'.join(lines) + b'\n'
    fast = Collector()
    fast.scan(data, final=True)
    slow = Collector()
    slow._fast_path = lambda line: None      # every line through parse_line
    slow.scan(data, final=True)
    assert fast.result_denials() == slow.result_denials()
    assert fast.result_lines() == slow.result_lines()
    assert (fast.records, fast.skipped, fast.last_event) == (slow.records, slow.skipped, slow.last_event)


# found by this test in a `make test` run: the denial's exe came from the second event when the first one's SYSCALL
# record fell in a later chunk (one buffer: from the first event)
CHUNKED_EXE = [
    b'type=AVC msg=audit(1764115801.500:4300): avc:  denied  { read } for  pid=4242 comm=61766320FF74657374 '
    b'name=736563726574FE2E747874 dev="vda" ino=99 scontext=system_u:system_r:ntpd_t:s0 '
    b'tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0',
    b'type=AVC msg=audit(1764115830.456:4250): avc:  denied  { open } for  pid=815 comm="avctest" '
    b'path="/root/secret.txt" dev="vda" ino=1234 scontext=system_u:system_r:ntpd_t:s0 '
    b'tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0',
    b'type=SYSCALL msg=audit(1764115830.456:4250): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffc '
    b'a2=0 a3=0 items=1 ppid=1 pid=815 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 '
    b'tty=(none) ses=4294967295 comm="avctest" exe="/usr/local/sbin/avctest" subj=system_u:system_r:ntpd_t:s0 '
    b'key=(null)',
    b'type=SYSCALL msg=audit(1764115801.500:4300): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=55d0 '
    b'a2=0 a3=0 items=1 ppid=1 pid=4242 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 '
    b'tty=(none) ses=4294967295 comm=61766320FF74657374 exe=2F7573722F6C6F63616C2F7362696E2F61766320FF74657374 '
    b'subj=system_u:system_r:ntpd_t:s0 key=(null)']


@FUZZ
@example(lines=CHUNKED_EXE, chunk=366)
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=60), st.integers(16, 3000))
def test_streamed_chunks_equal_one_buffer_including_exe(lines, chunk):
    data = b'\n'.join(lines) + b'\n'
    whole = Collector()
    whole.scan(data, final=True)
    stream = io.BytesIO(data)
    saved = sources.READ_CHUNK
    sources.READ_CHUNK = chunk
    try:
        streamed = Collector()
        end = sources.scan_chunks(stream.read, streamed, 0)
    finally:
        sources.READ_CHUNK = saved
    long_lines = sum(1 for line in lines if len(line) >= chunk)
    if long_lines == 0:
        assert end == len(data)
        assert streamed.result_denials() == whole.result_denials()   # exe from SYSCALL records too
        assert streamed.result_lines() == whole.result_lines()
        assert streamed.skipped == whole.skipped
