# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CIL reader: statements, with dormant content (optional blocks, both branches of conditionals) flattened."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _cil as cil

# what the store's pp-to-CIL converter prints for a module with a conditional, an optional block and a .fc
CONVERTED = '''(type fsx_t)
(roletype object_r fsx_t)
(typepermissive fsx_t)
(boolean fsx_bool false)
(typeattributeset cil_gen_require ntpd_t)
(allow ntpd_t fsx_t (file (read write)))
(booleanif (fsx_bool)
    (true
        (allow ntpd_t shadow_t (file (write)))
    )
    (false ; a comment ( with a parenthesis
        (allow ntpd_t etc_t (file (write)))
    )
)
(optional fsx_optional_2
    (typeattributeset cil_gen_require nosuch_t)
    (allow ntpd_t nosuch_t (file (write)))
)
(filecon "/srv/fsx (data)(/.*)?" any (system_u object_r fsx_t ((s0) (s0))))
'''


def test_statements_flatten_dormant_content_and_say_where_it_sits():
    found = [(s.keyword, s.dormant, s.where) for s in cil.statements(CONVERTED)]
    assert ('allow', False, '') in found
    assert ('allow', True, 'booleanif (fsx_bool) true') in found
    assert ('allow', True, 'booleanif (fsx_bool) false') in found
    assert ('allow', True, 'optional fsx_optional_2') in found
    assert [s.text() for s in cil.statements(CONVERTED) if s.dormant and s.keyword == 'allow'] == [
        'allow ntpd_t shadow_t (file (write))', 'allow ntpd_t etc_t (file (write))',
        'allow ntpd_t nosuch_t (file (write))']


def test_quoted_strings_keep_spaces_and_parentheses():
    filecon = [s for s in cil.statements(CONVERTED) if s.keyword == 'filecon'][0]
    assert cil.unquote(filecon.args[0]) == '/srv/fsx (data)(/.*)?'
    assert filecon.args[2] == ['system_u', 'object_r', 'fsx_t', [['s0'], ['s0']]]


def test_nested_optional_in_a_conditional_stays_dormant():
    text = '(optional a (booleanif b (true (optional c (userrole staff_u sysadm_r)))))'
    (stmt,) = cil.statements(text)
    assert stmt.keyword == 'userrole' and stmt.dormant and stmt.where == 'optional a booleanif b true optional c'


def test_a_bare_word_is_a_statement_of_its_own_kind():
    assert [(s.keyword, s.args) for s in cil.statements('CIL-A')] == [('?', ['CIL-A'])]


@pytest.mark.parametrize('text, message', [
    ('(allow a b (file (read))', "unbalanced '('"),
    ('(allow a b (file (read))))', "unbalanced ')'"),
    ('(filecon "/x any ())', 'unterminated string'),
])
def test_malformed_text_is_an_error_with_the_reason(text, message):
    with pytest.raises(cil.CilSyntaxError) as info:
        cil.statements(text)
    assert message in info.value.msg
