# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: one verdict over everything a module transaction can change, before anything is built.

Input: the CIL of every module the transaction installs or enables (``_cil.statements``: dormant content of
``optional`` blocks and both branches of every conditional included) and the installed policy
(``_policy_model.PolicyModel``). Every statement is judged or refused; nothing is skipped silently:

* access rules (``allow``, ``allowx``) after alias and attribute expansion, with the attribute members the
  transaction itself adds;
* attribute joins (``typeattributeset``) on both sides: what the attribute (and every attribute that holds all
  its members) is granted as a source, who may write it as a target when the joining type is protected, the
  constraints it exempts from, and attributes whose purpose the binary policy does not keep (no rule: an
  assertion exemption such as ``can_relabelto_shadow_passwords``);
* labels: ``filecon`` by the protected files it can cover and the entry points it hands out; every other
  labelling statement (``portcon``, ``genfscon``, ``fsuse``, ...) is refused unless acknowledged;
* roles and users (``userrole``, ``roleallow``, ``roletransition``, ``roletype`` of an existing domain, ...);
* permissive domains and process transitions into privileged domains;
* anything else (namespaces, macros, class permission sets, statements this reader does not know) is refused
  unless acknowledged, as "not judged".

The soundness argument is in docs/local_policy_module.md ("The verdict").

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _cil as cil
from ansible_collections.fleetsec.selinux.plugins.module_utils import _fcregex as fcregex
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_model as pm
from ansible_collections.fleetsec.selinux.plugins.module_utils import _power as power

EXAMPLES_SHOWN = 3
REQUIRE = 'cil_gen_require'
# statements that grant nothing by themselves (declarations, audit rules, restrictions)
HARMLESS = frozenset([
    'type', 'typealias', 'typeattribute', 'role', 'roleattribute', 'user', 'userattribute', 'boolean', 'tunable',
    'auditallow', 'dontaudit', 'neverallow', 'auditallowx', 'dontauditx', 'neverallowx', 'typebounds',
    'rolebounds', 'userbounds', 'expandtypeattribute', 'constrain', 'mlsconstrain', 'validatetrans',
    'mlsvalidatetrans',
])
LABELS = frozenset(['genfscon', 'portcon', 'fsuse', 'netifcon', 'nodecon', 'ibpkeycon', 'ibendportcon', 'pirqcon',
                    'iomemcon', 'ioportcon', 'pcidevicecon', 'devicetreecon', 'sid', 'sidcontext', 'sidorder'])
SCOPES = frozenset(['block', 'in', 'macro', 'call', 'blockinherit', 'blockabstract'])
ENTRY_ATTRIBUTES = frozenset(['exec_type', 'entry_type'])
BASELINE = 'domain'  # the attribute of every process type (refpolicy and its derivatives)
SPECIAL_TARGETS = frozenset(['self', 'notself', 'other', 'minusself'])


def _flat(expr):
    if isinstance(expr, list):
        out = []
        for item in expr:
            out.extend(_flat(item))
        return out
    return [expr]


TREE_SUFFIXES = ('', '(/.*)?', '/.*', '(/.+)?', '/.+', '(/.*)', '/')


def _top_level_alternation(expression):
    """True when ``expression`` has a ``|`` outside every group and bracket: libselinux anchors an expression as
    ``^EXPR$``, so ``/srv/a|/etc/shadow`` matches /etc/shadow. Unbalanced text counts as True (in doubt)."""
    depth, index, in_class = 0, 0, False
    while index < len(expression):
        char = expression[index]
        if char == '\\':
            index += 2
            continue
        if in_class:
            in_class = char != ']'
        elif char == '[':
            in_class = True
            if expression[index + 1:index + 2] == ']':
                index += 1  # a ] first in a class is a member
        elif char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
            if depth < 0:
                return True
        elif char == '|' and depth == 0:
            return True
        index += 1
    return depth != 0 or in_class


# regex constructs this scanner does not follow (quoting, extensions and comments, a ] or a POSIX class first in a
# bracket): with any | in the expression, it may reach anything
OPAQUE_MARKS = ('\\Q', '\\E', '(?', '[]', '[^]', '[[:', '[^[:')


# genhomedircon's templates: a file-context line naming one of them is written out once per login home (root's
# /root, each user's home, the default /home/[^/]+) with the login's name; judged here over every home at once
HOME_TEMPLATES = (('HOME_DIR', ('/root', '/home/[^/]+')), ('HOME_ROOT', ('/home',)))
LOGIN_TOKENS = ('%{USERNAME}', '%{USERID}', 'USER')


def home_expansions(path):
    """The expressions a file-context line stands for once genhomedircon has written it out (every login home and
    login name at once): ``HOME_DIR/\\.ssh(/.*)?`` -> ``/root/\\.ssh(/.*)?`` and ``/home/[^/]+/\\.ssh(/.*)?``; a line
    without a template: itself."""
    paths = set([path])
    for token, homes in HOME_TEMPLATES:
        paths = set(p.replace(token, home) for p in paths for home in homes)
    for token in LOGIN_TOKENS:
        paths = set(p.replace(token, '[^/]+') for p in paths)
    return sorted(paths)


def label_scope(path):
    """The tree a file-context expression can reach, by its literal beginning: ``/srv/acme(/.*)?`` -> ``/srv/acme``;
    an expression inside a name (``/usr/s?bin/x``) reaches its whole directory (``/usr/``); one with a top-level
    alternation reaches anything (``''``)."""
    if _top_level_alternation(path) or ('|' in path and any(mark in path for mark in OPAQUE_MARKS)):
        return ''
    prefix, rest = pm.literal_split(path)
    if rest in TREE_SUFFIXES:
        return prefix
    return prefix[:prefix.rfind('/') + 1] if '/' in prefix else ''


# {expression: (label_scope, literal_prefix)}: every judgement of a run reads the same file contexts
_HEADS = {}


def reaches(path, scope, expression):
    """Whether the file-context expression ``path`` (its tree: ``scope``, :func:`label_scope`) can match a file
    ``expression`` matches: every expression whose literal beginning lies in that tree, and one with a shorter literal
    beginning (``/srv/[^/]+/\\.secret`` against ``/srv/acme(/.*)?``) when the two expressions have a path in common, or
    when that cannot be read (:func:`_fcregex.intersects`)."""
    head = _HEADS.get(expression)
    if head is None:
        head = _HEADS[expression] = (label_scope(expression), pm.literal_prefix(expression))
    if head[0] == '':  # a top-level alternation: its literal beginning bounds nothing
        return fcregex.intersects(path, expression) is not False
    prefix = head[1]
    if prefix.startswith(scope):
        return True
    return scope.startswith(prefix) and fcregex.intersects(path, expression) is not False


class Transaction(object):
    """What the modules of one transaction declare, alias and join (names are only meaningful together)."""

    def __init__(self, modules):
        self.modules = modules          # [(module name, [Statement])]
        self.types, self.roles, self.users = set(), set(), set()
        self.attributes = {}            # declared attribute -> [member expressions]
        self.joins = {}                 # attribute of the policy -> [member expressions]
        self.aliases = {}
        # declarations first, joins after: CIL does not care about order, nor about which module of the transaction
        # declares an attribute that another fills
        for keep in (lambda stmt: stmt.keyword != 'typeattributeset', lambda stmt: stmt.keyword == 'typeattributeset'):
            for dummy, statements in modules:
                for stmt in statements:
                    if keep(stmt):
                        self._declare(stmt)

    def _declare(self, stmt):
        args = stmt.args
        if not args or isinstance(args[0], list):
            return
        if stmt.keyword in ('type', 'typealias'):
            self.types.add(args[0])
        elif stmt.keyword == 'typeattribute':
            self.attributes.setdefault(args[0], [])
        elif stmt.keyword == 'role':
            self.roles.add(args[0])
        elif stmt.keyword == 'user':
            self.users.add(args[0])
        elif stmt.keyword == 'typealiasactual' and len(args) == 2:
            self.aliases[args[0]] = args[1]
        elif stmt.keyword == 'typeattributeset' and len(args) == 2 and args[0] != REQUIRE:
            if args[0] in self.attributes:
                self.attributes[args[0]].append(args[1])
            else:
                self.joins.setdefault(args[0], []).append(args[1])


class Judge(object):
    """The verdict of one transaction against one policy (see the module docstring)."""

    def __init__(self, model, transaction):
        self.model, self.tx = model, transaction
        self._protection = {}
        self._controls = {}  # domain -> what controls() says of it
        self._access = None  # {type: set((kind, source, None))} of the transaction's own allow rules
        self._defaults = {}  # label scope -> {probe path: type it has today}, or None when unreadable
        self._attrs_of = None
        self._universe = None

    # ------------------------------------------------------------ names ---
    def resolve(self, name):
        return self.model.resolve(self.tx.aliases.get(name, name))

    def declared(self, name):
        name = self.resolve(name)
        return name in self.tx.types or name in self.tx.attributes

    def known(self, name):
        return self.declared(name) or self.model.known(name)

    def universe(self):
        """Every type of the installed policy and of the transaction."""
        if self._universe is None:
            self._universe = set(self.model.types) | set(self.resolve(name) for name in self.tx.types)
        return self._universe

    def evaluate(self, expr, seen=None, computed=False):
        """The types an attribute expression names, or None when it is computed over every type (all, not, xor)."""
        if isinstance(expr, list):
            if expr and expr[0] in ('all', 'not', 'xor'):
                if not computed:
                    return None
                parts = [self.evaluate(item, seen, computed) for item in expr[1:]]
                if any(part is None for part in parts):
                    return None
                if expr[0] == 'all':
                    return set(self.universe())
                if expr[0] == 'not':
                    return self.universe() - (parts[0] if parts else set())
                return (parts[0] ^ parts[1]) if len(parts) == 2 else None
            if expr and expr[0] in ('and', 'or'):
                parts = [self.evaluate(item, seen, computed) for item in expr[1:]]
                if any(part is None for part in parts):
                    return None
                if not parts:
                    return set()
                out = set(parts[0])
                for part in parts[1:]:
                    out = out & part if expr[0] == 'and' else out | part
                return out
            out = set()
            for item in expr:
                part = self.evaluate(item, seen, computed)
                if part is None:
                    return None
                out |= part
            return out
        return self.members(expr, seen)

    def members(self, name, seen=None):
        name = self.resolve(name)
        seen = set() if seen is None else seen
        if name in seen:
            return set()
        seen = seen | set([name])
        if name in self.tx.attributes:
            out = set()
            for expr in self.tx.attributes[name]:
                # the .pp converter writes { a -b }, ~a and * as and/not/all sets: computed over every type; one this
                # reader cannot compute counts as every type (judged as if it held them all)
                part = self.evaluate(expr, seen, computed=True)
                out |= self.universe() if part is None else part
            return out
        out = self.model.members(name) if self.model.is_attribute(name) else set([name])
        for expr in self.tx.joins.get(name, []):
            out |= self.evaluate(expr, seen) or set()
        return out

    def attributes_of(self, type_name):
        if self._attrs_of is None:
            added = {}
            for attribute in list(self.tx.attributes) + list(self.tx.joins):
                for member in self.members(attribute):
                    added.setdefault(member, set()).add(attribute)
            self._attrs_of = added
        type_name = self.resolve(type_name)
        return self.model.attributes_of(type_name) | self._attrs_of.get(type_name, set())

    def protection(self, type_name):
        """Why writing to ``type_name`` hands out power (a family), or None."""
        return self._protection_of(type_name)[0]

    def secret(self, type_name, tclass=None):
        """Whether READING ``type_name`` (as ``tclass``: a device's content is its block or character device, not a
        file of its type such as a virtual machine's image) hands out something too (see
        :func:`_power.protection_of`)."""
        family, secret = self._protection_of(type_name)
        if secret and tclass is not None and family == power.DEVICE_FAMILY:
            return tclass in ('blk_file', 'chr_file')
        return secret

    def _protection_of(self, type_name):
        type_name = self.resolve(type_name)
        if type_name not in self._protection:
            if not self.known(type_name):
                found = ('a type the installed policy does not define (its module is disabled or missing): judged as '
                         'protected', False)
            else:
                found = power.protection_of(self.attributes_of(type_name), type_name, self.model)
            self._protection[type_name] = found
        return self._protection[type_name]

    def trusted_label(self, type_name):
        """The family of a type of the installed policy that is trusted by its label alone (security and
        authentication files, kernel modules, kernel parameters), or None; a type the transaction declares is judged
        by who it lets use it instead."""
        if self.declared(type_name):
            return None
        family = self.protection(type_name)
        return family if power.trusted_by_label(family) else None

    def privileged(self, type_name):
        type_name = self.resolve(type_name)
        if type_name in self.model.privileged:
            return True
        attrs = self.attributes_of(type_name)
        return 'unconfined_domain_type' in attrs or bool(attrs & set(self.model.exemptions))

    def controls(self, domain):
        """'DOMAIN, which controls the policy or the kernel (rules)' when a domain of the installed policy holds
        :data:`_power.CONTROL_PERMS`, else ''. A domain the transaction declares is judged by its own rules."""
        if domain not in self._controls:
            held = [] if self.declared(domain) and not self.model.known(domain) else self.model.controls(domain)
            self._controls[domain] = '%s, which controls the security policy or the kernel (%s)' % (
                domain, self._examples(held)) if held else ''
        return self._controls[domain]

    # ---------------------------------------------------------- reasons ---
    def reason(self, source, target, tclass, perm, is_self):
        """Why granting ``perm`` on ``target:tclass`` to ``source`` hands out power (a short text), or None."""
        why = power.permission_reason(tclass, perm)
        if why:
            return why
        if tclass in ('process', 'process2') and not is_self and self.resolve(target) != self.resolve(source):
            if perm in power.PROCESS_CONTROL:
                return 'ptrace of another domain (%s): it may read and change its memory' % target
            if perm in power.PROCESS_ENTRY and self.privileged(target):
                return '%s into the privileged domain %s' % (perm, target)
            held = self.controls(target) if perm in power.PROCESS_TRANSITIONS else ''
            if held:
                return '%s into %s' % (perm, held)
        if tclass in power.FILE_CLASSES and perm in power.WRITE_PERMS:
            family = self.protection(target)
            if family:
                verb = 'relabel to' if perm == 'relabelto' else 'relabel from' if perm == 'relabelfrom' else \
                    'write (%s) to' % perm
                return '%s %s, %s' % (verb, target, family)
        if tclass in power.FILE_CLASSES and perm in power.READ_PERMS and self.secret(target, tclass) \
                and not self.privileged(source):
            return 'read (%s) %s, %s whose content is a secret' % (perm, target, self.protection(target))
        if tclass == 'file' and perm == 'entrypoint' and self.privileged(source) and not self.privileged(target):
            writers = self._written_by(target)
            if writers:
                return 'entrypoint of the privileged domain %s on %s, which %s may write: what is written there runs ' \
                       'in it' % (source, target, ', '.join(writers[:EXAMPLES_SHOWN]))
        return None

    def _written_by(self, type_name):
        """The non-privileged domains that may write ``type_name``: the transaction's rules, the rules of the
        attributes it is (or becomes) a member of and the installed policy's own rules on it - for a type the
        transaction declares and for one of the policy alike (``dhcpc_state_t``, which dhclient writes, made the
        entry point of ``initrc_t``)."""
        return sorted(set(source for kind, source, dummy in self._access_of(type_name)
                          if kind == 'write' and not self.privileged(source)))

    # ------------------------------------------------------------ rules ---
    def _grant(self, sources, target_name, tclass, perm):
        """[reasons] of one permission for every source and every type the target names."""
        hits = []
        for source in sorted(sources):
            if target_name == 'self':
                targets = [source]
            elif target_name == 'notself':
                targets = sorted(self.universe() - set([source]))  # every type but the source (CIL 3.6)
            elif target_name in ('other', 'minusself'):
                targets = sorted(sources - set([source]))  # the source attribute's other members
            else:
                targets = sorted(self.members(target_name))
            for target in targets:
                why = self.reason(source, target, tclass, perm, target_name == 'self')
                if why and why not in hits:
                    hits.append(why)
            if hits and target_name != 'self' and not self.model.is_attribute(self.resolve(target_name)) \
                    and target_name not in self.tx.attributes:
                break
        return hits

    def allow(self, stmt):
        """Findings of one ``allow``/``allowx`` statement: (rule text, reason) pairs."""
        args = stmt.args
        if len(args) != 3 or isinstance(args[0], list) or isinstance(args[1], list):
            return [(stmt.text(), 'an access rule this reader cannot expand: not judged')]
        source, target, classperms = args
        if stmt.keyword == 'allowx':
            family = None if target == 'self' else self.protection(target)
            return [(stmt.text(), 'ioctl commands on %s, %s' % (target, family))] if family else []
        if not isinstance(classperms, list) or len(classperms) != 2 or isinstance(classperms[0], list) \
                or not isinstance(classperms[1], list):
            return [(stmt.text(), 'a named class permission set this reader does not expand: not judged')]
        tclass, perms = classperms
        if any(isinstance(perm, list) or perm == 'all' for perm in perms):
            return [('allow %s %s:%s %s' % (source, target, tclass, cil.to_text_form(perms)),
                     'a permission expression (all, not, ...) grants every permission of %s' % tclass)]
        for name in (source, target):
            via = self.resolve(name)
            if name not in SPECIAL_TARGETS and (self.model.is_attribute(via) or via in self.tx.attributes) \
                    and not self.members(name):
                return [(stmt.text(), 'names the attribute %s, which has no member: what the rule will grant its '
                                      'members cannot be judged now (the binary policy does not keep the rules of '
                                      'an attribute without members, so a later run filling it would not see this '
                                      'one): not judged, review it' % name)]
        sources = self.members(source)
        found = []
        for perm in perms:
            hits = self._grant(sources, target, tclass, perm)
            if not hits:
                continue
            via = self.resolve(target)
            if (self.model.is_attribute(via) or via in self.tx.attributes) and len(hits) > 1:
                why = '%s, and %d more through the attribute %s' % (hits[0], len(hits) - 1, target)
            elif self.model.is_attribute(via) or via in self.tx.attributes:
                why = '%s, through the attribute %s' % (hits[0], target)
            else:
                why = hits[0]
            if len(sources) > 1 or source in self.tx.attributes:
                why = '%s (for every member of %s)' % (why, source)
            found.append(('allow %s %s:%s %s' % (source, target, tclass, perm), why))
        return found

    def _rules(self, attribute, side):
        return self.model.rules(attribute, side)

    def prefetch(self, attributes):
        """Read the rules of ``attributes`` (both sides) in two queries, before they are judged one by one (kept by
        the model: every judgement against one policy shares them)."""
        self.model.prefetch(attributes)

    def _effective(self, member, attribute):
        """The attribute and every attribute that holds all its members (it may be nested in them), less those
        ``member`` is in already."""
        had = self.model.attributes_of(member)
        return [attribute] + sorted(name for name in self.model.containing(attribute) if name not in had)

    def join(self, stmt):
        """Findings of one ``typeattributeset`` on an attribute of the policy (or an unknown one)."""
        attribute, expr = stmt.args
        joined = self.evaluate(expr)
        if joined is None:
            return [('typeattributeset %s %s' % (attribute, cil.to_text_form(expr)),
                     'joins a computed set of types (all, not, xor) to %s: not judged' % attribute)]
        if not self.model.is_attribute(attribute):
            return [('typeattribute %s %s' % (member, attribute),
                     'joins %s, an attribute the installed policy does not define' % attribute)
                    for member in sorted(joined)]
        found = []
        self.prefetch(set(name for member in joined for name in self._effective(member, attribute)))
        for member in sorted(joined):
            if attribute in self.model.attributes_of(member):
                continue  # a member already: nothing changes
            reasons = self._join_reasons(member, attribute)
            if reasons:
                found.append(('typeattribute %s %s' % (member, attribute), '; '.join(reasons)))
        return found

    def _join_reasons(self, member, attribute):
        reasons = []
        if not self.model.attributes.get(attribute):
            reasons.append('%s has no member in the installed policy, so what it is nested in cannot be read from '
                           'the binary policy: not judged' % attribute)
        for name in self._effective(member, attribute):
            held = '' if name == attribute else ' (it holds every member of %s, which may be nested in it)' % attribute
            if name in self.model.exemptions:
                reasons.append('exempts %s from the constraints on %s (%s%s)' % (
                    member, ', '.join(self.model.exemptions[name][:EXAMPLES_SHOWN]), name, held))
            if name == 'unconfined_domain_type':
                reasons.append('makes %s an unconfined domain' % member)
            as_source, as_target = self._rules(name, 'source'), self._rules(name, 'target')
            # what the domain attribute grants, every process type of the policy has: the baseline, not power
            grants = [] if name == BASELINE else self._source_grants(member, name, as_source)
            if grants:
                reasons.append('joins %s%s, which is granted: %s' % (name, held, self._examples(grants)))
            writers = self._target_writers(member, name, as_target)
            if writers:
                reasons.append('every domain that may write %s%s may now write %s, %s: %s' % (
                    name, held, member, self.protection(member), self._examples(writers)))
        if not self._rules(attribute, 'source') and not self._rules(attribute, 'target') \
                and attribute not in self.model.exemptions:
            reasons.insert(0, '%s has no rule in the installed policy: its purpose lies in assertions (neverallow) or '
                           "other modules' sources, which the binary policy does not keep; not judged" % attribute)
        return reasons

    @staticmethod
    def _examples(items):
        return Judge._examples_in_order(sorted(set(items)))

    def _source_grants(self, member, attribute, rules):
        out = []
        for (kind, source, target, tclass), values in sorted(rules.items()):
            for value in sorted(values):
                if kind == 'type_transition':
                    if tclass == 'process' and self.privileged(value):
                        out.append('type_transition %s %s:%s %s (transition into the privileged domain %s)' % (
                            source, target, tclass, value, value))
                    elif tclass == 'process' and self.controls(value):
                        out.append('type_transition %s %s:%s %s (transition into %s)' % (
                            source, target, tclass, value, self.controls(value)))
                    continue
                is_self = target == attribute
                real = member if is_self else target
                hits = self._grant(set([member]), 'self' if is_self else real, tclass, value)
                if hits:
                    out.append('allow %s %s:%s %s (%s)' % (source, target, tclass, value, hits[0]))
        return out

    def _target_writers(self, member, attribute, rules):
        # a type the transaction declares protects nothing yet: who may write it is judged by its own rules
        if self.declared(member) or not self.protection(member):
            return []
        out = []
        for (kind, source, target, tclass), values in sorted(rules.items()):
            if kind == 'allow' and tclass in power.FILE_CLASSES:
                out.extend('allow %s %s:%s %s' % (source, target, tclass, v) for v in sorted(values & power.WRITE_PERMS))
        return out

    # ----------------------------------------------------------- labels ---
    def _entry_candidate(self, type_name):
        return not self.declared(type_name) and bool(self.attributes_of(type_name) & ENTRY_ATTRIBUTES)

    def privileged_entries(self, type_name):
        """The privileged domains whose entry point ``type_name`` is (rules naming it directly)."""
        if not self._entry_candidate(type_name):
            return []
        domains = set()
        for (kind, source, target, tclass), perms in self._rules(self.resolve(type_name), 'target').items():
            if kind == 'allow' and tclass == 'file' and 'entrypoint' in perms:
                domains |= self.members(source)
        return sorted(d for d in domains if self.privileged(d))

    @staticmethod
    def _filecon_parts(stmt):
        """(path, new type) of a ``filecon`` statement with a context, else None."""
        args = stmt.args
        if stmt.keyword != 'filecon' or len(args) != 3 or isinstance(args[0], list) or not isinstance(args[2], list) \
                or len(args[2]) < 3:
            return None
        return cil.unquote(args[0]), args[2][2]

    def _filecons(self):
        """The (path, new type) of every readable ``filecon`` of the transaction, templates written out."""
        return [(path, new_type) for dummy, statements in self.tx.modules
                for parts in map(self._filecon_parts, statements) if parts
                for new_type in [parts[1]] for path in home_expansions(parts[0])]

    def filecon(self, stmt):
        parts = self._filecon_parts(stmt)
        if parts is None:
            if len(stmt.args) == 3 and stmt.args[2] == [] and not isinstance(stmt.args[0], list):
                return self._unlabel(stmt)
            return [(stmt.text(), 'a file context this reader cannot read: not judged')]
        written, new_type = parts
        rule = 'filecon %s %s %s' % (written, stmt.args[1], new_type)
        found = []
        for path in home_expansions(written):
            if not path.startswith('/'):
                found.append((rule, 'labels %s, which is no absolute path (nor a home-directory template): what it '
                                    'labels cannot be told, not judged' % path))
                continue
            found.extend(item for item in self._filecon_path(rule, path, new_type) if item not in found)
        return found

    def _filecon_path(self, rule, path, new_type):
        """[(rule, reason)] of labelling the files ``path`` matches with ``new_type``."""
        found = []
        entered = self.privileged_entries(new_type)
        if entered:
            found.append((rule, 'labels %s with %s, the entry point of the privileged domain(s) %s: what is written '
                                'there runs in them' % (path, new_type, ', '.join(entered[:EXAMPLES_SHOWN]))))
        scope = label_scope(path)
        if len(scope.rstrip('/')) < 2:
            return found + [(rule, 'labels %s, an expression that reaches from the root of the file system: not '
                                   'judged, review it' % path)]
        trusted = self.trusted_label(new_type)
        defaults = self._defaults.get(scope)
        if trusted and not (defaults and all(old == new_type for old in defaults.values())):
            found.append((rule, 'labels %s with %s, %s: what may be written there under its present label becomes '
                                'trusted as %s' % (path, new_type, trusted, new_type)))
        access = self._access_of(new_type) if self.declared(new_type) else None
        if access is not None and not access:
            return found  # a type of the transaction's own that nobody may read or write: the relabel hands out nothing
        exposed = self._exposes(access)
        covered = []
        for expression, old_type in self.model.file_contexts:
            if old_type != new_type and reaches(path, scope, expression) and exposed(old_type):
                covered.append('%s (%s, %s)' % (expression, old_type, self.protection(old_type)))
        if defaults is None:
            found.append((rule, 'labels %s: the default labels of that tree could not be read (matchpathcon): not '
                                'judged' % path))
        for probe, old_type in sorted((defaults or {}).items()):
            if old_type != new_type and exposed(old_type):
                covered.insert(0, '%s (now %s, %s)' % (probe, old_type, self.protection(old_type)))
        if covered:
            found.append((rule, 'can relabel files the policy protects%s: %s' % (
                self._whom(new_type, access), self._examples_in_order(covered))))
        return found

    def _unlabel(self, stmt):
        """``<<none>>``: restorecon leaves the files of the expression as they are, and programs that label what they
        create through the file contexts (shadow-utils, for one) give it the label of its directory: a finding when
        the expression covers a protected type."""
        written = cil.unquote(stmt.args[0])
        rule = 'filecon %s %s <<none>>' % (written, stmt.args[1])
        found = []
        for path in home_expansions(written):
            found.extend(item for item in self._unlabel_path(rule, path) if item not in found)
        return found

    def _unlabel_path(self, rule, path):
        scope = label_scope(path)
        if len(scope.rstrip('/')) < 2:
            return [(rule, 'takes the label of %s away, an expression that reaches from the root of the file system: '
                           'not judged, review it' % path)]
        covered = ['%s (%s, %s)' % (expression, old_type, self.protection(old_type))
                   for expression, old_type in self.model.file_contexts
                   if reaches(path, scope, expression) and self.protection(old_type)]
        for probe, old_type in sorted((self._defaults.get(scope) or {}).items()):
            if self.protection(old_type):
                covered.insert(0, '%s (now %s, %s)' % (probe, old_type, self.protection(old_type)))
        return [(rule, 'takes the label of files the policy protects away (restorecon leaves them, and what is created '
                       'there gets the label of its directory): %s' % self._examples_in_order(covered))] if covered else []

    def _exposes(self, access):
        """A test of an old type: whether relabelling it to a new type with ``access`` (None: a type of the policy,
        whoever may use it) hands it out - a domain that gains write on a protected type, or read on a secret one.
        A privileged domain gains nothing, nor a domain whose rule is on an attribute that holds the old type too."""
        if access is None:
            return lambda old_type: bool(self.protection(old_type))

        def exposed(old_type):
            if not self.protection(old_type):
                return False
            for kind, source, via in access:
                if self.privileged(source) or (via is not None and self.resolve(old_type) in self.members(via)):
                    continue
                if kind == 'write' or self.secret(old_type):
                    return True
            return False
        return exposed

    def _whom(self, new_type, access):
        """' to NEW, which the transaction lets X write' (or read), privileged domains left out (they gain nothing)."""
        kinds = dict((kind, sorted(set(source for k, source, via in access or () if k == kind
                                       and not self.privileged(source)))) for kind in ('write', 'read'))
        verb = 'write' if kinds['write'] else 'read'
        if not kinds[verb]:
            return ''
        return ' to %s, which the transaction lets %s %s' % (new_type, ', '.join(kinds[verb][:EXAMPLES_SHOWN]), verb)

    def type_rule(self, stmt, flat):
        """A type rule for objects (``typetransition``/``typechange``/``typemember`` of a file class): what an
        EXISTING domain creates in (or relabels from) ``target`` gets another type - a relabel, judged like a file
        context: the types it displaces (the target's, and those the policy's own rules of that domain give there)
        against who may use the new type. A source attribute stands for each of its members."""
        source, target, tclass, new_type = flat[0], flat[1], flat[2], flat[-1]
        if tclass not in power.FILE_CLASSES:
            return []
        domains = sorted(member for member in self.members(source) if not self.declared(member))
        if not domains:
            return []  # domains of the transaction's own label what they create themselves: their rules are judged
        access = self._access_of(new_type) if self.declared(new_type) else None
        if access is not None and not access:
            return []
        exposed = self._exposes(access)
        displaced = set()
        for member in self.members(target):
            displaced.add(member)
            for domain in domains:
                for (kind, rule_source, rule_target, rule_class), defaults in self._rules(domain, 'source').items():
                    if kind == 'type_transition' and rule_target == member and rule_class == tclass:
                        displaced |= set(defaults)
        hits = sorted('%s (%s)' % (old, self.protection(old)) for old in displaced
                      if self.resolve(old) != self.resolve(new_type) and exposed(old))
        if not hits:
            return []
        return [(stmt.text(), '%s objects that %s makes in or from %s get the type %s instead of what the policy '
                              'protects%s: %s' % (tclass, source, target, new_type, self._whom(new_type, access),
                                                  self._examples_in_order(hits)))]

    def _access_of(self, type_name):
        """[(kind, source, via)] of who may write / read (``kind``) ``type_name``, a type the transaction declares:
        the transaction's own allow rules (``via`` None), the rules of every attribute of the installed policy the
        type is (or becomes) a member of (``via`` the attribute: the rule reaches the old type too when it is a
        member), and, when the installed policy defines the type already (a new version of a module), the policy's
        own rules on it."""
        type_name = self.resolve(type_name)
        if self._access is None:
            self._access = {}
            for dummy, statements in self.tx.modules:
                for stmt in statements:
                    args = stmt.args
                    if stmt.keyword != 'allow' or len(args) != 3 or not isinstance(args[2], list) \
                            or len(args[2]) != 2 or not isinstance(args[2][1], list) or isinstance(args[0], list):
                        continue
                    tclass, perms = args[2]
                    kinds = self._access_kinds(tclass, perms)
                    if not kinds:
                        continue
                    if args[1] == 'self':
                        targets = self.members(args[0])
                    elif args[1] == 'notself':
                        targets = self.universe()
                    elif args[1] in ('other', 'minusself'):
                        targets = self.members(args[0])
                    else:
                        targets = self.members(args[1])
                    for target in targets:
                        for kind in kinds:
                            for source in self.members(args[0]):
                                self._access.setdefault(target, set()).add((kind, source, None))
        found = set(self._access.get(type_name, set()))
        sides = [(name, name) for name in sorted(self.attributes_of(type_name)) if self.model.is_attribute(name)]
        if self.model.known(type_name):
            sides.append((type_name, None))
        self.prefetch([name for name, dummy in sides])
        for name, via in sides:
            for (kind, source, dummy, tclass), perms in self._rules(name, 'target').items():
                if kind != 'allow':
                    continue
                for which in self._access_kinds(tclass, sorted(perms)):
                    for member in self.members(source):
                        found.add((which, member, via))
        return sorted(found, key=lambda access: (access[0], access[1], access[2] or ''))

    @staticmethod
    def _access_kinds(tclass, perms):
        """'write' and/or 'read' for a permission list on ``tclass`` (file classes only)."""
        if tclass not in power.FILE_CLASSES:
            return []
        named = set(p for p in perms if not isinstance(p, list))
        return [kind for kind, wanted in (('write', power.WRITE_PERMS), ('read', power.READ_PERMS))
                if named & wanted or 'all' in perms or len(named) < len(perms)]

    @staticmethod
    def _examples_in_order(items):
        more = len(items) - EXAMPLES_SHOWN
        return '; '.join(items[:EXAMPLES_SHOWN]) + (' and %d more' % more if more > 0 else '')

    def _read_defaults(self):
        """The labels the policy gives today to each label statement's tree and a path inside it (one call)."""
        unlabelled = [path for dummy, statements in self.tx.modules for stmt in statements
                      if stmt.keyword == 'filecon' and len(stmt.args) == 3 and stmt.args[2] == []
                      and not isinstance(stmt.args[0], list) for path in home_expansions(cil.unquote(stmt.args[0]))]
        scopes = set(label_scope(path).rstrip('/') for path in [p for p, dummy in self._filecons()] + unlabelled)
        scopes = set(scope for scope in scopes if len(scope) >= 2)
        probes = dict((scope, [scope, scope + '/fleetsec-probe']) for scope in scopes)
        found = self.model.default_types([p for paths in probes.values() for p in paths]) \
            if probes and self.model.default_types else None
        for scope, paths in probes.items():
            self._defaults[scope] = None if found is None else dict((p, found[p]) for p in paths if p in found)
            self._defaults[scope + '/'] = self._defaults[scope]

    # ------------------------------------------------------ one statement ---
    def statement(self, stmt):
        """[(rule, reason)] of one statement."""
        key, args = stmt.keyword, stmt.args
        flat = _flat(args)
        if key in HARMLESS or key == 'typealiasactual':
            return []
        if key in ('typeattributeset', 'roleattributeset', 'userattributeset') and args and args[0] == REQUIRE:
            return []
        if key == 'typeattributeset' and len(args) == 2 and not isinstance(args[0], list):
            return [] if args[0] in self.tx.attributes else self.join(stmt)
        if key in ('allow', 'allowx'):
            return self.allow(stmt)
        if key == 'typepermissive' and args:
            return [('permissive %s' % args[0], 'makes the domain %s permissive: SELinux denies it nothing' % args[0])]
        if key in ('typetransition', 'typechange', 'typemember'):
            if len(flat) >= 4 and flat[2] == 'process':
                if self.privileged(flat[-1]):
                    return [(stmt.text(), 'transition into the privileged domain %s' % flat[-1])]
                held = self.controls(flat[-1])
                return [(stmt.text(), 'transition into %s' % held)] if held else []
            return self.type_rule(stmt, flat) if len(flat) >= 4 else [
                (stmt.text(), 'a type rule this reader cannot read: not judged')]
        if key == 'filecon':
            return self.filecon(stmt)
        if key in LABELS:
            return [(stmt.text(), 'a %s labelling statement: only file contexts are judged, review it' % key)]
        return self.rbac(stmt, flat)

    def rbac(self, stmt, flat):
        key = stmt.keyword
        if key == 'roletype' and len(flat) == 2:
            role, type_name = flat
            if role == 'object_r' or role in self.tx.roles or self.declared(type_name):
                return []
            return [(stmt.text(), 'the existing role %s may now run the existing domain %s' % (role, type_name))]
        if key == 'userrole' and len(flat) == 2:
            user, role = flat
            if role == 'object_r' or (role in self.tx.roles and user in self.tx.users):
                return []
            return [(stmt.text(), 'the SELinux user %s gains the role %s' % (user, role))]
        if key in ('userrange', 'userlevel', 'userprefix') and flat and flat[0] in self.tx.users:
            return []
        if key in ('roleallow', 'roletransition', 'roleattributeset', 'userattributeset', 'userrange', 'userlevel',
                   'userprefix', 'selinuxuser', 'selinuxuserdefault', 'rangetransition'):
            return [(stmt.text(), 'a %s statement changes who may act in which role or range: review it' % key)]
        if key in SCOPES:
            shown = ' '.join(cil.to_text_form(item) for item in [key] + stmt.args[:1])
            return [(shown, 'CIL %s changes what names mean: a module using it cannot be judged, review it' % key)]
        return [(stmt.text(), 'a %s statement: not judged, review it' % key)]

    # ----------------------------------------------------------- verdict ---
    def verdict(self):
        """{module: [finding dicts (rule, reason, dormant)]} for every module of the transaction."""
        out = {}
        wanted = set()
        for attribute, exprs in self.tx.joins.items():
            if self.model.is_attribute(attribute):
                for expr in exprs:
                    for member in self.evaluate(expr) or ():
                        wanted.update(self._effective(member, attribute))
        wanted.update(self.resolve(new_type) for dummy, new_type in self._filecons() if self._entry_candidate(new_type))
        # who may use a relabel's new type of the transaction's own: the attributes of the policy it joins, its own
        # rules when the policy defines it already (see _access_of); and the type rules of the domains a type rule names
        for dummy, new_type in self._filecons():
            if self.declared(new_type):
                wanted.update(name for name in self.attributes_of(new_type) if self.model.is_attribute(name))
                if self.model.known(new_type):
                    wanted.add(self.resolve(new_type))
        for dummy, statements in self.tx.modules:
            for stmt in statements:
                flat = _flat(stmt.args) if stmt.keyword in ('typetransition', 'typechange', 'typemember') else []
                if len(flat) >= 4 and flat[2] in power.FILE_CLASSES:
                    wanted.update(member for member in self.members(flat[0]) if not self.declared(member))
        self.prefetch(wanted)  # every attribute a join reaches, every entry type a label hands out: two queries
        self._read_defaults()
        for name, statements in self.tx.modules:
            seen, findings = set(), []
            for stmt in statements:
                for rule, why in self.statement(stmt):
                    if stmt.dormant:
                        why = '%s (dormant: %s; judged as if active)' % (why, stmt.where)
                    if rule not in seen:
                        seen.add(rule)
                        findings.append({'rule': rule, 'reason': why})
            out[name] = findings
        return out


def label_findings(model, target, setype):
    """The reasons (texts) why a file-context rule ``target`` -> ``setype`` (remedy's, or a module's) hands out power:
    the same judgement as a module's ``filecon``. ``target`` must be validated first (no quote, no whitespace)."""
    text = '(filecon "%s" any (system_u object_r %s ((s0) (s0))))' % (target, setype)
    return [f['reason'] for f in judge(model, [('remedy', text)])['remedy']]


# setools' names of the type rules -> CIL's
TYPE_RULES = {'type_transition': 'typetransition', 'type_change': 'typechange', 'type_member': 'typemember'}


def rule_findings(model, rules):
    """(rule text, reason) pairs of the ``allow`` and type rules among ``rules`` (:class:`_policy_rule.Rule`, as
    sesearch read them from the policy): what turning them on would hand out, judged like a module's rules
    (remedy's booleans)."""
    lines = []
    for rule in rules:
        if rule.kind == 'allow':
            lines.append('(allow %s %s (%s (%s)))' % (rule.source, rule.target, rule.tclass, ' '.join(sorted(rule.perms))))
        elif rule.kind in TYPE_RULES:
            lines.extend('(%s %s %s %s %s)' % (TYPE_RULES[rule.kind], rule.source, rule.target, rule.tclass, default)
                         for default in sorted(rule.perms))
    text = '\n'.join(lines)
    return [(f['rule'], f['reason']) for f in judge(model, [('rules', text)])['rules']] if text else []


def judge(model, modules):
    """The verdict (see :meth:`Judge.verdict`) of ``modules``: [(name, CIL text)] installed or enabled together."""
    parsed = []
    for name, text in modules:
        try:
            parsed.append((name, cil.statements(text)))
        except cil.CilSyntaxError as err:
            raise cil.CilSyntaxError("Module '%s': its CIL cannot be read (%s), so what it grants cannot be judged. "
                                     "Nothing was changed." % (name, err.msg))
    return Judge(model, Transaction(parsed)).verdict()
