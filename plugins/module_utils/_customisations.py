# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: a host's local SELinux customisations - booleans, port labels, file-context rules and equivalences, login
mappings (``semanage export``, read with the remedy's one reader) and the modules beyond the policy package's own
(``semodule -lfull``) - in the shape of the ``remedy`` module's options, and the fleet's customisations grouped by
setting (who has each, who lacks it) for the fleet report and for adopting them as a change set.

The reading runs on the host; the grouping runs on the controller over what hosts SENT (untrusted: every field is
checked for its type and grammar with the remedy's own validators before it is grouped or written anywhere).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.six.moves.collections_abc import Mapping

from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import PolicyStore
from ansible_collections.fleetsec.selinux.plugins.module_utils._remedy_apply import (
    RemedyError, parse_export, port_key_text, validate)

# the priority of the policy package's own modules; a module elsewhere (400: semodule -i's default, 200: packages such
# as container-selinux) or disabled is a customisation
POLICY_PRIORITY = 100
KINDS = ('boolean', 'port', 'fcontext', 'equivalence', 'login')
# the remedy option of each kind
OPTION = {'boolean': 'booleans', 'port': 'ports', 'fcontext': 'fcontexts', 'equivalence': 'equivalences',
          'login': 'logins'}


TEXT = (str, type(u''))


class CustomisationError(ValueError):
    pass


# the fields of a change set's change of each kind -> the remedy option's fields
FIELDS = {'boolean': (('boolean', 'name'), ('state', 'state')),
          'port': (('port', 'ports'), ('proto', 'proto'), ('setype', 'setype')),
          'fcontext': (('fcontext', 'target'), ('ftype', 'ftype'), ('setype', 'setype')),
          'equivalence': (('equivalence', 'path'), ('equal', 'equal')),
          'login': (('login', 'login'), ('seuser', 'seuser'), ('range', 'range'))}


def options(found):
    """The remedy's options that reproduce ``found``: ``semanage export``'s :class:`LocalCustomisations`, or the
    same tables of a validated :class:`Wanted` (booleans, ports, fcontexts, equivalences, logins)."""
    return {
        'booleans': [{'name': name, 'state': value} for name, value in sorted(found.booleans.items())],
        'ports': [{'ports': port_key_text(key).split('/', 1)[1], 'proto': key[0], 'setype': setype}
                  for key, setype in sorted(found.ports.items())],
        'fcontexts': [{'target': key[0], 'ftype': key[1], 'setype': setype}
                      for key, setype in sorted(found.fcontexts.items())],
        'equivalences': [{'path': path, 'equal': equal} for path, equal in sorted(found.equivalences.items())],
        'logins': [dict([('login', login), ('seuser', seuser)] + ([('range', level)] if level else []))
                   for login, (seuser, level) in sorted(found.logins.items())],
    }


def local_modules(modules):
    """The modules of ``PolicyStore.modules()`` that are not the policy package's own: another priority, or
    disabled."""
    found = []
    for name, entries in sorted(modules.items()):
        for entry in entries:
            if entry['priority'] not in (POLICY_PRIORITY, None) or not entry['enabled']:
                found.append({'name': name, 'priority': entry['priority'], 'kind': entry['kind'],
                              'enabled': entry['enabled'], 'checksum': entry['checksum']})
    return found


def read(module, runner):
    """What the host has: {'customisations': remedy options, 'modules': local modules}."""
    export = runner.run('semanage', ['export'], what='local customisations').stdout
    return {'customisations': options(parse_export(export)),
            'modules': local_modules(PolicyStore(module, runner).modules(checksums=True))}


def _checked(option, item, what):
    """One customisation a host sent, checked with the remedy's own grammar: (kind, canonical change)."""
    if not isinstance(item, Mapping):
        raise CustomisationError('%s: expected a mapping, got %s.' % (what, type(item).__name__))
    try:
        entries = options(validate({option: [item]}))[option]
    except (RemedyError, TypeError, ValueError) as err:
        raise CustomisationError('%s: %s' % (what, err))
    if not entries:  # such as a state: absent - a removal, not a setting a host has
        raise CustomisationError('%s: not a setting (%r).' % (what, dict(item)))
    kind = [k for k, name in OPTION.items() if name == option][0]
    return kind, dict((key, entries[0][field]) for key, field in FIELDS[kind] if field in entries[0])


def to_option(kind, change, what):
    """A change set's change of ``kind`` -> (the remedy option, its entry), checked with the remedy's grammar."""
    if not isinstance(change, Mapping):
        raise CustomisationError('%s: expected a mapping.' % what)
    if kind not in FIELDS:
        raise CustomisationError('%s: %r is not one of %s.' % (what, kind, ', '.join(KINDS)))
    if kind == 'boolean' and not isinstance(change.get('state'), bool):
        raise CustomisationError('%s.state: true or false.' % what)
    item = dict((field, change.get(key)) for key, field in FIELDS[kind] if change.get(key) is not None)
    if kind == 'fcontext':
        item.setdefault('ftype', 'a')
    if not all(isinstance(value, TEXT + (bool,)) for value in item.values()):
        raise CustomisationError('%s: every field is a text.' % what)
    checked = _checked(OPTION[kind], item, what)[1]
    return OPTION[kind], dict((field, checked[key]) for key, field in FIELDS[kind] if key in checked)


def _range(change, flag=''):
    return flag + change['range'] if change.get('range') else ''


# per kind of setting: the line a person reads, and the command a person would type
TEXTS = {
    'boolean': (lambda c: 'boolean %s %s' % (c['boolean'], 'on' if c['state'] else 'off'),
                lambda c: 'setsebool -P %s %s' % (c['boolean'], 'on' if c['state'] else 'off')),
    'port': (lambda c: 'port %s/%s %s' % (c['proto'], c['port'], c['setype']),
             lambda c: 'semanage port -a -t %s -p %s %s' % (c['setype'], c['proto'], c['port'])),
    'fcontext': (lambda c: 'fcontext %s (%s) %s' % (c['fcontext'], c['ftype'], c['setype']),
                 lambda c: "semanage fcontext -a -f %s -t %s '%s'" % (c['ftype'], c['setype'], c['fcontext'])),
    'equivalence': (lambda c: 'equivalence %s = %s' % (c['equivalence'], c['equal']),
                    lambda c: 'semanage fcontext -a -e %s %s' % (c['equal'], c['equivalence'])),
    'login': (lambda c: 'login %s -> %s%s' % (c['login'], c['seuser'], _range(c, ' ')),
              lambda c: 'semanage login -a -s %s%s %s' % (c['seuser'], _range(c, ' -r '), c['login'])),
}


def describe(kind, change):
    """One line a person reads for a setting."""
    return TEXTS.get(kind, TEXTS['login'])[0](change)


def _host_settings(name, data, what):
    settings = []
    found = data.get('customisations') if isinstance(data, Mapping) else None
    if not isinstance(found, Mapping):
        raise CustomisationError('%s: no customisations (the result of fleetsec.selinux.customisations_info).' % what)
    for kind in KINDS:
        entries = found.get(OPTION[kind]) or []
        if not isinstance(entries, list):
            raise CustomisationError('%s.%s: expected a list.' % (what, OPTION[kind]))
        for index, item in enumerate(entries):
            settings.append(_checked(OPTION[kind], item, '%s.%s[%d]' % (what, OPTION[kind], index)))
    return settings


def _host_modules(data, what):
    modules = []
    for index, entry in enumerate(data.get('modules') or []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get('name'), TEXT) or \
                not isinstance(entry.get('priority'), (int, type(None))) or isinstance(entry.get('priority'), bool):
            raise CustomisationError('%s.modules[%d]: expected a name and a priority.' % (what, index))
        modules.append({'name': entry['name'][:128], 'priority': entry['priority'],
                        'enabled': entry.get('enabled') is not False,
                        'checksum': entry['checksum'][:80] if isinstance(entry.get('checksum'), TEXT) else None})
    return modules


def fleet(hostvars, hosts, var='fleetsec_customisations'):
    """The fleet's customisations: ``settings`` [{kind, change, setting, hosts, missing}] (the ones some hosts lack
    first), ``modules`` [{host, modules}], ``hosts`` (the hosts that reported), ``problems`` {host: why} for a host
    whose data is missing or malformed (it is left out, never guessed)."""
    by_key, modules, reported, problems = {}, [], [], {}
    for host in sorted(str(h) for h in hosts):
        data = (hostvars.get(host) or {}).get(var)
        if data is None:
            continue
        if isinstance(data, Mapping) and (data.get('failed') or data.get('skipped')):
            if data.get('failed'):
                problems[host] = 'not read: %s' % (data.get('msg') if isinstance(data.get('msg'), TEXT) else 'failed')[:500]
            continue
        try:
            settings = _host_settings(host, data, '%s: %s' % (host, var))
            host_modules = _host_modules(data, '%s: %s' % (host, var))
        except CustomisationError as err:
            problems[host] = str(err)
            continue
        reported.append(host)
        modules.append({'host': host, 'modules': host_modules})
        for kind, change in settings:
            key = (kind, describe(kind, change))
            by_key.setdefault(key, {'kind': kind, 'change': change, 'setting': key[1], 'hosts': []})['hosts'].append(host)
    settings = sorted(by_key.values(), key=lambda s: (len(s['hosts']) == len(reported), s['kind'], s['setting']))
    for entry in settings:
        entry['missing'] = [host for host in reported if host not in entry['hosts']]
    return {'hosts': reported, 'settings': settings, 'modules': modules, 'problems': problems}


def command(kind, change):
    """The command a person would type for one setting."""
    return TEXTS.get(kind, TEXTS['login'])[1](change)


def adopt_plan(hostvars, hosts, var='fleetsec_customisations'):
    """A change set plan that reproduces the fleet's customisations: each setting a remedy for the hosts that have
    it (``fleetsec_remedy_hosts=all`` gives them to every host), the local modules listed (not deployed: a module is
    reviewed as a change set of its own)."""
    found = fleet(hostvars, hosts, var)
    if found['problems']:
        raise CustomisationError('; '.join('%s' % why for dummy, why in sorted(found['problems'].items())))
    remedies = [{'kind': s['kind'], 'change': s['change'], 'command': command(s['kind'], s['change']),
                 'reason': 'a local customisation of %d host(s): %s' % (len(s['hosts']), s['setting']),
                 'hosts': s['hosts'], 'denials': []}
                for s in sorted(found['settings'], key=lambda s: (s['kind'], s['setting']))]
    local = [dict(entry, host=row['host']) for row in found['modules'] for entry in row['modules']]
    return {'remedies': remedies, 'denials': [], 'held': [], 'lines': [], 'local_modules': local}
