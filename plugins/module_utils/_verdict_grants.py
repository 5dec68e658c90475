# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the verdict on access rules: why one permission on one type hands out power (:meth:`Grants.reason`,
from ``_power``'s table and the type's protection), and the findings of an ``allow``/``allowx`` statement after alias
and attribute expansion. A part of ``_policy_verdict.Judge``.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _cil as cil
from ansible_collections.fleetsec.selinux.plugins.module_utils import _power as power
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_names import EXAMPLES_SHOWN


SPECIAL_TARGETS = frozenset(['self', 'notself', 'other', 'minusself'])


class Grants(object):
    """Access rules, judged (a part of ``_policy_verdict.Judge``: reads names through ``_verdict_names.Names``)."""

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
