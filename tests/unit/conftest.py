# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the collection importable as ``ansible_collections.fleetsec.selinux``.

Runs under every interpreter the target-side tests use (2.7, 3.6, 3.11+), so it
builds a small tree of real package directories (with ``__init__.py`` files,
which Python 2 needs) whose ``.py`` files are symlinks to the repository.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
UNIT = os.path.dirname(os.path.abspath(__file__))


def _farm():
    root = os.path.join(REPO, 'build', 'pytest-py%d%d' % sys.version_info[:2])
    base = os.path.join(root, 'ansible_collections', 'fleetsec', 'selinux')
    for pkg in (os.path.join(root, 'ansible_collections'), os.path.join(root, 'ansible_collections', 'fleetsec'), base):
        if not os.path.isdir(pkg):
            os.makedirs(pkg)
        open(os.path.join(pkg, '__init__.py'), 'a').close()
    for top, dirs, files in os.walk(os.path.join(REPO, 'plugins')):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        rel = os.path.relpath(top, REPO)
        dest = os.path.join(base, rel)
        if not os.path.isdir(dest):
            os.makedirs(dest)
        open(os.path.join(dest, '__init__.py'), 'a').close()
        for name in files:
            if not name.endswith('.py'):
                continue
            link = os.path.join(dest, name)
            if os.path.lexists(link):
                if os.path.realpath(link) == os.path.join(top, name):
                    continue
                os.unlink(link)
            os.symlink(os.path.join(top, name), link)
    return root


sys.path.insert(0, _farm())
sys.path.insert(0, UNIT)
