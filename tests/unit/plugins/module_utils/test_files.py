# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._files import write_atomic


class Module(object):
    def __init__(self):
        self.moves = []

    def atomic_move(self, src, dest):
        self.moves.append((src, dest))
        os.rename(src, dest)


def test_replaces_the_file_whole_with_the_mode_asked(tmp_path):
    target = tmp_path / 'record.json'
    target.write_bytes(b'old')
    module = Module()
    write_atomic(module, str(target), b'x' * 300000, mode=0o600)
    assert target.read_bytes() == b'x' * 300000
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o600
    (src, dest), = module.moves
    assert os.path.dirname(src) == str(tmp_path) and dest == str(target)   # a rename on the same file system
    assert sorted(os.listdir(str(tmp_path))) == ['record.json']


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / 'config'
    target.write_bytes(b'old')

    def full(fd, data):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'write', full)
    with pytest.raises(OSError):
        write_atomic(Module(), str(target), b'new')
    assert target.read_bytes() == b'old' and os.listdir(str(tmp_path)) == ['config']
