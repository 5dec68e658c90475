# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the verdict on file contexts: a ``filecon`` by the protected files it can cover (the policy's
own file contexts its tree reaches, and the labels ``matchpathcon`` gives that tree today) against who may use the
new type, the entry points of privileged domains it hands out, the labels trusted by themselves it gives; a
``<<none>>`` context by the protected files it takes the label from. A part of ``_policy_verdict.Judge``.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.fleetsec.selinux.plugins.module_utils import _cil as cil
from ansible_collections.fleetsec.selinux.plugins.module_utils._file_contexts import home_expansions, label_scope, reaches
from ansible_collections.fleetsec.selinux.plugins.module_utils._verdict_names import EXAMPLES_SHOWN, examples_in_order


class Labels(object):
    """File contexts, judged (a part of ``_policy_verdict.Judge``; who may use a new type: ``_verdict_access``)."""

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
                self._whom(new_type, access), examples_in_order(covered))))
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
                       'there gets the label of its directory): %s' % examples_in_order(covered))] if covered else []

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
