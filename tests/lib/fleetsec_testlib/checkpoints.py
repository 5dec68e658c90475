# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""avc_collect checkpoints with a field of the wrong type, for the tests in-process (unit) and as a process
(integration). Python 2.7 and later."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os


def bad_checkpoints(log):
    """[(the field the failure must name, a checkpoint of ``log`` with that field wrong)]."""
    st = os.stat(log)
    entry = {'path': log, 'dev': st.st_dev, 'ino': st.st_ino, 'offset': 0, 'size': st.st_size,
             'head': 'x', 'head_len': 512}
    good = {'version': 1, 'source': 'file', 'last_event': [1.5, 2], 'files': [entry]}
    return [
        ('last_event', dict(good, last_event='abc')),            # a string where [ts, serial] is expected
        ('last_event', dict(good, last_event=[None, 1])),        # null fields
        ('files', dict(good, files={'a': 1})),                   # an object instead of a list
        ('files[0]', dict(good, files=[None])),
        ('files[0].offset', dict(good, files=[dict(entry, offset='10')])),   # a string where a number is expected
        ('files[0].offset', dict(good, files=[dict(entry, offset=-5)])),
        ('files[0].head_len', dict(good, files=[dict(entry, head_len='512')])),
    ]
