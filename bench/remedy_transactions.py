# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (run by `make bench`, never by the unit tests): policy transactions of the remedy module.

On private copies of a policy store (the host's, or FLEETSEC_STORE_ROOT's such as the EL9 targeted store; each
module run in a mount namespace that sees the copy, as the store tests do; the host store is never touched):
  A. 5 remedies (2 booleans, 2 port labels, 1 file-context rule) with ONE call: one semanage import transaction;
  B. the same 5 remedies with 5 calls (one transaction each), on a fresh copy: what per-item modules
     (seboolean, seport, sefcontext) cost;
  C. rerun A unchanged (must run 0 transactions);
and the same for 5 file-context rules (the remedy of an application installed under a path the policy does not
know), whose transaction is the costly kind (libsemanage validates and compiles the file contexts), and for 20
remedies of the three kinds (target: B / A at least 10x).
Both copies are first primed with one unrelated transaction: a store without libsemanage's saved linked policy
(userspace before 2.7, as on EL7, or a store whose active/*.linked files are gone) relinks every module in its first
transaction; that one-time cost is reported apart instead of being charged to A or B. The EL stores of
tools/el/build-store.sh keep the linked policy, as the policy package's %post leaves it on a host. Transactions are
libsemanage's own commit counter. Prints a Markdown section.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

from fleetsec_testlib import store_copy  # noqa: E402
from fleetsec_testlib.store_copy import commit_num  # noqa: E402

MODULE = os.path.join(REPO, 'plugins', 'modules', 'remedy.py')
REMEDIES = [
    {'booleans': [{'name': 'httpd_can_network_connect', 'state': True}]},
    {'booleans': [{'name': 'httpd_enable_homedirs', 'state': True}]},
    {'ports': [{'ports': '8089', 'proto': 'tcp', 'setype': 'http_port_t'}]},
    {'ports': [{'ports': '8090-8092', 'proto': 'tcp', 'setype': 'http_port_t'}]},
    {'fcontexts': [{'target': '/srv/fleetsec-bench(/.*)?', 'setype': 'httpd_sys_content_t'}]},
]


FCONTEXTS = [{'fcontexts': [{'target': '/srv/fleetsec-bench%d(/.*)?' % i, 'setype': 'httpd_sys_content_t'}]}
             for i in range(5)]
# 20 remedies of the three kinds (4 booleans, 6 port labels, 10 file-context rules); every boolean is off in the
# targeted and the reference policies, so each separate call is one transaction
TWENTY = ([{'booleans': [{'name': name, 'state': True}]}
           for name in ('httpd_can_network_connect', 'httpd_enable_homedirs', 'httpd_can_network_relay',
                        'httpd_can_network_connect_db')]
          + [{'ports': [{'ports': str(port), 'proto': 'tcp', 'setype': 'http_port_t'}]} for port in range(28081, 28087)]
          + [{'fcontexts': [{'target': '/srv/fleetsec-bench20-%d(/.*)?' % i, 'setype': 'httpd_sys_content_t'}]}
             for i in range(10)])
# (label, the remedies, the target of B / A)
SCENARIOS = (('2 booleans, 2 port labels, 1 file-context rule', REMEDIES, 4), ('5 file-context rules', FCONTEXTS, 4),
             ('20 remedies: 4 booleans, 6 port labels, 10 file-context rules', TWENTY, 10))


def all_in_one(entries):
    merged = {}
    for entry in entries:
        for key, items in entry.items():
            merged.setdefault(key, []).extend(items)
    return merged


def fresh_root(base, name):
    root = os.path.join(base, name)
    for parent, source in store_copy.STORE_DIRS:
        os.makedirs(os.path.join(root, parent))
        shutil.copytree(source, os.path.join(root, parent, os.path.basename(source)), symlinks=True)
    return root


def call(root, args, scratch):
    started = time.monotonic()
    result, rc = store_copy.run_in_store_namespace(MODULE, root, args, tmp_path=scratch)
    if rc != 0:
        raise SystemExit('remedy failed: %s' % result.get('msg'))
    return result, time.monotonic() - started


PRIME = {'booleans': [{'name': 'httpd_can_sendmail', 'state': True}]}


def one_round(base, index, entries):
    root_a, root_b = fresh_root(base, 'a%s' % index), fresh_root(base, 'b%s' % index)
    figures = {'prime': [call(root, PRIME, base)[1] for root in (root_a, root_b)]}
    start = commit_num(root_a)
    figures['result_a'], figures['time_a'] = call(root_a, all_in_one(entries), base)
    figures['tx_a'] = commit_num(root_a) - start
    start = commit_num(root_a)
    figures['result_c'], figures['time_c'] = call(root_a, all_in_one(entries), base)
    figures['tx_c'] = commit_num(root_a) - start
    # the commit counter after each separate call: one transaction each, or the call that ran another number
    counters = [commit_num(root_b)]
    figures['calls_b'] = []
    for entry in entries:
        figures['calls_b'].append(call(root_b, entry, base)[1])
        counters.append(commit_num(root_b))
    figures['time_b'] = sum(figures['calls_b'])
    figures['tx_b'] = counters[-1] - counters[0]
    figures['tx_b_each'] = [after - before for before, after in zip(counters, counters[1:])]
    shutil.rmtree(root_a, ignore_errors=True)
    shutil.rmtree(root_b, ignore_errors=True)
    return figures


def table(label, entries, target, rounds):
    first, count = rounds[0], len(entries)
    time_a, time_b, time_c = (min(r[k] for r in rounds) for k in ('time_a', 'time_b', 'time_c'))
    ratio = time_b / time_a
    print('### %s' % label)
    print()
    print('| run | semanage transactions | wall time |')
    print('|---|---|---|')
    print('| priming of each copy (first transaction on it) | 1 + 1 | %s |' % ', '.join('%.2f s' % t for t in first['prime']))
    print('| A. one call, all %d | %d | %.2f s |' % (count, first['tx_a'], time_a))
    calls = ', '.join('%.2f' % t for t in first['calls_b'])
    print('| B. %d calls, one each | %d | %.2f s (%s) |' % (count, first['tx_b'], time_b, calls))
    if first['tx_b_each'] != [1] * count:
        print('| B, transactions per call | %s | |' % ', '.join(str(n) for n in first['tx_b_each']))
    print('| C. A again, unchanged | %d | %.2f s |' % (first['tx_c'], time_c))
    print()
    print('- B / A, wall time: **%.1f×** (target ≥ %d×): %s' % (ratio, target, 'met' if ratio >= target else 'NOT met'))
    print('- the import of A: `%s`' % '`, `'.join(first['result_a']['import_lines']))
    print()
    return first['tx_a'] == 1 and first['tx_b'] == count and first['tx_c'] == 0


def report(results, load):
    print('## remedy: one transaction for every remedy (bench/remedy_transactions.py)')
    print()
    print('Store: a private copy of `%s` (`%s`), semanage `%s`; %d round(s), minimum of each wall time.' % (
        store_copy.STORE_ROOT, store_copy.store_type(store_copy.STORE_ROOT) if store_copy.STORE_ROOT != '/' else 'host',
        shutil.which('semanage'), len(results[0][3])))
    print()
    ok = [table(*result) for result in results] == [True] * len(results)  # every table printed
    print('- 1-minute load average: %.2f before, %.2f after (%d cores)' % (load[0], load[1], os.cpu_count()))
    print()
    print('Reproduce: `.venv/bin/python bench/remedy_transactions.py`; on the EL9 store: `eval "$(tools/el/env.sh 3.6)"; '
          'FLEETSEC_STORE_ROOT=$(tools/el/build-store.sh el9 | tail -1)/root .venv/bin/python bench/remedy_transactions.py`.')
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeat', type=int, default=1, help='rounds; each wall time is the minimum over them')
    parser.add_argument('--scenarios', default=None, help='comma-separated numbers of the scenarios to run (1-%d; '
                        'default: all)' % len(SCENARIOS))
    options = parser.parse_args()
    if os.geteuid() != 0 or not store_copy.NAMESPACE_TOOLS or not store_copy.namespace_ok():
        raise SystemExit('needs root and unshare -m (the module runs in a private mount namespace)')
    base = tempfile.mkdtemp(prefix='fsbench-remedy-')
    try:
        load_before = os.getloadavg()[0]
        chosen = [int(n) - 1 for n in options.scenarios.split(',')] if options.scenarios else range(len(SCENARIOS))
        results = [(label, entries, target,
                    [one_round(base, '%d-%d' % (n, i), entries) for i in range(max(1, options.repeat))])
                   for n, (label, entries, target) in enumerate(SCENARIOS) if n in chosen]
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return report(results, (load_before, load_after))


if __name__ == '__main__':
    sys.exit(main())
