# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: where avc_collect reads records from, and the checkpoint state.

* files: globs plus rotated siblings, oldest first, streamed in fixed-size chunks
  (gzip for compressed rotated files) into a :class:`_avc_parse.Collector`;
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
import time

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Command, CommandFailed, FleetsecError

DEFAULT_PATH = '/var/log/audit/audit.log'
READ_CHUNK = 4 * 1024 * 1024   # bytes read at a time: bounds the memory used by a scan
HEAD_BYTES = 512
STATE_VERSION = 1
RECENT_SECONDS = 600

COMMANDS = {
    'ausearch': Command('ausearch', ok_rcs=(0, 1), package_hint='audit (auditd)'),
    'journalctl': Command('journalctl', ok_rcs=(0, 1), package_hint='systemd'),
}

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
    try:
        ts = calendar.timegm(tuple(parts) + (0, 0, 0))
    except (ValueError, OverflowError):
        raise SourceError('since=%r is not a valid date' % value)
    zone = m.group(7)
    if zone and zone != 'Z':
        sign = -1 if zone.startswith('-') else 1
        digits = zone[1:].replace(':', '')
        ts -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return float(ts)


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


def _head_digest(fileobj, length):
    fileobj.seek(0)
    return hashlib.sha256(fileobj.read(length)).hexdigest()


def scan_file(path, collector, start=0, stop_at_partial=False):
    """Stream ``path`` from byte ``start`` into ``collector``; return the offset after the last line used.

    With ``stop_at_partial`` a last line without a newline is left for a later run.
    Compressed rotated files (``.gz``) are read through gzip; offsets count uncompressed bytes.
    """
    if path.endswith('.gz'):
        with gzip.open(path, 'rb') as fileobj:
            skipped = 0
            while skipped < start:
                chunk = fileobj.read(min(READ_CHUNK, start - skipped))
                if not chunk:
                    return skipped
                skipped += len(chunk)
            return scan_chunks(fileobj.read, collector, start, stop_at_partial)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.lseek(fd, start, os.SEEK_SET)
        return scan_chunks(lambda size: os.read(fd, size), collector, start, stop_at_partial)
    finally:
        os.close(fd)


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
    files, missing = expand_paths(paths, include_rotated)
    if files and warn is not None:
        for pattern in missing:
            warn('No file matches %s.' % pattern)
    known = {}
    for entry in (state or {}).get('files', []):
        known[(entry.get('dev'), entry.get('ino'))] = entry
    entries = []
    read_any = False
    for path in files:
        if not os.path.isfile(path):
            continue
        try:
            st = os.stat(path)
            start = 0
            head_len = min(HEAD_BYTES, st.st_size)
            saved = known.get((st.st_dev, st.st_ino))
            with open(path, 'rb') as f:
                if saved is not None and st.st_size >= saved.get('offset', 0) and \
                        saved.get('head') == _head_digest(f, saved.get('head_len', HEAD_BYTES)):
                    # same file (same inode and same first bytes), not truncated: resume
                    start = saved.get('offset', 0)
                head = _head_digest(f, head_len)
            end = scan_file(path, collector, start, stop_at_partial=checkpointing)
            read_any = True
        except (IOError, OSError) as e:
            if warn is not None:
                warn('Cannot read %s: %s' % (path, to_native(e.strerror or e)))
            continue
        entries.append({'path': path, 'dev': st.st_dev, 'ino': st.st_ino, 'offset': end,
                        'size': st.st_size, 'head': head, 'head_len': head_len})
    if not read_any:
        what = ', '.join(paths)
        if files:
            raise SourceError('None of the audit log files could be read (%s); run as root or check permissions.' % what)
        raise SourceError('No audit log file matches %s; set paths or use source=journal.' % what)
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
    """Saved state dict, or None when the file does not exist yet."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        if e.errno == errno.ENOENT:
            return None
        raise SourceError('Cannot read checkpoint %s: %s' % (path, to_native(e.strerror or e)))
    try:
        state = json.loads(to_text(data, errors='surrogate_or_strict'))
    except ValueError:
        raise SourceError('Checkpoint %s is not valid JSON; remove it to start over.' % path)
    if not isinstance(state, dict) or state.get('version') != STATE_VERSION:
        raise SourceError('Checkpoint %s has an unknown format; remove it to start over.' % path)
    return state


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


def save_checkpoint(module, path, state):
    """Write the state atomically (temp file in module.tmpdir, mode 0600, atomic_move)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SourceError('Directory of checkpoint %s does not exist.' % path)
    tmp = os.path.join(module.tmpdir, 'avc_checkpoint.json')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, to_bytes(json.dumps(state, sort_keys=True, indent=1)))
    finally:
        os.close(fd)
    module.atomic_move(tmp, os.path.abspath(path))
    os.chmod(path, 0o600)
