# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""One rule shape for what a .te writes (parse_te) and what sesearch prints (_setools.parse_rules)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_denials as denials
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_te as te_text
from ansible_collections.fleetsec.selinux.plugins.module_utils import _setools as st
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_rule import Names, Rule, Statement


@pytest.mark.parametrize('field, negated, names, text', [
    ('a_t', False, ('a_t',), 'a_t'),
    ('{  a_t   b_t }', False, ('a_t', 'b_t'), '{ a_t b_t }'),
    ('~ {a_t}', True, ('a_t',), '~{a_t}'),
    ('~a_t', True, ('a_t',), '~a_t'),
    ('*', False, ('*',), '*'),
])
def test_a_set_field_is_read_once_into_names(field, negated, names, text):
    parsed = Names.parse(field)
    assert (parsed.negated, parsed.names, str(parsed)) == (negated, names, text)
    assert parsed.wildcard == (negated or '*' in names)


def test_a_te_rule_and_the_sesearch_line_of_it_are_the_same_value():
    te = ('allow httpd_t httpd_content_type:file { getattr ioctl lock open read };\n'
          'type_transition initrc_t ntpd_exec_t:process ntpd_t;\n')
    from_te = [rule for statement in te_text.parse_te(te) for rule in statement.rules()]
    from_sesearch = st.parse_rules('allow httpd_t httpd_content_type:file { getattr ioctl lock open read };\n'
                                   'type_transition initrc_t ntpd_exec_t:process ntpd_t;\n')
    assert from_te == from_sesearch
    assert from_te[0] == Rule('allow', 'httpd_t', 'httpd_content_type', 'file',
                              frozenset(['getattr', 'ioctl', 'lock', 'open', 'read']), None)


def test_a_statement_expands_to_one_rule_per_source_target_and_class_in_written_order():
    statement, = te_text.parse_te('allow { a_t b_t } self:{ file dir } { read open };')
    assert [(r.source, r.target, r.tclass) for r in statement.rules()] == [
        ('a_t', 'self', 'file'), ('a_t', 'self', 'dir'), ('b_t', 'self', 'file'), ('b_t', 'self', 'dir')]
    assert set(r.perms for r in statement.rules()) == set([frozenset(['read', 'open'])])


@pytest.mark.parametrize('te, wildcard', [
    ('allow a_t b_t:file ~{ read };', 'permission'),
    ('allow a_t b_t:file *;', 'permission'),
    ('allow a_t ~b_t:file read;', 'type or class'),
    ('allow * b_t:file read;', 'type or class'),
    ('allow a_t b_t:file read;', None),
])
def test_a_wildcard_statement_writes_no_rule_of_its_own(te, wildcard):
    statement, = te_text.parse_te(te)
    assert statement.wildcard == wildcard
    assert bool(statement.rules()) == (wildcard is None)


def test_a_negated_permission_set_covers_no_denial():
    """``~{ read }`` grants every permission but read: coverage once read the names of the set and counted read as
    granted. A statement with a wildcard now counts for nothing (what it covers depends on the policy)."""
    allowed, calls = denials.granted(te_text.parse_te('allow a_t b_t:file ~{ read };'))
    assert allowed == {} and calls == set()
    line = ('type=AVC msg=audit(1.0:1): avc:  denied  { read } for  pid=1 comm="x" '
            'scontext=system_u:system_r:a_t:s0 tcontext=system_u:object_r:b_t:s0 tclass=file permissive=1')
    assert [d['permissions'] for d in denials.uncovered_denials([line], te_text.parse_te('allow a_t b_t:file ~{ read };'))
            ] == [['read']]


def test_statements_other_than_rules_write_no_rule():
    statements = te_text.parse_te('module x 1.0;\ntype myapp_t;\nfoo_read(a_t, b_t)\nallow a_t b_t file read;\n')
    assert [(s.kind, s.is_rule, s.rules()) for s in statements] == [
        ('type', False, ()), ('call', False, ()), ('malformed', False, ())]
    assert statements[1].name == 'foo_read' and statements[1].args == ('a_t', 'b_t')
    assert Statement.other('type', 'type x;').wildcard is None
