# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: what the installed binary policy says is protected, read with narrow setools queries.

Nothing here is a list of type names: every family of protected types and privileged domains is read from the
policy's own attributes, constraints, rules of the ``domain`` attribute and file contexts (the rules are written
down in ``docs/local_policy_module.md``, "What is protected"). A handful of queries, each a few tenths of a second:
one ``seinfo -a -t --constrain --validatetrans -x`` (attributes and members, types and aliases, the attributes
that exempt from constraints), ``sesearch -A -s domain -ds`` (what every domain is granted) and ``sesearch -A -c
system -p module_load`` (what the kernel loads as modules); then, for a type that joins an attribute, the rules of
that attribute (``-ds``/``-dt``). The facts are kept per checksum of the binary policy.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as setools
from ansible_collections.fleetsec.selinux.plugins.module_utils._file_contexts import literal_prefix, parse_file_contexts
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import kept_bytes, read_kept, read_regular
from ansible_collections.fleetsec.selinux.plugins.module_utils._power import CONTROL_PERMS


# the file systems whose files are the kernel's own state (writing them changes the running kernel, its tracing,
# firmware variables, cgroups and registered interpreters): the types genfscon gives them, and those the file contexts
# give below /sys, form one family
KERNEL_FILESYSTEMS = frozenset(['proc', 'sysfs', 'tracefs', 'debugfs', 'efivarfs', 'securityfs', 'selinuxfs',
                                'configfs', 'bpf', 'pstore', 'cgroup', 'cgroup2', 'binfmt_misc', 'kernfs'])


def kernel_state_types(genfscon, file_contexts):
    """The types of the kernel's state: genfscon's for :data:`KERNEL_FILESYSTEMS`, the file contexts' below /sys."""
    found = set(type_name for fs, type_name in genfscon if fs in KERNEL_FILESYSTEMS)
    for expression, type_name in file_contexts:
        head = literal_prefix(expression)
        if head == '/sys' and expression[len('/sys'):len('/sys') + 1] in ('(', '') or head.startswith('/sys/'):
            found.add(type_name)
    return found


def derive_facts(attributes, types, aliases, exemptions, domain_rules, control_rules=None, genfscon=()):
    """The policy's facts as one JSON-able dict (what the cache keeps), from the parsed query outputs:
    ``domain_rules`` what every domain may, ``control_rules`` the rules that give a CONTROL_PERMS permission (the
    types the kernel loads modules from are read among them)."""
    every = {}
    for (kind, source, target, tclass), perms in domain_rules.items():
        # types named directly: a rule on a whole attribute (file_type, tmpfile) says nothing of one family
        if kind == 'allow' and source == 'domain' and target not in attributes:
            every.setdefault(target, {}).setdefault(tclass, set()).update(perms)
    loaded = set()
    for (kind, source, target, tclass), perms in (control_rules or {}).items():
        # a type named directly (unconfined domains hold module_load on whole attributes: not a family)
        if tclass == 'system' and 'module_load' in perms and target != source and target not in attributes:
            loaded.add(target)
    control = {}
    for (kind, source, target, tclass), perms in (control_rules or {}).items():
        held = set(perms) & CONTROL_PERMS.get(tclass, frozenset())
        if kind == 'allow' and held:
            control.setdefault(source, set()).update('%s:%s %s' % (target, tclass, perm) for perm in held)
    return {
        'control': dict((k, sorted(v)) for k, v in control.items()),
        'attributes': dict((k, sorted(v)) for k, v in attributes.items()),
        'types': dict((k, sorted(v)) for k, v in types.items()),
        'aliases': dict(aliases),
        'exemptions': dict(exemptions),
        'every_domain': dict((t, dict((c, sorted(p)) for c, p in classes.items())) for t, classes in every.items()),
        'loaded_modules': sorted(loaded),
        'genfscon': sorted(set(genfscon)),
    }


class PolicyModel(object):
    """The installed policy as far as a verdict needs it (see the module docstring): the facts of
    :func:`derive_facts`, the file contexts, and two narrow readers."""

    def __init__(self, policy_facts, file_contexts, rules_of=None, default_types=None):
        self.attributes = dict((k, set(v)) for k, v in policy_facts['attributes'].items())  # {attribute: set(types)}
        self.types = dict((k, set(v)) for k, v in policy_facts['types'].items())            # {type: set(attributes)}
        self.aliases = dict(policy_facts['aliases'])            # {alias: type}
        self.exemptions = dict(policy_facts['exemptions'])      # {attribute: [classes of the constraints it exempts]}
        # {type: {class: perms every domain has on it}}
        self.every_domain = dict((t, dict((c, set(p)) for c, p in classes.items()))
                                 for t, classes in policy_facts['every_domain'].items())
        self.loaded_modules = set(policy_facts['loaded_modules'])  # types the kernel loads code from
        self.file_contexts = file_contexts      # [(expression, type)]
        # {domain or attribute: ['target:class perm' of CONTROL_PERMS it is granted]}
        self.control = dict((k, list(v)) for k, v in policy_facts.get('control', {}).items())
        # types of the kernel's own state (genfscon of its file systems, file contexts below /sys)
        self.kernel_state = kernel_state_types([tuple(pair) for pair in policy_facts.get('genfscon', ())],
                                               file_contexts)
        self.rules_of = rules_of                # callable(attributes) -> {(attribute, side): rules}
        self._rules = {}                        # what rules_of answered: {(name, side): rules}
        self.default_types = default_types      # callable(paths) -> {path: type the file contexts give it}
        attributes, types = self.attributes, self.types
        self.privileged = set(attributes.get('unconfined_domain_type', ()))
        for name in self.exemptions:
            if name in attributes:
                self.privileged |= attributes[name]
            elif name in types:
                self.privileged.add(name)

    # ------------------------------------------------------------ names ---
    def resolve(self, name):
        return self.aliases.get(name, name)

    def is_attribute(self, name):
        return name in self.attributes

    def known(self, name):
        name = self.resolve(name)
        return name in self.types or name in self.attributes

    def members(self, name):
        name = self.resolve(name)
        if name in self.attributes:
            return set(self.attributes[name])
        return set([name])

    def attributes_of(self, type_name):
        return set(self.types.get(self.resolve(type_name), ()))

    def prefetch(self, names):
        """Read the rules naming each of ``names`` (both sides) in one call of the reader, once per name."""
        wanted = sorted(set(name for name in names if (name, 'source') not in self._rules))
        found = self.rules_of(wanted) if self.rules_of and wanted else {}
        for name in wanted:
            for side in ('source', 'target'):
                self._rules[(name, side)] = found.get((name, side), {})

    def rules(self, name, side):
        """{(kind, source, target, class): values} of the rules naming ``name`` on ``side`` ('source'/'target')."""
        if (name, side) not in self._rules:
            self.prefetch([name])
        return self._rules[(name, side)]

    def controls(self, domain):
        """What ``domain`` holds of :data:`CONTROL_PERMS` (its own rules and its attributes'), as rule texts."""
        domain = self.resolve(domain)
        found = set()
        for name in [domain] + sorted(self.attributes_of(domain)):
            found.update('allow %s %s' % (name, held) for held in self.control.get(name, ()))
        return sorted(found)

    def containing(self, attribute):
        """The attributes that hold every current member of ``attribute`` (a superset of those it is nested in:
        the binary policy keeps members, not nesting). Empty when it has no member: nesting cannot be read."""
        members = self.attributes.get(attribute) or set()
        if not members:
            return set()
        return set(name for name, held in self.attributes.items() if name != attribute and members <= held)


MODEL_FORMAT = 2  # 2: genfscon, control
CACHE_PREFIX = 'policy-model-'


def _queried_facts(runner, policy):
    # one seinfo for attributes, types and constraints (one policy load) beside one pass over the rules for what
    # every domain may and for module loading and the rest of CONTROL_PERMS (setools 4's Python; setools 3: one
    # sesearch each). The control rules are asked by permission alone (setools 3 takes one class per query), each a
    # permission of one class, filtered by class when read.
    answers = setools.policy(runner, policy)
    listing = ['-a', '-t', '--constrain', '--genfscon'] + (['--validatetrans'] if answers.generation() >= 4 else [])
    info = runner.later(lambda: answers.sections(listing, 'attributes, types and constraints of %s' % policy))
    domain, control = answers.scan([{'source': 'domain'}, {'perms': sorted(set().union(*CONTROL_PERMS.values()))}],
                                   what='what every domain of %s may, and who controls the policy' % policy)
    sections = info.result()
    control_rules = setools.rule_map(setools.parse_rules(control))
    types, aliases = setools.parse_types(sections.get('Types', ''))
    constraints = '\n'.join(sections.get(name, '') for name in ('Constraints', 'Validatetrans'))
    return derive_facts(setools.parse_attributes(sections.get('Type Attributes', sections.get('Attributes', ''))),
                        types, aliases, setools.parse_exemptions(constraints), setools.rule_map(setools.parse_rules(domain)),
                        control_rules, setools.parse_genfscon(sections.get('Genfscon', '')))


def _cached_facts(path):
    """The facts kept at ``path`` (:func:`~._files.read_kept`: this user's alone, file and folder), or None."""
    data = read_kept(path)
    keys = ('attributes', 'types', 'aliases', 'exemptions', 'every_domain', 'loaded_modules', 'genfscon', 'control')
    if data is None or data.get('format') != MODEL_FORMAT or not all(k in data for k in keys):
        return None
    return data


def read_model(runner, policy, selinux_dir, policy_type, cache_dir=None, save=None, digest=None):
    """The :class:`PolicyModel` of the binary ``policy`` (file contexts from ``selinux_dir``).

    The facts are kept in ``cache_dir`` per checksum of the binary policy (any rebuild gives a new one): read from
    there when this user's alone, else queried; ``save(path, bytes, supersedes)`` is handed the facts to keep (None:
    not kept, as in check mode) with :func:`prune_facts`, which removes those of older policies once they are kept.
    ``digest``: that checksum when the caller has read it already (the policy is then read once per run)."""
    facts_data, cache = None, None
    if cache_dir:
        digest = digest or hashlib.sha256(read_regular(policy) or b'').hexdigest()
        cache = os.path.join(cache_dir, '%s%s.json' % (CACHE_PREFIX, digest))
        facts_data = _cached_facts(cache)
    if facts_data is None:
        facts_data = _queried_facts(runner, policy)
        if cache and save is not None and not os.path.lexists(cache):
            save(cache, kept_bytes(dict(facts_data, format=MODEL_FORMAT)), prune_facts)
    base = os.path.join(selinux_dir, policy_type, 'contexts', 'files')
    return PolicyModel(facts_data, _file_contexts(base), rules_of=_rules_reader(runner, policy),
                       default_types=_label_reader(runner, os.path.join(base, 'file_contexts')))


def prune_facts(cache):
    """Remove the kept facts of policies built before ``cache``'s (of no use any more)."""
    directory = os.path.dirname(cache)
    for name in os.listdir(directory):
        if name.startswith(CACHE_PREFIX) and os.path.join(directory, name) != cache:
            os.unlink(os.path.join(directory, name))


def _file_contexts(base):
    contexts = []
    for name in ('file_contexts', 'file_contexts.homedirs', 'file_contexts.local'):
        data = read_regular(os.path.join(base, name)) if os.path.isfile(os.path.join(base, name)) else None
        if data:
            contexts.extend(parse_file_contexts(to_text(data, errors='surrogate_or_replace')))
    return contexts


def _rules_reader(runner, policy):
    def rules_of(attributes):
        """{(attribute, 'source'|'target'): rules} of ``attributes`` (:meth:`_setools.Policy.side_rules`)."""
        return setools.policy(runner, policy).side_rules(attributes) if attributes else {}
    return rules_of


def _label_reader(runner, main_fc):
    def default_types(paths):
        """{path: type} that libselinux's own matching gives ``paths`` in the policy's file contexts."""
        if not paths or not os.path.isfile(main_fc) or not runner.has('matchpathcon'):
            return None
        result = runner.run('matchpathcon', ['-f', main_fc] + sorted(paths), what='default labels in %s' % main_fc)
        found = {}
        for line in to_text(result.stdout).splitlines():
            path, dummy, context = line.rpartition('\t')
            parts = context.strip().split(':')
            if path and len(parts) >= 3:
                found[path] = parts[2]
        return found
    return default_types
