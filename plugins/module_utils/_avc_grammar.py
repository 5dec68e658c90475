# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the grammar of one SELinux audit record line: its type, time, serial and fields.

Pure functions; no I/O, no state. :func:`parse_line` turns one line into a denial or error record dict (or None for
a line that carries neither, :class:`Malformed` for a damaged one); :func:`parse_header` its time and event serial;
:func:`parse_fields` its ``key=value`` fields; :func:`record_type` its type. Grouping the records of one event and
merging denials is :mod:`_avc_parse`'s job.

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

MAX_LINE = 65536          # longer candidate lines are counted as skipped
SAMPLE_LEN = 200

UNTRUSTED_FIELDS = ('comm', 'name', 'path', 'exe')

HDR_RAW = re.compile(br'audit\((\d+)\.(\d+):(\d+)\)')
_HDR_INTERP = re.compile(br'audit\((\d{1,4})([/.-])(\d{1,2})[/.-](\d{1,4}) (\d{1,2}):(\d\d):(\d\d)\.(\d+):(\d+)\)')
_NODE = re.compile(br'(?:^|\s)node=(\S+)')
_TYPE_NAME = re.compile(br'(?:^|\s)type=([A-Z][A-Z_]*)\s+msg=audit\(')
_TYPE_NUM = re.compile(br'(?:^|\s)type=(\d+)\s+audit\(')
_JOURNAL_TYPE = re.compile(br'audit\[\d+\]:\s+([A-Z][A-Z_]*)\s')
_JOURNAL_CAT_TYPE = re.compile(br'^\s*([A-Z][A-Z_]*)\s+(?:avc:|op=|security_)')
_AVC = re.compile(br'avc:\s+(denied|granted)\s+\{([^}]*)\}\s*(?:for\s)?')
AVC_DENIED = re.compile(br'avc:[ \t]+denied[ \t]+\{')
_TCLASS_LAST = re.compile(br'(?:^|\s)tclass=\S*\s*$')
_KEY = re.compile(br'(?:^|\s)([A-Za-z_][A-Za-z0-9_.-]*)=')
_HEX = re.compile(br'^(?:[0-9A-Fa-f]{2})+$')
_RAW_FIELD = re.compile(br'(?<![^\s\'])([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|[^\s"\']*)')
_CTX = re.compile(r'^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.,:-]+)?$')
_WORD = re.compile(r'^[a-z0-9_]+$')
PERMS_TEXT = re.compile(br'^(?: [a-z0-9_]+)+ $')
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
    m = HDR_RAW.search(line)
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
