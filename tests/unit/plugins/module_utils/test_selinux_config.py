# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_config as config


EL9 = (
    "\n"
    "# This file controls the state of SELinux on the system.\n"
    "# SELINUX= can take one of these three values:\n"
    "#     enforcing - SELinux security policy is enforced.\n"
    "#     permissive - SELinux prints warnings instead of enforcing.\n"
    "#     disabled - No SELinux policy is loaded.\n"
    "# See also:\n"
    "# https://docs.fedoraproject.org/en-US/quick-docs/getting-started-with-selinux/#getting-started-with-selinux-selinux-states-and-modes\n"
    "SELINUX=enforcing\n"
    "# SELINUXTYPE= can take one of these three values:\n"
    "#     targeted - Targeted processes are protected,\n"
    "#     minimum - Modification of targeted policy. Only selected processes are protected.\n"
    "#     mls - Multi Level Security protection.\n"
    "SELINUXTYPE=targeted\n"
    "\n"
    "\n"
)

DEBIAN = (
    "# This file controls the state of SELinux on the system.\n"
    "SELINUX=permissive\n"
    "SELINUXTYPE=default\n"
    "\n"
    "# SETLOCALDEFS= Check local definition changes\n"
    "SETLOCALDEFS=0\n"
)


@pytest.mark.parametrize('text, mode, policy', [
    (EL9, 'enforcing', 'targeted'),
    (DEBIAN, 'permissive', 'default'),
    ('', None, None),
    ('# only comments\n#SELINUX=enforcing\n', None, None),
    ('SELINUX = Permissive\r\nSELINUXTYPE =  mls  \r\n', 'permissive', 'mls'),
    ('SELINUX="enforcing"\nSELINUXTYPE=\'targeted\'\n', 'enforcing', 'targeted'),
    ('  SELINUX=disabled   # was enforcing\n', 'disabled', None),
    ('SELINUX=permissive\nSELINUX=enforcing\nSELINUXTYPE=a\nSELINUXTYPE=b\n', 'permissive', 'b'),
    ('SELINUXTYPE=targeted\n', None, 'targeted'),
    ('garbage line without equals\nSELINUX=enforcing', 'enforcing', None),
])
def test_read_config_is_tolerant(text, mode, policy):
    assert config.read_config(text) == {'mode': mode, 'policy': policy}


def test_read_config_of_missing_file():
    assert config.read_config(None) == {'mode': None, 'policy': None}


def test_rewrite_changes_only_the_mode_line():
    after = config.render(EL9, mode='permissive')
    assert after == EL9.replace('SELINUX=enforcing\n', 'SELINUX=permissive\n')
    assert config.read_config(after) == {'mode': 'permissive', 'policy': 'targeted'}


def test_rewrite_policy_keeps_unrelated_lines():
    after = config.render(DEBIAN, mode='permissive', policy='mls')
    assert after == DEBIAN.replace('SELINUXTYPE=default', 'SELINUXTYPE=mls')


def test_already_right_text_is_returned_unchanged():
    assert config.render(EL9, mode='enforcing', policy='targeted') == EL9
    assert config.render(DEBIAN, mode=None, policy=None) == DEBIAN


def test_crlf_is_kept():
    text = '# comment\r\nSELINUX=enforcing\r\nSELINUXTYPE=targeted\r\n'
    after = config.render(text, mode='disabled')
    assert after == '# comment\r\nSELINUX=disabled\r\nSELINUXTYPE=targeted\r\n'


def test_missing_key_is_appended_with_the_file_line_ending():
    assert config.render('# c\r\nSELINUXTYPE=targeted\r\n', mode='permissive') == \
        '# c\r\nSELINUXTYPE=targeted\r\nSELINUX=permissive\r\n'
    # a last line without newline gets one before the appended key
    assert config.render('SELINUXTYPE=default', mode='enforcing') == 'SELINUXTYPE=default\nSELINUX=enforcing\n'
    assert config.render('', mode='enforcing') == 'SELINUX=enforcing\n'


@pytest.mark.parametrize('line', [
    'SELINUX = enforcing',
    'SELINUX="enforcing"',
    "SELINUX='enforcing'",
    '  SELINUX=enforcing',
    'SELINUX=Enforcing',
    'SELINUX=enforcing  ',
])
def test_non_canonical_line_with_right_value_is_rewritten_canonically(line):
    # libselinux only reads 'SELINUX=' at column 0 and compares the value literally
    text = '# keep me\n%s\nSELINUXTYPE=targeted\n' % line
    assert config.read_config(text)['mode'] == 'enforcing'
    assert config.needs_rewrite(text, 'SELINUX', 'enforcing')
    assert config.render(text, mode='enforcing') == '# keep me\nSELINUX=enforcing\nSELINUXTYPE=targeted\n'


def test_inline_comment_is_kept_on_its_own_line():
    text = 'SELINUX=enforcing # set by kickstart\nSELINUXTYPE=targeted\n'
    after = config.render(text, mode='permissive')
    assert after == '# set by kickstart\nSELINUX=permissive\nSELINUXTYPE=targeted\n'
    assert config.render(after, mode='permissive') == after


def test_duplicate_lines_are_all_set():
    text = 'SELINUX=permissive\n# later override\nSELINUX = disabled\n'
    after = config.render(text, mode='enforcing')
    assert after == 'SELINUX=enforcing\n# later override\nSELINUX=enforcing\n'


def test_commented_key_is_not_touched():
    text = '#SELINUX=enforcing\nSELINUX=disabled\n'
    assert config.render(text, mode='enforcing') == '#SELINUX=enforcing\nSELINUX=enforcing\n'


def test_other_keys_with_common_prefix_are_not_confused():
    text = 'SELINUXTYPE=targeted\nSELINUX_EXTRA=1\nSELINUX=enforcing\n'
    assert config.read_config(text) == {'mode': 'enforcing', 'policy': 'targeted'}
    assert config.render(text, mode='permissive') == 'SELINUXTYPE=targeted\nSELINUX_EXTRA=1\nSELINUX=permissive\n'


def test_rewrite_is_idempotent_on_odd_input():
    text = u'\ufeff# bom\r\n  SELINUX = "Enforcing" # x\r\nSELINUXTYPE =mls\r\nfoo\r\n'
    once = config.render(text, mode='permissive', policy='targeted')
    assert config.render(once, mode='permissive', policy='targeted') == once
    assert config.read_config(once) == {'mode': 'permissive', 'policy': 'targeted'}
    assert once.endswith('foo\r\n') and once.startswith(u'\ufeff# bom\r\n')


def test_template_is_read_back():
    text = config.template('permissive', 'default')
    assert config.read_config(text) == {'mode': 'permissive', 'policy': 'default'}
    assert not config.needs_rewrite(text, 'SELINUX', 'permissive')
    assert text.endswith('\n') and '\r' not in text


def test_diff_headers():
    diff = config.make_diff('/etc/selinux/config', None, 'SELINUX=enforcing\n')
    assert diff == {'before': '', 'after': 'SELINUX=enforcing\n',
                    'before_header': '/etc/selinux/config (absent)', 'after_header': '/etc/selinux/config'}
    diff = config.make_diff('/c', 'a\n', 'b\n')
    assert diff['before_header'] == '/c' and diff['before'] == 'a\n'


def test_policy_name_pattern():
    for good in ('targeted', 'default', 'mls', 'minimum', 'my-policy.v2'):
        assert config.POLICY_NAME_RE.match(good)
    for bad in ('', '../etc', 'a b', '-x', 'a/b'):
        assert not config.POLICY_NAME_RE.match(bad)


# ------------------------------------------------------------------ bytes that are not UTF-8

NOT_UTF8 = b'# caf\xe9\r\nSELINUX = enforcing # r\xe9gl\xe9\nSELINUXTYPE=targeted\nOTHER=\xff\xfe\n\xff'


def test_undecodable_bytes_outside_the_values_survive_a_rewrite():
    text = config.decode(NOT_UTF8)
    assert config.read_config(text) == {'mode': 'enforcing', 'policy': 'targeted'}
    assert config.undecodable(text) is None
    assert config.encode(text) == NOT_UTF8
    after = config.render(text, mode='permissive')
    assert config.encode(after) == (b'# caf\xe9\r\n# r\xe9gl\xe9\nSELINUX=permissive\nSELINUXTYPE=targeted\n'
                                    b'OTHER=\xff\xfe\n\xff')


@pytest.mark.parametrize('data, index, key, shown', [
    (b'SELINUX=enforcing\nSELINUXTYPE=targ\xffeted\n', 1, 'SELINUXTYPE', 'targ\\xffeted'),
    (b'# \xff\nSELINUX = "enf\xc3orcing" # x\n', 1, 'SELINUX', 'enf\\xc3orcing'),
    (b'SELINUXTYPE=a\\b\xff\nSELINUXTYPE=targeted\n', 0, 'SELINUXTYPE', 'a\\x5cb\\xff'),  # the ignored one too
])
def test_undecodable_value_is_found(data, index, key, shown):
    found = config.undecodable(config.decode(data))
    assert (found.index, found.key, config.escape(found.value)) == (index, key, shown)


def test_valid_utf8_is_not_undecodable():
    data = u'# café\nSELINUX=enforcing\nSELINUXTYPE=tärgeted\n'.encode('utf-8')
    text = config.decode(data)
    assert config.encode(text) == data and config.undecodable(text) is None
    assert config.printable(text) == u'# café\nSELINUX=enforcing\nSELINUXTYPE=tärgeted\n'


def test_diff_shows_undecodable_bytes_as_replacement_characters():
    diff = config.make_diff('/c', config.decode(b'A=\xff\n'), config.decode(b'A=\xff\nSELINUX=enforcing\n'))
    assert diff['before'] == u'A=\ufffd\n' and diff['after'] == u'A=\ufffd\nSELINUX=enforcing\n'
    assert config.make_diff('/c', None, 'x\n')['before'] == u''
