#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: change_set
short_description: Write a reviewed SELinux change set, or read one back bound to the digest a reviewer approved
version_added: 0.2.0
description:
  - A change set is one YAML file per local policy module (C(NAME.changes.yml)) holding everything one deployment
    does - the module's text and sha256, the dangerous-rule findings of the review, each remedy (relabel, boolean,
    port label) with the command it stands for, its reason, the hosts it applies to and the denials it answers,
    the denials the module answers with the hosts that reported them and review flags, the denials held back, the
    policy it was judged against and the acknowledgements the review gave - and its C(digest), C(sha256:) over the
    canonical JSON of all of it.
  - O(state=present) writes it on the controller (the review run of the C(rollout) playbook does), only when its
    content changes. O(state=approved) reads it back for a deployment and refuses, with nothing deployed, a file
    whose content no longer matches the digest it carries (edited after it was written) or whose digest is not
    O(digest) (what the reviewer approved). Every field is checked for its type before it is returned.
  - Runs on the controller only; the hosts are not contacted.
author:
  - fleetsec.selinux maintainers (@fleetsec)
options:
  state:
    description: V(present) writes the change set; V(approved) reads and checks it.
    type: str
    choices: [present, approved]
    default: approved
  path:
    description: The change set file on the controller. A relative path is relative to the playbook.
    type: path
    required: true
  digest:
    description: With O(state=approved), the digest the reviewer approved (C(sha256:...), printed by the review run).
    type: str
  name:
    description: With O(state=present), the module's name.
    type: str
  plan:
    description:
      - With O(state=present), what the fleet asks for - the result of the P(fleetsec.selinux.change_set_plan#filter)
        filter (C(denials), C(held), C(remedies)).
    type: dict
  module:
    description:
      - With O(state=present), the result of M(fleetsec.selinux.local_policy_module) with
        O(fleetsec.selinux.local_policy_module#module:state=generated) (its C(te), C(rules), C(checksum),
        C(dangerous)); omit it when no denial needs a rule.
    type: dict
  policy:
    description: With O(state=present), what the module was judged against (host, policy name, binary policy).
    type: dict
  acknowledged:
    description:
      - With O(state=present), the acknowledgements of the review - C(module) (the
        O(fleetsec.selinux.local_policy_module#module:allow_dangerous) entries) and C(remedies) (the
        O(fleetsec.selinux.remedy#module:allow_dangerous) entries). A deployment passes exactly these.
    type: dict
extends_documentation_fragment:
  - fleetsec.selinux.attributes
  - fleetsec.selinux.attributes.platform
attributes:
  check_mode:
    support: full
    details:
      - O(state=present) tells whether the file would change and writes nothing.
  diff_mode:
    support: full
    details:
      - O(state=present) shows the file before and after.
  platform:
    platforms: posix
    details:
      - The controller.
'''

EXAMPLES = r'''
- name: Read the reviewed change set back, bound to the digest that was approved
  fleetsec.selinux.change_set:
    path: "{{ playbook_dir }}/policy/acme_app.changes.yml"
    digest: "{{ approve }}"
  run_once: true
  register: reviewed

- name: Apply this host's reviewed remedies
  fleetsec.selinux.remedy:
    booleans: "{{ reviewed.remedies[inventory_hostname].booleans | default([]) }}"
    ports: "{{ reviewed.remedies[inventory_hostname].ports | default([]) }}"
    restorecon: "{{ reviewed.remedies[inventory_hostname].restorecon | default([]) }}"
    allow_dangerous: "{{ reviewed.acknowledged.remedies }}"
'''

RETURN = r'''
path:
  description: The change set file.
  type: str
  returned: always
digest:
  description: Its digest.
  type: str
  returned: always
  sample: sha256:5b0f2c3a4a1e0f4c2b9d6e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b
change_set:
  description: With O(state=present), the change set as written.
  type: dict
  returned: when O(state=present)
name:
  description: With O(state=approved), the module's name.
  type: str
  returned: when O(state=approved)
te:
  description: With O(state=approved), the reviewed module text; null when the change set needs no module.
  type: str
  returned: when O(state=approved)
remedies:
  description:
    - With O(state=approved), per host the arguments of M(fleetsec.selinux.remedy) that host's reviewed remedies
      need (C(booleans), C(ports), C(restorecon)).
  type: dict
  returned: when O(state=approved)
all_remedies:
  description: With O(state=approved), the same for every remedy of the change set (for a host it does not name).
  type: dict
  returned: when O(state=approved)
acknowledged:
  description: With O(state=approved), the review's acknowledgements (C(module), C(remedies)).
  type: dict
  returned: when O(state=approved)
known:
  description:
    - With O(state=approved), every denial the change set answers or holds, one permission each
      (C(SOURCE TARGET:CLASS PERMISSION)); a denial a host logs that is not among them is new since the review.
  type: list
  elements: str
  returned: when O(state=approved)
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError, finish


def run(module):
    raise FleetsecError('fleetsec.selinux.change_set runs on the controller, through its action plugin.')


def main():
    finish(AnsibleModule(argument_spec=dict(
        state=dict(type='str', choices=['present', 'approved'], default='approved'),
        path=dict(type='path', required=True),
        digest=dict(type='str'),
        name=dict(type='str'),
        plan=dict(type='dict'),
        module=dict(type='dict'),
        policy=dict(type='dict'),
        acknowledged=dict(type='dict'),
    ), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
