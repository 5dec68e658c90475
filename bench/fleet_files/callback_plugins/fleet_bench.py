# SPDX-License-Identifier: GPL-3.0-or-later
"""Callback used by bench/fleet.py only: per-host outcome, policy rebuilds and the controller's own cost.

It runs inside the ansible-playbook main process, so RUSAGE_SELF at the end of the play is exactly the
CPU time and peak memory of that (single-threaded) process, apart from its worker forks.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import resource

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: fleet_bench
type: aggregate
short_description: records per-host results and controller cost for bench/fleet.py
description:
  - Writes a JSON file named by the environment variable FLEETSEC_BENCH_RESULTS at the end of the playbook.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'fleet_bench'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.rebuilds = {}
        self.module_tasks = {}
        self.changed_tasks = {}

    def _record(self, result):
        host = result._host.get_name()
        data = result._result
        self.module_tasks[host] = self.module_tasks.get(host, 0) + 1
        if data.get('changed'):
            self.changed_tasks.setdefault(host, []).append(result._task.get_name())
        if result._task.action in ('fleetsec.selinux.local_policy_module', 'local_policy_module') and 'rebuilds' in data:
            self.rebuilds[host] = self.rebuilds.get(host, 0) + int(data['rebuilds'])

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result)

    def v2_playbook_on_stats(self, stats):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        hosts = sorted(stats.processed.keys())
        out = {
            'hosts': dict((h, stats.summarize(h)) for h in hosts),
            'rebuilds': self.rebuilds,
            'tasks_run': self.module_tasks,
            'changed_tasks': self.changed_tasks,
            'main_cpu': usage.ru_utime + usage.ru_stime,
            'main_maxrss_kib': usage.ru_maxrss,
        }
        path = os.environ.get('FLEETSEC_BENCH_RESULTS')
        if path:
            with open(path, 'w') as handle:
                json.dump(out, handle, indent=1, sort_keys=True)
