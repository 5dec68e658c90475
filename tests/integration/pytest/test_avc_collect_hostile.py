# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""avc_collect against hostile or damaged input on real files: FIFOs, directories, symlink loops, damaged gzip
rotations, checkpoints with the wrong field types, impossible ``since`` times.

Each case was found by adversarial testing and failed (or hung) before the fix. Cases that could block run the
module as Ansible does (``python -m ...avc_collect ARGS.json``) in a child process of its own session, with a
timeout: a hang is a test failure, and the whole process group (``ausearch``/``audit2why`` included) is killed.
"""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import zlib

import pytest

from fleetsec_testlib.checkpoints import bad_checkpoints
from fleetsec_testlib.module_helpers import run_module

from ansible_collections.fleetsec.selinux.plugins.modules import avc_collect

pytestmark = pytest.mark.lanes('debian')

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
TIMEOUT = 20
POLICY = '/etc/selinux/default/policy/policy.33'
AVC = ('type=AVC msg=audit(%d.000:%d): avc:  denied  { read } for  pid=1 comm="c" name="n" '
       'scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0\n')


def avc_lines(first, count):
    return ''.join(AVC % (1795651800 + i, i) for i in range(first, first + count)).encode('ascii')


def run_child(tmp_path, args, check_mode=False):
    """Run the module in its own process group; return its JSON result, or fail the test when it hangs."""
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, 'build', 'collections'), LC_ALL='C')
    proc = subprocess.Popen([sys.executable, '-m', 'ansible_collections.fleetsec.selinux.plugins.modules.avc_collect',
                             str(args_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail('avc_collect hung for %d s on %r' % (TIMEOUT, args))
    assert b'Traceback' not in err, err.decode('utf-8', 'replace')
    try:
        return json.loads(out)
    except ValueError:
        pytest.fail('no JSON result (rc=%s): %s %s' % (proc.returncode, out[-2000:], err[-2000:]))


def warnings_of(result):
    """The warning texts of a result (ansible-core 2.19 wraps each in a WarningSummary)."""
    return [w if isinstance(w, str) else w['event']['msg'] for w in result.get('warnings', [])]


@pytest.fixture
def log(tmp_path):
    path = tmp_path / 'audit.log'
    path.write_bytes(avc_lines(0, 3))
    return str(path)


@pytest.fixture
def fifo(tmp_path):
    path = str(tmp_path / 'pipe')
    os.mkfifo(path)
    return path


# ------------------------------------------------------------------------------------------------ FIFOs ---

@pytest.mark.skipif(shutil.which('ausearch') is None, reason='needs the real ausearch')
def test_ausearch_on_a_fifo_is_refused_not_a_hang(tmp_path, fifo):
    result = run_child(tmp_path, {'source': 'ausearch', 'paths': [fifo], 'include_rotated': False})
    assert result.get('failed'), result
    assert fifo in result['msg'] and 'FIFO' in result['msg']


def test_file_source_on_a_fifo_is_refused_not_a_hang(tmp_path, fifo):
    result = run_child(tmp_path, {'source': 'file', 'paths': [fifo], 'include_rotated': False})
    assert result.get('failed'), result
    assert fifo in result['msg'] and 'FIFO' in result['msg'] and 'run as root' not in result['msg']


@pytest.mark.parametrize('check_mode', [True, False])
def test_checkpoint_that_is_a_fifo_is_refused_not_a_hang(tmp_path, log, fifo, check_mode):
    result = run_child(tmp_path, {'source': 'file', 'paths': [log], 'checkpoint': fifo}, check_mode=check_mode)
    assert result.get('failed'), result
    assert 'Checkpoint %s' % fifo in result['msg'] and 'FIFO' in result['msg']
    assert os.path.exists(fifo) and not os.path.isfile(fifo)


@pytest.mark.skipif(shutil.which('audit2why') is None, reason='needs the real audit2why')
def test_explain_with_a_fifo_as_policy_is_refused_not_a_hang(tmp_path, log, fifo):
    result = run_child(tmp_path, {'source': 'file', 'paths': [log], 'explain': True, 'policy': fifo})
    assert result.get('failed'), result
    assert fifo in result['msg'] and 'FIFO' in result['msg']


@pytest.mark.skipif(shutil.which('audit2why') is None or not os.path.isfile(POLICY),
                    reason='needs the real audit2why and %s' % POLICY)
def test_explain_with_a_real_policy_file_still_works(tmp_path, log):
    result = run_child(tmp_path, {'source': 'file', 'paths': [log], 'explain': True, 'policy': POLICY})
    assert not result.get('failed'), result
    assert result['denials'][0]['explanation']['kind'] == 'missing_rule'


# ------------------------------------------------------------------- directories, loops, bad paths beside good ---

@pytest.fixture
def bad_paths(tmp_path):
    directory = tmp_path / 'logdir'
    directory.mkdir()
    loop = tmp_path / 'loop.log'
    os.symlink(str(loop), str(loop))            # a symlink to itself: ELOOP
    return {'directory': str(directory), 'loop': str(loop)}


@pytest.mark.skipif(shutil.which('ausearch') is None, reason='needs the real ausearch')
@pytest.mark.parametrize('which, reason', [('directory', 'is a directory'),
                                           ('loop', 'Too many levels of symbolic links')])
def test_ausearch_on_a_bad_path_fails_instead_of_finding_nothing(tmp_path, bad_paths, which, reason):
    path = bad_paths[which]
    result = run_child(tmp_path, {'source': 'ausearch', 'paths': [path], 'include_rotated': False})
    assert result.get('failed'), result
    assert '%s: %s' % (path, reason) in result['msg']
    assert 'run as root' not in result['msg']          # the tests run as root: that hint would be wrong


@pytest.mark.skipif(shutil.which('ausearch') is None, reason='needs the real ausearch')
def test_ausearch_reads_the_good_file_and_warns_about_each_bad_one(tmp_path, log, bad_paths):
    result = run_child(tmp_path, {'source': 'ausearch', 'include_rotated': False,
                                  'paths': [bad_paths['directory'], log, bad_paths['loop']]})
    assert not result.get('failed'), result
    assert result['records'] == 3 and result['source'] == 'ausearch'
    assert warnings_of(result) == ['Cannot read %s: is a directory' % bad_paths['directory'],
                                   'Cannot read %s: Too many levels of symbolic links' % bad_paths['loop']]


def test_file_source_warns_about_a_directory_beside_a_good_file(tmp_path, log, bad_paths):
    result = run_child(tmp_path, {'source': 'file', 'include_rotated': False,
                                  'paths': [log, bad_paths['directory'], bad_paths['loop']]})
    assert not result.get('failed'), result
    assert result['records'] == 3
    assert warnings_of(result) == ['Cannot read %s: is a directory' % bad_paths['directory'],
                                   'Cannot read %s: Too many levels of symbolic links' % bad_paths['loop']]


def test_file_source_on_a_directory_only_fails_without_telling_root_to_run_as_root(tmp_path, bad_paths):
    result = run_child(tmp_path, {'source': 'file', 'include_rotated': False, 'paths': [bad_paths['directory']]})
    assert result.get('failed'), result
    assert '%s: is a directory' % bad_paths['directory'] in result['msg']
    assert 'run as root' not in result['msg']


# ------------------------------------------------------------------------------------- damaged gzip files ---

def truncated_gzip(path, data, keep):
    """Write ``data`` gzip-compressed to ``path``, keeping only the first ``keep`` (0..1) of the compressed bytes;
    return the number of complete lines zlib can still recover from what is left."""
    with gzip.open(str(path), 'wb') as f:
        f.write(data)
    compressed = path.read_bytes()
    cut = compressed[:int(len(compressed) * keep)]
    path.write_bytes(cut)
    recovered = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut)
    return recovered.count(b'\n')


def test_truncated_gzip_rotation_keeps_what_was_read_and_the_other_files(monkeypatch, tmp_path):
    log = tmp_path / 'audit.log'
    log.write_bytes(avc_lines(10000, 5))
    # random-ish serials and names so that the compressed stream is long enough to be cut in the middle
    data = b''.join(AVC.replace('name="n"', 'name="f%d-%d"' % (i, i * 7919 % 10007)).encode('ascii')
                    % (1795600000 + i, i) for i in range(4000))
    recoverable = truncated_gzip(tmp_path / 'audit.log.2.gz', data, 0.5)
    (tmp_path / 'audit.log.1').write_bytes(avc_lines(9000, 2))
    assert 100 < recoverable < 4000
    warnings = []
    monkeypatch.setattr(avc_collect.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [str(log)]})
    assert not failed, result
    # every complete line before the damage, then audit.log.1 and audit.log
    assert result['records'] == recoverable + 2 + 5
    assert len(warnings) == 1 and str(tmp_path / 'audit.log.2.gz') in warnings[0]
    assert 'damaged' in warnings[0]


def test_gzip_file_that_is_no_gzip_at_all_is_a_warning(monkeypatch, tmp_path):
    log = tmp_path / 'audit.log'
    log.write_bytes(avc_lines(0, 2))
    (tmp_path / 'audit.log.1.gz').write_bytes(b'this is not gzip data\n' * 10)
    warnings = []
    monkeypatch.setattr(avc_collect.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [str(log)]})
    assert not failed, result
    assert result['records'] == 2
    assert len(warnings) == 1 and str(tmp_path / 'audit.log.1.gz') in warnings[0]


def test_gzip_inside_a_gzip_is_named_not_read_as_one_layer(monkeypatch, tmp_path):
    """A rotated log compressed twice used to be read as one layer: its bytes counted as malformed lines, silently."""
    log = tmp_path / 'audit.log'
    log.write_bytes(avc_lines(0, 2))
    inner = tmp_path / 'inner.gz'
    with gzip.open(str(inner), 'wb') as f:
        f.write(avc_lines(100, 3))
    with gzip.open(str(tmp_path / 'audit.log.1.gz'), 'wb') as f:
        f.write(inner.read_bytes())
    inner.unlink()
    warnings = []
    monkeypatch.setattr(avc_collect.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    result, failed = run_module(monkeypatch, avc_collect.main, {'source': 'file', 'paths': [str(log)]})
    assert not failed, result
    assert result['records'] == 2 and result['skipped_lines']['count'] == 0, result
    assert len(warnings) == 1 and 'compressed twice' in warnings[0] and 'audit.log.1.gz' in warnings[0]


def test_truncated_gzip_with_a_checkpoint_resumes_and_warns_again(monkeypatch, tmp_path):
    log = tmp_path / 'audit.log'
    log.write_bytes(avc_lines(10000, 1))
    data = b''.join(AVC.replace('name="n"', 'name="g%d"' % (i * 104729 % 7919)).encode('ascii')
                    % (1795600000 + i, i) for i in range(3000))
    recoverable = truncated_gzip(tmp_path / 'audit.log.1.gz', data, 0.6)
    state = str(tmp_path / 'avc.state')
    warnings = []
    monkeypatch.setattr(avc_collect.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    args = {'source': 'file', 'paths': [str(log)], 'checkpoint': state}
    first, failed = run_module(monkeypatch, avc_collect.main, args)
    assert not failed, first
    assert first['records'] == recoverable + 1 and first['checkpoint_updated'] is True
    again, failed = run_module(monkeypatch, avc_collect.main, args)
    assert not failed and again['records'] == 0
    assert len(warnings) == 2 and all('audit.log.1.gz' in w for w in warnings)


# ------------------------------------------------------------------------------ planted checkpoints ---

@pytest.mark.parametrize('plant', ['other-owner', 'group-writable', 'open-directory'])
def test_planted_checkpoint_is_not_trusted(tmp_path, log, plant):
    """A checkpoint another user could write would hide every later denial: refused, neither read nor saved."""
    directory = tmp_path / 'state'
    directory.mkdir()
    path = directory / 'avc.state'
    first = run_child(tmp_path, {'source': 'file', 'paths': [log], 'checkpoint': str(path)})
    assert not first.get('failed') and first['records'] > 0, first
    text = path.read_text()
    if plant == 'other-owner':
        os.chown(str(path), 65534, 65534)
    elif plant == 'group-writable':
        os.chmod(str(path), 0o664)
    else:
        os.chmod(str(directory), 0o777)  # not sticky: anybody may replace the file
    for check_mode in (True, False):
        result = run_child(tmp_path, {'source': 'file', 'paths': [log], 'checkpoint': str(path)}, check_mode=check_mode)
        assert result.get('failed'), result
        assert 'Refusing to trust the checkpoint %s' % path in result['msg'], result['msg']
        assert path.read_text() == text
    assert plant != 'other-owner' or os.stat(str(path)).st_uid == 65534  # the save did not adopt the planted file


def test_checkpoint_in_a_sticky_directory_is_trusted(tmp_path, log):
    directory = tmp_path / 'tmp'
    directory.mkdir()
    os.chmod(str(directory), 0o1777)
    args = {'source': 'file', 'paths': [log], 'checkpoint': str(directory / 'avc.state')}
    first = run_child(tmp_path, args)
    again = run_child(tmp_path, args)
    assert not first.get('failed') and not again.get('failed') and again['records'] == 0, again


# ------------------------------------------------------------------------- checkpoints with wrong types ---

@pytest.mark.parametrize('index', range(7))
def test_checkpoint_with_wrong_field_types_is_a_clear_failure(tmp_path, log, index):
    field, state = bad_checkpoints(log)[index]
    path = tmp_path / 'avc.state'
    text = json.dumps(state)
    path.write_text(text)
    for check_mode in (True, False):
        result = run_child(tmp_path, {'source': 'file', 'paths': [log], 'checkpoint': str(path)},
                           check_mode=check_mode)
        assert result.get('failed'), result
        assert 'Checkpoint %s' % path in result['msg'] and field in result['msg'], result['msg']
        assert path.read_text() == text                     # nothing written


# --------------------------------------------------------------------------------------- impossible since ---

@pytest.mark.parametrize('since', ['2026-02-30T25:61:61Z', '2026-02-30', '2026-11-26T00:10:00+99:99'])
def test_impossible_since_is_refused_before_anything_is_read(tmp_path, fifo, since):
    # the path is a FIFO: reading anything first would be refused for the FIFO (or hang), not for since
    result = run_child(tmp_path, {'source': 'file', 'paths': [fifo], 'since': since})
    assert result.get('failed'), result
    assert 'since=%r' % since in result['msg'] and fifo not in result['msg']
