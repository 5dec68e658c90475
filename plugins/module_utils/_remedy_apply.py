# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: applying least-privilege remedies: booleans, port labels and file-context rules in ONE ``semanage import``
transaction (one policy rebuild whatever their number), then ``restorecon`` on exactly the listed paths.

Decide, then act: :func:`validate` turns the module's input into :class:`Wanted` (every value checked against a
strict grammar before any tool sees it: the import lines are data for semanage's own parser, never shell);
:class:`Current` reads what the host has (``semanage export`` for the local customisations, the binary policy
through ``seinfo`` for boolean values, port labels and type attributes, the policy's ``file_contexts``);
:func:`plan` compares them and refuses, before anything runs, what semanage would refuse (unknown boolean or
type, a port that belongs to another service, a path regex the policy itself defines) and what hands out power
without an acknowledgement.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import shlex

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_grants import parse_attributes
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_model import read_model
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_verdict import label_findings
from ansible_collections.fleetsec.selinux.plugins.module_utils._remedy import (
    GENERIC_PORT_TYPES, REMEDIES, PolicyReader, parse_getsebool, port_label)
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import lock_held
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError
from ansible_collections.fleetsec.selinux.plugins.module_utils._selinux_config import IDENTIFIER_RE


class RemedyError(FleetsecError):
    pass


NAME_MAX = 128
PROTOCOLS = ('tcp', 'udp', 'sctp', 'dccp')
# semanage fcontext -f: a(ll), f(ile), d(irectory), c(haracter), b(lock), s(ocket), l(ink), p(ipe)
FTYPES = ('a', 'f', 'd', 'c', 'b', 's', 'l', 'p')
# the file_contexts spelling of each -f letter ('' for all files)
FC_FTYPE = {'a': '', 'f': '--', 'd': '-d', 'c': '-c', 'b': '-b', 's': '-s', 'l': '-l', 'p': '-p'}
# a file-context target: an absolute path regex without whitespace, quotes, backslash escapes of quotes or
# control characters (semanage import splits its lines like a shell: such characters would change the line)
TARGET_RE = re.compile(r'^/[^\s\'"`\\$;&|<>]*(?:\\[.()\[\]{}*+?^|/-][^\s\'"`\\$;&|<>]*)*\Z')
MAX_TARGET = 1024
# booleans that hand out power when turned ON (execution of writable memory, every file, loading code into the
# kernel, ptrace, mmap at low addresses, unconfined logins) and the protective ones that hand it out when turned OFF
POWER_ON_RE = re.compile(r'(exec(mem|stack|mod|heap)|unconfined|_all_|(^|_)mmap_(files|low)|kernel_load_modules|'
                         r'ptrace|sys_admin|dac_override|sysadm|full_access|_anon_write|^domain_|^daemons_enable)')
POWER_OFF_RE = re.compile(r'^(deny_|secure_mode)')
PRIVILEGED_PORTS = 1024
# paths whose type a file-context rule must not change without an acknowledgement
_SEINFO_BOOL_RE = re.compile(r'^\s*bool\s+(\S+)\s+(true|false);?\s*$')
_FC_LINE_RE = re.compile(r'^(\S+)\s+(?:(--|-[dcbslp])\s+)?(\S+)\s*$')
# restorecon -v (-n): "Would relabel P from A to B" / "Relabeled P from A to B" (3.x), "restorecon reset P context
# A->B" (2.x)
_RELABEL_RE = re.compile(r'(?:Would relabel|Relabeled|restorecon reset)\s+(\S+)\s+(?:from\s+(\S+)\s+to\s+(\S+)|'
                         r'context\s+(\S+)->(\S+))?')


class Wanted(object):
    """What the caller asks for, validated: ``booleans`` {name: bool}, ``ports`` {(proto, low, high): type},
    ``fcontexts`` {(target, ftype): type}, ``relabel`` [path], ``acknowledged`` set of names, ``warnings``."""
    __slots__ = ('booleans', 'ports', 'fcontexts', 'relabel', 'recursive', 'acknowledged', 'warnings',
                 'ports_absent', 'fcontexts_absent')

    def __init__(self):
        self.booleans, self.ports, self.fcontexts, self.relabel = {}, {}, {}, []
        self.ports_absent, self.fcontexts_absent = set(), set()  # keys whose local label or rule goes
        self.recursive = False
        self.acknowledged = set()
        self.warnings = []


def _name(value, what):
    text = to_text(value if value is not None else '')
    if not IDENTIFIER_RE.match(text) or len(text) > NAME_MAX:
        raise RemedyError('Invalid %s %r: expected letters, digits and _ (such as httpd_can_network_connect).'
                          % (what, text))
    return text


def parse_ports(value):
    """``'8089'`` or ``'8000-8010'`` (or an int) -> ``(low, high)``; 1..65535."""
    text = to_text(value).strip()
    match = re.match(r'^(\d{1,5})(?:-(\d{1,5}))?$', text)
    if not match:
        raise RemedyError('Invalid port %r: expected a number or a range such as 8000-8010.' % text)
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= low <= high <= 65535:
        raise RemedyError('Invalid port range %r: ports are 1-65535, low first.' % text)
    return low, high


def check_target(value):
    text = to_text(value or '')
    if len(text) > MAX_TARGET or not TARGET_RE.match(text):
        raise RemedyError('Invalid file-context target %r: an absolute path regex (such as /srv/app(/.*)?) without '
                          'whitespace, quotes, shell characters or escapes other than of regex characters.' % text)
    try:
        re.compile(text)
    except re.error as err:
        raise RemedyError('Invalid file-context target %r: not a regular expression (%s).' % (text, err))
    return text


def check_path(value):
    text = to_text(value or '')
    if not text.startswith('/') or '\n' in text or '\x00' in text or len(text) > 4096:
        raise RemedyError('Invalid path to relabel %r: an absolute path is needed.' % text)
    if not os.path.lexists(text):
        raise RemedyError('Path to relabel %r does not exist on the target.' % text)
    return os.path.normpath(text)


def validate(params):
    wanted = Wanted()
    for item in params.get('booleans') or []:
        wanted.booleans[_name(item.get('name'), 'boolean name')] = bool(item.get('state'))
    for item in params.get('ports') or []:
        proto = item.get('proto')
        if proto not in PROTOCOLS:
            raise RemedyError('Invalid protocol %r for port %s: one of %s.' % (proto, item.get('ports'), ', '.join(PROTOCOLS)))
        low, high = parse_ports(item.get('ports'))
        if item.get('state') == 'absent':
            wanted.ports_absent.add((proto, low, high))
        else:
            wanted.ports[(proto, low, high)] = _name(item.get('setype'), 'port type')
    for item in params.get('fcontexts') or []:
        ftype = item.get('ftype') or 'a'
        if ftype not in FTYPES:
            raise RemedyError('Invalid ftype %r: one of %s.' % (ftype, ', '.join(FTYPES)))
        key = (check_target(item.get('target')), ftype)
        if item.get('state') == 'absent':
            wanted.fcontexts_absent.add(key)
        else:
            wanted.fcontexts[key] = _name(item.get('setype'), 'file type')
    both = sorted(set(wanted.ports) & wanted.ports_absent) + sorted(set(wanted.fcontexts) & wanted.fcontexts_absent)
    if both:
        raise RemedyError('%s asked both present and absent in one call. Nothing was changed.'
                          % ', '.join(str(key) for key in both))
    wanted.relabel = sorted(set(check_path(path) for path in params.get('restorecon') or []))
    wanted.recursive = bool(params.get('restorecon_recursive'))
    wanted.acknowledged = set(to_text(name) for name in params.get('allow_dangerous') or [])
    from_denials(params.get('denials') or [], wanted)
    return wanted


def _field(value, kind, what):
    """``value`` when it is of ``kind`` (dict or list; None gives an empty one); else a RemedyError naming ``what``."""
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise RemedyError('Invalid %s in denials: a %s, expected a %s (the result of avc_collect with triage=true).'
                          % (what, type(value).__name__, 'mapping' if kind is dict else 'list'))
    return value


def _port_number(value, what):
    """A port named by a triaged denial: an int (or its decimal text) 1-65535; 8089.9, True, 70000 are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, str, type(u''))) or \
            not re.match(r'^\d{1,5}$', to_text(value).strip()):
        raise RemedyError('Invalid port %r in %s: expected a whole number 1-65535.' % (value, what))
    number = int(to_text(value).strip())
    if not 1 <= number <= 65535:
        raise RemedyError('Invalid port %r in %s: ports are 1-65535.' % (value, what))
    return number


def denial_changes(denial, what):
    """What one triaged denial (an avc_collect denial with ``remedy``) asks for, its fields checked for type and
    range: ``[('relabel', path)]``, ``[('boolean', name), ...]``, ``[('port', (proto, port, type))]``; ``allow`` and
    ``none`` ask for nothing here (they are the module's). Nothing on the host is read: the change set, on the
    controller, reads remedies with it too."""
    found = _field(denial, dict, what).get('remedy')
    if not isinstance(found, dict):
        raise RemedyError('Every entry of denials needs the remedy of avc_collect with triage=true; %s has none.'
                          % what)
    kind = found.get('remedy')
    if kind not in REMEDIES:
        raise RemedyError('Unknown remedy %r in %s: one of %s.' % (kind, what, ', '.join(REMEDIES)))
    evidence = _field(found.get('evidence'), dict, what + '.remedy.evidence')
    if kind == 'relabel':
        path = evidence.get('path')
        if not isinstance(path, (str, type(u''))) or not path.startswith('/') or '\n' in path or '\x00' in path:
            raise RemedyError('Invalid path %r in %s: expected an absolute path.' % (path, what))
        return [('relabel', path)]
    if kind == 'boolean':
        return [('boolean', _name(_field(entry, dict, '%s.remedy.evidence.booleans[%d]' % (what, number)).get('name'),
                                  'boolean name'))
                for number, entry in enumerate(_field(evidence.get('booleans'), list, what + '.remedy.evidence.booleans'))]
    if kind == 'dac':
        caps = [_name(cap, 'capability') for cap in _field(evidence.get('capabilities'), list, what + '.remedy.evidence.capabilities')]
        return [('dac', tuple(caps))]  # advice: nothing is changed for it
    if kind == 'fcontext':
        tree = evidence.get('tree')
        if not isinstance(tree, (str, type(u''))) or not tree.startswith('/') or '\n' in tree or '\x00' in tree:
            raise RemedyError('Invalid tree %r in %s: expected an absolute path.' % (tree, what))
        return [('fcontext', (check_target(evidence.get('target')), _name(evidence.get('setype'), 'file type'), tree))]
    if kind == 'port':
        port, protocol = _port_number(evidence.get('port'), what), evidence.get('protocol')
        if protocol not in PROTOCOLS:
            raise RemedyError('Invalid protocol %r in %s: one of %s.' % (protocol, what, ', '.join(PROTOCOLS)))
        return [('port', (protocol, port, _name(evidence.get('proposed_type'), 'port type')))]
    return []


def from_denials(denials, wanted):
    """Add the remedies avc_collect's triage chose (``denials[].remedy``); ``allow`` ones are left to the module.
    Every field is checked for its type and range, like the explicit options, before anything runs."""
    for index, denial in enumerate(_field(denials, list, 'denials')):
        for kind, value in denial_changes(denial, 'denials[%d]' % index):
            if kind == 'boolean':
                wanted.booleans.setdefault(value, True)
            elif kind == 'port':
                wanted.ports.setdefault((value[0], value[1], value[1]), value[2])
            elif kind == 'dac':
                continue  # advice (an owner or a mode to fix by hand): nothing to apply
            elif kind == 'fcontext':
                # the rule, then the tree relabelled (recursively) to what the rule says
                wanted.fcontexts.setdefault((value[0], 'a'), value[1])
                wanted.recursive = True
                if check_path(value[2]) not in wanted.relabel:
                    wanted.relabel.append(check_path(value[2]))
            elif not os.path.lexists(value):
                # the record outlived the file (removed or replaced since): nothing left to relabel
                wanted.warnings.append('%s, named by a relabel remedy, no longer exists: not relabelled.' % value)
            elif check_path(value) not in wanted.relabel:
                wanted.relabel.append(check_path(value))
    wanted.relabel.sort()


def parse_export(text):
    """``semanage export`` -> (booleans {name: bool}, ports {(proto, low, high): type}, fcontexts {(target,
    ftype): type}) of the LOCAL customisations."""
    booleans, ports, fcontexts = {}, {}, {}
    for line in to_text(text, errors='surrogate_or_strict').splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if len(words) < 2 or words[1] not in ('-a', '-m'):
            continue
        opts, rest = _options(words[2:])
        if words[0] == 'boolean' and rest:
            booleans[rest[-1]] = opts.get('-1') is not None or opts.get('--on') is not None
        elif words[0] == 'port' and rest and '-p' in opts:
            low, high = parse_ports(rest[-1])
            ports[(opts['-p'], low, high)] = opts.get('-t')
        elif words[0] == 'fcontext' and rest:
            fcontexts[(rest[-1], opts.get('-f', 'a'))] = opts.get('-t')
    return booleans, ports, fcontexts


def _options(words):
    opts, rest, index = {}, [], 0
    while index < len(words):
        word = words[index]
        if word in ('-1', '-0', '--on', '--off'):
            opts[word] = ''
        elif word.startswith('-') and index + 1 < len(words):
            opts[word] = words[index + 1]
            index += 1
        else:
            rest.append(word)
        index += 1
    return opts, rest


def parse_seinfo_booleans(text):
    values = {}
    for line in to_text(text, errors='surrogate_or_strict').splitlines():
        match = _SEINFO_BOOL_RE.match(line)
        if match:
            values[match.group(1)] = match.group(2) == 'true'
    return values


def parse_attribute_types(text):
    """Type names listed by ``seinfo -a ATTR -x`` (one attribute queried: its members)."""
    members = set()
    for names in parse_attributes(to_text(text, errors='surrogate_or_strict')).values():
        members |= names
    return members


def parse_file_contexts(text):
    """{(regex, ftype letter): type} of a ``file_contexts`` file."""
    letters = dict((spelling, letter) for letter, spelling in FC_FTYPE.items())
    out = {}
    for line in to_text(text, errors='surrogate_or_strict').splitlines():
        match = _FC_LINE_RE.match(line.strip())
        if match and not line.lstrip().startswith('#'):
            parts = match.group(3).split(':')
            out[(match.group(1), letters.get(match.group(2) or '', 'a'))] = parts[2] if len(parts) >= 3 else None
    return out


def relabelled_paths(text):
    """{path: (old context, new context)} of restorecon -v output (contexts None when not printed)."""
    out = {}
    for match in _RELABEL_RE.finditer(to_text(text, errors='surrogate_or_strict')):
        out[match.group(1)] = (match.group(2) or match.group(4), match.group(3) or match.group(5))
    return out


def powerful_boolean(name, state):
    """Whether setting ``name`` to ``state`` hands out power (a protective boolean such as deny_execmem only when
    turned off)."""
    if POWER_OFF_RE.search(name):
        return not state
    return bool(state and POWER_ON_RE.search(name))


def whole_path_pattern(target):
    """A file-context expression as the file contexts apply it: to the whole path."""
    return re.compile('(?:%s)\\Z' % target)


def import_line_boolean(name, state):
    return 'boolean -m %s %s' % ('-1' if state else '-0', name)


def _range_text(low, high):
    return '%d' % low if low == high else '%d-%d' % (low, high)


def import_line_port(key, setype, verb):
    proto, low, high = key
    if verb == '-d':
        return 'port -d -p %s %s' % (proto, _range_text(low, high))
    return 'port %s -t %s -p %s %s' % (verb, setype, proto, _range_text(low, high))


def import_line_fcontext(key, setype, verb):
    target, ftype = key
    if verb == '-d':
        return "fcontext -d -f %s '%s'" % (ftype, target)
    return "fcontext %s -f %s -t %s '%s'" % (verb, ftype, setype, target)


def port_key_text(key):
    proto, low, high = key
    return '%s/%s' % (proto, _range_text(low, high))


def labels_in_range(portcons, key):
    """Every label the ports of ``key`` (proto, low, high) have now (None for an unlabelled port)."""
    proto, low, high = key
    points = set([low])
    for other, start, end, _kind in portcons:
        if other == proto:
            points.update(p for p in (start, end + 1) if low < p <= high)
    return set(port_label(portcons, proto, point) for point in points)


class Current(PolicyReader):
    """What the host has, each tool asked once: local customisations (``semanage export``), boolean values, port
    labels and type attributes of the binary policy ``policy`` (``seinfo``), the policy's own ``file_contexts``,
    the running booleans (``getsebool -a``) when ``live``."""

    def __init__(self, runner, policy, file_contexts, live, selinux_dir=None, policy_type=None):
        super(Current, self).__init__(runner, policy, live)
        self.file_contexts = file_contexts
        self.selinux_dir, self.policy_type = selinux_dir, policy_type

    def label_findings(self, target, setype):
        """Why the file-context rule hands out power: local_policy_module's judgement of a ``filecon`` (the tree the
        expression reaches, libselinux's labels of it today, the protected families of the policy)."""
        model = self._once('model', lambda: read_model(self.runner, self.policy, self.selinux_dir, self.policy_type))
        return label_findings(model, target, setype)

    def local(self):
        return self._once('local', lambda: parse_export(
            self.runner.run('semanage', ['export'], what='local customisations').stdout))

    def booleans(self):
        return self._once('booleans', lambda: parse_seinfo_booleans(
            self.runner.run('seinfo', [self.policy, '-b', '-x'], what='booleans').stdout))

    def running_booleans(self):
        def read():
            if not self.live or not self.runner.has('getsebool'):
                return {}
            return parse_getsebool(self.runner.run('getsebool', ['-a'], what='running booleans').stdout)
        return self._once('running', read)

    def types_of(self, attribute):
        return self._once(('attr', attribute), lambda: parse_attribute_types(
            self.runner.run('seinfo', [self.policy, '-a', attribute, '-x'], what='types of %s' % attribute).stdout))

    def builtin_fcontexts(self):
        def read():
            try:
                with open(self.file_contexts, 'rb') as handle:
                    return parse_file_contexts(handle.read())
            except (IOError, OSError) as err:
                raise RemedyError('Cannot read the policy file contexts %s: %s' % (self.file_contexts, err))
        return self._once('fc', read)


class RemedyPlan(object):
    """``lines`` for ONE semanage import; ``relabel`` paths restorecon changes (``pending``: paths under a new
    file-context rule, whose new label check mode cannot read); ``new_targets``: the expressions of the file-context
    rules in ``lines``; ``changes`` in words; ``before``/``after`` for diff."""
    __slots__ = ('lines', 'relabel', 'pending', 'new_targets', 'changes', 'before', 'after', 'warnings')

    def __init__(self):
        self.lines, self.relabel, self.pending, self.changes, self.warnings = [], [], [], [], []
        self.new_targets, self.before, self.after = [], [], []

    @property
    def changed(self):
        return bool(self.lines or self.relabel or self.pending)


def plan(wanted, current, runner):
    result = RemedyPlan()
    refused = []
    _plan_booleans(wanted, current, result, refused)
    _plan_ports(wanted, current, result, refused)
    _plan_fcontexts(wanted, current, result, refused)
    _plan_removals(wanted, current, result)
    if refused:
        raise RemedyError('Refused, nothing was changed: %s. Acknowledge what you mean to hand out by listing it '
                          'in allow_dangerous.' % '; '.join(refused), refused=refused)
    _plan_relabel(wanted, current, result, runner)
    return result


def _plan_booleans(wanted, current, result, refused):
    values, running = current.booleans(), current.running_booleans()
    unknown = sorted(name for name in wanted.booleans if name not in values)
    if unknown:
        raise RemedyError('Unknown boolean(s) %s: the policy %s defines no such boolean. Nothing was changed.'
                          % (', '.join(unknown), current.policy))
    for name, state in sorted(wanted.booleans.items()):
        if values[name] == state and running.get(name, state) == state:
            continue
        if powerful_boolean(name, state) and name not in wanted.acknowledged:
            refused.append('turning boolean %s %s hands out power' % (name, 'on' if state else 'off'))
        result.lines.append(import_line_boolean(name, state))
        result.changes.append('boolean %s -> %s' % (name, 'on' if state else 'off'))
        result.before.append('boolean %s %s' % (name, 'on' if values[name] else 'off'))
        result.after.append('boolean %s %s' % (name, 'on' if state else 'off'))


def _plan_ports(wanted, current, result, refused):
    if not wanted.ports:
        return
    port_types, local, portcons = current.types_of('port_type'), current.local()[1], current.portcons()
    for key, setype in sorted(wanted.ports.items()):
        text = port_key_text(key)
        if setype not in port_types:
            raise RemedyError('%s is not a port type of the policy (port %s). Nothing was changed.' % (setype, text))
        labels = labels_in_range(portcons, key)
        if key in local and local[key] == setype or labels == set([setype]):
            continue
        # a local label (the administrator's own) is changed as asked; one the policy gives a service is not
        others = sorted(kind for kind in labels - set([setype, local.get(key)])
                        if kind is not None and kind not in GENERIC_PORT_TYPES)
        if others:
            raise RemedyError('Port %s belongs to another service (%s): labelling it %s would take it away. Nothing '
                              'was changed.' % (text, ', '.join(others), setype))
        if key[1] < PRIVILEGED_PORTS and text not in wanted.acknowledged:
            refused.append('labelling the privileged port(s) %s %s' % (text, setype))
        result.lines.append(import_line_port(key, setype, '-m' if key in local else '-a'))
        result.changes.append('port %s -> %s' % (text, setype))
        result.before.append('port %s %s' % (text, ','.join(sorted(k or 'unlabelled' for k in labels))))
        result.after.append('port %s %s' % (text, setype))


def _plan_fcontexts(wanted, current, result, refused):
    if not wanted.fcontexts:
        return
    file_types, local, builtin = current.types_of('file_type'), current.local()[2], current.builtin_fcontexts()
    for key, setype in sorted(wanted.fcontexts.items()):
        target = key[0]
        if setype not in file_types:
            raise RemedyError('%s is not a file type of the policy (file context %s). Nothing was changed.'
                              % (setype, target))
        if local.get(key) == setype or (key not in local and builtin.get(key) == setype):
            continue
        if key in builtin:
            raise RemedyError('The policy itself gives %s the type %s: a local rule for the same expression cannot '
                              'replace it. Use a more specific expression. Nothing was changed.' % (target, builtin[key]))
        reasons = current.label_findings(target, setype)
        if reasons and target not in wanted.acknowledged:
            refused.append('the file-context rule %s %s: %s' % (target, setype, '; '.join(reasons)))
        result.lines.append(import_line_fcontext(key, setype, '-m' if key in local else '-a'))
        result.new_targets.append(target)
        result.changes.append('file context %s (%s) -> %s' % (target, key[1], setype))
        result.before.append('fcontext %s %s' % (target, local.get(key) or 'none'))
        result.after.append('fcontext %s %s' % (target, setype))


def _plan_removals(wanted, current, result):
    """``state: absent``: the local port labels and file-context rules asked for go (``-d``); the policy's own cannot
    be removed (a warning says so), and what is not there is no change."""
    if not (wanted.ports_absent or wanted.fcontexts_absent):
        return
    local = current.local()
    for key in sorted(wanted.ports_absent):
        text = port_key_text(key)
        if key not in local[1]:
            if key in [(proto, low, high) for proto, low, high, dummy in current.portcons()]:
                result.warnings.append('port %s is labelled by the policy itself: it cannot be removed.' % text)
            continue
        result.lines.append(import_line_port(key, None, '-d'))
        result.changes.append('port %s: local label %s removed' % (text, local[1][key]))
        result.before.append('port %s %s' % (text, local[1][key]))
        result.after.append('port %s none' % text)
    for key in sorted(wanted.fcontexts_absent):
        target = key[0]
        if key not in local[2]:
            if key in current.builtin_fcontexts():
                result.warnings.append('the file context %s is a rule of the policy itself: it cannot be removed.'
                                       % target)
            continue
        result.lines.append(import_line_fcontext(key, None, '-d'))
        result.changes.append('file context %s (%s): local rule %s removed' % (target, key[1], local[2][key]))
        result.before.append('fcontext %s %s' % (target, local[2][key]))
        result.after.append('fcontext %s none' % target)


def _plan_relabel(wanted, current, result, runner):
    if not wanted.relabel:
        return
    if not current.live:
        result.warnings.append('SELinux is not active: restorecon cannot label %s now; they are labelled at the next '
                               'relabel.' % ', '.join(wanted.relabel))
        return
    new_rules = [whole_path_pattern(target) for target in result.new_targets]
    dry = runner.run('restorecon', ['-n', '-v'] + (['-R'] if wanted.recursive else []) + wanted.relabel,
                     what='the labels of %s' % ', '.join(wanted.relabel))
    needed = relabelled_paths(dry.stdout)
    for path in wanted.relabel:
        if any(rule.match(path) for rule in new_rules):
            result.pending.append(path)
        elif path in needed or (wanted.recursive and any(p.startswith(path + '/') for p in needed)):
            result.relabel.append(path)
    for path in result.relabel:
        old, new = needed.get(path, (None, None))
        result.changes.append('relabel %s' % path)
        result.before.append('label %s %s' % (path, old or '(current)'))
        result.after.append('label %s %s' % (path, new or '(default of the file contexts)'))
    for path in result.pending:
        result.changes.append('relabel %s after the new file-context rule(s)' % path)
        result.before.append('label %s (current)' % path)
        result.after.append('label %s (by the new file-context rule)' % path)


def act(plan_, runner, recursive):
    """One semanage transaction for every change, then restorecon on the paths that need it; the paths restorecon
    changed."""
    if plan_.lines:
        runner.run_with_retry('semanage', ['import'], data='\n'.join(plan_.lines) + '\n', changes=True,
                              retry_if=lock_held, what='the remedies (one transaction)',
                              hint='Nothing was changed (one transaction).')
    paths = sorted(plan_.relabel + plan_.pending)
    if not paths:
        return []
    done = runner.change('restorecon', ['-v'] + (['-R'] if recursive else []) + paths, what='relabelling',
                         hint='The policy changes of this run were committed before; run again to relabel' if plan_.lines
                         else None)
    return sorted(relabelled_paths(done.stdout))
