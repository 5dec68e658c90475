# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_avc_capture.capture() without AnsibleModule: one call gives the module's whole result; the checkpoint moves only
forward and is written only outside check mode."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil

from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_capture as avc_capture
from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_sources as sources

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'avc')
KEYS = set(['changed', 'denials', 'lines', 'allow_lines', 'records', 'skipped_lines', 'errors', 'checkpoint_updated',
            'source', 'remedies'])


class FakeModule(object):
    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def atomic_move(self, src, dest):
        os.rename(src, dest)


class FakeRunner(object):
    """A runner that runs nothing: the file source needs no command."""

    def __init__(self, module, check_mode):
        self.module = module
        self.check_mode = check_mode

    def has(self, name):
        return False


def params(**kwargs):
    base = dict(source='file', paths=None, include_rotated=False, since=None, checkpoint=None, domains=None,
                exclude_domains=None, comms=None, tclasses=None, explain=False, triage=False, policy=None)
    base.update(kwargs)
    return base


def test_capture_gives_every_key_and_writes_the_checkpoint_only_outside_check_mode(tmp_path):
    log = str(tmp_path / 'audit.log')
    shutil.copy(os.path.join(FIXTURES, 'ntpd.log'), log)
    state = str(tmp_path / 'avc.state')
    module = FakeModule(str(tmp_path))
    wanted = params(paths=[log], checkpoint=state)
    check = avc_capture.capture(FakeRunner(module, True), wanted)
    assert set(check) == KEYS and check['checkpoint_updated'] is False and not os.path.exists(state)
    assert check['source'] == 'file' and check['denials'] and check['remedies'] is None
    real = avc_capture.capture(FakeRunner(module, False), wanted)
    assert set(real) == KEYS and real['checkpoint_updated'] is True and os.path.exists(state)
    assert real['denials'] == check['denials'] and real['allow_lines'] == real['lines'] == check['lines']
    again = avc_capture.capture(FakeRunner(module, False), wanted)
    assert again['denials'] == [] and again['checkpoint_updated'] is False
    assert module.warnings == []


def test_a_missing_path_warns_through_the_runners_module(tmp_path):
    module = FakeModule(str(tmp_path))
    result = avc_capture.capture(FakeRunner(module, True), params(paths=[str(tmp_path / 'absent.log'),
                                                                         os.path.join(FIXTURES, 'ntpd.log')]))
    assert result['denials'] and len(module.warnings) == 1 and 'absent.log' in module.warnings[0]


def test_the_checkpoint_never_moves_back_and_resumes_files_of_its_own_source_only(tmp_path):
    path = str(tmp_path / 'avc.state')
    old = sources.new_checkpoint('file', (1764115900.0, 4300), [])
    with open(path, 'w') as f:
        json.dump(old, f)
    os.chmod(path, 0o600)
    checkpoint = sources.Checkpoint(path)
    assert checkpoint.after() == (1764115900.0, 4300)
    assert checkpoint.previous('file') == old and checkpoint.previous('journal') is None
    checkpoint.advance('file', (1764115000.0, 10), [])
    assert checkpoint.new['last_event'] == [1764115900.0, 4300]
    assert checkpoint.save(FakeModule(str(tmp_path))) is False      # nothing moved: nothing written
    checkpoint.advance('file', (1764116000.0, 1), [])
    assert checkpoint.save(FakeModule(str(tmp_path))) is True
    with open(path) as f:
        assert json.load(f)['last_event'] == [1764116000.0, 1]


def test_without_a_checkpoint_path_there_is_no_state_and_nothing_to_save(tmp_path):
    checkpoint = sources.Checkpoint(None)
    checkpoint.advance('file', (1.0, 1), [])
    assert checkpoint.old is None and checkpoint.new is None and checkpoint.after() is None
    assert checkpoint.save(FakeModule(str(tmp_path))) is False
