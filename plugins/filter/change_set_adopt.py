# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: change_set_adopt
short_description: A change set plan that reproduces the local SELinux customisations hosts have
version_added: 0.2.0
author: fleetsec.selinux maintainers (@fleetsec)
description:
  - Reads, for each host of O(hosts), the result of M(fleetsec.selinux.customisations_info) kept in the host variable
    O(var), and plans the remedies that reproduce each setting (boolean, port label, file-context rule,
    equivalence, login mapping) with the hosts that have it; the modules that are not the policy package's own are
    listed (C(local_modules)), not deployed.
  - Give the plan to M(fleetsec.selinux.change_set) with O(fleetsec.selinux.change_set#module:state=present) to write
    a change set; deploy it with the playbook C(fleetsec.selinux.enforce) (C(fleetsec_remedy_hosts=all) gives every
    setting to every host).
  - Everything a host sent is checked with the grammar of M(fleetsec.selinux.remedy); a bad value fails with the
    host and the field named, and nothing is planned.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The hosts whose customisations are adopted.
    type: list
    elements: str
    required: true
  var:
    description: The host variable holding the customisations_info result.
    type: str
    default: fleetsec_customisations
'''

EXAMPLES = r'''
- name: Plan the change set that reproduces the customisations of the fleet
  ansible.builtin.set_fact:
    plan: "{{ hostvars | fleetsec.selinux.change_set_adopt(hosts=ansible_play_hosts) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: C(remedies) (each with C(kind), C(change), C(command), C(reason), C(hosts)), C(local_modules) (each
    with C(host), C(name), C(priority), C(kind), C(enabled), C(checksum)), and empty C(denials), C(held), C(lines).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetsec.selinux.plugins.module_utils._customisations import CustomisationError, adopt_plan


def change_set_adopt(hostvars, hosts, var='fleetsec_customisations'):
    try:
        return adopt_plan(hostvars, list(hosts), var)
    except (CustomisationError, TypeError) as err:
        raise AnsibleFilterError('change_set_adopt: %s' % err)


class FilterModule(object):
    def filters(self):
        return {'change_set_adopt': change_set_adopt}
