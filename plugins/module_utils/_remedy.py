# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: least-privilege triage of a denial: which remedy fixes it without widening the policy.

In the order of how little each opens:

- ``relabel``: the object has another type than the policy's file contexts give its path, and the domain is
  allowed what it was denied on that default type (unconditionally): ``restorecon`` fixes it;
- ``fcontext``: a file denial where neither the object's type nor the type its path gets by default lets the domain
  do what it was denied - the textbook case of an application in a non-default tree (``/srv/acme``: ``var_t``). A
  file-context rule for the application's tree (the smallest directory that holds the object; never ``/``, a
  system directory or a directory a package owns) with the application's file type (named like the domain) that
  the domain's own rules grant exactly what was denied and the least else (read: a content type; write: its
  read-write sibling; ties: the type the policy's file contexts use most), then ``restorecon -R`` of the tree. An allow rule for the generic type would give the
  domain every file of that type;
- ``port``: a socket denial on a generic port type, and the policy has specific port types the domain may use
  (``semanage port -a -t TYPE -p PROTO PORT``): one port, where a boolean would open a whole class of them
  (audit2why names ``nis_enabled`` for httpd_t binding an unreserved port: every unreserved port, for every
  domain it covers);
- ``boolean``: audit2why names the boolean(s) that allow it; of several, the one that enables the fewest rules
  (``sesearch -A -b NAME``), the others kept as alternatives;
- ``dac``: ``dac_override`` or ``dac_read_search`` - the file permissions refused the process before SELinux was
  asked (a wrong owner or mode, as setroubleshoot says): advice, with the ``ausearch`` that names the file; no rule
  (the capability would let the domain past the permissions of every file; the safety gate refuses it unless
  acknowledged, with ``module_only`` triage);
- ``allow``: the residue, for the local module. Also every case where the evidence is incomplete (no full
  path, no port, a lookup that failed): said in ``reason``, never guessed;
- ``none``: audit2why says the loaded policy allows it now (a record written before a boolean, a port label or
  a module fixed it): nothing to do, and nothing for the module either (a rerun over the same log stays still).

Evidence comes from the real tools through the Runner: ``matchpathcon`` (the default type of a path),
``sesearch`` (what the policy grants, attributes included), ``seinfo --portcon`` (port labels built into the
binary policy, local ones included), ``getsebool`` (current values, when SELinux is active).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import posixpath
import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import PORT_PROTOCOLS
from ansible_collections.fleetsec.selinux.plugins.module_utils._power import SYSTEM_TREES, WRITE_PERMS
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools


REMEDIES = ('relabel', 'fcontext', 'port', 'boolean', 'dac', 'allow', 'none')
# capabilities that override file permissions: their denial means an owner or a mode to fix, not a rule to add
DAC_CAPABILITIES = frozenset(('dac_override', 'dac_read_search'))
_COMM_RE = re.compile(r'^[A-Za-z0-9._+-]{1,16}$')
# an application's content types (httpd_sys_content_t, httpd_sys_rw_content_t, ...): what its trees are for
_CONTENT_RE = re.compile(r'_(?:\w+_)?content_t$|_data_t$')
# credentials: never the type of an application's tree, however few permissions they give
_SECRET_RE = re.compile(r'(?:key|keytab|cert|secret|shadow|passwd|auth)(?:_|$)')
# a tree whose name a file-context expression can hold literally (dots escaped)
_TREE_RE = re.compile(r'^(/[A-Za-z0-9_+-][A-Za-z0-9_.+-]*)+$')
# object classes with a path, and matchpathcon's name of their file type
FILE_CLASSES = {'file': 'file', 'dir': 'dir', 'lnk_file': 'lnk_file', 'chr_file': 'chr_file',
                'blk_file': 'blk_file', 'sock_file': 'sock_file', 'fifo_file': 'pipe'}
PORT_PERMS = ('name_bind', 'name_connect')
# port types that name no service: labelling a port with one of these is no remedy
GENERIC_PORT_TYPES = frozenset(('port_t', 'reserved_port_t', 'unreserved_port_t', 'hi_reserved_port_t',
                                'ephemeral_port_t', 'server_packet_t', 'client_packet_t'))
_GETSEBOOL_RE = re.compile(r'^(\S+)\s+-->\s+(on|off)\s*$')


def context_type(context):
    parts = (context or '').split(':')
    return parts[2] if len(parts) >= 3 else None


def parse_getsebool(text):
    """``{name: True/False}`` of ``getsebool`` output."""
    values = {}
    for line in to_text(text, errors='surrogate_or_strict').splitlines():
        match = _GETSEBOOL_RE.match(line.strip())
        if match:
            values[match.group(1)] = match.group(2) == 'on'
    return values


def port_label(portcons, protocol, port):
    """The type of ``port`` (the narrowest range that holds it, as the kernel's ordered portcon does)."""
    found = [(high - low, kind) for proto, low, high, kind in portcons if proto == protocol and low <= port <= high]
    return min(found)[1] if found else None


def _shared_prefix(a, b):
    size = 0
    for x, y in zip(a, b):
        if x != y:
            break
        size += 1
    return size


class PolicyReader(object):
    """Questions to the binary policy ``policy`` (and the running system when ``live``), each tool run once per
    question; setools' answers are the module run's shared ones (``_setools.policy``)."""

    def __init__(self, runner, policy, live=False):
        self.runner = runner
        self.policy = policy
        self.live = live
        self._cache = {}

    @property
    def setools(self):
        return setools.policy(self.runner, self.policy)

    def _once(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def portcons(self):
        return self.setools.portcons()


class Evidence(PolicyReader):
    """Lookups in the policy ``policy`` (a binary policy file) and the file contexts. ``file_contexts``: a
    file_contexts file (an offline store), else the configured policy's."""

    def __init__(self, runner, policy, file_contexts=None, live=False):
        super(Evidence, self).__init__(runner, policy, live)
        self.file_contexts = file_contexts

    def default_type(self, path, tclass):
        """The type the file contexts give ``path`` (as an object of ``tclass``), None when it cannot be told."""
        def lookup():
            args = ['-n', '-m', FILE_CLASSES[tclass]] + (['-f', self.file_contexts] if self.file_contexts else [])
            result = self.runner.run('matchpathcon', args + [path], check=False)
            return context_type(to_text(result.stdout).strip()) if result.rc == 0 else None
        return self._once(('fc', path, tclass), lookup)

    def rules(self, source, tclass, target=None, perm=None):
        """The allow rules (:class:`_policy_rule.Rule`) of ``source`` on ``tclass`` (attributes included)."""
        return self.setools.rules(source=source, tclass=tclass, target=target, perms=perm,
                                  what='rules of %s' % source)

    def members(self, attribute):
        """The types of ``attribute`` (empty when the name is a type, not an attribute): every attribute is read
        with one ``seinfo -a -x``."""
        return self.setools.members(attribute)

    def policy_booleans(self):
        """{boolean: value} as the binary policy holds them (defaults and persistent settings)."""
        return self.setools.booleans()

    def file_context_uses(self):
        """{type: number of entries of the policy's file contexts that give it}."""
        def count():
            path = self.file_contexts or os.path.join(
                os.path.dirname(os.path.dirname(self.policy)), 'contexts', 'files', 'file_contexts')
            uses = {}
            try:
                with open(path, 'rb') as handle:
                    text = to_text(handle.read(), errors='surrogate_or_replace')
            except (IOError, OSError):
                return uses
            for line in text.splitlines():
                kind = context_type(line.split()[-1]) if line.strip() and not line.lstrip().startswith('#') else None
                if kind:
                    uses[kind] = uses.get(kind, 0) + 1
            return uses
        return self._once('fc-uses', count)

    def package_owner(self, path):
        """The package that owns ``path`` (rpm -qf, dpkg -S), None when none does or no package tool is there."""
        def query():
            for tool, args in (('rpm', ['-qf', '--qf', '%{NAME}\\n', path]), ('dpkg', ['-S', path])):
                if self.runner.has(tool):
                    result = self.runner.run(tool, args, check=False)
                    if result.rc == 0 and to_text(result.stdout).strip():
                        return to_text(result.stdout).strip().split('\n')[0].split(':')[0]
            return None
        return self._once(('owner', path), query)

    def boolean_rule_count(self, name):
        """How many allow rules the boolean ``name`` guards (``sesearch -A -b``); None when it cannot be told."""
        rules = self.setools.boolean_rules([name], check=False)
        return None if rules is None else len(rules)

    def boolean_values(self, names):
        """``{name: True/False}`` from getsebool where SELinux is active; None values where it cannot be read."""
        values = dict((name, None) for name in names)
        if self.live and names and self.runner.has('getsebool'):
            result = self.runner.run('getsebool', list(names), check=False)
            values.update((name, value) for name, value in parse_getsebool(result.stdout).items() if name in values)
        return values


def remedy(kind, reason, **evidence):
    return {'remedy': kind, 'reason': reason, 'evidence': evidence}


def triage(denial, evidence):
    """The remedy of one avc_collect denial (a dict with ``remedy``, ``reason`` and ``evidence``)."""
    if (denial.get('explanation') or {}).get('kind') == 'reload':
        return remedy('none', 'audit2why: the loaded policy allows %s on %s:%s now; nothing to do' % (
            denial['source_type'], denial['target_type'], denial['tclass']))
    if denial['tclass'] in ('capability', 'cap_userns') and set(denial['permissions']) <= DAC_CAPABILITIES:
        return _dac(denial)
    try:
        found = _relabel(denial, evidence)
        if found is None or found['remedy'] not in ('relabel', 'fcontext'):
            port = _port(denial, evidence)
            found = port if port is not None and port['remedy'] == 'port' else (
                _boolean(denial, evidence) or port or found)
    except FleetsecError as err:
        return remedy('allow', 'the evidence could not be gathered (%s): an allow rule, nothing guessed' % err.msg)
    return found or remedy('allow', 'no narrower remedy applies to %s on %s:%s' % (
        denial['source_type'], denial['target_type'], denial['tclass']))


def dac_command(comm):
    """The ausearch that names the file and the uid of a dac denial (``comm`` only when it is a plain name)."""
    return 'ausearch -m AVC,SYSCALL,PATH -i --success no%s' % (
        ' -c %s' % comm if isinstance(comm, (str, type(u''))) and _COMM_RE.match(comm) else '')


def _dac(denial):
    """Advice, no change: the file permissions refused the process first (owner, group, mode); the capability
    that would override them would let the domain past the permissions of every file."""
    find = dac_command(denial.get('comm'))
    caps = ' '.join(sorted(denial['permissions']))
    return remedy('dac', '%s was refused %s: the owner, group or mode of a file it opens does not let it in, and '
                  'the capability would let it past the permissions of every file; fix the file\'s owner or mode (the '
                  'SYSCALL and PATH records of the event name the file and the process\'s uid), no rule is proposed'
                  % (denial['source_type'], caps), capabilities=sorted(denial['permissions']), command=find)


def _relabel(denial, evidence):
    tclass = denial['tclass']
    if tclass not in FILE_CLASSES:
        return None
    path = denial.get('path')
    if not path or not path.startswith('/'):
        return remedy('allow', 'the record names the object only as %r (no full path): whether it is mislabelled '
                      'cannot be told, so it is not guessed' % (denial.get('name') or path or 'nothing'),
                      name=denial.get('name'))
    current, domain, perms = denial['target_type'], denial['source_type'], set(denial['permissions'])
    default = evidence.default_type(path, tclass)
    if default is None:
        return remedy('allow', 'the file contexts give no type for %s' % path, path=path, current_type=current)
    if default == current:
        return _fcontext(denial, evidence, default, remedy(
            'allow', '%s has the type the policy gives its path (%s): a relabel changes nothing'
            % (path, current), path=path, current_type=current, default_type=default))
    rules = evidence.rules(domain, tclass, target=default)
    granted = set()
    conditional = []
    for rule in rules:
        if rule.condition is None:
            granted |= rule.perms
        elif perms & rule.perms:
            conditional.append(rule.condition.text())
    facts = dict(path=path, current_type=current, default_type=default, command='restorecon -v %s' % path)
    if perms <= granted:
        return remedy('relabel', '%s is %s, the policy gives its path %s, on which %s may %s' % (
            path, current, default, domain, ' '.join(sorted(perms))), **facts)
    facts.pop('command')
    return _fcontext(denial, evidence, default, remedy(
        'allow', '%s is %s, but %s may not %s on its default type %s either: a file-context rule for a type the '
        'domain may use would be needed%s' % (
            path, current, domain, ' '.join(sorted(perms - granted)), default,
            '; conditional rules: %s' % ', '.join(sorted(set(conditional))) if conditional else ''),
        fcontext_rule_needed=True, **facts))


def _tree(path, tclass):
    """The smallest directory that holds the object: the directory itself, else the one it is in."""
    return posixpath.normpath(path if tclass == 'dir' else posixpath.dirname(path))


def _fcontext(denial, evidence, default, fallback):
    """A file-context rule for the object's tree with the narrowest type the domain's own rules give what was
    denied, or ``fallback`` (the allow rule) with the reason none is sound added."""
    domain, tclass, perms = denial['source_type'], denial['tclass'], set(denial['permissions'])
    path = denial['path']
    tree = _tree(path, tclass)
    why = None
    system = tree in SYSTEM_TREES or not _TREE_RE.match(tree)
    owner = None if system else evidence.package_owner(tree)
    if system:
        why = 'its tree %s is a system directory (or not a plain path): a rule there needs an acknowledgement' % tree
    elif owner:
        why = 'its tree %s belongs to the package %s: a rule there needs an acknowledgement' % (tree, owner)
    best = None if why else _narrowest_type(domain, tclass, perms, evidence)
    if why is None and best is None:
        why = 'no file type of %s\'s own (its content types where it has them) gives it %s with the booleans as the ' \
              'policy has them, without writes it did not ask for and with search on the directories' % (
                  domain, ' '.join(sorted(perms)))
    if why:
        fallback['reason'] += '; no file-context rule proposed: %s' % why
        return fallback
    setype, granted, booleans = best
    target = '%s(/.*)?' % tree.replace('.', '\\.')
    return remedy('fcontext', '%s is %s (its path gets %s), on which %s may not %s; a file-context rule gives the '
                  'tree %s the type %s, on which %s may %s%s' % (
                      path, denial['target_type'], default, domain, ' '.join(sorted(perms)), tree, setype, domain,
                      ' '.join(sorted(granted)),
                      ' (with %s on, as the policy has it)' % ', '.join(booleans) if booleans else ''),
                  booleans=booleans, path=path, current_type=denial['target_type'], default_type=default, tree=tree, target=target,
                  setype=setype, command="semanage fcontext -a -t %s '%s' && restorecon -R -v %s" % (setype, target, tree))


def _narrowest_type(domain, tclass, perms, evidence):
    """``(type, permissions)``: of the application's file types (named like the domain: ``httpd_*`` for
    ``httpd_t``, ``ntp*`` for ``ntpd_t``; used by the policy's file contexts; not one of the domain's entry points)
    that the domain's OWN rules (unconditional, or guarded by one boolean the policy has in that branch) give every
    permission of ``perms`` on ``tclass``: only content types (``*_content_t``, ``*_data_t``) when the application
    has any; the one that gives the fewest permissions, then the type the file contexts use most, then by name;
    credentials (keys, certificates, keytabs) never. None when there is none. (The domain's
    rules also reach other applications' types - a certificate, a run directory - which are never its tree's.)"""
    grants, relied = {}, {}
    for rule in evidence.rules(domain, tclass):
        boolean = _boolean_in_force(rule.condition, evidence) if rule.condition is not None else None
        if rule.source != domain or rule.target == 'self' or boolean is False:
            continue
        for kind in evidence.members(rule.target) or [rule.target]:
            grants.setdefault(kind, set()).update(rule.perms)
            if boolean:
                relied.setdefault(kind, set()).add(boolean)
    file_types = evidence.members('file_type')
    # the domain's entry points: what is written there runs as the domain (a content type may be another domain's
    # entry point, as httpd_sys_content_t is httpd_sys_script_t's on EL: that is no reason to leave it out)
    entries = set()
    for rule in evidence.rules(domain, 'file', perm='entrypoint'):
        entries.update(evidence.members(rule.target) or [rule.target])
    uses = evidence.file_context_uses()
    stem = domain[:-2] if domain.endswith('_t') else domain
    shared = max(3, len(stem.split('_')[0]) - 1)  # httpd_t: httpd_*, ntpd_t: ntp_* and ntpd_*
    own = [kind for kind in grants if kind in file_types and kind not in entries and uses.get(kind)
           and _shared_prefix(kind, stem) >= shared and not _SECRET_RE.search(kind)]
    # an application whose policy has content types keeps its trees in them (a cache or log type is no tree's)
    if any(_CONTENT_RE.search(kind) for kind in own):
        own = [kind for kind in own if _CONTENT_RE.search(kind)]
    # a type that would let the domain write where it asked only to read is no narrower than the rule it replaces
    fits = [kind for kind in own if perms <= grants[kind] and (perms & WRITE_PERMS or not grants[kind] & WRITE_PERMS)]
    for dummy, dummy2, kind in sorted((len(grants[kind]), -uses[kind], kind) for kind in fits):
        if _searchable(domain, kind, evidence):
            return kind, grants[kind], sorted(relied.get(kind, ()))
    return None


def _searchable(domain, kind, evidence):
    """Whether the domain may search directories of ``kind`` (by any rule, attributes included, unconditional): the
    tree's directories get the type too, and a file in a directory the domain cannot search stays out of reach."""
    return any(rule.condition is None and 'search' in rule.perms for rule in evidence.rules(domain, 'dir', target=kind))


def _boolean_in_force(condition, evidence):
    """The boolean of a rule guarded by ONE boolean whose branch is in force with the policy's value of it; False
    for any other condition (a rule a boolean could take away again is not a tree's type)."""
    name = condition.boolean()
    if name is None:
        return False
    value = evidence.policy_booleans().get(name)
    return name if value is not None and value == condition.branch else False


def _boolean(denial, evidence):
    explanation = denial.get('explanation') or {}
    names = list(explanation.get('booleans') or [])
    if explanation.get('kind') != 'boolean' or not names:
        return None
    values = evidence.boolean_values(names)
    if len(names) == 1:
        return remedy('boolean', 'audit2why: allowed by the boolean %s' % names[0],
                      booleans=[{'name': names[0], 'current': values.get(names[0])}], alternatives=[])
    counts = dict((name, evidence.boolean_rule_count(name)) for name in names)
    chosen = sorted(names, key=lambda name: (counts[name] is None, counts[name], names.index(name)))[0]
    entry = dict(name=chosen, current=values.get(chosen), rules=counts[chosen])
    return remedy('boolean', 'audit2why: allowed by any of %s; %s enables the fewest rules (%s)' % (
        ', '.join(names), chosen, counts[chosen]), booleans=[entry],
        alternatives=[dict(name=name, current=values.get(name), rules=counts[name]) for name in names if name != chosen])


def _port(denial, evidence):
    protocol = PORT_PROTOCOLS.get(denial['tclass'])
    perms = [p for p in denial['permissions'] if p in PORT_PERMS]
    if protocol is None or not perms:
        return None
    port = denial.get('port')
    if port is None:
        return remedy('allow', 'the record names no port (src=/dest=): a port label cannot be proposed')
    domain, perm = denial['source_type'], perms[0]
    labelled = port_label(evidence.portcons(), protocol, port)
    port_types = set(kind for _p, _lo, _hi, kind in evidence.portcons())
    candidates = sorted(set(rule.target for rule in evidence.rules(domain, denial['tclass'], perm=perm)
                            if rule.condition is None and rule.target in port_types
                            and rule.target not in GENERIC_PORT_TYPES))
    facts = dict(protocol=protocol, port=port, current_type=labelled, permission=perm, candidates=candidates)
    if not candidates:
        return remedy('allow', 'no specific port type of the policy lets %s %s' % (domain, perm), **facts)
    if labelled in candidates:
        return remedy('port', '%s/%d is already labelled %s, which %s may %s' % (protocol, port, labelled, domain, perm),
                      proposed_type=labelled, command='semanage port -a -t %s -p %s %d' % (labelled, protocol, port),
                      **facts)
    if labelled is not None and labelled not in GENERIC_PORT_TYPES:
        return remedy('allow', '%s/%d is already labelled %s, which %s may not %s: relabelling it would take it '
                      'from its service (not done)' % (protocol, port, labelled, domain, perm), **facts)
    stem = domain[:-2] if domain.endswith('_t') else domain
    proposed = sorted(candidates, key=lambda kind: (-_shared_prefix(stem, kind), len(kind), kind))[0]
    return remedy('port', '%s/%d is %s; %s may %s on %s' % (protocol, port, labelled or 'unlabelled', domain,
                                                            perm, proposed),
                  proposed_type=proposed, command='semanage port -a -t %s -p %s %d' % (proposed, protocol, port),
                  **facts)
