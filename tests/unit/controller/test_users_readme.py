# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The README the collection ships is the users': ``tools/users-readme.py`` leaves out the parts README.md marks for
developers, and refuses a mark left open or closed twice (a typing error must not ship developer text)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from fleetsec_testlib.tools import REPO, load_tool

TOOL = load_tool('users-readme.py')


def test_a_developer_part_is_left_out_with_its_marks():
    text = ('# t\n\n<!-- developer:begin -->\n```sh\nmake test\n```\n<!-- developer:end -->\n\nUse it.\n\n'
            '<!-- developer:begin -->\n## Development\nmake demo\n<!-- developer:end -->\n')
    assert TOOL.users_readme(text) == '# t\n\nUse it.\n\n'


@pytest.mark.parametrize('text, message', [
    ('a\n<!-- developer:begin -->\nmake test\n', 'never closed'),
    ('a\n<!-- developer:end -->\n', 'not opened'),
    ('<!-- developer:begin -->\n<!-- developer:begin -->\n<!-- developer:end -->\n', 'opened inside'),
])
def test_a_mark_left_open_or_stray_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        TOOL.users_readme(text)


def test_the_repository_readme_gives_a_users_readme_without_developer_commands():
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as handle:
        text = handle.read()
    shipped = TOOL.users_readme(text)
    assert 'make test' in text and 'docs/dev' in text
    for developer in ('make test', 'make demo', 'docs/dev', 'timings:', 'tools/'):
        assert developer not in shipped, developer
    assert '## Using it' in shipped and '## Installing' in shipped
