# SPDX-License-Identifier: GPL-3.0-or-later
"""Shape rules of the plugin code that a review would otherwise have to re-check by hand."""
import ast
import glob
import os

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
MAX_FUNCTION_LINES = 49


def _functions():
    for path in sorted(glob.glob(os.path.join(REPO, 'plugins', '*', '*.py'))):
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield os.path.relpath(path, REPO), node


def test_every_plugin_function_is_shorter_than_50_lines():
    long = ['%s:%d %s (%d lines)' % (path, node.lineno, node.name, node.end_lineno - node.lineno + 1)
            for path, node in _functions() if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_the_runner_is_the_only_place_that_runs_commands():
    # subprocess, os.system and module.run_command outside _runner.py would bypass its argv-only, LC_ALL=C and
    # check-mode rules
    offenders = []
    for path in sorted(glob.glob(os.path.join(REPO, 'plugins', '*', '*.py'))):
        if path.endswith('_runner.py'):
            continue
        with open(path) as handle:
            text = handle.read()
        offenders.extend('%s: %s' % (os.path.relpath(path, REPO), needle)
                         for needle in ('import subprocess', 'os.system(', 'os.popen(', '.run_command(')
                         if needle in text)
    assert offenders == []
