# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: where avc_collect reads records from, and the checkpoint state.

* files: globs plus rotated siblings, oldest first, streamed in fixed-size chunks
  (gzip for compressed rotated files) into a :class:`_avc_parse.Collector`; only regular
  files are opened for reading (a FIFO would block forever), a damaged ``.gz`` ends early;
* ``ausearch`` (``--input-logs`` or ``-if FILE``) and the journal, through the Runner;
* the checkpoint: per-file identity (device, inode, head digest) and offset plus the
  last event (timestamp, serial), so a run resumes after rotation.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import errno
import glob
import gzip
import hashlib
import json
import math
import os
import re
import struct
import sys
import time
import zlib

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.six import integer_types, string_types

from ansible_collections.fleetsec.selinux.plugins.module_utils._files import (
    NotReadable, open_regular, read_regular, trust_problems, write_atomic)
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, FleetsecError

DEFAULT_PATH = '/var/log/audit/audit.log'
READ_CHUNK = 4 * 1024 * 1024   # bytes read at a time: bounds the memory used by a scan
HEAD_BYTES = 512
GZIP_PIECE = 64 * 1024          # uncompressed bytes read from a .gz at a time (what damage can cost)
STATE_VERSION = 1
RECENT_SECONDS = 600


_ROTATED = re.compile(r'^(?:\.(\d+)|-(\d{8,10}))(?:\.gz)?$')
_ISO = re.compile(r'^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?)?\s*(Z|[+-]\d\d:?\d\d)?$')


class SourceError(FleetsecError):
    pass


# -- since ------------------------------------------------------------------

def boot_time(read=None):
    """Epoch of the last boot, from /proc/uptime."""
    try:
        if read is None:
            with open('/proc/uptime') as f:
                text = f.read()
        else:
            text = read()
        return time.time() - float(text.split()[0])
    except (IOError, OSError, ValueError, IndexError) as e:
        raise SourceError('since=boot: cannot read the uptime from /proc/uptime (%s); give a time instead.' % to_native(e))


def since_to_epoch(value, now=None, uptime_reader=None):
    """Turn ``since`` (boot, today, recent, epoch, ISO 8601) into an epoch float, or None."""
    if value is None or value == '':
        return None
    value = value.strip()
    now = time.time() if now is None else now
    if value == 'boot':
        return boot_time(uptime_reader)
    if value == 'recent':
        return now - RECENT_SECONDS
    if value == 'today':
        lt = time.localtime(now)
        return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    try:
        epoch = float(value)
    except ValueError:
        epoch = None
    if epoch is not None:
        if math.isnan(epoch) or math.isinf(epoch):
            raise SourceError('since=%r is not a usable epoch.' % value)
        return epoch
    m = _ISO.match(value)
    if not m:
        raise SourceError("since=%r is not boot, today, recent, an epoch or an ISO 8601 time "
                          "(e.g. 2026-11-26T00:10:00Z)" % value)
    parts = [int(m.group(i) or 0) for i in range(1, 7)]
    zone = m.group(7)
    offset = (0, 0)
    if zone and zone != 'Z':
        digits = zone[1:].replace(':', '')
        offset = (int(digits[:2]), int(digits[2:]))
    problems = _time_problems(parts, offset)
    if problems:
        raise SourceError('since=%r is not a valid time: %s; nothing was read.' % (value, ', '.join(problems)))
    try:
        ts = calendar.timegm(tuple(parts) + (0, 0, 0))
    except (ValueError, OverflowError):
        raise SourceError('since=%r is not a valid date' % value)
    if zone and zone != 'Z':
        sign = -1 if zone.startswith('-') else 1
        ts -= sign * (offset[0] * 3600 + offset[1] * 60)
    return float(ts)


def _time_problems(parts, offset):
    """What makes an ISO 8601 date, time and zone offset impossible (RFC 3339 ranges), as a list of texts."""
    year, month, day, hour, minute, second = parts
    problems = []
    if year < 1:
        problems.append('there is no year 0000')
    if not 1 <= month <= 12:
        problems.append('there is no month %02d' % month)
    elif year >= 1 and not 1 <= day <= calendar.monthrange(year, month)[1]:
        problems.append('%04d-%02d has no day %02d' % (year, month, day))
    if hour > 23:
        problems.append('hours go from 00 to 23')
    if minute > 59:
        problems.append('minutes go from 00 to 59')
    if second > 60:
        problems.append('seconds go from 00 to 60 (a leap second)')
    if offset[0] > 23 or offset[1] > 59:
        problems.append('a zone offset goes from 00:00 to 23:59')
    return problems


# -- files ------------------------------------------------------------------

def _rotation_rank(base, path):
    m = _ROTATED.match(path[len(base):])
    if not m:
        return None
    if m.group(1) is not None:
        return -int(m.group(1))          # audit.log.9 is older than audit.log.1
    return int(m.group(2)) - 10 ** 11     # audit.log-20261120: dated, older than numbered


def expand_paths(paths, include_rotated=True):
    """Existing files matching ``paths`` (globs allowed), rotated siblings first (oldest first).

    Returns (files, missing) where missing lists patterns that matched nothing.
    """
    files = []
    missing = []
    seen = set()
    for pattern in paths:
        matched = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else \
            ([pattern] if os.path.lexists(pattern) else [])
        if not matched:
            missing.append(pattern)
        for path in matched:
            group = []
            if include_rotated:
                for sibling in glob.glob(glob.escape(path) + '[.-]*') if hasattr(glob, 'escape') else \
                        glob.glob(path + '[.-]*'):
                    rank = _rotation_rank(path, sibling)
                    if rank is not None:
                        group.append((rank, sibling))
                group.sort()
            group = [p for r, p in group] + [path]
            for p in group:
                if p not in seen:
                    seen.add(p)
                    files.append(p)
    return files, missing


def readable_files(paths, include_rotated=True, warn=None):
    """The regular files among :func:`expand_paths` that can be opened, in order.

    When at least one can, each other path (and each pattern that matches nothing) is named in a
    ``warn`` with the reason; when none can, :class:`SourceError` names each path and why.
    """
    files, missing = expand_paths(paths, include_rotated)
    good = []
    bad = []
    for path in files:
        try:
            fd, dummy = open_regular(path)
        except NotReadable as e:
            bad.append(e)
            continue
        os.close(fd)
        good.append(path)
    if not good:
        if not bad:
            raise SourceError('No audit log file matches %s; set paths or use source=journal.' % ', '.join(paths))
        listed = ['%s: %s' % (e.path, e.reason) for e in bad] + ['%s: no file matches' % p for p in missing]
        if os.geteuid() != 0 and any(e.errno in (errno.EACCES, errno.EPERM) for e in bad):
            hint = 'run as root (become: true) or check the permissions'
        else:
            hint = 'give paths of regular files (audit logs, their rotated copies, exported journals)'
        raise SourceError('None of the audit log files can be read (%s); %s.' % ('; '.join(listed), hint))
    if warn is not None:
        for pattern in missing:
            warn('No file matches %s.' % pattern)
        for e in bad:
            warn('Cannot read %s: %s' % (e.path, e.reason))
    return good


def _head_digest(fd, length):
    os.lseek(fd, 0, os.SEEK_SET)
    data = b''
    while len(data) < length:
        chunk = os.read(fd, length - len(data))
        if not chunk:
            break
        data += chunk
    return hashlib.sha256(data).hexdigest()


GZIP_MAGIC = b'\x1f\x8b'


class _GzipReader(object):
    """``read(size)`` of a gzip file that ends at damage (truncated, corrupt, not gzip) instead of raising.

    ``damage`` holds the exception, ``offset`` the uncompressed bytes returned before it. Python 3
    reads with ``read1`` (one decompression step: nothing decoded before the damage is lost);
    Python 2 has no ``read1`` and reads GZIP_PIECE bytes at a time (at most that much is lost).
    """

    def __init__(self, fileobj):
        self._gz = gzip.GzipFile(fileobj=fileobj, mode='rb')
        self._read = self._gz.read1 if sys.version_info[0] >= 3 else self._gz.read
        self.damage = None
        self.nested = False  # the file is a gzip of a gzip: its content is no log text
        self.offset = 0

    def __call__(self, size):
        if self.damage is not None or self.nested:
            return b''
        try:
            data = self._read(min(size, GZIP_PIECE))
        except (EOFError, IOError, OSError, ValueError, zlib.error, struct.error) as e:
            self.damage = e
            return b''
        if self.offset == 0 and data[:2] == GZIP_MAGIC:
            self.nested = True
            return b''
        self.offset += len(data)
        return data

    def close(self):
        try:
            self._gz.close()
        except (EOFError, IOError, OSError, ValueError, zlib.error, struct.error):
            pass


def scan_file(path, collector, start=0, stop_at_partial=False, warn=None):
    """Stream ``path`` from byte ``start`` into ``collector``; return the offset after the last line used.

    With ``stop_at_partial`` a last line without a newline is left for a later run.
    Compressed rotated files (``.gz``) are read through gzip; offsets count uncompressed bytes.
    A damaged ``.gz`` keeps the lines read before the damage and is named in ``warn``
    (:class:`SourceError` without ``warn``). Raises :class:`NotReadable` for a path that is no
    regular file.
    """
    fd, dummy = open_regular(path)
    if not path.endswith('.gz'):
        try:
            os.lseek(fd, start, os.SEEK_SET)
            return scan_chunks(lambda size: os.read(fd, size), collector, start, stop_at_partial)
        finally:
            os.close(fd)
    fileobj = os.fdopen(fd, 'rb')
    reader = None
    try:
        reader = _GzipReader(fileobj)
        end = 0
        while end < start:
            chunk = reader(min(READ_CHUNK, start - end))
            if not chunk:
                break
            end += len(chunk)
        if end >= start:
            end = scan_chunks(reader, collector, start, stop_at_partial)
    finally:
        if reader is not None:
            reader.close()
        fileobj.close()
    if reader.nested:
        msg = ('%s is compressed twice (its content is another gzip file): it was not read. Decompress it once '
               '(gunzip) and give that file.' % path)
        if warn is None:
            raise SourceError(msg)
        warn(msg)
    if reader.damage is not None:
        why = to_native(reader.damage) or reader.damage.__class__.__name__
        msg = ('%s is damaged (%s) after %d bytes of uncompressed data: the records before the damage were read, '
               'the rest of this file was skipped.' % (path, why, reader.offset))
        if warn is None:
            raise SourceError(msg)
        warn(msg)
    return end


def scan_chunks(read, collector, offset, stop_at_partial=False):
    """Feed the lines returned by ``read(n)`` to ``collector`` in chunks of READ_CHUNK bytes.

    ``offset`` is the file offset of the first byte read; returns the offset after the last
    line handled.  Each chunk is scanned in place (no copy of the chunk); only the line cut
    at a chunk end is joined with the start of the next chunk.  A line longer than
    READ_CHUNK is counted as skipped and dropped.  A file truncated while it is read just
    ends early (no memory map that could fault).
    """
    done_off = offset       # file offset after the last line handled
    chunk_off = offset      # file offset of the current chunk
    tail = b''              # start of a line cut by the previous chunk end
    skipping = False        # inside an over-long line
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            break
        begin = 0
        nl = chunk.find(b'\n')
        if nl < 0:
            if not skipping:
                tail += chunk
                if len(tail) > READ_CHUNK:
                    collector.skip(tail[:200], 'line longer than %d bytes' % READ_CHUNK)
                    tail = b''
                    skipping = True
            chunk_off += len(chunk)
            continue
        if skipping or tail:
            if tail:
                collector.scan(tail + chunk[:nl + 1], 0)
            skipping = False
            tail = b''
            begin = nl + 1
            done_off = chunk_off + begin
        end = collector.scan(chunk, begin)
        done_off = chunk_off + end
        tail = chunk[end:]
        chunk_off += len(chunk)
    if tail and not skipping and not stop_at_partial:
        collector.scan(tail, 0, final=True)
        done_off += len(tail)
    return done_off


def collect_files(paths, include_rotated, collector, state=None, checkpointing=False, warn=None):
    """Scan log files; return the new per-file checkpoint entries.

    ``state`` is the previous checkpoint (or None): a file whose identity matches a saved
    entry resumes at the saved offset; any other file is read from its start (records at or
    before the saved last event are dropped by the collector).
    """
    files = readable_files(paths, include_rotated, warn)
    known = {}
    for entry in (state or {}).get('files', []):
        known[(entry['dev'], entry['ino'])] = entry
    entries = []
    problems = []
    for path in files:
        try:
            fd, st = open_regular(path)
            try:
                start = 0
                head_len = min(HEAD_BYTES, st.st_size)
                saved = known.get((st.st_dev, st.st_ino))
                if saved is not None and st.st_size >= saved['offset'] and \
                        saved['head'] == _head_digest(fd, saved['head_len']):
                    # same file (same inode and same first bytes), not truncated: resume
                    start = saved['offset']
                head = _head_digest(fd, head_len)
            finally:
                os.close(fd)
            end = scan_file(path, collector, start, stop_at_partial=checkpointing, warn=warn)
        except NotReadable as e:            # changed since readable_files() looked at it
            problems.append('%s: %s' % (path, e.reason))
            continue
        except (IOError, OSError) as e:
            problems.append('%s: %s' % (path, to_native(e.strerror or e)))
            continue
        entries.append({'path': path, 'dev': st.st_dev, 'ino': st.st_ino, 'offset': end,
                        'size': st.st_size, 'head': head, 'head_len': head_len})
    if not entries:
        raise SourceError('None of the audit log files could be read (%s).' % '; '.join(problems))
    if warn is not None:
        for problem in problems:
            warn('Cannot read %s' % problem)
    return entries


# -- commands ---------------------------------------------------------------

AUSEARCH_TYPES = 'AVC,USER_AVC,SELINUX_ERR,USER_SELINUX_ERR'


def ausearch_args(since_keyword=None, input_file=None):
    args = ['-m', AUSEARCH_TYPES, '--raw']
    if since_keyword:
        args += ['-ts', since_keyword]
    if input_file:
        args += ['-if', input_file]
    else:
        args.append('--input-logs')
    return args


def collect_ausearch(runner, collector, since_keyword=None, input_files=None):
    """Run ausearch (on the auditd logs, or ``-if`` on each file) and feed its raw output."""
    for input_file in (input_files or [None]):
        result = runner.run('ausearch', ausearch_args(since_keyword, input_file), check=False)
        out = result.stdout or ''
        if result.rc == 1 and ('<no matches>' in (result.stderr or '') + out or not out.strip()):
            continue
        if result.rc != 0:
            raise CommandFailed(result.cmd, result.rc, result.stdout, result.stderr,
                                what=input_file or 'the audit logs')
        collector.feed_lines(to_bytes(out, errors='surrogate_or_strict'))


def journal_args(since_epoch=None):
    args = ['--no-pager', '--quiet', '-o', 'short-unix']
    if since_epoch is not None:
        # local "YYYY-MM-DD HH:MM:SS" is understood by every journalctl (EL7's too)
        args += ['--since', time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(int(since_epoch)))]
    args += ['_TRANSPORT=audit', '+', '_TRANSPORT=kernel']
    return args


def collect_journal(runner, collector, since_epoch=None):
    """Read audit and kernel messages from the journal (used when there is no auditd log)."""
    result = runner.run('journalctl', journal_args(since_epoch), check=False)
    if result.rc != 0 and 'No journal files' not in (result.stderr or ''):
        raise CommandFailed(result.cmd, result.rc, result.stdout, result.stderr, what='the journal')
    collector.dedupe = True
    collector.feed_lines(to_bytes(result.stdout or '', errors='surrogate_or_strict'))


# -- checkpoint -------------------------------------------------------------

def load_checkpoint(path):
    """Saved state dict, or None when the file does not exist yet.

    Anything else than a regular file (a FIFO would block the read forever), a file another user could have
    planted or changed (:func:`_files.trust_problems`: it would hide every later denial), invalid JSON and fields
    of the wrong type are a :class:`SourceError` naming the path and what is wrong.
    """
    try:
        data = read_regular(path, check=lambda info: check_trusted_checkpoint(path, info))
    except NotReadable as e:
        if e.errno is None:
            raise SourceError('Checkpoint %s %s; give the path of a regular file (created when missing).'
                              % (path, e.reason))
        raise SourceError('Cannot read checkpoint %s: %s' % (path, e.reason))
    if data is None:
        return None
    try:
        state = json.loads(to_text(data, errors='surrogate_or_strict'))
    except ValueError:
        raise SourceError('Checkpoint %s is not valid JSON; remove it to start over.' % path)
    if not isinstance(state, dict) or state.get('version') != STATE_VERSION:
        raise SourceError('Checkpoint %s has an unknown format; remove it to start over.' % path)
    problem = _state_problem(state)
    if problem:
        raise SourceError('Checkpoint %s is damaged or was not written by avc_collect: %s; remove it to start over.'
                          % (path, problem))
    return state


def _is_int(value, low=0, high=None):
    return isinstance(value, integer_types) and not isinstance(value, bool) and value >= low and \
        (high is None or value <= high)


def _is_time(value):
    return (_is_int(value) or isinstance(value, float)) and not math.isnan(value) and not math.isinf(value) \
        and value >= 0


_FILE_FIELDS = (
    ('path', lambda v: isinstance(v, string_types), 'a string'),
    ('dev', _is_int, 'an integer >= 0'),
    ('ino', _is_int, 'an integer >= 0'),
    ('offset', _is_int, 'an integer >= 0'),
    ('size', _is_int, 'an integer >= 0'),
    ('head', lambda v: isinstance(v, string_types), 'a string'),
    ('head_len', lambda v: _is_int(v, 0, HEAD_BYTES), 'an integer from 0 to %d' % HEAD_BYTES),
)


def _shown(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + '...'


def _state_problem(state):
    """What is wrong in a checkpoint state (as :func:`new_checkpoint` writes it), or None."""
    if not _is_int(state['version']):
        return 'version is %s, expected %d' % (_shown(state['version']), STATE_VERSION)
    source = state.get('source')
    if not isinstance(source, string_types) or source not in ('file', 'ausearch', 'journal'):
        return 'source is %s, expected "file", "ausearch" or "journal"' % _shown(source)
    last = state.get('last_event')
    if last is not None and not (isinstance(last, list) and len(last) == 2 and _is_time(last[0]) and _is_int(last[1])):
        return 'last_event is %s, expected null or [timestamp, serial]' % _shown(last)
    files = state.get('files')
    if not isinstance(files, list):
        return 'files is %s, expected a list' % _shown(files)
    for index, entry in enumerate(files):
        if not isinstance(entry, dict):
            return 'files[%d] is %s, expected an object' % (index, _shown(entry))
        for key, valid, expected in _FILE_FIELDS:
            if not valid(entry.get(key)):
                return 'files[%d].%s is %s, expected %s' % (index, key, _shown(entry.get(key)), expected)
    return None


def new_checkpoint(source, last_event, files):
    return {
        'version': STATE_VERSION,
        'source': source,
        'last_event': list(last_event) if last_event else None,
        'files': files,
    }


def checkpoint_last_event(state):
    if not state or not state.get('last_event'):
        return None
    ts, serial = state['last_event']
    return float(ts), int(serial)


def same_checkpoint(old, new):
    return old is not None and json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def check_trusted_checkpoint(path, info=None):
    """Refuse a checkpoint another user could have planted or changed, before it is read or written."""
    problems = trust_problems(path, info)
    if problems:
        raise SourceError(
            'Refusing to trust the checkpoint %s: %s. A checkpoint decides which records are skipped, so only a regular '
            'file owned by uid %d and writable by it alone, in a directory others cannot write, is used. Nothing was '
            'read or saved. Check who changed it; then fix it (chown, chmod go-w) or choose a private path.'
            % (path, ', '.join(problems), os.geteuid()), path=path)


def save_checkpoint(module, path, state):
    """Write the state atomically (mode 0600), after the same trust check as the read."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SourceError('Directory of checkpoint %s does not exist.' % path)
    check_trusted_checkpoint(path)
    write_atomic(module, path, to_bytes(json.dumps(state, sort_keys=True, indent=1)), mode=0o600, tmpdir=module.tmpdir)


class Checkpoint(object):
    """The checkpoint of one capture: the state read before (None: none yet or no checkpoint), where reading
    resumes, the state the capture reached, and its save (only when it moved)."""

    def __init__(self, path):
        self.path = path
        self.old = load_checkpoint(path) if path else None
        self.new = None

    def after(self):
        """The (time, serial) of the last event already seen, or None."""
        return checkpoint_last_event(self.old)

    def previous(self, source):
        """The old state when it was written for ``source`` (its files resume where they stopped), else None."""
        return self.old if self.old and self.old.get('source') == source else None

    def advance(self, source, last_event, files):
        """The state after this capture (never before the old one); nothing without a checkpoint path."""
        if self.path:
            events = [e for e in (last_event, self.after()) if e]
            self.new = new_checkpoint(source, max(events) if events else None, files)

    def save(self, module):
        """Write the new state when it differs from the old one; True when written. The caller decides check mode."""
        if self.new is None or same_checkpoint(self.old, self.new):
            return False
        save_checkpoint(module, self.path, self.new)
        return True
