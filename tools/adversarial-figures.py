# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the adversarial (hostile, faulty and concurrent input) suites and write docs/dev/adversarial.md from the run.

Usage: .venv/bin/python tools/adversarial-figures.py [--out docs/dev/adversarial.md] [pytest args...]
(`make adversarial`). Every figure in the page comes from the JUnit XML of this run: nothing is typed by hand.

A case is one test (one parametrization). Its outcome is classified as:
- passed;
- hang: it failed on a timeout (subprocess.TimeoutExpired), i.e. something blocked;
- crash: it failed with an exception that is not an assertion (the code under test raised), or errored;
- wrong: it failed on an assertion (a clear error or a consistent store/record was expected and not seen).
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import xml.etree.ElementTree as ET

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
SUITES = [
    ('local_policy_module', 'tests/integration/pytest/test_local_policy_module_hostile.py'),
    ('avc_collect', 'tests/integration/pytest/test_avc_collect_hostile.py'),
]
GROUPS = [  # (title, substrings of test names), first match wins
    ('kills and parallel runs on one store', ('kill', 'parallel')),
    ('m4 in refpolicy sources', ('m4', 'refpolicy')),
    ('the verdict: a case per class of change (labels, joins, dormant content, RBAC, exemptions, derived families)',
     ('every_class', 'enabling')),
    ('safety-gate bypasses (attributes, aliases, CIL, pp)', ('gate', 'acknowledged', 'pp_declaring')),
    ('records (planted, corrupt, unwritable)', ('record',)),
    ('checkpoints (planted, in a sticky folder)', ('planted_checkpoint', 'sticky')),
    ('FIFOs (hangs)', ('fifo',)),
    ('rotated and damaged logs', ('gzip', 'rotation')),
    ('bad options, paths and values', ('bad_options', 'since', 'bad_path', 'directory', 'checkpoint', 'good_file')),
    ('malformed sources and dropped denials', ('syntax', 'dropped', 'batch')),
    ('alternate roots', ('policy_root', 'store_name')),
]


def classify(case):
    failure = case.find('failure')
    error = case.find('error')
    if case.find('skipped') is not None:
        return 'skipped'
    if failure is None and error is None:
        return 'passed'
    node = failure if failure is not None else error
    text = '%s %s' % (node.get('message') or '', node.text or '')
    if 'TimeoutExpired' in text or 'Timeout' in (node.get('type') or ''):
        return 'hang'
    if error is not None or (node.get('type') or '').split('.')[-1] not in ('AssertionError', ''):
        return 'crash'
    return 'wrong'


def group_of(name):
    for title, keys in GROUPS:
        if any(key in name for key in keys):
            return title
    return 'other'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'dev', 'adversarial.md'))
    args, pytest_args = parser.parse_known_args()
    os.makedirs(os.path.join(REPO, 'build'), exist_ok=True)
    rows = []
    for module, path in SUITES:
        xml_path = os.path.join(REPO, 'build', 'adversarial-%s.xml' % module)
        command = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', path, '--junitxml', xml_path]
        started = datetime.datetime.now()
        subprocess.run(command + pytest_args, cwd=REPO, check=False)
        seconds = (datetime.datetime.now() - started).total_seconds()
        cases = ET.parse(xml_path).getroot().iter('testcase')
        for case in cases:
            rows.append((module, group_of(case.get('name')), case.get('name'), classify(case), float(case.get('time', 0))))
        rows.append((module, None, None, None, seconds))
    write(args.out, rows)
    return 0 if all(r[3] in (None, 'passed', 'skipped') for r in rows) else 1


def write(out, rows):
    kinds = ('passed', 'wrong', 'crash', 'hang', 'skipped')
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, capture_output=True, text=True,
                            check=False).stdout.strip()
    cases = [r for r in rows if r[2] is not None]
    lines = ['# Adversarial suites: figures from the last run', '',
             'Written by `tools/adversarial-figures.py` (`make adversarial`) on %s, commit %s, %s, Python %s; do not '
             'edit by hand. Each case is one hostile, faulty or concurrent input run against the REAL tools on an '
             'offline copy of the policy store, or real files (FIFOs, damaged gzip, checkpoints); `make test` runs the '
             'same suites (step `integration-store`, and on the EL9 store `integration-store-el9`).'
             % (datetime.date.today().isoformat(), commit or '?', platform.platform(terse=True),
                platform.python_version()), '',
             '| module | what | cases | passed | wrong outcome | crashes | hangs | skipped |',
             '|---|---|---|---|---|---|---|---|']
    keys = []
    for row in cases:
        if (row[0], row[1]) not in keys:
            keys.append((row[0], row[1]))
    for module, group in keys:
        mine = [r for r in cases if r[0] == module and r[1] == group]
        counts = [len([r for r in mine if r[3] == kind]) for kind in kinds]
        lines.append('| %s | %s | %d | %s |' % (module, group, len(mine), ' | '.join(str(c) for c in counts)))
    totals = [len([r for r in cases if r[3] == kind]) for kind in kinds]
    lines.append('| **all** | | **%d** | %s |' % (len(cases), ' | '.join('**%d**' % t for t in totals)))
    lines += ['', 'Wall time per suite: %s.' % ', '.join(
        '%s %.0f s' % (r[0], r[4]) for r in rows if r[2] is None), '',
        'Kinds: *wrong outcome* = an assertion failed (the input was not refused clearly, or the store, the record '
        'and the result disagreed afterwards); *crash* = the code raised something else; *hang* = a timeout fired. '
        'The kill and parallel cases assert that the store still loads, that a rerun converges to 0 changes and '
        '0 rebuilds, and that the record matches the store.', '',
        '| case | outcome | seconds |', '|---|---|---|']
    lines += ['| %s: `%s` | %s | %.1f |' % (r[0], r[2], r[3], r[4]) for r in cases]
    with open(out, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines) + '\n')
    print('wrote %s: %d cases, %s' % (out, len(cases), ', '.join('%s %d' % kt for kt in zip(kinds, totals))))


if __name__ == '__main__':
    sys.exit(main())
