# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the one way the target-side code replaces a file.

The bytes go to a private temporary file (mode 0600), which ``module.atomic_move`` puts in place: readers see the
old file or the new one, never a part, and an existing file keeps its owner, mode and SELinux label. ``mode``
is set after the move when the file must not follow the umask.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile


def write_atomic(module, path, data, mode=None, tmpdir=None):
    """Replace ``path`` with ``data`` (bytes). ``tmpdir``: where the temporary file is made (default: beside
    ``path``, so the move is a rename on the same file system)."""
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
    module.atomic_move(tmp, path)
    if mode is not None:
        os.chmod(path, mode)  # atomic_move gives a NEW file the umask's mode
