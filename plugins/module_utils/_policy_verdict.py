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
from ansible_collections.fleetsec.selinux.plugins.module_utils import _power as power
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_access import Access
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_grants import Grants
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_joins import Joins
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_labels import Labels
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_names import REQUIRE, Names, Transaction, flatten

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


class Judge(Names, Grants, Joins, Labels, Access):
    """The verdict of one transaction against one policy (see the module docstring): the names (``_verdict_names``),
    access rules (``_verdict_grants``), attribute joins (``_verdict_joins``), file contexts (``_verdict_labels``) and
    type rules for objects (``_verdict_access``) are its parts; here, one statement and the whole transaction."""

    def __init__(self, model, transaction):
        self.model, self.tx = model, transaction
        self._protection = {}
        self._controls = {}  # domain -> what controls() says of it
        self._access = None  # {type: set((kind, source, None))} of the transaction's own allow rules
        self._defaults = {}  # label scope -> {probe path: type it has today}, or None when unreadable
        self._attrs_of = None
        self._universe = None

    def statement(self, stmt):
        """[(rule, reason)] of one statement."""
        key, args = stmt.keyword, stmt.args
        flat = flatten(args)
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
                flat = flatten(stmt.args) if stmt.keyword in ('typetransition', 'typechange', 'typemember') else []
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
