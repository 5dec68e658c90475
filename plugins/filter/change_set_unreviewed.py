# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: change_set_unreviewed
short_description: The denials of a host that a reviewed change set does not answer
version_added: 0.2.0
author: fleetsec.selinux maintainers (@fleetsec)
description:
  - Given a host's M(fleetsec.selinux.avc_collect) result, returns its canonical AVC lines whose permissions are not
    all among O(known) (what M(fleetsec.selinux.change_set) returns with
    O(fleetsec.selinux.change_set#module:state=approved)) - denials logged after the review. They are reported, never
    deployed; the next review takes them.
options:
  _input:
    description: The avc_collect result.
    type: dict
    required: true
  known:
    description: C(SOURCE TARGET:CLASS PERMISSION) entries the change set answers.
    type: list
    elements: str
    required: true
'''

EXAMPLES = r'''
- name: Tell what the reviewed change set does not answer
  ansible.builtin.debug:
    msg: "{{ fleetsec_avc | fleetsec.selinux.change_set_unreviewed(reviewed.known) }}"
'''

RETURN = r'''
_value:
  description: The canonical lines, in the order of the result.
  type: list
  elements: str
'''

from ansible_collections.fleetsec.selinux.plugins.module_utils._change_set import unreviewed


def change_set_unreviewed(avc, known):
    return unreviewed(avc, known)


class FilterModule(object):
    def filters(self):
        return {'change_set_unreviewed': change_set_unreviewed}
