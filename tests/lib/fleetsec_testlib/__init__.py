# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared test library of the tests and the benchmarks (bench/): what both need, imported by its package name.

- ``fleetsec_testlib.module_helpers``: run a module's ``main()`` in-process (Python 2.7 and later: the target-side
  unit tests use it too);
- ``fleetsec_testlib.store_copy``: the offline copy of a policy store (controller side, Python 3); importing it puts
  this checkout's collection (``ansible_collections.fleetsec.selinux``, tools/collection-tree.sh) on the import path.

Importable with no ``sys.path`` edit: tools/setup.sh writes a ``fleetsec-testlib.pth`` naming tests/lib into the
site-packages of .venv and .venv-compat, and links this package into the ``site`` folder of .venv-py27/.venv-py36.
This file imports nothing, so that the package imports on every interpreter the tests run.
"""
