# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The old name of ``fleetsec_testlib.store_copy`` (tests/lib/fleetsec_testlib/store_copy.py), kept while a test of
this folder still imports ``store_copy``: the same module object, not a copy (monkeypatching either name patches both).
"""
import sys

from fleetsec_testlib import store_copy as _store_copy

sys.modules[__name__] = _store_copy
