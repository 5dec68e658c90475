# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real audit records through the collection, on a real policy store, judged by that release's own audit2allow.

The records are FLEETSEC_RECORDS (files or globs, separated by ':' or blanks: for example a RHEL host's
``/var/log/audit/audit.log*`` copied to this machine; ``make check-records RECORDS=...``) or, by default, the project's
corpus of published records (tests/unit/fixtures/avc/*.log, each record's source in its README). Nothing here knows
what the records hold: every expectation is computed from the release's tools on the same input.

1. avc_collect reads the files; every permission that the release's ``audit2allow -i FILE`` finds in a file, the
   collection finds too (a file that audit2allow cannot read is reported, not compared).
2. local_policy_module generates a module from the collected lines; its text is that release's
   ``audit2allow -m NAME`` on the same lines, but for the intended differences: require lines sorted, and no
   "allowed in the current policy" remark (once loaded every rule is allowed, so the remark would change the text
   of an unchanged rerun). Denials that get no rule (types this policy does not define, for example) are listed
   with the reason; audit2allow gives no rule for them either.
3. The module is installed into a copy of the store: listed at priority 400, and the release's audit2allow, asked
   again on the same lines against the NEW policy, finds every generated rule allowed.
4. An unchanged rerun commits nothing.

A JSON report of what was read, generated, dropped and compared goes to FLEETSEC_RECORDS_REPORT (default
build/records/report-STORE.json). Run on the EL9 store in ``make test`` (step integration-store-el9).
"""
import glob
import json
import os
import re
import subprocess

import pytest

from fleetsec_testlib.store_copy import (REPO, STORE_ROOT, binary_policy, commit_num, run_in_store_namespace,
                                         semodule_list)

pytestmark = pytest.mark.lanes('debian', 'el9', 'records')

LPM = os.path.join(REPO, 'plugins', 'modules', 'local_policy_module.py')
AVC_COLLECT = os.path.join(REPO, 'plugins', 'modules', 'avc_collect.py')
CORPUS = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'avc', '*.log')
NAME = 'fsirecords'
RULE = re.compile(r'^allow (\S+) (\S+):(\S+) (?:\{ ([^}]*) \}|(\S+));$')
ALLOWED_REMARK = '#!!!! This avc is allowed in the current policy'


def record_files():
    given = os.environ.get('FLEETSEC_RECORDS', '').replace(':', ' ').split()
    files = []
    for pattern in given or [CORPUS]:
        found = sorted(glob.glob(os.path.expanduser(pattern)))
        if given and not found:
            pytest.fail('FLEETSEC_RECORDS: %s matches no file' % pattern)
        files.extend(path for path in found if os.path.isfile(path))
    return files


def permissions(text):
    """{(source, target, class, permission)} of the allow rules of an audit2allow-style text (``self``: the source)."""
    found = set()
    for line in text.splitlines():
        match = RULE.match(line.strip())
        if match:
            source, target, tclass = match.group(1, 2, 3)
            for perm in (match.group(4) or match.group(5)).split():
                found.add((source, source if target == 'self' else target, tclass, perm))
    return found


def normalized(te):
    """The lines of a .te without blank lines and the "allowed" remark, require lines sorted."""
    lines = [line.rstrip() for line in te.splitlines() if line.strip() and line.strip() != ALLOWED_REMARK]
    start, end = lines.index('require {'), lines.index('}')
    return lines[:start + 1] + sorted(lines[start + 1:end]) + lines[end:]


def allowed_rules(text):
    """The allow lines of audit2allow's output that it marks as allowed in the current policy."""
    marked, remark = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('#!!!!'):
            remark = line
        elif line.startswith('allow '):
            if remark == ALLOWED_REMARK:
                marked.append(line)
            remark = None
    return marked


def undefined_by_the_policy(policy, dropped):
    """{(source, target, class, permission)} of the denials dropped for a class or permission the policy lacks,
    each claim checked with seinfo (the class's own permissions and its common's)."""
    lacking = set()
    for denial in dropped:
        if not re.match(r'(class \S+|permission\(s\) .*) not defined in the policy$', denial['reason']):
            continue
        tclass = denial['tclass']
        listed = subprocess.run(['seinfo', policy, '-c', tclass, '-x'], capture_output=True, text=True,
                                check=True).stdout
        common = re.search(r'^inherits (\S+)', listed, re.M)
        if common:
            listed += subprocess.run(['seinfo', policy, '--common', common.group(1), '-x'], capture_output=True,
                                     text=True, check=True).stdout
        defined = set(re.findall(r'^\t(\S+)$', listed, re.M))
        for perm in denial['permissions']:
            assert perm not in defined, 'dropped, yet %s defines %s %s' % (policy, tclass, perm)
            lacking.add((denial['source_type'], denial['target_type'], tclass, perm))
    return lacking


def audit2allow(args, text=None):
    proc = subprocess.run(['audit2allow'] + args, input=text, capture_output=True, text=True, check=False,
                          env=dict(os.environ, LC_ALL='C'))
    return proc


def report_path(root):
    store = os.path.basename(os.path.dirname(STORE_ROOT.rstrip('/'))) or 'host'
    path = os.environ.get('FLEETSEC_RECORDS_REPORT') or os.path.join(REPO, 'build', 'records', 'report-%s.json' % store)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def test_the_helpers_can_tell_a_difference():
    """The comparisons below can fail: a missing permission, a changed rule, an unmarked rule are all seen."""
    te = 'module m 1.0;\n\nrequire {\n\ttype b_t;\n\ttype a_t;\n\tclass file { open read };\n}\n\n' \
         '#============= a_t ==============\n\n%s\nallow a_t b_t:file { open read };\n'
    assert permissions(te % '') == {('a_t', 'b_t', 'file', 'open'), ('a_t', 'b_t', 'file', 'read')}
    assert normalized(te % ALLOWED_REMARK) == normalized(te % '')
    assert normalized(te % '') != normalized((te % '').replace('{ open read }', 'read'))
    assert normalized(te % '#!!!! This avc has a dontaudit rule in the current policy') != normalized(te % '')
    assert allowed_rules(te % ALLOWED_REMARK) == ['allow a_t b_t:file { open read };']
    assert allowed_rules(te % '') == []


def test_real_records_generate_compile_and_load_as_the_release_audit2allow_says(policy_root, tmp_path):
    root = policy_root
    files = record_files()
    assert files, 'no record files'
    policy = binary_policy(root)
    report = {'store': STORE_ROOT, 'policy': os.path.basename(policy), 'files': files}

    # 1. read: nothing the release's audit2allow reads is missed
    collected, rc = run_in_store_namespace(AVC_COLLECT, root, dict(source='file', paths=files), tmp_path=tmp_path,
                                           namespace=False)
    assert rc == 0, collected
    lines = collected['lines']
    report.update(records=collected['records'], skipped_lines=collected['skipped_lines'], denials=len(lines))
    if not lines:
        pytest.skip('the records hold no denial: %s' % report)
    reference_raw, unreadable = set(), {}
    for path in files:
        proc = audit2allow(['-p', policy, '-i', path])
        if proc.returncode == 0:
            reference_raw |= permissions(proc.stdout)
        else:
            # (audit2allow prints its error to stdout or stderr)
            unreadable[path] = ((proc.stderr + proc.stdout).strip().splitlines() or ['rc %d' % proc.returncode])[-1]
    report['unreadable_by_audit2allow'] = unreadable
    by_collection = permissions(audit2allow(['-p', policy], '\n'.join(lines) + '\n').stdout)
    report['only_in_collection'] = sorted(' '.join(p) for p in by_collection - reference_raw)
    missed = sorted(' '.join(p) for p in reference_raw - by_collection)
    report['missed_by_collection'] = missed

    # 2. generate, compile and install (the reference first: the install rewrites the policy file)
    reference = audit2allow(['-m', NAME, '-p', policy], '\n'.join(lines) + '\n')
    commits = commit_num(root)
    result, rc = run_in_store_namespace(LPM, root, dict(name=NAME, version='1.0', denials=lines, policy_root=root,
                                                        allow_dangerous=True), tmp_path=tmp_path, namespace=False)
    report['module'] = {key: result.get(key) for key in ('msg', 'rules', 'dropped', 'dangerous', 'booleans',
                                                         'checksum', 'rebuilds')}
    report.update(te=result.get('te'), audit2allow_te=reference.stdout)
    with open(report_path(root), 'w') as handle:
        json.dump(report, handle, indent=1, sort_keys=True)
    assert not missed, 'permissions audit2allow reads in the files and the collection does not: %s' % missed
    assert rc == 0, result
    assert reference.returncode == 0, reference.stderr
    # a denial of a class or permission this policy lacks (records of another release) is dropped by the module,
    # not by audit2allow: each such claim is checked with seinfo, and the rest must be audit2allow's text
    lacking = undefined_by_the_policy(policy, result['dropped'])
    if lacking:
        assert permissions(result['te']) == permissions(reference.stdout) - lacking
    else:
        assert normalized(result['te']) == normalized(reference.stdout)
    # what the module drops (with its reason), the release's audit2allow gives no rule for either
    expected = permissions(reference.stdout) - lacking
    for denial in result['dropped']:
        assert denial['reason'], denial
        assert not {(denial['source_type'], denial['target_type'], denial['tclass'], perm)
                    for perm in denial['permissions']} & expected, denial

    # 3. loaded: listed, and every generated rule allowed by the new policy in the release's own judgement
    assert result['changed'] and result['rebuilds'] == 1 and commit_num(root) == commits + 1
    listed = semodule_list(root)[NAME]
    assert listed[:3] == (400, 'pp', True), listed
    assert listed[3] in (None, result['checksum'])  # None: a userspace without `semodule -m` (2.x)
    after = audit2allow(['-p', binary_policy(root)], '\n'.join(lines) + '\n')
    assert after.returncode == 0, after.stderr
    assert sorted(allowed_rules(after.stdout)) == sorted(line for line in result['te'].splitlines()
                                                         if line.startswith('allow '))

    # 4. an unchanged rerun commits nothing
    again, rc = run_in_store_namespace(LPM, root, dict(name=NAME, version='1.0', denials=lines, policy_root=root,
                                                       allow_dangerous=True), tmp_path=tmp_path, namespace=False)
    assert rc == 0 and not again['changed'] and again['rebuilds'] == 0, again
    assert commit_num(root) == commits + 1
