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

import bz2
import os
import re
import shlex
from collections import namedtuple

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean as to_bool

from ansible_collections.fleetsec.selinux.plugins.module_utils._file_contexts import file_context_lines
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import keep_answers
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_model import read_model
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_safety import Acknowledged, refusal, refusal_details
from ansible_collections.fleetsec.selinux.plugins.module_utils._power import PRIVILEGED_PORTS, powerful_user
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_verdict import label_findings, rule_findings
from ansible_collections.fleetsec.selinux.plugins.module_utils._remedy import (
    GENERIC_PORT_TYPES, REMEDIES, PolicyReader, parse_getsebool, port_label)
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import lock_held
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, FleetsecError
from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy_batch as batch
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils._selinux_config import IDENTIFIER_RE


class RemedyError(FleetsecError):
    pass


NAME_MAX = 128
PROTOCOLS = ('tcp', 'udp', 'sctp', 'dccp')
# semanage fcontext -f: a(ll), f(ile), d(irectory), c(haracter), b(lock), s(ocket), l(ink), p(ipe)
FTYPES = ('a', 'f', 'd', 'c', 'b', 's', 'l', 'p')
# a file-context target: an absolute path regex without whitespace, quotes, backslash escapes of quotes or
# control characters (semanage import splits its lines like a shell: such characters would change the line)
TARGET_RE = re.compile(r'^/[^\s\'"`\\$;&|<>]*(?:\\[.()\[\]{}*+?^|/-][^\s\'"`\\$;&|<>]*)*\Z')
MAX_TARGET = 1024
# a file-context equivalence: a plain absolute path (no regex), not / and without a trailing /
EQUAL_PATH_RE = re.compile(r'^(?:/[A-Za-z0-9._+@%:,=~-]+)+\Z')
# a login: a Linux user name, a %group, or __default__
LOGIN_RE = re.compile(r'^(?:__default__|%?[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63})\Z')
# an MLS/MCS level or range: s0, s0-s0:c0.c1023, s0:c1,c3
_LEVEL = r's\d{1,4}(?::c\d{1,4}(?:[.,]c\d{1,4})*)?'
RANGE_RE = re.compile(r'^%s(?:\s?-\s?%s)?\Z' % (_LEVEL, _LEVEL))
# restorecon -v (-n): "Would relabel P from A to B" / "Relabeled P from A to B" (3.x), "restorecon reset P context
# A->B" (2.x)
_RELABEL_RE = re.compile(r'(?:Would relabel|Relabeled|restorecon reset)\s+(\S+)\s+(?:from\s+(\S+)\s+to\s+(\S+)|'
                         r'context\s+(\S+)->(\S+))?')


class Wanted(object):
    """What the caller asks for, validated: ``booleans`` {name: bool}, ``ports`` {(proto, low, high): type},
    ``fcontexts`` {(target, ftype): type}, ``equivalences`` {path: equal}, ``logins`` {login: (seuser, range)},
    ``relabel`` [path], ``acknowledged`` (``_policy_safety.Acknowledged``), ``warnings``; the ``*_absent`` sets: what goes."""
    __slots__ = ('booleans', 'ports', 'fcontexts', 'relabel', 'recursive', 'acknowledged', 'warnings',
                 'ports_absent', 'fcontexts_absent', 'booleans_absent', 'equivalences', 'equivalences_absent',
                 'logins', 'logins_absent')

    def __init__(self):
        self.booleans, self.ports, self.fcontexts, self.relabel = {}, {}, {}, []
        self.ports_absent, self.fcontexts_absent = set(), set()  # keys whose local label or rule goes
        self.booleans_absent, self.equivalences_absent, self.logins_absent = set(), set(), set()
        self.equivalences, self.logins = {}, {}  # {path: equal}, {login: (seuser, range or None)}
        self.recursive = False
        self.acknowledged = Acknowledged()
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


def check_equal_path(value, what):
    """A path of a file-context equivalence: absolute, plain (no regex), not / and without a trailing /."""
    text = to_text(value if value is not None else '')
    if len(text) > MAX_TARGET or not EQUAL_PATH_RE.match(text) or '/../' in text + '/' or '/./' in text + '/':
        raise RemedyError('Invalid %s %r: a plain absolute path such as /srv/www (no regex, whitespace, quotes, shell '
                          'characters, "." or ".." components, or trailing /).' % (what, text))
    return text


def check_login(item):
    """(login, seuser, range or None) of a ``logins`` entry."""
    login = to_text(item.get('login') if item.get('login') is not None else '')
    if not LOGIN_RE.match(login):
        raise RemedyError('Invalid login %r: a user name, a %%group or __default__.' % login)
    level = item.get('range')
    if level is not None:
        level = to_text(level)
        if len(level) > 256 or not RANGE_RE.match(level):
            raise RemedyError('Invalid range %r for login %s: an MLS/MCS range such as s0 or s0-s0:c0.c1023.'
                              % (level, login))
    seuser = item.get('seuser')
    return login, (None if seuser is None else _name(seuser, 'SELinux user')), level


def _boolean_state(item):
    state = item.get('state')
    if isinstance(state, (str, type(u''))) and state.strip().lower() == 'absent':
        return 'absent'
    try:
        return to_bool(state, strict=True)
    except TypeError:
        raise RemedyError('Invalid state %r for boolean %s: true, false or absent.' % (state, item.get('name')))


def _validate_booleans(params, wanted):
    for item in params.get('booleans') or []:
        name, state = _name(item.get('name'), 'boolean name'), _boolean_state(item)
        if state == 'absent':
            wanted.booleans_absent.add(name)
        else:
            wanted.booleans[name] = state


def _validate_ports(params, wanted):
    for item in params.get('ports') or []:
        proto = item.get('proto')
        if proto not in PROTOCOLS:
            raise RemedyError('Invalid protocol %r for port %s: one of %s.' % (proto, item.get('ports'), ', '.join(PROTOCOLS)))
        low, high = parse_ports(item.get('ports'))
        if item.get('state') == 'absent':
            wanted.ports_absent.add((proto, low, high))
        else:
            wanted.ports[(proto, low, high)] = _name(item.get('setype'), 'port type')


def _validate_fcontexts(params, wanted):
    for item in params.get('fcontexts') or []:
        ftype = item.get('ftype') or 'a'
        if ftype not in FTYPES:
            raise RemedyError('Invalid ftype %r: one of %s.' % (ftype, ', '.join(FTYPES)))
        key = (check_target(item.get('target')), ftype)
        if item.get('state') == 'absent':
            wanted.fcontexts_absent.add(key)
        else:
            wanted.fcontexts[key] = _name(item.get('setype'), 'file type')
    for item in params.get('equivalences') or []:
        path = check_equal_path(item.get('path'), 'equivalence path')
        if item.get('state') == 'absent':
            wanted.equivalences_absent.add(path)
        else:
            wanted.equivalences[path] = check_equal_path(item.get('equal'), 'equivalence equal')


def _validate_logins(params, wanted):
    for item in params.get('logins') or []:
        login, seuser, level = check_login(item)
        if item.get('state') == 'absent':
            if login == '__default__':
                raise RemedyError('The login __default__ cannot be removed (every login without a mapping uses it): '
                                  'map it to another SELinux user instead. Nothing was changed.')
            wanted.logins_absent.add(login)
        elif seuser is None:
            raise RemedyError('The login %s needs seuser (an SELinux user such as user_u).' % login)
        else:
            wanted.logins[login] = (seuser, level)


def validate(params):
    wanted = Wanted()
    _validate_booleans(params, wanted)
    _validate_ports(params, wanted)
    _validate_fcontexts(params, wanted)
    _validate_logins(params, wanted)
    both = sorted(set(wanted.ports) & wanted.ports_absent) + sorted(set(wanted.fcontexts) & wanted.fcontexts_absent) \
        + sorted(set(wanted.booleans) & wanted.booleans_absent) \
        + sorted(set(wanted.equivalences) & wanted.equivalences_absent) + sorted(set(wanted.logins) & wanted.logins_absent)
    if both:
        raise RemedyError('%s asked both present and absent in one call. Nothing was changed.'
                          % ', '.join(str(key) for key in both))
    wanted.relabel = sorted(set(check_path(path) for path in params.get('restorecon') or []))
    wanted.recursive = bool(params.get('restorecon_recursive'))
    wanted.acknowledged = Acknowledged(params.get('allow_dangerous'))
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


LocalCustomisations = namedtuple('LocalCustomisations', 'booleans ports fcontexts equivalences logins')


def parse_export(text):
    """``semanage export`` -> :class:`LocalCustomisations` of the LOCAL customisations: ``booleans`` {name: bool},
    ``ports`` {(proto, low, high): type}, ``fcontexts`` {(target, ftype): type}, ``equivalences`` {path: equal},
    ``logins`` {login: (seuser, range or None)}. The collection's one reader of it; a line that does not parse is
    skipped."""
    found = LocalCustomisations({}, {}, {}, {}, {})
    for line in to_text(text, errors='surrogate_or_strict').splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if len(words) < 3 or words[1] not in ('-a', '-m'):
            continue
        opts, rest = _options(words[2:])
        if rest:
            _export_entry(found, words[0], opts, rest[-1])
    return found


def _export_entry(found, kind, opts, last):
    if kind == 'boolean':
        found.booleans[last] = opts.get('-1') is not None or opts.get('--on') is not None
    elif kind == 'port' and '-p' in opts:
        try:
            low, high = parse_ports(last)
        except RemedyError:
            return
        found.ports[(opts['-p'], low, high)] = opts.get('-t')
    elif kind == 'fcontext' and '-e' in opts:
        found.equivalences[last] = opts['-e']
    elif kind == 'fcontext':
        found.fcontexts[(last, opts.get('-f', 'a'))] = opts.get('-t')
    elif kind == 'login' and '-s' in opts:
        found.logins[last] = (opts['-s'], opts.get('-r') or None)


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


def parse_seusers(text):
    """{login: seuser} of a ``seusers`` file (``login:seuser[:range]``)."""
    found = {}
    for line in to_text(text, errors='surrogate_or_strict').splitlines():
        parts = line.strip().split(':')
        if len(parts) >= 2 and not line.lstrip().startswith('#'):
            found[parts[0]] = parts[1]
    return found


_CIL_BOOLEAN_RE = re.compile(r'\(boolean\s+([A-Za-z0-9_]+)\s+(true|false)\s*\)')


def store_boolean_defaults(modules_dir):
    """{boolean: value} declared by the enabled modules of a store (``modules/PRIORITY/NAME/cil``, bzip2 or plain;
    the highest priority of each module counts)."""
    chosen = {}
    try:
        priorities = sorted((int(p) for p in os.listdir(modules_dir) if p.isdigit()))
    except OSError:
        return {}
    disabled = os.path.join(modules_dir, 'disabled')
    for priority in priorities:
        for name in os.listdir(os.path.join(modules_dir, '%d' % priority)):
            if not os.path.exists(os.path.join(disabled, name)):
                chosen[name] = os.path.join(modules_dir, '%d' % priority, name, 'cil')
    defaults = {}
    for path in chosen.values():
        try:
            with open(path, 'rb') as handle:
                data = handle.read()
            text = to_text(bz2.decompress(data) if data[:3] == b'BZh' else data, errors='surrogate_or_strict')
        except (IOError, OSError, ValueError):
            continue
        for match in _CIL_BOOLEAN_RE.finditer(text):
            defaults[match.group(1)] = match.group(2) == 'true'
    return defaults


def parse_file_contexts(text):
    """{(regex, ftype letter): type or None} of a ``file_contexts`` file (``_file_contexts.file_context_lines``)."""
    return dict(((expression, letter), type_name) for expression, letter, type_name in file_context_lines(text))


def relabelled_paths(text):
    """{path: (old context, new context)} of restorecon -v output (contexts None when not printed)."""
    out = {}
    for match in _RELABEL_RE.finditer(to_text(text, errors='surrogate_or_strict')):
        out[match.group(1)] = (match.group(2) or match.group(4), match.group(3) or match.group(5))
    return out


def more(found):
    """', and N more' after the first of several findings."""
    return ', and %d more' % (len(found) - 1) if len(found) > 1 else ''


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

    def __init__(self, runner, policy, file_contexts, live, selinux_dir=None, policy_type=None, cache_dir=None):
        super(Current, self).__init__(runner, policy, live)
        self.file_contexts = file_contexts
        self.selinux_dir, self.policy_type = selinux_dir, policy_type
        # local_policy_module's kept facts of the policy (its state directory's cache): read when kept for this very
        # policy, and what this run queried is offered to keep (:meth:`keep_learnt`)
        self.cache_dir = cache_dir
        self.learnt = []

    def label_findings(self, target, setype):
        """Why the file-context rule hands out power: local_policy_module's judgement of a ``filecon`` (the tree the
        expression reaches, libselinux's labels of it today, the protected families of the policy)."""
        return label_findings(self.model(), target, setype)

    def model(self):
        """local_policy_module's model of the policy (:func:`~._policy_model.read_model`): its facts are read from
        the cache kept for this policy's checksum when there is one (the same answer), else queried."""
        return self._once('model', lambda: read_model(
            self.runner, self.policy, self.selinux_dir, self.policy_type, cache_dir=self.cache_dir, save=self._learn))

    def _learn(self, path, data, supersedes=None):
        self.learnt = [kept for kept in self.learnt if kept[0] != path] + [(path, data, supersedes)]

    def keep_learnt(self):
        """Keep the facts this run queried in the cache (0700 folders, a 0600 file written atomically; older
        policies' facts removed), for the next run of remedy or local_policy_module on the same policy: called when
        no transaction changed the policy they describe (a refused, failed or unchanged run outside check mode). A
        cache that cannot be written only makes the next run slower: the warnings say so."""
        def prepare():
            for folder in (os.path.dirname(self.cache_dir), self.cache_dir):
                if not os.path.isdir(folder):
                    os.makedirs(folder, 0o700)
                os.chmod(folder, 0o700)
        learnt, self.learnt = self.learnt, []
        return keep_answers(learnt, prepare)

    def read_listings(self, kinds):
        """Read the policy's listings ``kinds`` (``booleans``, ``attributes``, ``portcon``) together, one policy load
        (:meth:`~._setools.Policy.prefetch`)."""
        self.setools.prefetch(kinds)

    def read_boolean_rules(self, names):
        """Read the rules of several booleans in one query (setools 4, :meth:`~._setools.Policy.boolean_rules`: each
        query loads the whole policy). setools 3 reads them one by one, when judged."""
        names = sorted(set(name for name in names if ('boolean rules', name) not in self._cache))
        if len(names) < 2 or self.setools.generation() < 4:
            return
        rules = self.setools.boolean_rules(names, kinds=('-A', '-T'))
        for name in names:
            self._cache[('boolean rules', name)] = [rule for rule in rules if rule.condition is not None
                                                    and name in rule.condition.expression.split()]

    def boolean_findings(self, name, state):
        """What setting boolean ``name`` to ``state`` hands out: the policy's rules that the setting turns on (those
        in the branch of ``state`` of a rule guarded by the boolean alone; every rule of an expression that names it
        with others, whose outcome other booleans decide), judged like a module's rules. ["rule: reason"]."""
        # the boolean is one the policy has (checked before): a failed search fails the run, never passes the value
        rules = self._cache.get(('boolean rules', name))
        if rules is None:
            rules = self.setools.boolean_rules([name], kinds=('-A', '-T'))
        turned_on = [rule for rule in rules if rule.condition is not None and (
            rule.condition.boolean() != name or rule.condition.branch == bool(state))]
        return ['%s: %s' % pair for pair in rule_findings(self.model(), turned_on)]

    def local(self):
        return self._once('local', lambda: parse_export(
            self.runner.run('semanage', ['export'], what='local customisations').stdout))

    def booleans(self):
        return self.setools.booleans()

    def running_booleans(self):
        def read():
            if not self.live or not self.runner.has('getsebool'):
                return {}
            return parse_getsebool(self.runner.run('getsebool', ['-a'], what='running booleans').stdout)
        return self._once('running', read)

    def users(self):
        """{SELinux user: set of its roles} of the binary policy."""
        return self.setools.users()

    def default_seuser(self):
        """The SELinux user of ``__default__`` (the store's seusers, local mappings included): what a login without a
        mapping of its own gets."""
        def read():
            local = self.local().logins.get('__default__')
            if local:
                return local[0]
            path = os.path.join(self.selinux_dir or '/etc/selinux', self.policy_type or 'targeted', 'seusers')
            try:
                with open(path, 'rb') as handle:
                    return parse_seusers(handle.read()).get('__default__')
            except (IOError, OSError):
                return None
        return self._once('default_seuser', read)

    def boolean_defaults(self):
        """{boolean: value} as the policy's modules declare them (the store's CIL, highest priority of each enabled
        module): what a boolean returns to when its local setting goes."""
        def read():
            # the store is under /var/lib/selinux since userspace 2.4, under /etc/selinux on EL7
            for top in ('/var/lib/selinux', self.selinux_dir or '/etc/selinux'):
                modules = os.path.join(top, self.policy_type or 'targeted', 'active', 'modules')
                if os.path.isdir(modules):
                    return store_boolean_defaults(modules)
            return {}
        return self._once('boolean_defaults', read)

    def types_of(self, attribute):
        return self.setools.members(attribute)

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
    __slots__ = ('lines', 'relabel', 'pending', 'new_targets', 'changes', 'before', 'after', 'warnings', 'running',
                 'subs', 'policy', 'local')

    def __init__(self):
        self.lines, self.relabel, self.pending, self.changes, self.warnings = [], [], [], [], []
        self.new_targets, self.before, self.after = [], [], []
        self.running = {}   # booleans whose running value is set after the commit (their local setting went)
        self.subs = False   # whether the import changes equivalences (file_contexts.subs, written by semanage itself)
        self.policy = None  # the binary policy the transaction rewrites (its booleans are read after the commit)
        self.local = None   # the local customisations planned from, when the batch deletes (read by then)

    @property
    def changed(self):
        return bool(self.lines or self.relabel or self.pending)


def plan(wanted, current, runner):
    result = RemedyPlan()
    result.policy = current.policy
    # the policy's listings this plan reads, from one seinfo: booleans always, the attributes for port labels and
    # file-context rules, the policy's port labels for port labels and for removing one
    current.read_listings(['booleans'] + (['attributes'] if wanted.ports or wanted.fcontexts else [])
                          + (['portcon'] if wanted.ports or wanted.ports_absent else []))
    refused = []
    _plan_booleans(wanted, current, result, refused)
    _plan_ports(wanted, current, result, refused)
    _plan_fcontexts(wanted, current, result, refused)
    _plan_removals(wanted, current, result)
    _plan_equivalences(wanted, current, result, refused)
    _plan_logins(wanted, current, result, refused)
    if refused:
        details = refusal_details(refused)
        raise RemedyError('Refused, nothing was changed: %s. Acknowledge what you mean to hand out by listing it '
                          'in allow_dangerous: %s.' % ('; '.join(details['refused']), ', '.join(details['acknowledge'])),
                          **details)
    _plan_relabel(wanted, current, result, runner)
    if any('-d' in line or '-D' in line for line in result.lines):
        result.local = current.local()  # read for those lines already (no new run)
    return result


def _plan_booleans(wanted, current, result, refused):
    values, running = current.booleans(), current.running_booleans()
    unknown = sorted(name for name in set(wanted.booleans) | wanted.booleans_absent if name not in values)
    if unknown:
        raise RemedyError('Unknown boolean(s) %s: the policy %s defines no such boolean. Nothing was changed.'
                          % (', '.join(unknown), current.policy))
    changed = {}
    to_set = [(name, state) for name, state in sorted(wanted.booleans.items())
              if not (values[name] == state and running.get(name, state) == state)]
    current.read_boolean_rules(name for name, state in to_set if name not in wanted.acknowledged)
    for name, state in to_set:
        if name not in wanted.acknowledged:
            found = current.boolean_findings(name, state)
            if found:
                refused.append(refusal('turning boolean %s %s hands out power (%s%s)' % (
                    name, 'on' if state else 'off', found[0], more(found)), name))
        changed[name] = state
        result.changes.append('boolean %s -> %s' % (name, 'on' if state else 'off'))
        result.before.append('boolean %s %s' % (name, 'on' if values[name] else 'off'))
        result.after.append('boolean %s %s' % (name, 'on' if state else 'off'))
    removed = _plan_boolean_removals(wanted, current, result, refused)
    if not removed:
        result.lines.extend(import_line_boolean(name, state) for name, state in sorted(changed.items()))
        return
    # semanage has no per-boolean delete: every local setting goes (-D), the kept ones are set again; one transaction
    kept = dict((name, state) for name, state in current.local().booleans.items() if name not in removed)
    kept.update(changed)
    result.lines.extend(['boolean -D'] + [import_line_boolean(name, state) for name, state in sorted(kept.items())])


def _plan_boolean_removals(wanted, current, result, refused):
    """``state: absent``: the local settings asked to go; each boolean returns to the value its module declares."""
    local, removed = current.local().booleans, set()
    for name in sorted(wanted.booleans_absent):
        if name not in local:
            continue
        default = current.boolean_defaults().get(name)
        if default is None:
            raise RemedyError('The policy default of boolean %s cannot be read from the store (no module declares '
                              'it): its local setting is left as it is. Nothing was changed.' % name)
        found = current.boolean_findings(name, default) if name not in wanted.acknowledged else []
        if found:
            refused.append(refusal('removing the local setting of boolean %s turns it %s (its policy default), which '
                                   'hands out power (%s%s)' % (name, 'on' if default else 'off', found[0], more(found)),
                                   name))
        removed.add(name)
        if current.live:
            result.running[name] = default   # set after the commit to the value the new binary policy holds
        result.changes.append('boolean %s: local setting %s removed -> policy default %s'
                              % (name, 'on' if local[name] else 'off', 'on' if default else 'off'))
        result.before.append('boolean %s %s (local)' % (name, 'on' if local[name] else 'off'))
        result.after.append('boolean %s %s (policy default)' % (name, 'on' if default else 'off'))
    return removed


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
            refused.append(refusal('labelling the privileged port(s) %s %s' % (text, setype), text))
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
            refused.append(refusal('the file-context rule %s %s: %s' % (target, setype, '; '.join(reasons)), target))
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


def _literal(path):
    """A plain path as a file-context expression (only the regex metacharacters escaped, as the policy writes them)."""
    return re.sub(r'([.^$*+?{}\[\]\\|()])', r'\\\1', path)


def equivalent_rules(path, equal, builtin):
    """What an equivalence amounts to: for each rule of the policy below ``equal`` (``EQUAL + SUFFIX`` of type T), the
    rule ``PATH + SUFFIX`` of type T - libselinux relabels ``PATH/rest`` as it labels ``EQUAL/rest``."""
    rules = set()
    for (regex, dummy), setype in builtin.items():
        if setype and (regex == equal or regex.startswith(equal + '/') or regex.startswith(equal + '(')):
            rules.add((_literal(path) + regex[len(equal):], setype))
    return sorted(rules)


def _plan_equivalences(wanted, current, result, refused):
    if not (wanted.equivalences or wanted.equivalences_absent):
        return
    local, builtin = current.local().equivalences, current.builtin_fcontexts()
    for path, equal in sorted(wanted.equivalences.items()):
        if local.get(path) == equal:
            continue
        rules = equivalent_rules(path, equal, builtin)
        if not rules:
            raise RemedyError('%s is not a tree of the policy (no file-context rule below it): an equivalence with it '
                              'labels nothing. Nothing was changed.' % equal)
        if path not in wanted.acknowledged:
            # judged as the rules it amounts to; the first that hands out power refuses it (no need to judge the rest)
            for target, setype in rules:
                reasons = current.label_findings(target, setype)
                if reasons:
                    refused.append(refusal('the equivalence %s = %s amounts to the rule %s %s: %s'
                                           % (path, equal, target, setype, '; '.join(reasons)), path))
                    break
        if path in local:
            result.lines.append('fcontext -d -e %s %s' % (local[path], path))
        result.lines.append('fcontext -a -e %s %s' % (equal, path))
        result.changes.append('equivalence %s -> %s' % (path, equal))
        result.before.append('equivalence %s %s' % (path, local.get(path) or 'none'))
        result.after.append('equivalence %s %s' % (path, equal))
        result.subs = True
    for path in sorted(wanted.equivalences_absent):
        if path in local:
            result.lines.append('fcontext -d -e %s %s' % (local[path], path))
            result.changes.append('equivalence %s: local equivalence with %s removed' % (path, local[path]))
            result.before.append('equivalence %s %s' % (path, local[path]))
            result.after.append('equivalence %s none' % path)
            result.subs = True


def import_line_login(login, seuser, level, verb):
    if verb == '-d':
        return "login -d '%s'" % login
    return "login %s -s %s%s '%s'" % (verb, seuser, ' -r %s' % level if level else '', login)


def _plan_logins(wanted, current, result, refused):
    if not (wanted.logins or wanted.logins_absent):
        return
    users, local = current.users(), current.local().logins
    for login, (seuser, level) in sorted(wanted.logins.items()):
        if seuser not in users:
            raise RemedyError('%s is not an SELinux user of the policy (login %s). Nothing was changed.' % (seuser, login))
        have = local.get(login)
        if have and have[0] == seuser and (level is None or have[1] == level):
            continue
        if powerful_user(users[seuser]) and login not in wanted.acknowledged:
            refused.append(refusal('mapping the login %s to %s (roles %s) hands out power'
                                   % (login, seuser, ' '.join(sorted(users[seuser]))), login))
        verb = '-m' if have or login == '__default__' else '-a'
        result.lines.append(import_line_login(login, seuser, level, verb))
        result.changes.append('login %s -> %s' % (login, seuser))
        result.before.append('login %s %s' % (login, have[0] if have else 'none'))
        result.after.append('login %s %s' % (login, seuser))
    for login in sorted(wanted.logins_absent):
        if login not in local:
            continue
        fallback = current.default_seuser()
        if (fallback is None or powerful_user(users.get(fallback, ()))) and login not in wanted.acknowledged:
            refused.append(refusal('removing the mapping of login %s gives it __default__\'s SELinux user %s, which '
                                   'hands out power' % (login, fallback or '(unknown)'), login))
        result.lines.append(import_line_login(login, None, None, '-d'))
        result.changes.append('login %s: local mapping to %s removed -> %s' % (login, local[login][0], fallback))
        result.before.append('login %s %s' % (login, local[login][0]))
        result.after.append('login %s none' % login)


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


def act(plan_, runner, recursive, subs_path=None):
    """One semanage transaction for every change, then the running value of each boolean whose local setting went,
    then restorecon on the paths that need it; the paths restorecon changed.

    semanage writes equivalences to ``subs_path`` (file_contexts.subs) itself, outside libsemanage's transaction:
    it is kept before the import and put back if the import fails, so a failed call changes nothing. When the
    import fails, the entry that breaks it is looked for in trials that are never committed (_remedy_batch)."""
    if plan_.lines:
        kept = _keep(subs_path) if plan_.subs else None
        if batch.mixed(plan_.lines):
            # semanage 3.6+ would commit the deletions before it meets a refused line: tried first, never committed
            batch.preflight(plan_.lines, lambda lines: _trial(runner, lines, subs_path, kept))
        try:
            runner.run_with_retry('semanage', ['import'], data='\n'.join(plan_.lines) + '\n', changes=True,
                                  retry_if=lock_held, what='the remedies (one transaction)',
                                  hint='Nothing was changed (one transaction).')
        except CommandFailed as err:
            _put_back(subs_path, kept)
            raise batch.explain(plan_.lines, err, lambda lines: _trial(runner, lines, subs_path, kept),
                                lambda: _unchanged(plan_, runner))
        except FleetsecError:
            _put_back(subs_path, kept)
            raise
    _set_running(plan_, runner)
    paths = sorted(plan_.relabel + plan_.pending)
    if not paths:
        return []
    done = runner.change('restorecon', ['-v'] + (['-R'] if recursive else []) + paths, what='relabelling',
                         hint='The policy changes of this run were committed before; run again to relabel' if plan_.lines
                         else None)
    return sorted(relabelled_paths(done.stdout))


def _trial(runner, lines, subs_path, kept):
    """One trial of the batch (never committed), the equivalence file put back after it as after the batch."""
    try:
        return batch.run_trial(runner, lines)
    finally:
        _put_back(subs_path, kept)


def _unchanged(plan_, runner):
    """Whether the local customisations are still those the plan was made from. Only a batch with deletions and other
    lines can have been committed in part (semanage 3.6+ commits its deletions first); every deletion line was planned
    from ``semanage export``, kept in ``plan_.local``."""
    deletions = [line for line in plan_.lines if '-d' in line or '-D' in line]
    if plan_.local is None or not deletions or len(deletions) == len(plan_.lines):
        return True
    return parse_export(runner.run('semanage', ['export'], what='local customisations after the failure').stdout) \
        == plan_.local


def _set_running(plan_, runner):
    """The kernel keeps a boolean's running value across a policy load: after the commit, each boolean whose local
    setting went gets the persistent value the NEW binary policy holds (``seinfo -b -x``), ``setsebool`` without -P."""
    if not plan_.running:
        return
    hint = 'The policy changes of this run were committed; run again to set the running value.'
    # a Policy of its own: the answers shared in this run are of the policy before the commit
    values = setools.Policy(runner, plan_.policy).booleans(hint=hint, what='the booleans of the new policy')
    for name in sorted(plan_.running):
        if name in values:
            runner.change('setsebool', [name, '1' if values[name] else '0'], hint=hint,
                          what='the running value of boolean %s' % name)


def _keep(path):
    """(existed, content) of the equivalence file before semanage writes it."""
    if not path:
        return None
    try:
        with open(path, 'rb') as handle:
            return True, handle.read()
    except (IOError, OSError):
        return False, None


def _put_back(path, kept):
    if not path or kept is None:
        return
    existed, content = kept
    if not existed:
        if os.path.exists(path):
            os.unlink(path)
        return
    with open(path, 'wb') as handle:
        handle.write(content)
