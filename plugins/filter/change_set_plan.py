# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: change_set_plan
short_description: What the fleet's triaged denials ask for - the module's denials with their hosts, and the remedies
version_added: 0.2.0
author: fleetsec.selinux maintainers (@fleetsec)
description:
  - Reads, for each host of O(hosts), the result of M(fleetsec.selinux.avc_collect) (with
    O(fleetsec.selinux.avc_collect#module:triage=true) for remedies) kept in the host variable O(avc_var), and the
    denials accepted by earlier reviews (O(record)).
  - Groups the denials a module must answer by rule (source type, target type, class), with the hosts that reported
    each, and flags for the review - C(single_host) (only one host of a fleet reported it, and it is not in
    O(canary)) and C(login_domain) (its source is a login domain - what a person did in a session).
  - Holds back (reports, and leaves out of the module's input) a denial reported by fewer than O(min_hosts) hosts,
    none of them in O(canary).
  - Groups the remedies (relabel, boolean, port label) by change, with the hosts, reasons, commands and denials of
    each.
  - Everything a host sent is checked for its type; a bad value fails with the host and the field named.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The hosts whose denials count (such as C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  record:
    description: Canonical AVC lines accepted by earlier reviews (the C(NAME.avc) record).
    type: list
    elements: str
    default: []
  canary:
    description: The canary hosts.
    type: list
    elements: str
    default: []
  min_hosts:
    description: The fewest hosts that must report a denial outside O(canary) for it to enter the module.
    type: int
    default: 1
  login_domains:
    description: Source domains that are login domains.
    type: list
    elements: str
    default: [auditadm_t, dbadm_t, guest_t, logadm_t, secadm_t, staff_t, sysadm_t, unconfined_t, user_t, webadm_t, xguest_t]
  avc_var:
    description: The host variable holding the avc_collect result.
    type: str
    default: fleetsec_avc
'''

EXAMPLES = r'''
- name: Plan the change set of the fleet
  ansible.builtin.set_fact:
    plan: "{{ hostvars | fleetsec.selinux.change_set_plan(hosts=ansible_play_hosts, canary=groups.canary, min_hosts=2) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: C(lines) (the module's input), C(denials) and C(held) (each with C(rule), C(hosts), C(flags),
    C(lines)), C(remedies) (each with C(kind), C(change), C(command), C(reason), C(hosts), C(denials)).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetsec.selinux.plugins.module_utils._change_set import (
    LOGIN_DOMAINS, ChangeSetError, plan,
)


def change_set_plan(hostvars, hosts, record=None, canary=None, min_hosts=1, login_domains=None,
                    avc_var='fleetsec_avc'):
    try:
        return plan(hostvars, list(hosts), list(record or []), list(canary or []), min_hosts,
                    list(LOGIN_DOMAINS if login_domains is None else login_domains), avc_var)
    except (ChangeSetError, TypeError) as err:
        raise AnsibleFilterError('change_set_plan: %s' % err)


class FilterModule(object):
    def filters(self):
        return {'change_set_plan': change_set_plan}
