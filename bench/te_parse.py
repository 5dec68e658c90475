# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (run by `make bench`; `make test` runs it in step bench-smoke): parsing a large .te.

A source with N comment lines and one rule is parsed the three ways local_policy_module parses every source
(parse_te, derive_version, source_fingerprint), for N and 10 x N. Parsing must grow linearly: a `^\\s*`
anchored at each line start once made it quadratic (50,000 comment lines took 75 s). Exits 1 when the
10 x N source takes more than --max-ratio times as long as the N one (linear ~10, quadratic ~100).
"""
import argparse
import os
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

from fleetsec_testlib import store_copy  # noqa: E402  (makes build/collections -> this checkout importable)

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_te as te_text  # noqa: E402

RULE = 'require { type ntpd_t; type user_home_t; class file read; }\n%sallow ntpd_t user_home_t:file read;\n'


def seconds(lines, repeat):
    te = RULE % ('# a comment line of a reviewed source\n' * lines)
    best = None
    for dummy in range(repeat):
        started = time.perf_counter()
        assert te_text.parse_te(te)[-1].text == 'allow ntpd_t user_home_t:file read;'
        te_text.derive_version(te)
        te_text.source_fingerprint(te)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lines', type=int, default=5000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--max-ratio', type=float, default=30.0)
    args = parser.parse_args()
    assert store_copy.REPO == REPO
    small = seconds(args.lines, args.repeat)
    large = seconds(args.lines * 10, args.repeat)
    ratio = large / small if small else float('inf')
    print('## Parsing a large .te\n\n| comment lines | parse_te + derive_version + source_fingerprint |\n|---|---|')
    print('| %d | %.3f s |\n| %d | %.3f s |\n\n10x the lines took %.1fx the time (linear: ~10x).'
          % (args.lines, small, args.lines * 10, large, ratio))
    if ratio > args.max_ratio:
        print('FAILED: parsing grows faster than linearly (%.1fx > %.1fx)' % (ratio, args.max_ratio))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
