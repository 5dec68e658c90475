# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (run by `make bench`, never by the unit tests): policy rebuilds of local_policy_module.

On an offline copy of this host's policy store (semodule -p ROOT, the host store is never touched):
  A. install 5 small modules with ONE call (`modules:` -> one semodule transaction);
  B. install the same 5 modules with 5 separate calls (5 transactions), on a fresh copy;
  C. rerun A unchanged (must run 0 transactions).
Prints a Markdown section with the figures and the exact semodule commands the module ran.
"""
import argparse
import os
import re
import resource
import shutil
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

from fleetsec_testlib import store_copy  # noqa: E402
COLLECTIONS = store_copy.collections_path()  # build/collections -> this checkout (store_copy made it importable)

from ansible.module_utils import basic  # noqa: E402
from fleetsec_testlib.module_helpers import run_module  # noqa: E402

from ansible_collections.fleetsec.selinux.plugins.modules import local_policy_module as lpm  # noqa: E402

DOMAINS = ['ntpd_t', 'chronyd_t', 'httpd_t', 'sshd_t', 'crond_t']


def module_te(domain):
    return 'require { type %s; type user_home_t; class file { getattr read }; }\nallow %s user_home_t:file { getattr read };\n' % (
        domain, domain)


MODULES = [{'name': 'fsbench_%d' % i, 'te': module_te(d)} for i, d in enumerate(DOMAINS)]


class Patch(object):
    """The two monkeypatch calls run_module needs, undone at the end."""

    def __init__(self):
        self.saved = []

    def setattr(self, obj, name, value):
        self.saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def undo(self):
        for obj, name, value in reversed(self.saved):
            setattr(obj, name, value)
        self.saved = []


COMMANDS = []
_real_run_command = basic.AnsibleModule.run_command


def _logging_run_command(self, args, **kwargs):
    if os.path.basename(args[0]) == 'semodule' and any(a in args for a in ('-i', '-r', '-e', '-d')):
        COMMANDS.append(' '.join(args))
    return _real_run_command(self, args, **kwargs)


def cpu_seconds():
    """user+sys CPU of this process and its finished children (semodule, checkmodule, ...)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def call(args):
    """Run the module once; return (result, wall seconds, CPU seconds)."""
    patch = Patch()
    patch.setattr(basic.AnsibleModule, 'run_command', _logging_run_command)
    try:
        started, cpu_started = time.monotonic(), cpu_seconds()
        result, failed = run_module(patch, lpm.main, args)
        elapsed, cpu = time.monotonic() - started, cpu_seconds() - cpu_started
    finally:
        patch.undo()
    if failed:
        raise SystemExit('local_policy_module failed: %s' % result.get('msg'))
    return result, elapsed, cpu


def shorten(cmd, base):
    return re.sub(r'/\S*/fleetsec-policy-[^/\s]+', '$BUILD', cmd.replace(base, '$TMP'))


def warm_up(root):
    """Read the whole store once so the first measured run does not pay for a cold page cache alone."""
    for top, dummy, names in os.walk(root):
        for name in names:
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, 'rb') as handle:
                    handle.read()


def fresh_root(base, name):
    root = os.path.join(base, name)
    for parent, source in (('etc', '/etc/selinux'), ('var/lib', '/var/lib/selinux')):
        os.makedirs(os.path.join(root, parent))
        shutil.copytree(source, os.path.join(root, parent, 'selinux'), symlinks=True)
    return root


def one_round(base, index):
    """A, C then B on two fresh copies of the store; returns the figures and the commands."""
    root_a = fresh_root(base, 'a%d' % index)
    root_b = fresh_root(base, 'b%d' % index)
    warm_up(root_a)
    warm_up(root_b)
    figures = {}
    COMMANDS[:] = []
    figures['result_a'], figures['time_a'], figures['cpu_a'] = call({'modules': MODULES, 'policy_root': root_a})
    figures['commands_a'] = list(COMMANDS)
    COMMANDS[:] = []
    figures['result_c'], figures['time_c'], figures['cpu_c'] = call({'modules': MODULES, 'policy_root': root_a})
    figures['commands_c'] = list(COMMANDS)
    COMMANDS[:] = []
    figures['time_b'], figures['cpu_b'], figures['rebuilds_b'] = 0.0, 0.0, 0
    for entry in MODULES:
        result, elapsed, cpu = call(dict(entry, policy_root=root_b))
        figures['time_b'] += elapsed
        figures['cpu_b'] += cpu
        figures['rebuilds_b'] += result['rebuilds']
    figures['commands_b'] = list(COMMANDS)
    shutil.rmtree(root_a, ignore_errors=True)
    shutil.rmtree(root_b, ignore_errors=True)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeat', type=int, default=1,
                        help='rounds; each figure is the minimum over the rounds (use 3 on a busy machine)')
    options = parser.parse_args()
    base = tempfile.mkdtemp(prefix='fsbench-')
    try:
        load_before = os.getloadavg()[0]
        rounds = [one_round(base, i) for i in range(max(1, options.repeat))]
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    first = rounds[0]
    result_a, result_c, rebuilds_b = first['result_a'], first['result_c'], first['rebuilds_b']
    commands_a, commands_b, commands_c = first['commands_a'], first['commands_b'], first['commands_c']
    time_a, time_b, time_c = (min(r[k] for r in rounds) for k in ('time_a', 'time_b', 'time_c'))
    cpu_a, cpu_b, cpu_c = (min(r[k] for r in rounds) for k in ('cpu_a', 'cpu_b', 'cpu_c'))

    ratio = time_b / time_a
    print('## local_policy_module: policy rebuilds (bench/policy_rebuilds.py)')
    print()
    print('5 small modules (one `allow` rule each) installed on an offline copy of this host\'s policy store '
          '(`semodule -p ROOT -n`), calling the module in-process; %d round(s), minimum of each figure.' % len(rounds))
    print()
    print('| run | semodule transactions | wall time | CPU time (user+sys, with children) |')
    print('|---|---|---|---|')
    print('| A. one call with `modules:` (5 modules) | %d | %.2f s | %.2f s |' % (result_a['rebuilds'], time_a, cpu_a))
    print('| B. 5 separate calls | %d | %.2f s | %.2f s |' % (rebuilds_b, time_b, cpu_b))
    print('| C. A again, unchanged | %d | %.2f s | %.2f s |' % (result_c['rebuilds'], time_c, cpu_c))
    print()
    print('- B / A, wall time: **%.1f×** (target ≥ 4×): %s; CPU time: %.1f×' % (
        ratio, 'met' if ratio >= 4 else 'NOT met', cpu_b / cpu_a))
    print('- unchanged rerun: %.2f s = %.1f %% of the first run; changed=%s' % (
        time_c, 100.0 * time_c / time_a, result_c['changed']))
    print('- 1-minute load average: %.2f before, %.2f after (%d cores; the machine is shared, wall times vary '
          'with it, CPU times much less)' % (load_before, load_after, os.cpu_count()))
    print()
    print('Store-changing commands the module ran ($TMP/a0, $TMP/b0: temporary copies of /etc/selinux and '
          '/var/lib/selinux; $BUILD: the module\'s private build directory):')
    print()
    print('```')
    print('# A')
    for cmd in commands_a:
        print(shorten(cmd, base))
    print('# B')
    for cmd in commands_b:
        print(shorten(cmd, base))
    print('# C: %s' % ('(none)' if not commands_c else '; '.join(commands_c)))
    print('```')
    print()
    print('Reproduce: `.venv/bin/python bench/policy_rebuilds.py` (or `make bench`).')
    return 0 if (result_a['rebuilds'] == 1 and rebuilds_b == 5 and result_c['rebuilds'] == 0) else 1


if __name__ == '__main__':
    sys.exit(main())
