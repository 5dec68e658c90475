# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: parse SELinux AVC denials out of audit records, in any log format.

Pure functions and one accumulator (:class:`Collector`); no AnsibleModule, no I/O.
The collector is fed byte buffers (``scan``) or command output (``feed_lines``); it
finds candidate lines with a byte-level ``find`` (no regex on ordinary lines),
parses only those, and keeps one entry per unique (source type, target type,
class), so memory grows with the number of unique denials, not with the log.

Formats understood: raw audit.log (``type=AVC msg=audit(...)``), ``node=`` prefix,
auditd ENRICHED fields after a 0x1d byte, ``ausearch -i`` interpreted output,
syslog/journal/dmesg (``type=1400``/``1107``/``1401``, ``audit[PID]: AVC``),
USER_AVC with the denial nested in ``msg='...'``, hex-encoded untrusted fields.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import calendar
import re
import time

AVC_NEEDLE = b'avc:'
ERR_NEEDLE = b'SELINUX_ERR'
SYSLOG_ERR_NEEDLE = b'type=1401'
CONTEXT_NEEDLE = b'context='
# Every whole record of interest carries a context field (scontext=, tcontext=, invalid_context=,
# oldcontext=): ONE pass of bytes.find for this needle finds AVC, USER_AVC and SELINUX_ERR
# lines in every format. A denial cut before its first context field has none: a second
# pass (:func:`_cut_denial_spans`) finds those lines so that they are counted as skipped
# instead of vanishing. It looks for PERMS_NEEDLE, a single byte that bytes.find finds with
# memchr (under 10 % of a scan; a pass for b'avc:' costs 40 %), so a denial cut before the
# "{" of its permission list is not seen.
FILE_NEEDLES = (CONTEXT_NEEDLE,)
PERMS_NEEDLE = b'{'
ALL_NEEDLES = (AVC_NEEDLE, ERR_NEEDLE, SYSLOG_ERR_NEEDLE)

MAX_LINE = 65536          # longer candidate lines are counted as skipped
MAX_SAMPLES = 5
SAMPLE_LEN = 200
_LAST = float('inf')       # the rank of an exe that no SYSCALL record gave
EXE_WINDOW = 8192         # bytes searched around an AVC for its SYSCALL record
FAST_CACHE_MAX = 20000    # bound of the "seen this denial text" cache
MAX_EXE_TRIES = 3         # events of one denial searched for a SYSCALL exe before giving up

UNTRUSTED_FIELDS = ('comm', 'name', 'path', 'exe')

_HDR_RAW = re.compile(br'audit\((\d+)\.(\d+):(\d+)\)')
_HDR_INTERP = re.compile(br'audit\((\d{1,4})([/.-])(\d{1,2})[/.-](\d{1,4}) (\d{1,2}):(\d\d):(\d\d)\.(\d+):(\d+)\)')
_NODE = re.compile(br'(?:^|\s)node=(\S+)')
_TYPE_NAME = re.compile(br'(?:^|\s)type=([A-Z][A-Z_]*)\s+msg=audit\(')
_TYPE_NUM = re.compile(br'(?:^|\s)type=(\d+)\s+audit\(')
_JOURNAL_TYPE = re.compile(br'audit\[\d+\]:\s+([A-Z][A-Z_]*)\s')
_JOURNAL_CAT_TYPE = re.compile(br'^\s*([A-Z][A-Z_]*)\s+(?:avc:|op=|security_)')
_AVC = re.compile(br'avc:\s+(denied|granted)\s+\{([^}]*)\}\s*(?:for\s)?')
_AVC_DENIED = re.compile(br'avc:[ \t]+denied[ \t]+\{')
_TCLASS_LAST = re.compile(br'(?:^|\s)tclass=\S*\s*$')
_KEY = re.compile(br'(?:^|\s)([A-Za-z_][A-Za-z0-9_.-]*)=')
_HEX = re.compile(br'^(?:[0-9A-Fa-f]{2})+$')
_EXE = re.compile(br'\sexe=(?:"[^"]*"|\S+)')
_RAW_FIELD = re.compile(br'(?<![^\s\'])([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|[^\s"\']*)')
_CTX = re.compile(r'^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.,:-]+)?$')
_WORD = re.compile(r'^[a-z0-9_]+$')
_PERMS = re.compile(br'^(?: [a-z0-9_]+)+ $')
_UNIX_PREFIX = re.compile(br'^\s*(\d{9,11})\.(\d+)\s')
_ISO_PREFIX = re.compile(br'^\s*(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,]\d+)?(Z|[+-]\d\d:?\d\d)?\s')
_BSD_PREFIX = re.compile(br'^\s*([A-Z][a-z]{2})\s+(\d{1,2}) (\d\d):(\d\d):(\d\d)\s')
_MONTHS = dict((m, i + 1) for i, m in enumerate(
    (b'Jan', b'Feb', b'Mar', b'Apr', b'May', b'Jun', b'Jul', b'Aug', b'Sep', b'Oct', b'Nov', b'Dec')))
_NUM_TYPES = {b'1400': 'AVC', b'1107': 'USER_AVC', b'1401': 'SELINUX_ERR', b'1420': 'USER_SELINUX_ERR'}


# Object classes of the kernel's secclass_map (security/selinux/include/classmap.h, every class
# since 2.6 included). Kernels that do not log permissive= end an AVC record with tclass; they
# only ever log these classes (userspace classes come in USER_AVC records, closed by a quote).
KERNEL_CLASSES = frozenset((
    'security', 'process', 'process2', 'system', 'capability', 'filesystem', 'file', 'dir', 'fd',
    'lnk_file', 'chr_file', 'blk_file', 'sock_file', 'fifo_file', 'socket', 'tcp_socket', 'udp_socket',
    'rawip_socket', 'node', 'netif', 'netlink_socket', 'packet_socket', 'key_socket', 'unix_stream_socket',
    'unix_dgram_socket', 'sem', 'msg', 'msgq', 'shm', 'ipc', 'netlink_route_socket', 'netlink_tcpdiag_socket',
    'netlink_nflog_socket', 'netlink_xfrm_socket', 'netlink_selinux_socket', 'netlink_iscsi_socket',
    'netlink_audit_socket', 'netlink_fib_lookup_socket', 'netlink_connector_socket', 'netlink_netfilter_socket',
    'netlink_dnrt_socket', 'netlink_ip6fw_socket', 'netlink_firewall_socket', 'association',
    'netlink_kobject_uevent_socket', 'netlink_generic_socket', 'netlink_scsitransport_socket',
    'netlink_rdma_socket', 'netlink_crypto_socket', 'appletalk_socket', 'packet', 'key', 'dccp_socket',
    'memprotect', 'peer', 'capability2', 'kernel_service', 'tun_socket', 'binder', 'cap_userns', 'cap2_userns',
    'sctp_socket', 'icmp_socket', 'ax25_socket', 'ipx_socket', 'netrom_socket', 'atmpvc_socket', 'x25_socket',
    'rose_socket', 'decnet_socket', 'atmsvc_socket', 'rds_socket', 'irda_socket', 'pppox_socket', 'llc_socket',
    'can_socket', 'tipc_socket', 'bluetooth_socket', 'iucv_socket', 'rxrpc_socket', 'isdn_socket',
    'phonet_socket', 'ieee802154_socket', 'caif_socket', 'alg_socket', 'nfc_socket', 'vsock_socket',
    'kcm_socket', 'qipcrtr_socket', 'smc_socket', 'infiniband_pkey', 'infiniband_endport', 'bpf', 'xdp_socket',
    'mctp_socket', 'perf_event', 'lockdown', 'anon_inode', 'io_uring', 'user_namespace',
))


class Malformed(ValueError):
    """A line that looks like an SELinux record but cannot be parsed."""


def to_text_escaped(data):
    """Decode UTF-8 bytes; bytes that are not valid UTF-8 are kept as ``\\xNN`` escapes."""
    out = []
    while data:
        try:
            out.append(data.decode('utf-8'))
            break
        except UnicodeDecodeError as e:
            out.append(data[:e.start].decode('utf-8'))
            out.extend('\\x%02x' % b for b in bytearray(data[e.start:e.end]))
            data = data[e.end:]
    return u''.join(out)


def encode_untrusted(raw):
    """Encode a field like the kernel does: quoted when safe, else upper-case hex."""
    for b in bytearray(raw):
        if b <= 0x20 or b >= 0x7f or b == 0x22:
            return binascii.hexlify(raw).decode('ascii').upper()
    return u'"%s"' % raw.decode('ascii')


def iso_utc(ts):
    """ISO 8601 UTC text of a record's timestamp; None when it has none or one no calendar can hold (a
    damaged record: audit(171487091714870999.370:1) made gmtime raise and sank the whole collection)."""
    if ts is None:
        return None
    try:
        return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(ts))
    except (ValueError, OverflowError, OSError, IOError):
        return None


# socket classes whose AVC names a port: src= for name_bind, dest= for name_connect (dbus USER_AVCs use dest= for a
# bus name, never a number)
PORT_PROTOCOLS = {'tcp_socket': 'tcp', 'udp_socket': 'udp', 'sctp_socket': 'sctp', 'dccp_socket': 'dccp'}
PORT_CLASSES = frozenset(PORT_PROTOCOLS)
PORT_FIELDS = ('src', 'dest')
AVC_FIELDS = frozenset(('scontext', 'tcontext', 'tclass', 'permissive', 'pid', 'ino') + UNTRUSTED_FIELDS + PORT_FIELDS)
ERR_FIELDS = frozenset(('op', 'invalid_context', 'scontext', 'tcontext', 'tclass', 'oldcontext', 'newcontext', 'taskcontext'))


def parse_fields(text, interpreted=False, wanted=None):
    """Split ``key=value`` fields; return dict of key -> (raw bytes, decoded text or None).

    Values extend to the next `` key=`` so unquoted interpreted values may contain spaces.
    Quoted values are plain text; unquoted values of untrusted fields are hex (raw format).
    The first occurrence of a key wins; with ``wanted`` only those keys are decoded.
    """
    fields = {}
    if not interpreted:
        # raw records never have spaces inside a value (the kernel hex-encodes such values)
        for m in _RAW_FIELD.finditer(text):
            key = m.group(1).decode('ascii')
            if key in fields or (wanted is not None and key not in wanted):
                continue
            fields[key] = _field_value(key, m.group(2), False)
        return fields
    matches = list(_KEY.finditer(text))
    for idx, m in enumerate(matches):
        key = m.group(1).decode('ascii')
        if key in fields or (wanted is not None and key not in wanted):
            continue
        stop = matches[idx + 1].start() if idx + 1 < len(matches) else len(text)
        fields[key] = _field_value(key, text[m.end():stop].strip(), True)
    return fields


def _field_value(key, value, interpreted):
    """(raw bytes, text or None) of one field value as written in the record."""
    if value in (b'?', b'(null)', b'', b'""'):
        return value, None
    if value.startswith(b'"'):
        close = value.find(b'"', 1)
        raw = value[1:close] if close > 0 else value[1:]
    elif key in UNTRUSTED_FIELDS and not interpreted and _HEX.match(value):
        raw = binascii.unhexlify(value)
    else:
        raw = value
    return raw, to_text_escaped(raw)


def _local_to_epoch(year, month, day, hour, minute, second):
    return time.mktime((year, month, day, hour, minute, second, 0, 0, -1))


def parse_header(line):
    """Return (ts float or None, ms text, serial int or None, event id bytes or None, interpreted)."""
    m = _HDR_RAW.search(line)
    if m:
        # float() of the same text as the fast path, so checkpoint comparisons are exact
        return (float(m.group(1) + b'.' + m.group(2)), m.group(2).decode('ascii'), int(m.group(3)),
                m.group(0), False)
    m = _HDR_INTERP.search(line)
    if m:
        a, sep, b, c = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        if sep == b'-':
            year, month, day = a, b, c          # ISO locale: YYYY-MM-DD
        elif sep == b'.':
            day, month, year = a, b, c          # e.g. de_DE: DD.MM.YYYY
        else:
            month, day, year = a, b, c          # C / en_US: MM/DD/YY(YY)
        if year < 100:
            year += 2000
        hour, minute, second = int(m.group(5)), int(m.group(6)), int(m.group(7))
        if not ((1970 <= year or (year, month, day) == (1969, 12, 31)) and 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 62):
            raise Malformed('invalid interpreted date')
        ms = m.group(8)
        ts = _local_to_epoch(year, month, day, hour, minute, second) + int(ms) / (10.0 ** len(ms))
        # a time near the epoch (a host whose clock was not set yet), printed by ausearch -i in a zone west of UTC,
        # is a date of 31 December 1969: the record is real, its time is the epoch
        return max(ts, 0.0), ms.decode('ascii'), int(m.group(9)), m.group(0), True
    return _prefix_time(line) + (None, None, False)


def _prefix_time(line):
    """Time from a syslog/journal prefix when the record has no audit() header."""
    ts, ms = _prefix_time_any(line)
    if ts is not None and ts < 0:
        return None, '000'
    return ts, ms


def _prefix_time_any(line):
    m = _UNIX_PREFIX.match(line)
    if m:
        ms = m.group(2)[:3]
        return int(m.group(1)) + int(ms) / (10.0 ** len(ms)), ms.decode('ascii')
    m = _ISO_PREFIX.match(line)
    if m:
        parts = [int(m.group(i)) for i in range(1, 7)]
        zone = m.group(7)
        try:
            if zone is None:
                ts = _local_to_epoch(*parts)
            else:
                ts = calendar.timegm(tuple(parts) + (0, 0, 0))
                if zone != b'Z':
                    sign = -1 if zone[:1] == b'-' else 1
                    digits = zone[1:].replace(b':', b'')
                    ts -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        except (OverflowError, ValueError):
            return None, '000'
        return float(ts), '000'
    m = _BSD_PREFIX.match(line)
    if m and m.group(1) in _MONTHS:
        # Classic syslog dates have no year: the current one, or the previous one when
        # that would put the record more than a day in the future.
        now = time.time()
        year = time.localtime(now).tm_year
        try:
            ts = _local_to_epoch(year, _MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)),
                                 int(m.group(4)), int(m.group(5)))
            if ts > now + 86400:
                ts = _local_to_epoch(year - 1, _MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)),
                                     int(m.group(4)), int(m.group(5)))
        except (OverflowError, ValueError):
            return None, '000'
        return ts, '000'
    return None, '000'


def record_type(line, avc_pos=None):
    m = _TYPE_NAME.search(line)
    if m:
        return m.group(1).decode('ascii')
    m = _TYPE_NUM.search(line)
    if m:
        return _NUM_TYPES.get(m.group(1), m.group(1).decode('ascii'))
    m = _JOURNAL_TYPE.search(line)
    if m:
        return m.group(1).decode('ascii')
    m = _JOURNAL_CAT_TYPE.search(line)
    if m:
        return m.group(1).decode('ascii')
    if avc_pos is not None and line[max(0, avc_pos - 5):avc_pos] == b"msg='":
        return 'USER_AVC'
    return None


def _context(fields, key):
    value = fields.get(key, (None, None))[1]
    if value is None or not _CTX.match(value):
        raise Malformed('missing or invalid %s' % key)
    return value


def parse_line(line):
    """Parse one line.

    Returns ``None`` for lines that carry no denial and no error (granted, notices,
    policy loads, unrelated lines), ``('denial', dict)`` or ``('error', dict)``.
    Raises :class:`Malformed` for an SELinux record that cannot be parsed.
    """
    line = line.rstrip(b'\r\n')
    if len(line) > MAX_LINE:
        raise Malformed('line longer than %d bytes' % MAX_LINE)
    enriched = line.find(b'\x1d')
    whole = enriched >= 0          # auditd wrote its ENRICHED part after the record: nothing was cut
    if whole:
        line = line[:enriched]
    avc_pos = line.find(AVC_NEEDLE)
    if avc_pos < 0:
        if ERR_NEEDLE in line or SYSLOG_ERR_NEEDLE in line:
            return _parse_error(line)
        return None
    m = _AVC.match(line, avc_pos)
    if m is None:
        _refuse_unmatched(line[avc_pos + 4:].lstrip())
        return None
    if m.group(1) == b'granted':
        return None
    return 'denial', _denial(line, avc_pos, m, whole)


def _refuse_unmatched(rest):
    """An ``avc:`` line the record pattern did not match: a notice (None) or a damaged denial (Malformed)."""
    if rest.startswith((b'received', b'op=')):
        return
    if rest.startswith((b'denied', b'granted')):
        raise Malformed('truncated or invalid permission list')
    raise Malformed('avc record without denied/granted')


def _body(line, avc_pos, m, whole):
    """``(record type, text after the permission list, whether the record visibly ends)``."""
    rtype = record_type(line, avc_pos) or 'AVC'
    body = line[m.end():]
    if rtype in ('USER_AVC', '1107') or line[max(0, avc_pos - 5):avc_pos] == b"msg='":
        close = body.rfind(b"'")
        if close >= 0:
            return 'USER_AVC', body[:close], True   # the quote closing msg='...' was written: nothing was cut
        return 'USER_AVC', body, whole
    return 'AVC', body, whole


def _tclass(fields, body, rtype, whole):
    tclass = fields.get('tclass', (None, None))[1]
    if tclass is None or not _WORD.match(tclass):
        raise Malformed('missing or invalid tclass')
    if not whole and _TCLASS_LAST.search(body) and (rtype == 'USER_AVC' or tclass not in KERNEL_CLASSES):
        # A record cut inside tclass= (tclass=fi of tclass=file) would become a denial of a class
        # that does not exist. The rule: tclass is trusted when something follows it (permissive=
        # on current kernels), when the record visibly ends (the quote closing a USER_AVC's
        # msg='...', auditd's ENRICHED separator), or when it is a kernel class: older kernels end
        # a complete AVC with tclass, and only with those classes. A cut that leaves a whole class
        # name (tclass=file of tclass=filesystem) cannot be told from a whole record.
        raise Malformed('tclass=%s ends the record: cut inside tclass?' % tclass)
    return tclass


def _denial(line, avc_pos, m, whole):
    """The record dict of one denial (``m``: the match of the AVC pattern at ``avc_pos``)."""
    rtype, body, whole = _body(line, avc_pos, m, whole)
    ts, ms, serial, event, interpreted = parse_header(line)
    perms = m.group(2).decode('ascii', 'replace').split()
    if not perms or not all(_WORD.match(p) for p in perms):
        raise Malformed('invalid permission list')
    fields = parse_fields(body, interpreted, AVC_FIELDS)
    scontext = _context(fields, 'scontext')
    tcontext = _context(fields, 'tcontext')
    tclass = _tclass(fields, body, rtype, whole)
    permissive = fields.get('permissive', (None, None))[1]
    nm = _NODE.search(line[:avc_pos])
    pid = fields.get('pid', (None, None))[1]
    if pid is None and rtype == 'USER_AVC':
        pid = parse_fields(line[:avc_pos], interpreted, ('pid',)).get('pid', (None, None))[1]
    rec = {
        'record_type': rtype, 'scontext': scontext, 'tcontext': tcontext,
        'source_type': scontext.split(':')[2], 'target_type': tcontext.split(':')[2],
        'tclass': tclass, 'permissions': perms,
        'permissive': None if permissive is None else permissive.strip() == u'1',
        'node': to_text_escaped(nm.group(1)) if nm else None,
        'ts': ts, 'ms': ms, 'serial': serial, 'event': event,
        'pid': pid if pid is not None and pid.isdigit() else None,
    }
    ino = fields.get('ino', (None, None))[1]
    rec['ino'] = ino if ino is not None and ino.isdigit() else None
    for key in UNTRUSTED_FIELDS:
        raw, text = fields.get(key, (None, None))
        rec[key] = text
        rec[key + '_raw'] = raw if text is not None else None
    rec['port'], rec['port_field'] = _port(fields, tclass)
    return rec


def _port(fields, tclass):
    """``(port number, 'src' or 'dest')`` of a socket denial that names one, else ``(None, None)``."""
    if tclass in PORT_CLASSES:
        for key in PORT_FIELDS:
            text = fields.get(key, (None, None))[1]
            if text is not None and text.isdigit() and 0 < int(text) < 65536:
                return int(text), key
    return None, None


def _parse_error(line):
    rtype = record_type(line)
    if rtype not in ('SELINUX_ERR', 'USER_SELINUX_ERR'):
        return None
    ts, ms, serial, event, interpreted = parse_header(line)
    start = 0
    if event is not None:
        start = line.find(event) + len(event)
        while line[start:start + 1] in (b':', b' '):
            start += 1
    else:
        jm = _JOURNAL_TYPE.search(line) or _JOURNAL_CAT_TYPE.search(line)
        if jm:
            start = jm.end(1)
    text = line[start:].strip()
    fields = parse_fields(text, interpreted, ERR_FIELDS)
    result = {'record_type': rtype, 'ts': ts, 'serial': serial,
              'text': to_text_escaped(text[:SAMPLE_LEN * 2])}
    for key in ('op', 'invalid_context', 'scontext', 'tcontext', 'tclass', 'oldcontext', 'newcontext', 'taskcontext'):
        result[key] = fields.get(key, (None, None))[1]
    nm = _NODE.search(line)
    result['node'] = to_text_escaped(nm.group(1)) if nm else None
    return 'error', result


class Collector(object):
    """Accumulates unique denials and errors from lines or byte buffers.

    :param since: epoch; records strictly older are ignored.
    :param after: (ts, serial); records at or before this event are ignored (checkpoint).
    :param domains/exclude_domains/comms/tclasses: filters (lists or None).
    """

    def __init__(self, since=None, after=None, domains=None, exclude_domains=None, comms=None, tclasses=None,
                 per_object=False):
        # per_object: one entry per (source, target, class, object name): a remedy (a relabel) is per object, and
        # two files of one type denied to one domain must not share the first one's path
        self.per_object = per_object
        self.since = since
        self.after = tuple(after) if after else None
        self.domains = set(domains) if domains else None
        self.exclude_domains = set(exclude_domains or ())
        self.comms = set(comms) if comms else None
        self.tclasses = set(tclasses) if tclasses else None
        self.denials = {}
        self.order = []
        self.errors = {}
        self.error_order = []
        self.records = 0
        self.skipped = 0
        self.samples = []
        self.last_event = None
        self._fast = {}
        self._perm_texts = set()
        self._pending = {}
        self._pending_paths = {}      # event -> (denial, inode): PATH records not yet in the buffer
        self._recent = b''
        self.dedupe = False
        self._seen = set()

    # -- results ---------------------------------------------------------
    def skip(self, line, reason):
        self.skipped += 1
        if len(self.samples) < MAX_SAMPLES:
            sample = to_text_escaped(line[:SAMPLE_LEN].rstrip(b'\r\n'))
            self.samples.append(u'%s (%s)' % (sample, reason))

    def _passes_time(self, ts, serial):
        if ts is None:
            return True
        if self.since is not None and ts < self.since:
            return False
        if self.after is not None and (ts, serial or 0) <= self.after:
            return False
        return True

    def _mark(self, ts, serial):
        if ts is None:
            return
        event = (ts, serial or 0)
        if self.last_event is None or event > self.last_event:
            self.last_event = event

    def _wanted(self, rec):
        if self.domains is not None and rec['source_type'] not in self.domains:
            return False
        if rec['source_type'] in self.exclude_domains:
            return False
        if self.tclasses is not None and rec['tclass'] not in self.tclasses:
            return False
        return True

    # -- feeding ---------------------------------------------------------
    def feed_lines(self, data):
        """Feed a whole bytes blob (command output): scan with exe correlation."""
        self.scan(data, final=True, needles=ALL_NEEDLES + (CONTEXT_NEEDLE,))

    def scan(self, buf, start=0, final=False, needles=FILE_NEEDLES):
        """Process the complete lines of ``buf[start:]``; return the offset after the last one.

        With ``final`` a last line without newline is processed too.
        """
        end = len(buf) if final else buf.rfind(b'\n', start) + 1
        if end <= start:
            return start
        if self._pending:
            self._resolve_pending(buf, start, end)
        if self._pending_paths:
            self._resolve_pending_paths(buf, start, end)
        if len(needles) == 1:
            # the hot loop of a file scan: one C-level find per candidate line
            spans = _spans(buf, needles[0], start, end)
            cut = _cut_denial_spans(buf, start, end)
            if cut:
                spans = sorted(list(spans) + cut)       # rare: keep the lines in file order
            candidate = self._candidate
            for s, e in spans:
                candidate(buf[s:e], buf, s, e, end, final)
        else:
            for s, e in sorted(set(span for needle in needles for span in _spans(buf, needle, start, end))):
                self._candidate(buf[s:e], buf, s, e, end, final)
        # keep the last bytes seen: ausearch -i prints SYSCALL before AVC, maybe in the previous chunk
        recent = buf[max(start, end - EXE_WINDOW):end]
        if len(recent) < EXE_WINDOW:
            recent = (self._recent + recent)[-EXE_WINDOW:]
        self._recent = recent
        return end

    def _duplicate(self, line):
        """True when the same denial text was already seen within a second (journal: kernel + audit copies)."""
        i = line.find(AVC_NEEDLE)
        if i < 0:
            return False
        try:
            ts = parse_header(line)[0]
        except Malformed:
            return False
        if ts is None:
            return False
        body = line[i:].rstrip(b'\r\n')
        second = int(ts)
        if (body, second) in self._seen or (body, second - 1) in self._seen or (body, second + 1) in self._seen:
            return True
        self._seen.add((body, second))
        return False

    def _candidate(self, line, buf, s, e, end, final):
        """Handle one candidate line ``buf[s:e]`` (already sliced as ``line``)."""
        if self.dedupe and self._duplicate(line):
            return
        key = self._fast_path(line)
        if key is False:
            return
        if key is None:
            try:
                parsed = parse_line(line)
            except Malformed as exc:
                self.skip(line, str(exc))
                return
            except (ValueError, OverflowError, UnicodeError, IndexError) as exc:
                self.skip(line, 'unparsable: %s' % exc.__class__.__name__)
                return
            if parsed is None:
                return
            kind, rec = parsed
            self._mark(rec['ts'], rec['serial'])
            if not self._passes_time(rec['ts'], rec['serial']):
                return
            if kind == 'error':
                self._add_error(rec)
                return
            if not self._wanted(rec):
                self._remember(line, False)
                return
            if self.comms is not None and rec['comm'] not in self.comms:
                return
            key = self._add(rec)
            self._remember(line, key)
            if rec['ino'] is not None and rec['event'] is not None and b' ' not in rec['event']:
                self._find_path(self.denials[key], rec, buf, e, end, final)
        d = self.denials[key]
        if d['exe'] is None and d['_event'] is not None:
            self._find_exe(d, buf, s, e, end, final)

    def _fast_path(self, line):
        """Cheap merge for a raw-format denial text already seen.

        Returns the denial key, False when the record is filtered out, or None when
        a full parse is needed (anything unusual falls back to :func:`parse_line`).
        """
        if self.comms is not None or self.per_object:
            return None
        cut = line.find(b' scontext=')
        if cut < 0:
            return None
        cached = self._fast.get(line[cut:])
        if cached is None or len(line) > MAX_LINE or line.find(b'\x1d', 0, cut) >= 0:
            return None
        hs = line.find(b'audit(')
        ps = line.find(AVC_NEEDLE)
        if hs < 0 or ps < hs or not line.startswith(b'avc:  denied  {', ps):
            return None
        m = _HDR_RAW.match(line, hs)
        if m is None:
            return None
        ts = float(m.group(1) + b'.' + m.group(2))
        serial = int(m.group(3))
        pe = line.find(b'}', ps)
        if pe < 0:
            return None
        perms = line[ps + 15:pe]
        if perms not in self._perm_texts:
            if not _PERMS.match(perms):
                return None
            self._perm_texts.add(perms)
        event = (ts, serial)
        if self.last_event is None or event > self.last_event:
            self.last_event = event
        if (self.since is not None and ts < self.since) or (self.after is not None and event <= self.after):
            return False
        if cached is False:
            return False
        d = self.denials[cached]
        for token in d['_missing']:
            if token in line:
                return None
        self._merge_seen(d, perms, ts, m)
        return cached

    def _merge_seen(self, d, perms, ts, header):
        """Count one more record of the known denial ``d`` (its permission text, time and audit header)."""
        d['_bperms'].add(perms)
        d['count'] += 1
        self.records += 1
        if d['_first'] is None or ts < d['_first']:
            d['_first'] = ts
        if d['_last'] is None or ts > d['_last']:
            d['_last'] = ts
        if d['exe'] is None:
            d['_event'] = header.group(0)

    def _remember(self, line, key):
        if len(self._fast) >= FAST_CACHE_MAX:
            self._fast.clear()
        cut = line.find(b' scontext=')
        if cut >= 0 and b"msg='" not in line:
            self._fast[line[cut:]] = key

    def _add(self, rec):
        key = (rec['source_type'], rec['target_type'], rec['tclass'])
        if self.per_object:
            # the object: its inode where the record names one (an { open } record says path=, a { read } record of
            # the same file name=: one object), else its path or name
            key += (rec['ino'] or rec['path'] or rec['name'],)
        self.records += 1
        ts = rec['ts']
        d = self.denials.get(key)
        if d is None:
            d = dict(rec)
            d['_perms'] = set(rec['permissions'])
            d['_bperms'] = set()
            d['_missing'] = _missing_tokens(d)
            d['count'] = 1
            d['_first'] = d['_last'] = ts
            d['_event'] = rec['event']
            self.denials[key] = d
            self.order.append(key)
            return key
        d['_perms'].update(rec['permissions'])
        d['count'] += 1
        if ts is not None:
            if d['_first'] is None or ts < d['_first']:
                d['_first'] = ts
            if d['_last'] is None or ts > d['_last']:
                d['_last'] = ts
        if rec['permissive'] is False:
            d['permissive'] = False
        elif d['permissive'] is None:
            d['permissive'] = rec['permissive']
        for field in UNTRUSTED_FIELDS:
            if d[field] is None and rec[field] is not None:
                d[field] = rec[field]
                d[field + '_raw'] = rec[field + '_raw']
        if d['port'] is None and rec['port'] is not None:
            d['port'], d['port_field'] = rec['port'], rec['port_field']
        d['_missing'] = _missing_tokens(d)
        d['_event'] = rec['event']
        return key

    def _add_error(self, rec):
        key = (rec['record_type'], rec['op'], rec['invalid_context'], rec['scontext'], rec['tcontext'], rec['tclass'])
        err = self.errors.get(key)
        if err is None:
            if rec['op'] is None and rec['scontext'] is None:
                key = key + (rec['text'],)
                err = self.errors.get(key)
        if err is None:
            err = dict(rec)
            err['count'] = 0
            err['_first'] = err['_last'] = rec['ts']
            self.errors[key] = err
            self.error_order.append(key)
        err['count'] += 1
        ts = rec['ts']
        if ts is not None:
            if err['_first'] is None or ts < err['_first']:
                err['_first'] = ts
            if err['_last'] is None or ts > err['_last']:
                err['_last'] = ts

    # -- exe from the SYSCALL record of the same event -------------------
    def _find_exe(self, d, buf, s, e, end, final):
        d['_exe_tries'] = d.get('_exe_tries', 0) + 1
        if d['_exe_tries'] > MAX_EXE_TRIES:
            return
        event, rank = d['_event'], self.records
        exe = _syscall_exe(buf, event, e, min(end, e + EXE_WINDOW))
        if exe is None and b' ' in event:
            # ausearch -i prints an event's SYSCALL record before its AVC records
            exe = _syscall_exe(buf, event, max(0, s - EXE_WINDOW), s) or \
                _syscall_exe(self._recent, event, 0, len(self._recent))
        if exe is not None:
            _set_exe(d, exe, rank)
        elif not final and e + EXE_WINDOW > end:
            self._pending[event] = (d, rank)

    def _find_path(self, d, rec, buf, e, end, final):
        """The full path of the object from the PATH record of the same event whose inode is the AVC's ``ino``
        (raw logs, where PATH follows the AVC; written only when syscall auditing is on, e.g. one watch rule), joined
        to the event's CWD when relative. Never guessed: no PATH record with that inode, no path."""
        if d['path'] is not None:
            return
        if not _set_path(d, _event_path(buf, rec['event'], rec['ino'], e, min(end, e + EXE_WINDOW))) \
                and not final and e + EXE_WINDOW > end:
            self._pending_paths[rec['event']] = (d, rec['ino'])

    def _resolve_pending_paths(self, buf, start, end):
        """Look for the PATH records of AVCs seen at the end of the previous buffer."""
        pending, self._pending_paths = self._pending_paths, {}
        for event, (d, ino) in pending.items():
            if d['path'] is not None:
                continue
            if not _set_path(d, _event_path(buf, event, ino, start, min(end, start + EXE_WINDOW))) \
                    and end - start < EXE_WINDOW:
                self._pending_paths[event] = (d, ino)

    def _resolve_pending(self, buf, start, end):
        """Look for the SYSCALL of AVCs seen at the end of the previous buffer."""
        pending, self._pending = self._pending, {}
        for event, (d, rank) in pending.items():
            if d['exe'] is None or d.get('_exe_rank', _LAST) > rank:
                exe = _syscall_exe(buf, event, start, min(end, start + EXE_WINDOW))
                if exe is not None:
                    _set_exe(d, exe, rank)
                elif end - start < EXE_WINDOW:
                    self._pending[event] = (d, rank)      # a short buffer (one joined line): look on

    # -- output ----------------------------------------------------------
    def result_denials(self):
        out = []
        for key in self.order:
            d = self.denials[key]
            out.append({
                'source_type': d['source_type'],
                'target_type': d['target_type'],
                'tclass': d['tclass'],
                'permissions': sorted(all_permissions(d)),
                'scontext': d['scontext'],
                'tcontext': d['tcontext'],
                'comm': d['comm'],
                'exe': d['exe'],
                'path': d['path'],
                'name': d['name'],
                'port': d.get('port'),
                'count': d['count'],
                'first_seen': iso_utc(d['_first']),
                'last_seen': iso_utc(d['_last']),
                'permissive': d['permissive'],
                'record_type': d['record_type'],
                'node': d['node'],
            })
        return out

    def result_lines(self, keep=None, widen=False):
        """One canonical line per denial, in order; ``keep``: only the denials at these indexes. ``widen``: each line
        with every permission that its (source, target, class) was denied on any object of the capture - the kernel
        logs a permission once per access vector cache entry, which is per (domain, type, class) and not per object,
        so the second file of a type read in permissive mode shows only what the first one did not already log."""
        union = {}
        if widen:
            for key in self.order:
                d = self.denials[key]
                union.setdefault((d['source_type'], d['target_type'], d['tclass']), set()).update(all_permissions(d))
        lines = []
        for index, key in enumerate(self.order):
            if keep is not None and index not in keep:
                continue
            d = self.denials[key]
            extra = union.get((d['source_type'], d['target_type'], d['tclass'])) if widen else None
            lines.append(canonical_line(d, extra))
        return lines

    def result_errors(self):
        out = []
        for key in self.error_order:
            err = self.errors[key]
            item = dict((k, v) for k, v in err.items() if not k.startswith('_') and k not in ('ts', 'serial'))
            item['first_seen'] = iso_utc(err['_first'])
            item['last_seen'] = iso_utc(err['_last'])
            out.append(item)
        return out

    def result_skipped(self):
        return {'count': self.skipped, 'samples': list(self.samples)}


def _spans(buf, needle, start, end):
    """(start, end) of each line of buf[start:end] that contains ``needle``, found with bytes.find."""
    find = buf.find
    rfind = buf.rfind
    i = find(needle, start, end)
    while i >= 0:
        s = rfind(b'\n', start, i) + 1 or start
        e = find(b'\n', i, end)
        if e < 0:
            e = end
        yield s, e
        i = find(needle, e, end)


def _cut_denial_spans(buf, start, end):
    """(start, end) of each line of buf[start:end] with ``avc:  denied  {`` but no context field.

    Those are denials cut before their first context field, which the context needle does not
    see; they are handed to the parser (which counts them as skipped). ``avc:`` elsewhere, such
    as an EXECVE record of ``grep avc: ...``, is no denial and not returned.
    """
    found = []
    find = buf.find
    i = find(PERMS_NEEDLE, start, end)
    while i >= 0:
        e = find(b'\n', i, end)
        if e < 0:
            e = end
        if find(CONTEXT_NEEDLE, i, e) < 0:
            s = buf.rfind(b'\n', start, i) + 1 or start
            if find(CONTEXT_NEEDLE, s, i) < 0 and _AVC_DENIED.search(buf, s, e):
                found.append((s, e))
        i = find(PERMS_NEEDLE, e, end)
    return found


def _missing_tokens(d):
    """Field markers whose presence in a later record makes the fast path fall back (to fill them in)."""
    fields = [f for f in ('comm', 'path', 'name') if d[f] is None]
    if d['tclass'] in PORT_CLASSES and d.get('port') is None:
        fields.extend(PORT_FIELDS)
    return tuple(b' ' + f.encode('ascii') + b'=' for f in fields)


def all_permissions(d):
    """Permissions of a merged denial: parsed ones plus the raw lists merged by the fast path."""
    perms = set(d['_perms'])
    for raw in d.get('_bperms') or ():
        perms.update(p.decode('ascii') for p in raw.split())
    return perms


def _set_exe(d, exe, rank):
    """The denial's exe is that of its earliest event (``rank``: records read before it) whose SYSCALL record was
    found: the same whether the log is read in one buffer or in chunks, where an earlier event's SYSCALL may only
    turn up in a later chunk, after a later event's. An exe a record carried itself (USER_AVC) ranks last: read in one
    buffer, an earlier event's SYSCALL would have been found before it."""
    if d['exe'] is None or rank < d.get('_exe_rank', _LAST):
        d['exe'], d['exe_raw'] = exe
        d['_exe_rank'] = rank


def _syscall_exe(buf, event, lo, hi):
    """exe of the SYSCALL record carrying ``event`` in buf[lo:hi], as (text, raw) or None."""
    i = buf.find(event, lo, hi)
    while i >= 0:
        ls = buf.rfind(b'\n', 0, i) + 1
        le = buf.find(b'\n', i)
        if le < 0:
            le = len(buf)
        line = buf[ls:le]
        if b'SYSCALL' in line[:i - ls + 1] and b' exe=' in line:
            rest = line[line.find(event) + len(event):]
            if b' ' in event:      # interpreted: unquoted values may contain spaces
                raw, text = parse_fields(rest, True, ('exe',)).get('exe', (None, None))
            else:
                m = _EXE.search(rest)
                raw, text = parse_fields(m.group(0), False, ('exe',)).get('exe', (None, None)) if m else (None, None)
            if text is not None:
                return text, raw
            return None
        i = buf.find(event, i + len(event), hi)
    return None


_PATH_INODE = re.compile(br'\sinode=(\d+)\s')
_PATH_NAME = re.compile(br'\sname=(?:"[^"]*"|[0-9A-Fa-f]+)')
_CWD = re.compile(br'\scwd=(?:"[^"]*"|[0-9A-Fa-f]+)')


def _set_path(d, found):
    """Give denial ``d`` the (text, raw) path ``found``; False when nothing was found."""
    if found is None:
        return False
    d['path'], d['path_raw'] = found
    d['_missing'] = _missing_tokens(d)
    return True


def _event_records(buf, event, lo, hi, rtype):
    """The lines of type ``rtype`` (``b'PATH'``, ``b'CWD'``) of the raw event ``event`` in buf[lo:hi]."""
    needle = b'type=' + rtype + b' msg=' + event
    i = buf.find(needle, lo, hi)
    while i >= 0:
        le = buf.find(b'\n', i)
        yield buf[i:le if le >= 0 else len(buf)]
        i = buf.find(needle, i + len(needle), hi)


def _event_path(buf, event, ino, lo, hi):
    """(text, raw) of the path of inode ``ino`` named by a PATH record of ``event``, or None."""
    wanted = ino.encode('ascii')
    for line in _event_records(buf, event, lo, hi, b'PATH'):
        im = _PATH_INODE.search(line + b' ')
        nm = _PATH_NAME.search(line)
        if im is None or nm is None or im.group(1) != wanted:
            continue
        raw, text = parse_fields(nm.group(0), False, ('name',)).get('name', (None, None))
        if text is None:
            return None
        if text.startswith(u'/'):
            return text, raw
        for cwd_line in _event_records(buf, event, lo, hi, b'CWD'):
            cm = _CWD.search(cwd_line)
            cwd_raw, cwd = parse_fields(cm.group(0), False, ('cwd',)).get('cwd', (None, None)) if cm else (None, None)
            if cwd and cwd.startswith(u'/'):
                return cwd.rstrip(u'/') + u'/' + text, cwd_raw.rstrip(b'/') + b'/' + raw
        return None
    return None


def canonical_line(d, permissions=None):
    """One raw audit.log AVC line for a merged denial, fit for audit2allow / audit2why (with ``permissions`` instead
    of the denial's own when given)."""
    ts = d['ts']
    if ts is None:
        stamp = u'0.000:%d' % (d['serial'] or 0)
    else:
        stamp = u'%d.%s:%d' % (int(ts), (d['ms'] or u'000'), d['serial'] or 0)
    perms = all_permissions(d) if permissions is None else permissions
    parts = [u'type=AVC msg=audit(%s): avc:  denied  { %s } for ' % (stamp, u' '.join(sorted(perms)))]
    if d['pid'] is not None:
        parts.append(u' pid=%s' % d['pid'])
    for field in ('comm', 'path', 'name'):
        if d.get(field + '_raw') is not None:
            parts.append(u' %s=%s' % (field, encode_untrusted(d[field + '_raw'])))
    if d.get('port') is not None:
        parts.append(u' %s=%d' % (d['port_field'], d['port']))
    parts.append(u' scontext=%s tcontext=%s tclass=%s' % (d['scontext'], d['tcontext'], d['tclass']))
    if d['permissive'] is not None:
        parts.append(u' permissive=%d' % (1 if d['permissive'] else 0))
    return u''.join(parts)
