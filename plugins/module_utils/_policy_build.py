# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: compile type-enforcement text into a policy package, and read a package's module name.

* :func:`validate_name` checks a module name before any tool or path sees it;
* :func:`check_m4_safe` refuses m4 builtins in refpolicy sources before ``make`` runs m4 on them;
* :func:`compile_module` runs ``checkmodule -M -m`` and ``semodule_package``
  (or the refpolicy devel Makefile for ``policy_module()`` sources);
* :func:`package_module_name` reads the name a ``.pp`` declares.

The denials are made into text before (``_policy_denials``: the lines and what the rules cover;
``_policy_audit2allow``: the generation).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import bz2
import os
import re
import struct

from ansible.module_utils.common.text.converters import to_bytes, to_text

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
