# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: turn denials or type-enforcement text into a compiled policy package.

* :func:`denial_lines` normalises the ``denials`` option (avc_collect ``lines``
  or ``denials`` dicts, possibly many hosts concatenated) into unique raw AVC lines;
* :func:`generate` runs the real ``audit2allow -m NAME`` on them;
* :func:`granted` / :func:`uncovered_denials` say which denials the generated statements (``_policy_te.parse_te``)
  cover, and why the others were dropped;
* :func:`compile_module` runs ``checkmodule -M -m`` and ``semodule_package``
  (or the refpolicy devel Makefile for ``policy_module()`` sources).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import bz2
import os
import re
import struct

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.fleetsec.selinux.plugins.module_utils import _avc_parse as avc_parse
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_te import (
    PolicySourceError, is_refpolicy_source)
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import CommandFailed, FleetsecError
from ansible_collections.fleetsec.selinux.plugins.module_utils._selinux_config import IDENTIFIER_RE


NAME_RE = IDENTIFIER_RE
NAME_MAX = 128
DEVEL_MAKEFILES = ('/usr/share/selinux/devel/Makefile',)


class PolicyCompileError(FleetsecError):
    """The compiler rejected the module source; the message carries its file:line diagnostics."""


def validate_name(name):
    if not name or not NAME_RE.match(name):
        raise PolicySourceError(
            "Invalid module name %r: use letters, digits and '_' only, starting with a letter "
            "(pattern [A-Za-z][A-Za-z0-9_]*)." % (name,))
    if len(name) > NAME_MAX:
        raise PolicySourceError(
            "Invalid module name %r...: %d characters, at most %d are allowed (the module's files and record are "
            "named after it)." % (name[:40], len(name), NAME_MAX))
    return name


# ---------------------------------------------------------------- denials ---

def _context_type(context):
    parts = context.strip('"\'').split(':')
    return parts[2] if len(parts) >= 3 else context


def _context(value, type_name, role):
    if value:
        return value
    return 'system_u:%s:%s:s0' % (role, type_name)


def denial_from_dict(entry, serial):
    """One canonical raw AVC line for an avc_collect ``denials`` dict (written by avc_parse.canonical_line)."""
    perms = entry.get('permissions') or entry.get('perms') or []
    if isinstance(perms, str):
        perms = perms.split()
    source = entry.get('source_type') or _context_type(entry.get('scontext') or '')
    target = entry.get('target_type') or _context_type(entry.get('tcontext') or '')
    tclass = entry.get('tclass')
    if not (perms and source and target and tclass):
        raise PolicySourceError(
            'A denials entry lacks permissions, source/target type or tclass: %r. Pass the denials or lines '
            'returned by fleetsec.selinux.avc_collect.' % (entry,))
    return avc_parse.canonical_line({
        'ts': None, 'ms': None, 'serial': serial, 'pid': None, 'permissive': False, '_perms': set(perms),
        'comm_raw': to_bytes(entry.get('comm') or 'unknown', errors='surrogate_or_strict'),
        'scontext': _context(entry.get('scontext'), source, 'system_r'),
        'tcontext': _context(entry.get('tcontext'), target, 'object_r'), 'tclass': tclass,
    })


def denial_lines(items):
    """Unique raw lines, in first-seen order, from avc_collect ``lines`` (strings) and/or ``denials`` (dicts)."""
    lines = []
    seen = set()
    serial = 0
    for item in items or []:
        if isinstance(item, dict):
            key = denial_from_dict(item, 0)
            if key in seen:
                continue
            seen.add(key)
            serial += 1
            candidates = [denial_from_dict(item, serial)]
        else:
            candidates = to_text(item, errors='surrogate_or_strict').splitlines()
        for line in candidates:
            line = line.strip()
            if not line or line in seen:
                continue
            seen.add(line)
            lines.append(line)
    return lines


def _denial(line):
    """The avc_parse record of a raw AVC denial line; None for anything else (granted, other records, damage)."""
    try:
        parsed = avc_parse.parse_line(to_bytes(line, errors='surrogate_or_strict'))
    except avc_parse.Malformed:
        return None
    return parsed[1] if parsed is not None and parsed[0] == 'denial' else None


def denial_contexts(line):
    """(scontext, tcontext) of a raw AVC line, or None when it is not a denial."""
    rec = _denial(line)
    return None if rec is None else (rec['scontext'], rec['tcontext'])


GENERIC_DROP = 'no rule generated (unknown class/permission or filtered by audit2allow)'


def parse_denial(line):
    """(source_type, target_type, tclass, [perms]) of a raw AVC line, or None when it is not a denial."""
    rec = _denial(line)
    return None if rec is None else (rec['source_type'], rec['target_type'], rec['tclass'], rec['permissions'])


def split_undefined_classes(lines, classes):
    """(lines to generate from, dropped) where ``classes`` ({class: set(permissions)}, :func:`defined_classes`) is
    what the policy defines: a denial of a class the policy lacks is dropped, one with permissions it lacks keeps
    the others. audit2allow does not check classes, and a rule naming an unknown one compiles, then fails the
    whole transaction at link time ("Failed to resolve allow statement")."""
    kept, dropped = [], []
    for line in lines:
        rec = _denial(line)
        known = classes.get(rec['tclass'], set()) if rec is not None else set()
        if rec is None or set(rec['permissions']) <= known:
            kept.append(line)
            continue
        unknown = [p for p in rec['permissions'] if p not in known]
        if rec['tclass'] not in classes:
            reason = 'class %s not defined in the policy' % rec['tclass']
        else:
            reason = 'permission(s) %s of class %s not defined in the policy' % (' '.join(unknown), rec['tclass'])
        defined = [p for p in rec['permissions'] if p in known]
        if defined:
            kept.append(avc_parse.canonical_line(rec, defined))
        dropped.append({'line': line, 'source_type': rec['source_type'], 'target_type': rec['target_type'],
                        'tclass': rec['tclass'], 'permissions': unknown, 'reason': reason})
    return kept, dropped


def generate(runner, name, lines, policy_file=None, refpolicy=False, interface_info=None):
    """Run the real ``audit2allow -m NAME`` on ``lines``; return (te, stderr)."""
    args = []
    if refpolicy:
        args.append('-R')
        if interface_info:
            args.append('--interface-info=%s' % interface_info)
    args.extend(['-m', name])
    if policy_file:
        args.extend(['-p', policy_file])
    data = '\n'.join(lines) + '\n'
    result = runner.run('audit2allow', args, data=data, what="module '%s'" % name)
    return sort_require_block(strip_volatile_remarks(to_text(result.stdout))), to_text(result.stderr)


def sort_require_block(te):
    """Sort the lines of audit2allow's ``require {`` block (types, then classes).

    sepolgen writes them in set-iteration order, which changes from run to run
    (audit2allow runs ``python3 -E``, so PYTHONHASHSEED cannot pin it): sorting
    makes the same denials give the same text, hence stable files in ``dest``.
    """
    lines = te.split('\n')
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == 'require {')
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == '}')
    except StopIteration:
        return te
    block = sorted(lines[start + 1:end], key=lambda line: (not line.strip().startswith('type '), line.strip()))
    return '\n'.join(lines[:start + 1] + block + lines[end:])


# audit2allow puts a blank line before each remark; without the remark the rule follows its header directly.
_VOLATILE_RE = re.compile(r'^\n?#!!!! This avc is allowed in the current policy\n', re.M)


def strip_volatile_remarks(te):
    """Drop audit2allow's "allowed in the current policy" remark: once this very module is loaded it appears on
    every rule, so keeping it would make the generated source change after the first install."""
    return _VOLATILE_RE.sub('', te)


_UNDEFINED_RE = re.compile(r'type (\S+) is not defined')
# libsepol, for a context whose names all exist but are not allowed together (a role without that type, ...)
_INVALID_CONTEXT_RE = re.compile(r'invalid security context: "([^"]+)"')


def granted(statements):
    """What parsed statements (:func:`parse_te`) allow: ``({(source, target, tclass): set(perms)}, call_domains)``.

    Each rule statement counts through the :class:`_policy_rule.Rule` values it writes (sets expanded, ``self`` read
    as the source type; a statement with a wildcard writes none: what it covers depends on the policy).
    ``dontaudit`` rules count too (the denial is then silenced, not reported again). Refpolicy interface calls
    cannot be checked this way: their first argument is returned in ``call_domains``.
    """
    allowed = {}
    call_domains = set()
    for statement in statements:
        if statement.kind == 'call':
            call_domains.update(statement.args[:1])
            continue
        if statement.kind not in ('allow', 'dontaudit'):
            continue
        for rule in statement.rules():
            key = (rule.source, rule.source if rule.target == 'self' else rule.target, rule.tclass)
            allowed.setdefault(key, set()).update(rule.perms)
    return allowed, call_domains


def missing_permissions(allowed, source, target, tclass, perms):
    """The permissions of one denial that ``allowed`` (from :func:`granted`) does not grant."""
    have = allowed.get((source, target, tclass), set())
    return [perm for perm in perms if perm not in have]


def uncovered_denials(lines, rules, stderr=''):
    """Denials that no generated rule grants: audit2allow drops those whose types the policy does not know.

    ``rules`` are parsed rules (:func:`parse_te`); refpolicy interface calls
    cannot be checked this way and count as covering their first argument.
    Returns a list of dicts (line, source_type, target_type, tclass, permissions, reason).
    """
    undefined = set(_UNDEFINED_RE.findall(stderr or ''))
    invalid = set(_INVALID_CONTEXT_RE.findall(stderr or ''))
    allowed, call_domains = granted(rules)
    dropped = []
    for line in lines:
        rec = _denial(line)
        if rec is None:
            continue
        source, target, tclass = rec['source_type'], rec['target_type'], rec['tclass']
        if source in call_domains and source not in undefined and target not in undefined:
            continue
        missing = missing_permissions(allowed, source, target, tclass, rec['permissions'])
        if not missing:
            continue
        unknown = [t for t in (source, target) if t in undefined]
        bad = [c for c in (rec['scontext'], rec['tcontext']) if c in invalid]
        if unknown:
            reason = 'type(s) %s not defined in the loaded policy' % ', '.join(unknown)
        elif bad:
            reason = ('context %s not valid in the loaded policy (its user, role, type or level are not allowed '
                      'together)' % ', '.join(bad))
        else:
            reason = GENERIC_DROP
        dropped.append({'line': line, 'source_type': source, 'target_type': target, 'tclass': tclass,
                        'permissions': missing, 'reason': reason})
    return dropped


_BOOLEAN_ONE_RE = re.compile(r"can be allowed using the boolean '([^']+)'")
_BOOLEAN_MANY_RE = re.compile(r'can be allowed using one of the these booleans:\s*\n#\s*(.*)')


def boolean_hints(te):
    """Rules audit2allow says a boolean already allows: [{'rule': ..., 'booleans': [...]}]."""
    hints = []
    pending = None
    for raw in te.splitlines():
        line = raw.strip()
        one = _BOOLEAN_ONE_RE.search(line)
        if one:
            pending = [one.group(1)]
            continue
        if 'can be allowed using one of the these booleans' in line:
            pending = []
            continue
        if pending == [] and line.startswith('#'):
            pending = [b.strip() for b in line.lstrip('#').split(',') if b.strip()]
            continue
        if pending and line and not line.startswith('#'):
            hints.append({'rule': ' '.join(line.split()), 'booleans': pending})
            pending = None
    return hints


# ---------------------------------------------------------------- compile ---

def _write(path, text):
    data = to_bytes(text, errors='surrogate_or_strict')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _compile_error(name, err):
    text = '\n'.join(p for p in ((err.stderr or '').strip(), (err.stdout or '').strip()) if p)
    lines = [line for line in text.splitlines() if 'ERROR' in line or 'error' in line.lower()]
    where = lines[0] if lines else (text.splitlines()[0] if text else 'no output')
    return PolicyCompileError(
        "Compiling module '%s' failed (rc=%s): %s. Nothing was installed; the module already loaded (if any) is "
        "unchanged. Full compiler output: %s" % (name, err.rc, where, text),
        rc=err.rc, stdout=err.stdout, stderr=err.stderr, cmd=err.cmd)


# m4 builtins that run commands, read or write files, or call another builtin by name. Refpolicy sources go
# through m4 as root (in check mode too), so these are refused before m4 runs, and the guard file below
# makes them fail inside m4 as well, whatever spelling or indirection reaches them.
M4_UNSAFE_BUILTINS = (
    ('syscmd', 'runs a shell command'), ('esyscmd', 'runs a shell command'), ('include', 'reads a file'),
    ('sinclude', 'reads a file'), ('undivert', 'reads a file when given a name'), ('debugfile', 'writes a file'),
    ('mkstemp', 'creates a file'), ('maketemp', 'creates a file'), ('builtin', 'calls any builtin by name'),
    ('indir', 'calls any macro by name'), ('changeword', 'changes what m4 reads as a macro name'),
)
M4_GUARD_FILE = 'fleetsec-m4-guard.m4'
_M4_UNSAFE_RE = re.compile(r'\b(%s)\b\s*\(' % '|'.join(name for name, dummy in M4_UNSAFE_BUILTINS))


def check_m4_safe(name, *texts):
    """Refuse policy sources that call an unsafe m4 builtin (anywhere, comments included)."""
    reasons = dict(M4_UNSAFE_BUILTINS)
    for text in texts:
        match = _M4_UNSAFE_RE.search(text or '')
        if match:
            line = (text or '').count('\n', 0, match.start()) + 1
            raise PolicySourceError(
                "Module '%s': the source calls the m4 builtin %s() on line %d (it %s). Policy sources are expanded "
                "by m4 as root, so fleetsec.selinux never runs them with %s. Nothing was run or changed."
                % (name, match.group(1), line, reasons[match.group(1)],
                   ', '.join(n + '()' for n, dummy in M4_UNSAFE_BUILTINS)))


def m4_guard():
    """m4 text that redefines every unsafe builtin as a fatal error (a bare word without arguments stays text).

    Loaded after refpolicy's support macros (which use none of them): even a name built by expansion or
    reached through defn() finds the guard, and the original builtins are no longer reachable.
    """
    lines = ["divert(`-1')",
             "define(`__fleetsec_m4exit', defn(`m4exit'))",
             "define(`__fleetsec_refuse', `errprint(`fleetsec.selinux: the m4 builtin $1 is not allowed in policy "
             "sources ($2); nothing was installed.'\n)__fleetsec_m4exit(`1')')"]
    for builtin, reason in M4_UNSAFE_BUILTINS:
        lines.append("define(`%s', `ifelse(`$#', `0', ``%s'', `__fleetsec_refuse(`%s', `it %s')')')"
                     % (builtin, builtin, builtin, reason))
    lines.append("divert`'dnl")
    return '\n'.join(lines) + '\n'


def find_devel_makefile(exists=os.path.exists):
    for path in DEVEL_MAKEFILES:
        if exists(path):
            return path
    return None


def compile_module(runner, workdir, name, te, fc=None, if_text=None):
    """Compile sources in ``workdir`` (mode 0700); return dict(pp=path, expanded=te after m4 or None).

    Plain ``module`` sources: ``checkmodule -M -m`` then ``semodule_package``
    (``-f`` when ``fc`` is given).  Refpolicy sources (``policy_module()`` or
    an ``if`` text) go through the policy devel Makefile, which runs m4 and the
    same two tools.  Compiler errors become :class:`PolicyCompileError`.
    """
    _write(os.path.join(workdir, '%s.te' % name), te)
    if fc:
        _write(os.path.join(workdir, '%s.fc' % name), fc)
    if is_refpolicy_source(te) or if_text:
        return _compile_refpolicy(runner, workdir, name, te, fc, if_text)
    te_path, mod_path, pp_path = (os.path.join(workdir, name + ext) for ext in ('.te', '.mod', '.pp'))
    try:
        runner.run('checkmodule', ['-M', '-m', '-o', mod_path, te_path], cwd=workdir, what="module '%s'" % name)
        args = ['-o', pp_path, '-m', mod_path]
        if fc:
            args.extend(['-f', os.path.join(workdir, '%s.fc' % name)])
        runner.run('semodule_package', args, cwd=workdir, what="module '%s'" % name)
    except CommandFailed as err:
        raise _compile_error(name, err)
    return {'pp': pp_path, 'expanded': None}


def _compile_refpolicy(runner, workdir, name, te, fc, if_text):
    """The devel Makefile (m4, then the same tools), with the m4 guard loaded before any of the module's text."""
    makefile = find_devel_makefile()
    if makefile is None:
        raise PolicySourceError(
            "Module '%s' uses refpolicy macros (policy_module/interfaces) but the policy devel Makefile "
            "(%s) is missing. Install selinux-policy-devel (EL) or selinux-policy-dev (Debian)."
            % (name, DEVEL_MAKEFILES[0]))
    check_m4_safe(name, te, fc, if_text)
    _write(os.path.join(workdir, '%s.if' % name), if_text or '')
    if not fc:
        _write(os.path.join(workdir, '%s.fc' % name), '')
    guard = os.path.join(workdir, M4_GUARD_FILE)
    _write(guard, m4_guard())
    # the guard comes right after refpolicy's support macros, before any interface, .te or .fc text
    support = 'm4support=$(wildcard $(HEADERDIR)/support/*.spt) %s' % guard
    # the compiler and packager that plain sources get (the first on PATH), not the Makefile's fixed /usr/bin ones:
    # one toolchain per run, whatever the source's form
    tools = ['CHECKMODULE=%s' % runner.path('checkmodule'), 'SEMOD_PKG=%s' % runner.path('semodule_package')]
    try:
        runner.run('make', ['-f', makefile, support] + tools + ['%s.pp' % name], cwd=workdir,
                   what="module '%s'" % name)
    except CommandFailed as err:
        raise _compile_error(name, err)
    expanded = None
    tmp_te = os.path.join(workdir, 'tmp', '%s.tmp' % name)
    if os.path.exists(tmp_te):
        with open(tmp_te, 'rb') as handle:
            expanded = to_text(handle.read(), errors='surrogate_or_strict')
    return {'pp': os.path.join(workdir, '%s.pp' % name), 'expanded': expanded}


PACKAGE_MAGIC = 0xf97cff8f
MODULE_MAGIC = 0xf97cff8d
MODULE_TYPE = 2


def package_module_name(data):
    """The module name declared inside a policy package (``.pp``, possibly bzip2-compressed), from its header.

    semodule installs a package under the name it declares, whatever its file is called, so this is checked
    against ``name`` before anything is loaded. Raises :class:`PolicySourceError` for a file that is not a
    module package (a base package or anything else).
    """
    if data[:3] == b'BZh':
        try:
            data = bz2.decompress(data)
        except (IOError, OSError, ValueError, EOFError) as exc:
            raise PolicySourceError('The .pp file is bzip2 data that cannot be decompressed: %s.' % exc)
    try:
        magic, dummy, sections = struct.unpack('<III', data[:12])
        if magic != PACKAGE_MAGIC or sections < 1:
            raise ValueError('not a policy package (magic %#x)' % magic)
        pos = struct.unpack('<I', data[12:16])[0]
        magic, length = struct.unpack('<II', data[pos:pos + 8])
        pos += 8 + length
        if magic != MODULE_MAGIC:
            raise ValueError('its first section is not a policy module (magic %#x)' % magic)
        kind = struct.unpack('<I', data[pos:pos + 4])[0]
        if kind != MODULE_TYPE:
            raise ValueError('it is a base policy package, not a module')
        pos += 20  # type, version, config, symbol and ocontext counts
        length = struct.unpack('<I', data[pos:pos + 4])[0]
        name = data[pos + 4:pos + 4 + length]
        if length == 0 or len(name) != length:
            raise ValueError('its module name is missing or cut')
    except (struct.error, ValueError) as exc:
        raise PolicySourceError('The .pp file is not a usable SELinux module package: %s.' % exc)
    return to_text(name, errors='surrogate_or_strict')


def read_file_text(path):
    with open(path, 'rb') as handle:
        return to_text(handle.read(), errors='surrogate_or_strict')
