# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the pip bootstrap script ansible-test downloads (get-pip.py).

ansible-test runs it inside a fresh virtual environment without pip, with
get-pip's arguments (``--no-setuptools``, ``--no-wheel`` and ``pip==X ...``).
We install pip from the interpreter's bundled wheel (ensurepip) and then let
that pip install the requested versions from the configured package index.
Must run on every Python ansible-test supports (2.7 included).
"""
from __future__ import absolute_import, division, print_function

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel', '--no-pip')


def main():
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null, which would hide the machine's pip.conf (its CA bundle).
    os.environ.pop('PIP_CONFIG_FILE', None)
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check'] + args))


if __name__ == '__main__':
    main()
