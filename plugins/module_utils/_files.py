# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the one way the target-side code reads, trusts and replaces a file.

* :func:`open_regular` / :func:`read_regular`: a regular file or a clear refusal, before anything is read (a FIFO
  would block forever, a device node is no configuration);
* :func:`trust_problems`: what makes a file the collection keeps its own state in (records, checkpoints)
  untrustworthy - another owner, write access for group or others, a directory others may write;
* :func:`read_kept` / :func:`stamp`: a derived answer kept for the next run (policy facts, generated sources) is
  used only from a file :func:`trust_problems` finds nothing against, in a folder of the same kind, and only while
  the stamps of what it was derived from are unchanged;
* :func:`write_atomic`: the bytes go to a private temporary file (mode 0600), which ``module.atomic_move`` puts in
  place: readers see the old file or the new one, never a part, and an existing file keeps its owner, mode and
  SELinux label. ``mode`` is set after the move when the file must not follow the umask.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import bz2
import errno
import fcntl
import hashlib
import json
import os
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError


class NotReadable(FleetsecError):
    """``path`` is not a regular file this process can open; ``reason`` says why.

    ``errno`` is set when the system refused (ENOENT, EACCES, ELOOP ...), None for a wrong file type.
    """

    def __init__(self, path, reason, error=None):
        super(NotReadable, self).__init__('%s: %s' % (path, reason))
        self.path = path
        self.reason = reason
        self.errno = error


_NOT_REGULAR = (
    (stat.S_ISDIR, 'is a directory'),
    (stat.S_ISFIFO, 'is a FIFO (named pipe), not a regular file'),
    (stat.S_ISCHR, 'is a character device, not a regular file'),
    (stat.S_ISBLK, 'is a block device, not a regular file'),
    (stat.S_ISSOCK, 'is a socket, not a regular file'),
)
READ_CHUNK = 1 << 20


def _not_regular(mode):
    for test, reason in _NOT_REGULAR:
        if test(mode):
            return reason
    return 'is not a regular file'


def open_regular(path):
    """(fd, stat) of ``path`` opened read-only; :class:`NotReadable` when it is no regular file that can be read.

    Never blocks: the type is checked before the open (a symlink is judged by what it points to), and the open uses
    O_NONBLOCK, so a path swapped for a FIFO in between opens at once (a plain open waits for a writer, forever) and
    is refused by the type check on the open file. O_NONBLOCK is then cleared again.
    """
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise NotReadable(path, _not_regular(mode))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (IOError, OSError) as e:
        raise NotReadable(path, to_native(e.strerror or e), e.errno)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotReadable(path, _not_regular(st.st_mode))
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except Exception:
        os.close(fd)
        raise
    return fd, st


def read_regular(path, check=None):
    """The bytes of the regular file ``path``; None when it does not exist; :class:`NotReadable` otherwise.
    ``check(stat)``, when given, is called with the OPENED file's stat before anything is read (it raises to refuse:
    what is judged is what is read)."""
    try:
        fd, info = open_regular(path)
    except NotReadable as e:
        if e.errno == errno.ENOENT:
            return None
        raise
    chunks = []
    try:
        if check is not None:
            check(info)
        chunk = os.read(fd, READ_CHUNK)
        while chunk:
            chunks.append(chunk)
            chunk = os.read(fd, READ_CHUNK)
    except (IOError, OSError) as e:
        raise NotReadable(path, to_native(e.strerror or e), e.errno)
    finally:
        os.close(fd)
    return b''.join(chunks)


def trust_problems(path, info=None, want_dir=False, parent=True):
    """What makes the state file ``path`` untrustworthy (texts; [] when none): it must be a regular file (or, with
    ``want_dir``, a directory) owned by this user and writable by it alone; with ``parent``, in a directory owned by
    this user or root that others cannot write (a sticky one such as /tmp is fine: others cannot replace a file they
    do not own there). ``info``: its stat when already taken (an open file's)."""
    problems = []
    try:
        info = info or os.lstat(path)
    except OSError:
        return problems  # missing: nothing to trust yet
    if want_dir and not stat.S_ISDIR(info.st_mode):
        problems.append('not a directory')
    elif not want_dir and not stat.S_ISREG(info.st_mode):
        problems.append('not a regular file (it %s)' % _not_regular(info.st_mode).split(', not a regular file', 1)[0])
    if info.st_uid != os.geteuid():
        problems.append('owned by uid %d' % info.st_uid)
    if info.st_mode & 0o022:
        problems.append('writable by group or others (mode %04o)' % stat.S_IMODE(info.st_mode))
    directory = os.path.dirname(os.path.abspath(path))
    try:
        above = os.stat(directory) if parent else None
    except OSError:
        above = None
    if above is not None and above.st_uid not in (0, os.geteuid()):
        problems.append('its directory %s is owned by uid %d' % (directory, above.st_uid))
    if above is not None and above.st_mode & 0o022 and not above.st_mode & stat.S_ISVTX:
        problems.append('its directory %s is writable by group or others without the sticky bit (mode %04o)'
                        % (directory, stat.S_IMODE(above.st_mode)))
    return problems


def read_kept(path):
    """The JSON object kept at ``path`` by an earlier run, or None: missing, unreadable, not JSON, not an object, or
    not this user's alone, file or folder (a planted answer would mislead the run, so it is never used)."""
    if trust_problems(os.path.dirname(os.path.abspath(path)), want_dir=True, parent=False) or trust_problems(path):
        return None
    try:
        data = json.loads(to_text(read_regular(path) or b'', errors='surrogate_or_strict'))
    except (ValueError, NotReadable):
        return None
    return data if isinstance(data, dict) else None


def kept_bytes(data):
    """What :func:`read_kept` reads back: ``data`` (a dict) as sorted JSON."""
    return to_bytes(json.dumps(data, sort_keys=True))


def keep_answers(answers, prepare):
    """Write each ``(path, data, supersedes)`` of ``answers`` for the next run (a 0600 file written atomically, after
    ``prepare()`` made its folders), then call ``supersedes(path)`` to remove the answers it replaces. What :func:`read_kept`
    reads back. A cache that cannot be written only makes the next run slower: the warnings (a list of text) say so."""
    warnings = []
    for path, data, supersedes in answers:
        try:
            prepare()
            write_atomic(None, path, data, mode=0o600)
        except (IOError, OSError, FleetsecError) as err:
            warnings.append('What this run learnt could not be kept in %s (%s): the next run works it out '
                            'again.' % (path, err))
            continue
        if supersedes is None:
            continue
        try:
            supersedes(path)
        except (IOError, OSError) as err:
            warnings.append('The answers %s replaces could not be removed (%s); they are unused.' % (path, err))
    return warnings


def stamp(path):
    """What changes when the file ``path`` is replaced or rewritten: [path, inode, size, mtime]; None when missing.
    Package updates and libsemanage commits replace files (a new inode), edits change the size or the time."""
    try:
        info = os.stat(path)
    except (OSError, TypeError):
        return None
    return [path, info.st_ino, info.st_size, repr(info.st_mtime)]


def digest_of(parts):
    """sha256 of ``parts`` (JSON-serialisable) as a key of a kept answer."""
    return hashlib.sha256(kept_bytes({'parts': parts})).hexdigest()


def write_atomic(module, path, data, mode=None, tmpdir=None):
    """Replace ``path`` with ``data`` (bytes). ``tmpdir``: where the temporary file is made (default: beside
    ``path``, so the move is a rename on the same file system). ``module`` None: a plain rename that raises
    OSError instead of ending the module (Ansible's atomic_move fails the module), for what is only worth keeping;
    the temporary file is made beside ``path``, so it gets the label and the file system of its folder."""
    path = os.path.abspath(path)
    directory = tmpdir or os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    if module is None:
        try:
            os.rename(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    else:
        module.atomic_move(tmp, path)
    if mode is not None:
        os.chmod(path, mode)  # atomic_move gives a NEW file the umask's mode


def sha256_bytes(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def read_bytes(path):
    with open(path, 'rb') as handle:
        return handle.read()


def maybe_bunzip(data):
    if data[:3] == b'BZh':
        return bz2.decompress(data)
    return data
