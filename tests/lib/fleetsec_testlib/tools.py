# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The project's Python tools (``tools/*.py``, scripts with dashes in their names, not packages) loaded as modules
for their controller unit tests. Python 3."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import os

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def tool_path(name):
    """The path of tools/NAME."""
    return os.path.join(REPO, 'tools', name)


def load_tool(name):
    """tools/NAME (a .py file) run as a module of its own, whose functions the test calls."""
    spec = importlib.util.spec_from_file_location('fleetsec_tool_' + name.replace('-', '_').replace('.py', ''),
                                                  tool_path(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
