# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the one place where fleetsec.selinux runs external commands.

Each external tool is declared once as a :class:`Command` (binary, fixed
arguments, whether it changes the host).  :class:`Runner` finds the binary with
``module.get_bin_path``, runs argv lists only (never a shell string), forces
``LC_ALL=C`` so output is parseable, and refuses to run a mutating command in
check mode: the caller decides check mode (plan, then act only when not in
check mode); a mutating call that reaches the runner in check mode is a
defect, reported as an error before anything runs, never faked as success.

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time


C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C', 'LANGUAGE': 'C'}


class FleetsecError(Exception):
    """Base of the collection's domain errors; ``main()`` turns one into one fail_json."""

    def __init__(self, msg, **details):
        super(FleetsecError, self).__init__(msg)
        self.msg = msg
        self.details = details

    def fail_kwargs(self):
        kwargs = dict(self.details)
        kwargs['msg'] = self.msg
        return kwargs


def finish(module, run):
    """End a module: ``run(module)`` gives ``(result, warnings)``; a :class:`FleetsecError` becomes one fail_json."""
    try:
        result, warnings = run(module)
    except FleetsecError as err:
        module.fail_json(**err.fail_kwargs())
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


class Later(object):
    """The result of a function computed beside the caller's work (see :meth:`Runner.later`)."""

    def __init__(self, function, threaded):
        self._function, self._ran, self._value, self._error = function, False, None, None
        self._thread = None
        if threaded:
            self._thread = threading.Thread(target=self._run)
            self._thread.daemon = True
            self._thread.start()

    def _run(self):
        try:
            self._value = self._function()
        except Exception as err:  # re-raised in the caller's thread by result()
            self._error = err
        self._ran = True

    def wait(self):
        """Let it end (its commands must not outlive the module), whatever it gives."""
        if self._thread is not None:
            self._thread.join()

    def result(self):
        if self._thread is not None:
            self._thread.join()
        elif not self._ran:
            self._run()
        if self._error is not None:
            raise self._error
        return self._value


class CommandNotFound(FleetsecError):
    pass


class CommandFailed(FleetsecError):
    """A command exited with an rc it does not accept."""

    def __init__(self, cmd, rc, stdout, stderr, what=None, hint=None):
        label = cmd[0].rsplit('/', 1)[-1] if cmd else '?'
        if len(cmd) > 1 and cmd[1].startswith('-'):
            label = '%s %s' % (label, cmd[1])
        text = (stderr or '').strip() or (stdout or '').strip() or 'no output'
        msg = '%s failed%s (rc=%s): %s' % (label, '' if what is None else ' for %s' % what, rc, text)
        if hint:
            msg = '%s. %s' % (msg, hint)
        super(CommandFailed, self).__init__(msg, rc=rc, stdout=stdout, stderr=stderr, cmd=list(cmd))
        self.cmd = list(cmd)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class Command(object):
    """Declaration of one external tool.

    :param binary: executable name looked up with ``get_bin_path``.
    :param args: arguments always passed first (e.g. ``['-m']``).
    :param ok_rcs: exit codes that are not failures.
    :param package_hint: what to install when the binary is missing.
    """

    def __init__(self, binary, args=None, ok_rcs=(0,), package_hint=None):
        self.binary = binary
        self.args = list(args or [])
        self.ok_rcs = tuple(ok_rcs)
        self.package_hint = package_hint


class CheckModeViolation(FleetsecError):
    """A command that changes the host was asked for in check mode."""


class Result(object):
    __slots__ = ('cmd', 'rc', 'stdout', 'stderr')

    def __init__(self, cmd, rc, stdout, stderr):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def __iter__(self):
        return iter((self.rc, self.stdout, self.stderr))


class Runner(object):
    """Runs declared commands for one module invocation.

    ``commands`` maps a short name to a :class:`Command`.  Every run is kept
    in ``self.history`` (argv + rc) so modules can report what they did.
    """

    # threads for read-only work started beside the rest (:meth:`later`); 1: none, run when the result is asked for
    max_workers = 2

    def __init__(self, module, commands, check_mode=None, sleep=time.sleep):
        self.module = module
        self.commands = dict(commands)
        self.check_mode = module.check_mode if check_mode is None else check_mode
        self.history = []
        self._paths = {}
        self._sleep = sleep

    def path(self, name, required=True):
        """Absolute path of a declared command's binary, or None when absent and not required."""
        if name not in self._paths:
            spec = self.commands[name]
            # PATH first, then the sbin directories (get_bin_path adds them): an opt_dirs list would be searched
            # BEFORE PATH and hide the tools a user (or the EL test platform) puts first on it
            self._paths[name] = self.module.get_bin_path(spec.binary, required=False)
        found = self._paths[name]
        if found is None and required:
            spec = self.commands[name]
            hint = ' Install %s.' % spec.package_hint if spec.package_hint else ''
            raise CommandNotFound('Required command %r was not found on the target.%s' % (spec.binary, hint))
        return found

    def has(self, name):
        return self.path(name, required=False) is not None

    def argv(self, name, args=()):
        spec = self.commands[name]
        return [self.path(name)] + spec.args + [str(a) for a in args]

    def change(self, name, args=(), **kwargs):
        """Run a command that changes the host (refused in check mode, see :meth:`run`)."""
        return self.run(name, args, changes=True, **kwargs)

    def run(self, name, args=(), data=None, check=True, what=None, hint=None, binary_data=False,
            environ=None, cwd=None, changes=False):
        """Run command ``name`` with extra ``args``.

        A call that ``changes`` the host raises :class:`CheckModeViolation` in
        check mode without running.  With ``check`` an rc outside ``ok_rcs``
        raises :class:`CommandFailed`.
        """
        spec = self.commands[name]
        cmd = self.argv(name, args)
        if changes and self.check_mode:
            raise CheckModeViolation(
                'Internal error: %s would change the host in check mode; it was not run and nothing was changed. '
                'Please report this.' % ' '.join(cmd[:2]), cmd=cmd)
        env = dict(C_LOCALE)
        if environ:
            env.update(environ)
        kwargs = dict(check_rc=False, environ_update=env, binary_data=binary_data)
        if data is not None:
            kwargs['data'] = data
        if cwd is not None:
            kwargs['cwd'] = cwd
        rc, out, err = self.module.run_command(cmd, **kwargs)
        self.history.append({'cmd': cmd, 'rc': rc})
        if check and rc not in spec.ok_rcs:
            raise CommandFailed(cmd, rc, out, err, what=what, hint=hint)
        return Result(cmd, rc, out, err)

    def later(self, function):
        """``function()`` (read-only calls only) started now in a thread of its own, its result taken with
        :meth:`Later.result`; with one worker (``max_workers`` 1), run when the result is asked for."""
        return Later(function, threaded=self.max_workers > 1)

    def run_with_retry(self, name, args=(), retry_if=None, attempts=6, delay=5.0, **kwargs):
        """Run, retrying a bounded number of times while ``retry_if(result)`` is true.

        Used for the libsemanage transaction lock held by a concurrent rpm or
        semodule.  The last failure is raised as :class:`CommandFailed`.
        """
        spec = self.commands[name]
        result = None
        for attempt in range(attempts):
            result = self.run(name, args, check=False, **kwargs)
            if result.rc in spec.ok_rcs or retry_if is None or not retry_if(result):
                break
            if attempt + 1 < attempts:
                self._sleep(delay)
        if result.rc not in spec.ok_rcs:
            raise CommandFailed(result.cmd, result.rc, result.stdout, result.stderr,
                                what=kwargs.get('what'), hint=kwargs.get('hint'))
        return result
