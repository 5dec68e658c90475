# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of a module entry are declared once: the suboptions of ``modules`` in local_policy_module's
documentation are what ``tools/entry-docs.py`` writes from ``_policy_request.OPTIONS``."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import yaml

from fleetsec_testlib.tools import REPO, load_tool

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_request as req
from ansible_collections.fleetsec.selinux.plugins.modules import local_policy_module as lpm

TOOL = load_tool('entry-docs.py')


def test_the_modules_suboptions_are_written_from_the_option_table():
    with open(os.path.join(REPO, 'plugins', 'modules', 'local_policy_module.py')) as handle:
        text = handle.read()
    assert TOOL.written(text, req.OPTIONS) == text, 'run tools/entry-docs.py'


def test_the_written_suboptions_document_every_entry_key_as_the_argument_spec_reads_it():
    documented = yaml.safe_load(lpm.DOCUMENTATION)['options']
    suboptions = documented['modules']['suboptions']
    spec = req.argument_spec()['modules']['options']
    assert list(suboptions) == list(req.ENTRY_KEYS)
    for key, option in suboptions.items():
        assert option['type'] == spec[key]['type'] == documented[key]['type'], key
        assert option.get('choices') == spec[key].get('choices'), key
        assert key in documented, key


def test_a_changed_table_changes_the_block():
    options = req.OPTIONS + (('extra', dict(type='bool'), False, True, False),)
    block = TOOL.suboptions(options)
    assert block.endswith('      extra:\n        description: See O(extra); default the top-level O(extra).\n'
                          '        type: bool\n')
