# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: md_escape
short_description: Make any value safe to print in a Markdown table cell
version_added: 0.2.0
author: fleetsec.selinux maintainers (@fleetsec)
description:
  - Returns the value as one line of text that Markdown renders literally - inside a table cell too - and that
    injects no HTML into a viewer that renders it.
  - Line breaks become spaces; C(|) and the characters Markdown reads as markup (C(\), C(`), C(*), C([), C(]),
    C(#), and C(_) at the edge of a word; inside one, as in C(httpd_t), it is literal) are backslash-escaped; C(&),
    C(<) and C(>) become HTML entities.
  - The fleet report prints every value a host sent (process and file names chosen by any local user included)
    through it.
options:
  _input:
    description: The value; not text is converted with C(str()) first, V(null) gives an empty text.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: A table row whose cells are safe whatever the host sent
  ansible.builtin.debug:
    msg: "| {{ host_name | fleetsec.selinux.md_escape }} | {{ path | fleetsec.selinux.md_escape }} |"
'''

RETURN = r'''
_value:
  description: The escaped text, one line.
  type: str
'''

_ENTITIES = (('&', '&amp;'), ('<', '&lt;'), ('>', '&gt;'))
_MARKUP = '\\`*[]#|'


def _escaped(text, index):
    char = text[index]
    if char in _MARKUP:
        return True
    if char == '_':  # inside a word (httpd_t) an underscore is literal in CommonMark; at its edges it is emphasis
        before = text[index - 1] if index else ' '
        after = text[index + 1] if index + 1 < len(text) else ' '
        return not (before.isalnum() and after.isalnum())
    return False


def md_escape(value):
    text = '' if value is None else (value if isinstance(value, str) else str(value))
    text = ' '.join(text.replace('\r\n', '\n').replace('\r', '\n').split('\n'))
    for char, entity in _ENTITIES:
        text = text.replace(char, entity)
    return ''.join('\\' + text[i] if _escaped(text, i) else text[i] for i in range(len(text)))


class FilterModule(object):
    def filters(self):
        return {'md_escape': md_escape}
