# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (run by `make bench`, never by the unit tests): what the safety verdict costs on an install.

On private copies of a policy store (this host's, or FLEETSEC_STORE_ROOT's such as the EL9 targeted store; the
source store is never touched), side by side in each round:
  P. a plain `semodule -p COPY -s TYPE -n -X 400 -i MODULE.pp` of a three-permission module, built beforehand;
  S. the same module installed safely by local_policy_module from its .te (compile, convert, verdict, gate, one
     transaction), called in-process.
Both copies are listed once (`semodule -lfull`) and read once before the round, so neither pays for libsemanage's
CIL cache or a cold page cache alone. Prints a Markdown section: the figures, S / P, and the commands S ran.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

import policy_rebuilds as harness  # noqa: E402  (next to this file: in-process module runs, command log, warm-up)
from remedy_transactions import fresh_root as copy_store  # noqa: E402
from fleetsec_testlib import store_copy  # noqa: E402

TARGET_RATIO = 1.2
TE = ('require { type ntpd_t; type user_home_t; class file { getattr open read }; }\n'
      'allow ntpd_t user_home_t:file { getattr open read };\n')


def fresh_root(base, name):
    """A private copy of the store (as remedy_transactions makes it), listed and read once."""
    root = copy_store(base, name)
    subprocess.run(['semodule', '-p', root, '-s', store_copy.store_type(root), '-lfull'], check=True,
                   capture_output=True)
    harness.warm_up(root)
    return root


def build_pp(base):
    """fsbench_safe.pp from TE (checkmodule + semodule_package), as the module builds it."""
    te = os.path.join(base, 'fsbench_safe.te')
    with open(te, 'w') as handle:
        handle.write('module fsbench_safe 1.0;\n' + TE)
    mod, pp = te[:-3] + '.mod', te[:-3] + '.pp'
    subprocess.run(['checkmodule', '-M', '-m', '-o', mod, te], check=True, capture_output=True)
    subprocess.run(['semodule_package', '-o', pp, '-m', mod], check=True, capture_output=True)
    return pp


def plain(root, pp):
    cmd = ['semodule', '-p', root, '-s', store_copy.store_type(root), '-n', '-X', '400', '-i', pp]
    started = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.monotonic() - started, cmd


def safe(root):
    harness.COMMANDS[:] = []
    result, elapsed, dummy = harness.call({'name': 'fsbench_safe', 'te': TE, 'version': '1.0', 'policy_root': root})
    return elapsed, result, list(harness.COMMANDS)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeat', type=int, default=3, help='rounds (median of each figure)')
    options = parser.parse_args()
    base = tempfile.mkdtemp(prefix='fsbench-safe-')
    plains, safes, result, commands, plain_cmd = [], [], None, [], None
    try:
        pp = build_pp(base)
        load_before = os.getloadavg()[0]
        for index in range(max(1, options.repeat)):
            root_p, root_s = fresh_root(base, 'p%d' % index), fresh_root(base, 's%d' % index)
            # alternate which one runs first, so that neither always meets the busier moment
            if index % 2:
                elapsed, result, commands = safe(root_s)
                safes.append(elapsed)
                elapsed, plain_cmd = plain(root_p, pp)
                plains.append(elapsed)
            else:
                elapsed, plain_cmd = plain(root_p, pp)
                plains.append(elapsed)
                elapsed, result, commands = safe(root_s)
                safes.append(elapsed)
            shutil.rmtree(root_p, ignore_errors=True)
            shutil.rmtree(root_s, ignore_errors=True)
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    p, s = statistics.median(plains), statistics.median(safes)
    ratio = s / p
    where = 'this host\'s store' if store_copy.STORE_ROOT == '/' else 'the store of FLEETSEC_STORE_ROOT (%s, %s)' % (
        os.path.basename(os.path.dirname(store_copy.STORE_ROOT.rstrip('/'))), store_copy.store_type(store_copy.STORE_ROOT))
    print('## local_policy_module: the safe install beside a plain `semodule -i` (bench/safe_install.py), %s'
          % ('host store' if store_copy.STORE_ROOT == '/' else store_copy.store_type(store_copy.STORE_ROOT)))
    print()
    print('A three-permission module on private copies of %s; semodule from %s; %d round(s), median.' % (
        where, 'the host' if shutil.which('semodule').startswith('/usr/') else 'the release\'s userspace build',
        len(plains)))
    print()
    print('| run | wall time (median) | every round |')
    print('|---|---|---|')
    print('| P. plain `semodule -i` of the built .pp | %.2f s | %s |' % (p, ', '.join('%.2f' % x for x in plains)))
    print('| S. local_policy_module from the .te (compile, verdict, gate, one transaction) | %.2f s | %s |' % (
        s, ', '.join('%.2f' % x for x in safes)))
    print()
    print('- S / P: **%.2f×** (target ≤ %.1f×): %s; findings: %d; rebuilds: %d' % (
        ratio, TARGET_RATIO, 'met' if ratio <= TARGET_RATIO else 'NOT met', len(result['dangerous']),
        result['rebuilds']))
    print('- 1-minute load average: %.2f before, %.2f after (%d cores)' % (load_before, load_after, os.cpu_count()))
    print()
    print('Store-changing commands of S ($BUILD: the module\'s private build directory), and P:')
    print()
    print('```')
    for cmd in commands:
        print(harness.shorten(cmd, base))
    print(harness.shorten(' '.join(plain_cmd), base))
    print('```')
    print()
    print('Reproduce: `.venv/bin/python bench/safe_install.py` (host store) or `eval "$(tools/el/env.sh 3.6)"; '
          'FLEETSEC_STORE_ROOT=$(tools/el/build-store.sh el9 | tail -1)/root .venv/bin/python bench/safe_install.py`.')
    # the benchmark checks itself: one transaction, nothing found in a harmless module
    return 0 if result['rebuilds'] == 1 and not result['dangerous'] else 1


if __name__ == '__main__':
    sys.exit(main())
