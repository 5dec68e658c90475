# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the second stage of local_policy_module: each entry's source, generated or read and parsed ONCE.

:func:`read` turns an :class:`~._policy_request.Entry` into a :class:`Source`: the final text with its header, its
parsed statements, the text's own findings, the denials audit2allow left without a rule, boolean hints, the
fingerprint and version. Nothing here writes outside the run's private directory: a regenerated interface file for
``audit2allow -R`` is handed to the apply stage (``_policy_context.Context.keep``).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
from collections import namedtuple

from ansible.module_utils.six import string_types

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_audit2allow as audit2allow
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_build as build
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_denials as denied
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_grants as grants
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_te as te_text
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import digest_of, kept_bytes, read_bytes, read_kept, sha256_bytes, stamp
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_request import PlanError
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError

Source = namedtuple('Source', ('entry', 'te', 'fc', 'iface', 'path', 'version', 'parsed', 'rules', 'findings',
                               'dropped', 'booleans', 'denials', 'source_sha256', 'skip'))


def bare(entry, **fields):
    """A Source with nothing read yet (state=absent, enable/disable without a source, a prebuilt package)."""
    values = dict(te=None, fc=entry.fc, iface=entry.iface, path=None, version=None, parsed=(), rules=(), findings=(),
                  dropped=(), booleans=(), denials=None, source_sha256=None, skip=None)
    values.update(fields)
    return Source(entry=entry, **values)


def read(ctx, entry, record):
    """The :class:`Source` of ``entry``; ``record`` is the module's record (read once by the caller)."""
    if entry.state == 'absent' or entry.kind is None:
        return bare(entry)
    if entry.kind in ('pp', 'cil'):
        return _package(entry)
    generated = denials = None
    if entry.kind == 'denials':
        denials = denied.denial_lines(entry.source)
        if entry.accumulate:
            denials = sorted(set(denied.denial_lines((record or {}).get('denials') or []) + denials))
        generated = _generate(ctx, entry, denials)
        te = generated[0]
    elif entry.kind == 'src':
        te, entry = _read_src(entry)
    else:
        te = entry.source
    return _text(ctx, entry, te, denials, generated)


def _package(entry):
    path = entry.source
    if not os.path.isfile(path):
        raise PlanError("Module '%s': %s file %s does not exist on the target." % (entry.name, entry.kind, path))
    data = read_bytes(path)
    if entry.kind == 'pp':
        declared = build.package_module_name(data)
        if declared != entry.name:
            raise PlanError("Module '%s': the package %s declares the module '%s', and semodule installs a "
                            "package under the name it declares. Rebuild it as '%s' or pass name: %s. Nothing "
                            "was changed." % (entry.name, path, declared, entry.name, declared))
    return bare(entry, path=path, version=entry.version,
                source_sha256=te_text.sha256_text(entry.kind, sha256_bytes(data)))


# what audit2allow's output depends on beside its input: the program and sepolgen (a package update replaces them)
SEPOLGEN_GLOBS = ('/usr/lib*/python*/*-packages/sepolgen', '/usr/local/lib*/python*/*-packages/sepolgen')
GENERATED_FORMAT = 1
GENERATED_PREFIX = 'generated-'


def _generate(ctx, entry, denials):
    """audit2allow's module for the denials of the classes the policy defines: (te, stderr, lines, unknown).

    The answer is kept for the next run (:meth:`~._policy_context.Context.save`) under a key of everything it
    depends on: the denials, the options, the binary policy's checksum, the stamps of audit2allow, sepolgen and the
    interface information. An unchanged rerun then runs neither audit2allow nor the seinfo of the classes. After a
    policy rebuild the key differs and the tools run again, except after this module's own transaction when
    :func:`carry_generations` could key the answer to the rebuilt policy."""
    iface = ctx.interface_info() if entry.refpolicy else None
    key = _generation_key(ctx, entry, denials, iface)
    path = generated_path(ctx.store, entry.name)
    kept = _kept_generation(path, key) if key else None
    if kept is None:
        classes = ctx.defined_classes()
        lines, unknown = denied.split_undefined_classes(denials, classes) if classes else (denials, [])
        te, stderr = audit2allow.generate(ctx.runner, entry.name, lines,
                                          policy_file=ctx.policy_file_for_audit2allow(), refpolicy=entry.refpolicy,
                                          interface_info=iface)
        if key:
            ctx.save(path, _generation_bytes(key, (te, stderr, lines, unknown)))
        kept = te, stderr, lines, unknown
    if key:
        ctx.generations[entry.name] = (path, lambda digest: _generation_key(ctx, entry, denials, iface, digest), kept)
    return kept


def _generation_bytes(key, generation):
    te, stderr, lines, unknown = generation
    return kept_bytes(dict(format=GENERATED_FORMAT, key=key, te=te, stderr=stderr, lines=lines, unknown=unknown))


# Statements that declare nothing and associate nothing: what audit2allow -m writes (allow rules, and allowxperm).
_PLAIN_ACCESS = ('allow', 'allowxperm')


def plain_access(statements):
    """True when ``statements`` (parsed ``.te`` statements, or the rule texts of a record) are access rules only."""
    for statement in statements:
        kind = statement.split(' ', 1)[0] if isinstance(statement, string_types) else statement.kind
        if kind not in _PLAIN_ACCESS:
            return False
    return True


def carry_generations(ctx, digest):
    """After a transaction that only installed plain generated modules (:func:`plain_access`, decided by the apply
    stage), key this run's generations to the rebuilt policy's checksum ``digest``, so that the first rerun does not
    generate them again.

    What audit2allow writes depends on the policy in two ways. Its rules: it drops a denial whose names (type, role,
    user, class, permission, level) the policy does not define, and a transaction of plain access rules defines and
    removes no name. Its remarks: a denial these very modules now allow is reported as allowed instead of by its
    boolean or constraint, which describes the modules rather than the policy they were generated for. So the answer
    computed before the transaction is the one for the rebuilt policy too."""
    for path, key_for, generation in ctx.generations.values():
        key = key_for(digest)
        if key:
            ctx.save(path, _generation_bytes(key, generation))


def generated_path(store, name):
    """Where module ``name``'s generated source is kept (removed with the module)."""
    return os.path.join(store.cache_dir(), '%s%s.json' % (GENERATED_PREFIX, name))


def _generation_key(ctx, entry, denials, iface, digest=None):
    """The key of one generation (see :func:`_generate`) for the policy whose checksum is ``digest`` (by default
    the store's policy as this run read it); None when the policy file cannot be read (no keeping)."""
    digest = digest or ctx.policy_digest()
    if digest is None:
        return None
    tools = [stamp(ctx.runner.path('audit2allow', required=False))]
    tools.extend(stamp(found) for pattern in SEPOLGEN_GLOBS for found in sorted(glob.glob(pattern)))
    return digest_of([GENERATED_FORMAT, entry.name, bool(entry.refpolicy), digest, ctx.policy_file_for_audit2allow(),
                      stamp(iface) if iface else None, tools, ctx.runner.has('seinfo'), list(denials)])


def _is_text_list(value):
    return isinstance(value, list) and all(isinstance(item, string_types) for item in value)


def _kept_generation(path, key):
    """(te, stderr, lines, unknown) kept at ``path`` for ``key``, or None (missing, untrusted, another key, or not
    of the expected types: then audit2allow runs as if nothing had been kept)."""
    data = read_kept(path)
    if data is None or data.get('format') != GENERATED_FORMAT or data.get('key') != key:
        return None
    te, stderr, lines, unknown = (data.get(name) for name in ('te', 'stderr', 'lines', 'unknown'))
    if not (isinstance(te, string_types) and isinstance(stderr, string_types) and _is_text_list(lines)
            and isinstance(unknown, list)):
        return None
    for item in unknown:
        if not isinstance(item, dict) or not all(isinstance(v, string_types) or _is_text_list(v)
                                                 for v in item.values()):
            return None
    return te, stderr, lines, unknown


def _read_src(entry):
    if not os.path.isfile(entry.source):
        raise PlanError("Module '%s': src %s does not exist on the target (remote_src=true)."
                        % (entry.name, entry.source))
    if not entry.fc:
        sibling = os.path.splitext(entry.source)[0] + '.fc'
        if os.path.isfile(sibling):
            entry = entry._replace(fc=build.read_file_text(sibling))
    return build.read_file_text(entry.source), entry


def _explain_dropped(ctx, dropped):
    """Name what the policy does not define (user, role, type, MLS level) in the reason of each dropped denial
    that audit2allow left without a rule and without a word; explaining is a courtesy, never a failure."""
    vague = [d for d in dropped if d['reason'] == denied.GENERIC_DROP]
    if not vague or not ctx.runner.has('seinfo'):
        return
    try:
        defined = grants.defined_names(ctx.runner, ctx.store.policy_file())
    except FleetsecError:
        return
    for item in vague:
        problems = []
        for context in denied.denial_contexts(item['line']) or ():
            problems.extend(p for p in grants.context_problems(context, defined) if p not in problems)
        if problems:
            item['reason'] = 'not defined in the policy: %s' % ', '.join(problems)


def _text(ctx, entry, te, denials, generated):
    """Header, version, the one parse, the text's findings; for generated text, what was dropped and why."""
    if te_text.is_refpolicy_source(te) or entry.iface:
        build.check_m4_safe(entry.name, te, entry.fc, entry.iface)
    te_read = te_text.TeText(te)  # the one reading of the text (comments stripped once); the header is not part of it
    version = entry.version or te_text.derive_version(te_read, entry.fc, entry.iface)
    text = te_text.set_header(te, entry.name, version)
    parsed = tuple(te_read.statements())
    dropped, booleans = [], []
    if generated is not None:
        dummy, stderr, lines, unknown = generated
        dropped = unknown + denied.uncovered_denials(lines, list(parsed), stderr)
        _explain_dropped(ctx, dropped)
        booleans = audit2allow.boolean_hints(te)
        if not parsed and not dropped:
            raise PlanError("Module '%s': no AVC denial found in denials (%d lines)." % (entry.name, len(lines)))
    source = bare(entry, te=text, version=version, parsed=parsed, rules=tuple(te_text.rule_texts(parsed)),
                  dropped=tuple(dropped), booleans=tuple(booleans), denials=denials)
    if not parsed and entry.kind == 'denials' and dropped and not ctx.single:
        # in a batch, an entry with nothing to install must not sink the others: warn, install nothing for it
        reasons = sorted(set(d['reason'] for d in dropped))
        return source._replace(skip='every denial was dropped (%s)' % '; '.join(reasons))
    if not parsed:
        raise PlanError("Module '%s': the source holds no rule%s." % (
            entry.name, ' (every denial was dropped: %s)' % dropped[0]['reason'] if dropped else ''))
    return source._replace(findings=tuple(safety.analyse(list(parsed))),
                           source_sha256=te_text.source_fingerprint(text, entry.fc, entry.iface, te_read))
