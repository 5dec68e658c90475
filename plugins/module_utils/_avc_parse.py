# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the event correlator of avc_collect: one entry per unique denial out of a log's records.

One accumulator (:class:`Collector`); no AnsibleModule, no I/O. It is fed byte buffers (``scan``) or command output
(``feed_lines``); it finds candidate lines with a byte-level ``find`` (no regex on ordinary lines), has each one
parsed by the line grammar (:mod:`_avc_grammar`), and keeps one entry per unique (source type, target type, class),
so memory grows with the number of unique denials, not with the log. It correlates the records of one event (its
serial): the executable from the event's SYSCALL record, the object's path from its PATH (and CWD) records; it
drops the journal's second copy of a record and merges what the same denial logged again.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_grammar import (
    AVC_DENIED, AVC_NEEDLE, ERR_NEEDLE, HDR_RAW, MAX_LINE, PERMS_TEXT, PORT_CLASSES, PORT_FIELDS, SAMPLE_LEN,
    PORT_PROTOCOLS, SYSLOG_ERR_NEEDLE, UNTRUSTED_FIELDS, Malformed, encode_untrusted, iso_utc, parse_fields,
    parse_header, parse_line, to_text_escaped,
)

# what other files take from here: the correlator, and the grammar's names they have always imported from here
__all__ = ['Collector', 'all_permissions', 'canonical_line', 'Malformed', 'parse_line', 'PORT_PROTOCOLS']

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

MAX_SAMPLES = 5
_LAST = float('inf')       # the rank of an exe that no SYSCALL record gave
EXE_WINDOW = 8192         # bytes searched around an AVC for its SYSCALL record
FAST_CACHE_MAX = 20000    # bound of the "seen this denial text" cache
MAX_EXE_TRIES = 3         # events of one denial searched for a SYSCALL exe before giving up

_EXE = re.compile(br'\sexe=(?:"[^"]*"|\S+)')


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
        m = HDR_RAW.match(line, hs)
        if m is None:
            return None
        ts = float(m.group(1) + b'.' + m.group(2))
        serial = int(m.group(3))
        pe = line.find(b'}', ps)
        if pe < 0:
            return None
        perms = line[ps + 15:pe]
        if perms not in self._perm_texts:
            if not PERMS_TEXT.match(perms):
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
            if find(CONTEXT_NEEDLE, s, i) < 0 and AVC_DENIED.search(buf, s, e):
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
