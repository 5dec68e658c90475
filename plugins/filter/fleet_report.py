# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_report
short_description: Aggregate the denials of many hosts into the fleet report's data
version_added: 0.1.0
author: fleetsec.selinux maintainers (@fleetsec)
description:
  - Takes the per-host results of M(fleetsec.selinux.avc_collect) and M(fleetsec.selinux.selinux_mode)
    and returns one structure the report templates render - per host and per domain, each denial with counts,
    first/last seen, the explanation, whether the deployed module covers it, and the hosts still permissive.
  - Deterministic - the same input gives the same output, so a rerun rewrites an identical report.
  - What a host sends is untrusted data - root on a compromised host controls its module results. Every value is
    checked for its type (text, count, list of texts, mapping) before use; a host whose result does not have the
    documented shape is reported in the state C(unreadable), with what was wrong, and the report of every other host
    is still written. The templates escape every value they print (HTML, and Markdown with
    P(fleetsec.selinux.md_escape#filter)).
options:
  _input:
    description:
      - Mapping of host name to that host's variables (normally C(hostvars)).
      - Each host's O(avc_var) holds its avc_collect result and O(mode_var) its selinux_mode result; either may be missing
        (an unreachable host).
    type: dict
    required: true
  hosts:
    description: Hosts to report on (normally C(ansible_play_hosts_all)). Default - every key of the input.
    type: list
    elements: str
  avc_var:
    description: Name of the host variable holding the avc_collect result.
    type: str
    default: fleetsec_avc
  mode_var:
    description: Name of the host variable holding the selinux_mode result.
    type: str
    default: fleetsec_mode
  rules:
    description: Allow rules of the deployed module (the C(rules) returned by M(fleetsec.selinux.local_policy_module)).
    type: list
    elements: str
    default: []
  failed_hosts:
    description:
      - Hosts that failed or were unreachable in the play (normally C(ansible_play_hosts_all | difference(ansible_play_hosts))).
        A host among them with no observation at all is reported C(unreachable), one with some C(failed).
    type: list
    elements: str
    default: []
  generated_at:
    description: When the report was generated (shown in it); passed in so the same input gives the same output.
    type: str
  customisations_var:
    description: Name of the host variable holding the M(fleetsec.selinux.customisations_info) result (optional per
      host).
    type: str
    default: fleetsec_customisations
    version_added: 0.2.0
'''

EXAMPLES = r'''
- name: Build the report data on the controller
  ansible.builtin.set_fact:
    report: "{{ hostvars | fleetsec.selinux.fleet_report(hosts=ansible_play_hosts_all, rules=module_rules) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The report data.
  type: dict
  contains:
    hosts:
      description:
        - One entry per host - C(name), C(runtime), C(config), C(permissive_domains), C(denials), C(records),
          C(skipped) (malformed lines), C(reachable), C(problem) (why its result is unreadable, else null).
      type: list
      elements: dict
    rows:
      description: One entry per host and unique denial, sorted by domain, host, target type and class.
      type: list
      elements: dict
    domains:
      description: Domain name to the number of hosts and denials seen for it.
      type: dict
    permissive_hosts:
      description: Hosts whose runtime mode is permissive or that have permissive domains.
      type: list
      elements: str
    totals:
      description: C(hosts), C(denials), C(uncovered), C(booleans).
      type: dict
    unique:
      description:
        - One entry per unique denial across the fleet (domain, target type, class, permissions) - C(hosts) (the
          host names), C(host_count), C(count) (records, summed), C(first_seen), C(last_seen), C(comms), C(exes),
          C(paths), C(explanation), C(booleans), C(remedies), C(remedy_reasons), C(commands) (what a person would
          run - the remedy's command, C(setsebool -P NAME on), or the allow rule a module would hold), C(raws) (the
          raw records of up to three hosts, from the result's C(lines)), C(covered). Sorted by the number of hosts
          (most first), then domain, target type and class.
      type: list
      elements: dict
    states:
      description:
        - Host names per state - C(unreachable) (no observation), C(unreadable) (a result without the documented
          shape; the host entry's C(problem) says what), C(failed), C(disabled), C(permissive) (runtime permissive or
          permissive domains), C(enforcing). Each host is in exactly one, the first that applies.
      type: dict
    window:
      description: C(first_seen) and C(last_seen) over every denial (null without denials), and C(generated_at).
      type: dict
    customisations:
      description:
        - The local customisations of the hosts that reported them (O(customisations_var)) - C(hosts), C(settings)
          (each with C(kind), C(setting), C(hosts) that have it and C(missing), the reporting hosts that lack it; the
          settings some hosts lack first), C(modules) (per host, its modules beyond the policy package's own - the
          change sets it runs, by module name, priority and checksum), C(problems) (host to why its customisations
          could not be read).
      type: dict
      version_added: 0.2.0
'''

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetsec.selinux.plugins.module_utils._customisations import (
    command as setting_command, fleet as fleet_customisations)
from ansible_collections.fleetsec.selinux.plugins.module_utils._remedy import REMEDIES
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_denials import granted, missing_permissions
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_te import parse_te


def parse_rules(rules):
    """Return {(source, target, class): set(permissions)} of the allow rules in ``rules`` (lines of TE text).

    The collection's one TE grammar (the one local_policy_module generates and judges with): ``self`` is the
    source type and ``{ a_t b_t }`` sets are expanded, so coverage here agrees with the module's.
    """
    return granted(parse_te('\n'.join(str(rule) for rule in rules or [])))[0]


class Unreadable(Exception):
    """A host's result does not have the documented shape (the message says where and what)."""


def _kind(value):
    return 'null' if value is None else type(value).__name__


def _text(value, what):
    """Text or None; anything else (a number, a list, a mapping) is unreadable."""
    if value is None or isinstance(value, str):
        return value
    raise Unreadable('%s is a %s, expected text' % (what, _kind(value)))


def _count(value, what):
    """A count: an int >= 0 (not a bool, not 8089.9, not "5"); None counts 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Unreadable('%s is %s (a %s), expected a count' % (what, _shown(value), _kind(value)))
    return value


def _shown(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def _texts(value, what):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise Unreadable('%s is a %s, expected a list' % (what, _kind(value)))
    return [_text(item, '%s[%d]' % (what, i)) for i, item in enumerate(value) if item is not None]


def _mapping(value, what):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Unreadable('%s is a %s, expected a mapping' % (what, _kind(value)))
    return value


def _list(value, what):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise Unreadable('%s is a %s, expected a list' % (what, _kind(value)))
    return value


def _covered(denial, allowed):
    perms = denial['permissions']
    return bool(perms) and not missing_permissions(allowed, denial['domain'], denial['target_type'],
                                                   denial['tclass'], perms)


def _host_summary(name, avc, mode):
    builtin = set(_texts(mode.get('permissive_builtin'), 'permissive_builtin'))
    return {
        'name': name,
        'runtime': _text(mode.get('runtime_after'), 'runtime_after') or _text(mode.get('runtime_before'), 'runtime_before'),
        'config': _text(mode.get('config_after'), 'config_after') or _text(mode.get('config_before'), 'config_before'),
        # the domains made permissive on the host; the ones the policy itself ships permissive (EL9 targeted:
        # coreos_installer_t) are not a host's state, and would flag every host of the fleet
        'permissive_domains': sorted(set(_texts(mode.get('permissive_domains'), 'permissive_domains')) - builtin),
        'denials': len(_list(avc.get('denials'), 'denials')),
        'records': _count(avc.get('records'), 'records'),
        'skipped': _count(_mapping(avc.get('skipped_lines'), 'skipped_lines').get('count'), 'skipped_lines.count'),
        'reachable': bool(avc or mode),
        'problem': None,
    }


def _unreadable_host(name, problem):
    return {'name': name, 'runtime': None, 'config': None, 'permissive_domains': [], 'denials': 0, 'records': 0,
            'skipped': 0, 'reachable': True, 'problem': 'result unreadable: %s' % problem}


def _command(row, evidence, where):
    """What a person would run for this denial: the remedy's own command, ``setsebool -P`` for a boolean, else the
    allow rule a module would hold."""
    command = _text(evidence.get('command'), where + '.remedy.evidence.command')
    if command:
        return command
    if row['remedy'] == 'boolean':
        names = [_text(_mapping(b, where + '.remedy.evidence.booleans[]').get('name'), where + '.remedy.evidence.booleans[].name')
                 for b in _list(evidence.get('booleans'), where + '.remedy.evidence.booleans')]
        return ' '.join(setting_command('boolean', {'boolean': name, 'state': True}) for name in names[:1] if name)
    if row['remedy'] == 'none' or not (row['domain'] and row['target_type'] and row['tclass']):
        return ''
    return 'allow %s %s:%s { %s };' % (row['domain'], row['target_type'], row['tclass'], ' '.join(row['permissions']))


def _row(host, denial, allowed, index, raw=None):
    where = 'denials[%d]' % index
    denial = _mapping(denial, where)
    explanation = _mapping(denial.get('explanation'), where + '.explanation')
    remedy = _mapping(denial.get('remedy'), where + '.remedy')
    row = {
        'host': host,
        'domain': _text(denial.get('source_type'), where + '.source_type'),
        'target_type': _text(denial.get('target_type'), where + '.target_type'),
        'tclass': _text(denial.get('tclass'), where + '.tclass'),
        'permissions': sorted(_texts(denial.get('permissions'), where + '.permissions')),
        'count': _count(denial.get('count'), where + '.count'),
        'first_seen': _text(denial.get('first_seen'), where + '.first_seen'),
        'last_seen': _text(denial.get('last_seen'), where + '.last_seen'),
        'comm': _text(denial.get('comm'), where + '.comm'),
        'exe': _text(denial.get('exe'), where + '.exe'),
        'path': _text(denial.get('path'), where + '.path') or _text(denial.get('name'), where + '.name'),
        'explanation': _text(explanation.get('kind'), where + '.explanation.kind') or 'not explained',
        'booleans': _texts(explanation.get('booleans'), where + '.explanation.booleans'),
        'remedy': _text(remedy.get('remedy'), where + '.remedy.remedy') or 'not triaged',
        'remedy_reason': _text(remedy.get('reason'), where + '.remedy.reason'),
    }
    row['covered'] = _covered(row, allowed)
    row['command'] = _command(row, _mapping(remedy.get('evidence'), where + '.remedy.evidence'), where)
    row['raw'] = _text(raw, 'lines[%d]' % index)
    return row


def _host(name, data, allowed, avc_var, mode_var):
    """(summary, rows) of one host; a result without the documented shape gives an ``unreadable`` summary."""
    try:
        data = _mapping(data, 'the host variables')
        avc = _mapping(data.get(avc_var), avc_var)
        mode = _mapping(data.get(mode_var), mode_var)
        summary = _host_summary(name, avc, mode)
        lines = _list(avc.get('lines'), 'lines')
        rows = [_row(name, d, allowed, i, lines[i] if i < len(lines) else None)
                for i, d in enumerate(_list(avc.get('denials'), 'denials'))]
    except Unreadable as err:
        return _unreadable_host(name, str(err)), []
    return summary, rows


def _domains(rows):
    domains = {}
    for row in rows:
        dom = domains.setdefault(row['domain'], {'hosts': set(), 'denials': 0})
        dom['hosts'].add(row['host'])
        dom['denials'] += 1
    return dict((k, {'hosts': len(v['hosts']), 'denials': v['denials']}) for k, v in sorted(domains.items()))


def _unique_key(row):
    return (row['domain'] or '', row['target_type'] or '', row['tclass'] or '', tuple(row['permissions']))


def _merge(entry, row):
    entry['hosts'].add(row['host'])
    entry['count'] += row['count'] or 0
    for key, pick in (('first_seen', min), ('last_seen', max)):
        if row[key]:
            entry[key] = pick(entry[key], row[key]) if entry[key] else row[key]
    entry['booleans'].update(row['booleans'])
    entry['explanations'].add(row['explanation'])
    for key, value in (('comms', row['comm']), ('exes', row['exe']), ('paths', row['path']),
                       ('remedies', row['remedy']), ('remedy_reasons', row['remedy_reason']),
                       ('commands', row['command'])):
        if value:
            entry[key].add(value)
    if row['raw'] and len(entry['raws']) < 3:  # one raw record per host, the first three hosts
        entry['raws'].append(row['raw'])


def _unique(rows):
    """One entry per unique denial across the fleet: the rows of every host merged."""
    merged = {}
    for row in rows:
        key = _unique_key(row)
        entry = merged.get(key)
        if entry is None:
            entry = merged[key] = dict(
                domain=key[0], target_type=key[1], tclass=key[2], permissions=list(key[3]), count=0,
                first_seen=None, last_seen=None, covered=row['covered'], hosts=set(), comms=set(), exes=set(),
                paths=set(), booleans=set(), remedies=set(), remedy_reasons=set(), explanations=set(), commands=set(),
                raws=[])
        _merge(entry, row)
    out = []
    for entry in merged.values():
        explanations = sorted(entry.pop('explanations'))
        entry['explanation'] = ', '.join(explanations)
        for key in ('hosts', 'comms', 'exes', 'paths', 'booleans', 'remedies', 'remedy_reasons', 'commands'):
            entry[key] = sorted(entry[key])
        entry['host_count'] = len(entry['hosts'])
        out.append(entry)
    out.sort(key=lambda e: (-e['host_count'], e['domain'], e['target_type'], e['tclass'], e['permissions']))
    return out


def _is_permissive(host):
    """Permissive at runtime, or with domains made permissive on the host."""
    return host['runtime'] == 'permissive' or bool(host['permissive_domains'])


def _states(out_hosts, failed):
    """Each host in the first state that applies: unreachable, failed, disabled, permissive, enforcing."""
    states = dict((name, []) for name in ('unreachable', 'unreadable', 'failed', 'disabled', 'permissive',
                                          'enforcing'))
    for host in out_hosts:
        if not host['reachable']:
            state = 'unreachable'
        elif host['problem']:
            state = 'unreadable'
        elif host['name'] in failed:
            state = 'failed'
        elif host['runtime'] == 'disabled':
            state = 'disabled'
        elif _is_permissive(host):
            state = 'permissive'
        else:
            state = 'enforcing'
        host['state'] = state
        states[state].append(host['name'])
    return states


def _window(rows, generated_at):
    firsts = [r['first_seen'] for r in rows if r['first_seen']]
    lasts = [r['last_seen'] for r in rows if r['last_seen']]
    return {'first_seen': min(firsts) if firsts else None, 'last_seen': max(lasts) if lasts else None,
            'generated_at': generated_at}


def fleet_report(hostvars, hosts=None, rules=None, avc_var='fleetsec_avc', mode_var='fleetsec_mode',
                 failed_hosts=None, generated_at=None, customisations_var='fleetsec_customisations'):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('fleet_report expects a mapping of host name to host variables, got %s' % type(hostvars).__name__)
    allowed = parse_rules(rules)
    out_hosts, rows = [], []
    for name in sorted(str(host) for host in (hostvars if hosts is None else hosts)):
        summary, host_rows = _host(name, hostvars.get(name), allowed, avc_var, mode_var)
        out_hosts.append(summary)
        rows.extend(host_rows)
    rows.sort(key=lambda r: (r['domain'] or '', r['host'], r['target_type'] or '', r['tclass'] or ''))
    return {
        'hosts': out_hosts,
        'rows': rows,
        'unique': _unique(rows),
        'states': _states(out_hosts, set(failed_hosts or [])),
        'window': _window(rows, generated_at),
        'domains': _domains(rows),
        'permissive_hosts': [h['name'] for h in out_hosts if _is_permissive(h)],
        'customisations': fleet_customisations(hostvars, [h['name'] for h in out_hosts], customisations_var),
        'totals': {
            'hosts': len(out_hosts),
            'denials': len(rows),
            'uncovered': len([r for r in rows if not r['covered']]),
            'booleans': len([r for r in rows if r['explanation'] == 'boolean']),
            'remedies': dict((kind, len([r for r in rows if r['remedy'] == kind]))
                             for kind in REMEDIES + ('not triaged',)),
        },
    }


class FilterModule(object):
    def filters(self):
        return {'fleet_report': fleet_report}
