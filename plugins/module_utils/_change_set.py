# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the reviewed change set - everything one deployment does, in one file, named by its digest.

Controller side only (the ``change_set`` action and the ``change_set_plan`` filter). A change set is planned from
what the hosts report (their triaged denials: untrusted data, every field checked), written once for review, and
read back at deployment, where its digest must equal the one the reviewer approved. Nothing is regenerated then.

The digest is ``sha256:`` over the canonical JSON of every field except ``digest`` (keys sorted, no whitespace,
UTF-8), so it names the content whatever the YAML layout; a file edited after it was written no longer matches the
digest it carries and is refused.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import re

from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.six.moves.collections_abc import Mapping

from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import Malformed, parse_line
from ansible_collections.fleetsec.selinux.plugins.module_utils._customisations import (
    CustomisationError, command as setting_command, to_option)
from ansible_collections.fleetsec.selinux.plugins.module_utils._remedy import dac_command
from ansible_collections.fleetsec.selinux.plugins.module_utils._remedy_apply import RemedyError, denial_changes

FORMAT = 'fleetsec.selinux/change-set/1'
# the login domains of the targeted and mls policies: what a person did in a session, not what the application did
LOGIN_DOMAINS = ('auditadm_t', 'dbadm_t', 'guest_t', 'logadm_t', 'secadm_t', 'staff_t', 'sysadm_t', 'unconfined_t',
                 'user_t', 'webadm_t', 'xguest_t')
# what triage proposes for a denial
TRIAGE_KINDS = ('relabel', 'fcontext', 'boolean', 'port', 'dac')
# what a change set's remedies may be: triage's, and the settings adopted from a host (customisations_info)
KINDS = TRIAGE_KINDS + ('equivalence', 'login')
MODULE_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,127}$')
HOST_RE = re.compile(r'^[^\s\x00-\x1f\x7f]{1,255}$')
DIGEST_RE = re.compile(r'^sha256:[0-9a-f]{64}$')
_TOKEN_RE = re.compile(r'^[A-Za-z0-9_.]{1,128}$')
MAX_LINE = 8192


class ChangeSetError(Exception):
    """A change set (or what a host sent for one) that cannot be taken; the message says which field and why."""


def _type_name(value):
    return type(value).__name__


def _text(value, what, pattern=None, limit=MAX_LINE):
    if not isinstance(value, (str, type(u''))) or len(value) > limit or '\x00' in value:
        raise ChangeSetError('%s: expected a text of at most %d characters, got %s.' % (what, limit, _type_name(value)))
    if pattern is not None and not pattern.match(value):
        raise ChangeSetError('%s: %r is not valid here.' % (what, value[:200]))
    return value


def _list(value, what):
    if value is None:
        return []
    if not isinstance(value, list):
        raise ChangeSetError('%s: expected a list, got %s.' % (what, _type_name(value)))
    return value


def _mapping(value, what):
    if not isinstance(value, Mapping):
        raise ChangeSetError('%s: expected a mapping, got %s.' % (what, _type_name(value)))
    return value


def denial_key(line):
    """``(source type, target type, class, permissions)`` of one AVC line (read by the collection's one record
    grammar, ``_avc_parse``), or None when it is not a denial whose names are plain. Two hosts logging the same
    denial give the same key (times, pids and names differ)."""
    try:
        found = parse_line(to_bytes(line, errors='surrogate_or_strict'))
    except (Malformed, UnicodeError):
        return None
    if not found or found[0] != 'denial':
        return None
    denial = found[1]
    perms = tuple(sorted(set(denial.get('permissions') or ())))
    tokens = [denial.get('source_type'), denial.get('target_type'), denial.get('tclass')] + list(perms)
    if not perms or any(not isinstance(token, (str, type(u''))) or not _TOKEN_RE.match(token) for token in tokens):
        return None
    return denial['source_type'], denial['target_type'], denial['tclass'], perms


def digest(change_set):
    """``sha256:HEX`` of the canonical JSON of every field but ``digest``."""
    body = dict((key, value) for key, value in change_set.items() if key != 'digest')
    text = json.dumps(body, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
    return 'sha256:' + hashlib.sha256(text.encode('utf-8')).hexdigest()


def sha256_text(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def _remedy_entry(kind, value):
    """The change and the command a person would type for one remedy."""
    if kind == 'relabel':
        return {'restorecon': value}, 'restorecon -v %s' % value
    if kind == 'boolean':
        change = {'boolean': value, 'state': True}
        return change, setting_command(kind, change)
    if kind == 'dac':
        return {'advice': 'fix the owner or mode of the file (no change is deployed)',
                'capabilities': list(value)}, None
    if kind == 'fcontext':
        target, setype, tree = value
        return ({'fcontext': target, 'setype': setype, 'restorecon': tree},
                "semanage fcontext -a -t %s '%s' && restorecon -R -v %s" % (setype, target, tree))
    proto, port, setype = value
    change = {'port': '%d' % port, 'proto': proto, 'setype': setype}
    return change, setting_command(kind, change)


class _Plan(object):
    """The fleet's denials grouped by rule key, and its remedies grouped by change, with the hosts of each."""

    def __init__(self):
        self.groups = {}    # (source, target, class) -> {'perms', 'hosts', 'lines', 'earlier'}
        self.remedies = {}  # canonical JSON of the change -> entry

    def add_line(self, line, host, what):
        key = denial_key(_text(line, what))
        if key is None:
            raise ChangeSetError('%s: not an AVC denial line (%r).' % (what, line[:200]))
        group = self.groups.setdefault(key[:3], {'perms': set(), 'hosts': set(), 'lines': set(), 'earlier': False})
        group['perms'].update(key[3])
        group['lines'].add(line)
        if host is None:
            group['earlier'] = True
        else:
            group['hosts'].add(host)

    def add_remedy(self, host, denial, line, what):
        try:
            changes = denial_changes(denial, what)
        except RemedyError as err:
            raise ChangeSetError(str(err))
        reason = _text(denial['remedy'].get('reason', ''), what + '.remedy.reason')
        for kind, value in changes:
            change, command = _remedy_entry(kind, value)
            if command is None:  # advice: the command that finds what to fix, rebuilt here (never a host's text)
                command = dac_command(denial.get('comm'))
            entry = self.remedies.setdefault(json.dumps(change, sort_keys=True), {
                'kind': kind, 'change': change, 'command': command, 'reasons': set(), 'hosts': set(),
                'denials': set()})
            entry['reasons'].add(reason)
            entry['hosts'].add(host)
            if line is not None:
                entry['denials'].add(_text(line, what + ' (its line)'))


def _host_data(name, data, avc_var, what):
    """The avc_collect result of one host, its shape checked: (allow_lines, [(denial, line)])."""
    avc = data.get(avc_var) if isinstance(data, Mapping) else None
    if avc is None:
        return [], []
    avc = _mapping(avc, what)
    denials, lines = _list(avc.get('denials'), what + '.denials'), _list(avc.get('lines'), what + '.lines')
    pairs = [(denial, lines[index] if index < len(lines) else None) for index, denial in enumerate(denials)]
    return _list(avc.get('allow_lines'), what + '.allow_lines'), pairs


def plan(hostvars, hosts, record=None, canary=None, min_hosts=1, login_domains=LOGIN_DOMAINS, avc_var='fleetsec_avc'):
    """What the fleet asks for: ``lines`` (the module's input: the denials accepted earlier and those kept now),
    ``denials`` and ``held`` (grouped by rule, with the hosts that reported them and review flags) and ``remedies``.

    A denial is held back (reported, not put into the module) when ``min_hosts`` > 1 and fewer hosts than that,
    none of them in ``canary``, reported it. Every value a host sent is checked for its type; a bad one names the
    host and the field."""
    if isinstance(min_hosts, bool) or not isinstance(min_hosts, int) or min_hosts < 1:
        raise ChangeSetError('min_hosts: expected a whole number of at least 1, got %r.' % (min_hosts,))
    found = _Plan()
    for index, line in enumerate(_list(record, 'record')):
        found.add_line(line, None, 'record line %d' % (index + 1))
    for host in _list(hosts, 'hosts'):
        host = _text(host, 'host name', HOST_RE, 255)
        allow_lines, pairs = _host_data(host, hostvars.get(host), avc_var, 'host %s: %s' % (host, avc_var))
        for index, line in enumerate(allow_lines):
            found.add_line(line, host, 'host %s: allow_lines[%d]' % (host, index))
        for index, (denial, line) in enumerate(pairs):
            remedy = _mapping(denial, 'host %s: denials[%d]' % (host, index)).get('remedy')
            if isinstance(remedy, Mapping) and remedy.get('remedy') in TRIAGE_KINDS:
                found.add_remedy(host, denial, line, 'host %s: denials[%d]' % (host, index))
    fleet = len(_list(hosts, 'hosts'))
    return _decide(found, set(_list(canary, 'canary')), min_hosts, set(_list(login_domains, 'login_domains')), fleet)


def _decide(found, canary, min_hosts, login_domains, fleet):
    denials, held, lines = [], [], []
    for key in sorted(found.groups):
        group = found.groups[key]
        hosts = sorted(group['hosts'])
        entry = {'rule': 'allow %s %s:%s { %s };' % (key[0], key[1], key[2], ' '.join(sorted(group['perms']))),
                 'hosts': hosts, 'flags': _flags(key[0], hosts, group['earlier'], canary, login_domains, fleet),
                 'lines': sorted(group['lines'])}
        if group['earlier'] or len(hosts) >= min_hosts or set(hosts) & canary:
            denials.append(entry)
            lines.extend(entry['lines'])
        else:
            entry['reason'] = ('reported by %d host(s), none in the canary group: fewer than min_hosts=%d'
                               % (len(hosts), min_hosts))
            held.append(entry)
    remedies = []
    for key in sorted(found.remedies):
        entry = found.remedies[key]
        remedies.append({'kind': entry['kind'], 'change': entry['change'], 'command': entry['command'],
                         'reason': '; '.join(sorted(entry['reasons'])), 'hosts': sorted(entry['hosts']),
                         'denials': sorted(entry['denials'])})
    return {'lines': sorted(lines), 'denials': denials, 'held': held, 'remedies': remedies}


def _flags(source, hosts, earlier, canary, login_domains, fleet):
    flags = []
    if source in login_domains:
        flags.append('login_domain: %s is a login domain - a person did this in a session, not the application'
                     % source)
    if fleet > 1 and len(hosts) == 1 and not earlier and hosts[0] not in canary:
        flags.append('single_host: only %s reported it, and it is not in the canary group' % hosts[0])
    return flags


def build(name, planned, module=None, policy=None, acknowledged=None):
    """The change set of module ``name``: ``planned`` (from :func:`plan`), ``module`` (local_policy_module's
    state=generated result, None when no denial needs a rule), ``policy`` (what it was judged against) and the
    acknowledgements the review gave (``{'module': [...], 'remedies': [...]}``), with its digest."""
    _text(name, 'name', MODULE_NAME_RE, 128)
    planned = _mapping(planned, 'plan')
    found = None
    if module and module.get('te'):
        te = _text(module['te'], 'module te', limit=16 * 1024 * 1024)
        found = {'sha256': sha256_text(te), 'checksum': module.get('checksum'), 'rules': list(module.get('rules') or []),
                 'te': te}
    acknowledged = acknowledged or {}
    change_set = {
        'format': FORMAT,
        'name': name,
        'digest': None,
        'module': found,
        'findings': [dict((k, f.get(k)) for k in ('rule', 'reason', 'acknowledged'))
                     for f in (module or {}).get('dangerous') or []],
        'remedies': planned.get('remedies') or [],
        'denials': planned.get('denials') or [],
        'held': planned.get('held') or [],
        'policy': policy or {},
        'acknowledged': {'module': sorted(acknowledged.get('module') or []),
                         'remedies': sorted(acknowledged.get('remedies') or [])},
    }
    if planned.get('local_modules'):
        # adopted from hosts: listed for the review, not deployed (a module is deployed by its own change set)
        change_set['local_modules'] = planned['local_modules']
    change_set['digest'] = digest(change_set)
    return change_set


def _absolute(value, what):
    path = _text(value, what)
    if not path.startswith('/') or '\n' in path:
        raise ChangeSetError('%s: expected an absolute path, got %r.' % (what, path[:200]))
    return path


def _remedy_change(entry, what):
    """One remedy of a change set file, checked with the remedy module's own grammar: ``[(the remedy module's option,
    the value it adds)]``."""
    kind, change = entry.get('kind'), _mapping(entry.get('change'), what + '.change')
    if kind not in KINDS:
        raise ChangeSetError('%s.kind: %r is not one of %s.' % (what, kind, ', '.join(KINDS)))
    if kind == 'dac':
        return []  # advice: the deployment changes nothing for it
    if kind == 'relabel':
        return [('restorecon', _absolute(change.get('restorecon'), what + '.change.restorecon'))]
    try:
        found = [to_option(kind, change, what + '.change')]
    except CustomisationError as err:
        raise ChangeSetError(str(err))
    if kind == 'fcontext' and change.get('restorecon') is not None:
        # triage's rule comes with its tree, relabelled recursively; an adopted rule has none
        found += [('restorecon', _absolute(change['restorecon'], what + '.change.restorecon')),
                  ('restorecon_recursive', True)]
    return found


def _check_module(module):
    if module is None:
        return None
    module = _mapping(module, 'module')
    te = _text(module.get('te'), 'module.te', limit=16 * 1024 * 1024)
    if module.get('sha256') != sha256_text(te):
        raise ChangeSetError('module.sha256 is not the sha256 of module.te: the module text was changed after the '
                             'review. Run the review again.')
    return te


def load(data, approved):
    """Check a change set read from a file (untrusted until its digest matches ``approved``) and return what the
    deployment needs: ``te`` (or None), ``remedies`` {host: {booleans, ports, restorecon}}, ``all_remedies`` (the
    same for a host the change set does not name), ``acknowledged`` and ``known`` (the rule keys it answers)."""
    data = _mapping(data, 'the change set')
    if data.get('format') != FORMAT:
        raise ChangeSetError('format: %r is not %s (a change set written by this collection).'
                             % (data.get('format'), FORMAT))
    if not isinstance(approved, (str, type(u''))) or not DIGEST_RE.match(approved):
        raise ChangeSetError('approve=%r is not a change set digest: give the sha256:... the review printed.'
                             % (approved if isinstance(approved, (str, type(u''), bool, int)) else _type_name(approved)))
    actual = digest(data)
    if data.get('digest') != actual:
        raise ChangeSetError('the file was changed after it was written (it says %s, its content is %s): run the '
                             'review again and approve what it writes.' % (data.get('digest'), actual))
    if actual != approved:
        raise ChangeSetError('approve=%s does not name this change set (its digest is %s): read it, then approve '
                             'that digest.' % (approved, actual))
    _text(data.get('name'), 'name', MODULE_NAME_RE, 128)
    return dict(_deployment(data), te=_check_module(data.get('module')), digest=actual, name=data['name'])


def _options():
    return {'booleans': [], 'ports': [], 'fcontexts': [], 'equivalences': [], 'logins': [], 'restorecon': [],
            'restorecon_recursive': False}


def _add(options, option, value):
    if option == 'restorecon_recursive':
        options[option] = True
    elif value not in options[option]:
        options[option].append(value)


def _deployment(data):
    per_host, every = {}, _options()
    for index, entry in enumerate(_list(data.get('remedies'), 'remedies')):
        what = 'remedies[%d]' % index
        changes = _remedy_change(_mapping(entry, what), what)
        hosts = [_text(host, what + '.hosts', HOST_RE, 255) for host in _list(entry.get('hosts'), what + '.hosts')]
        for option, value in changes:
            _add(every, option, value)
            for host in hosts:
                _add(per_host.setdefault(host, _options()), option, value)
    known = set()
    for section in ('denials', 'held', 'remedies'):
        field = 'denials' if section == 'remedies' else 'lines'
        for index, entry in enumerate(_list(data.get(section), section)):
            what = '%s[%d].%s' % (section, index, field)
            known.update(_permission_keys(_list(_mapping(entry, what).get(field), what), what))
    acknowledged = _mapping(data.get('acknowledged') or {}, 'acknowledged')
    return {'remedies': per_host, 'all_remedies': every, 'known': sorted(known),
            'acknowledged': dict((part, [_text(value, 'acknowledged.' + part)
                                         for value in _list(acknowledged.get(part), 'acknowledged.' + part)])
                                 for part in ('module', 'remedies'))}


def _permission_keys(lines, what):
    """``SOURCE TARGET:CLASS PERMISSION`` of every permission the canonical ``lines`` name."""
    keys = set()
    for line in lines:
        key = denial_key(_text(line, what))
        if key is not None:
            keys.update('%s %s:%s %s' % (key[0], key[1], key[2], perm) for perm in key[3])
    return keys


def unreviewed(avc, known):
    """The canonical lines of one host's avc_collect result whose denials (per permission) the change set does not
    answer: new since the review, kept for the next one."""
    known, found = set(known or []), []
    lines = avc.get('lines') if isinstance(avc, dict) and isinstance(avc.get('lines'), list) else []
    for line in lines:
        if not isinstance(line, (str, type(u''))):
            continue
        keys = _permission_keys([line], 'line') if len(line) <= MAX_LINE else set()
        if not keys or not keys <= known:
            found.append(line)
    return found
