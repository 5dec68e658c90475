#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: customisations_info
short_description: Read a host's local SELinux customisations, in the shape that reproduces them
version_added: 0.2.0
description:
  - Reads what an administrator (or a tool) changed on the host beyond the installed policy - boolean settings, port
    labels, file-context rules, file-context equivalences and login mappings (C(semanage export)), and the modules
    that are not the policy package's own (C(semodule -lfull) - another priority than 100, or disabled).
  - Changes nothing; runs in check mode too.
  - RV(customisations) has the shape of the options of M(fleetsec.selinux.remedy) - given back to it on a fresh host,
    it reproduces them (one transaction). The playbook C(fleetsec.selinux.adopt) turns the customisations of a fleet
    into a change set to review and deploy with C(fleetsec.selinux.enforce), and the fleet report lists them per
    setting with the hosts that lack each (drift).
author:
  - fleetsec.selinux maintainers (@fleetsec)
options: {}
requirements:
  - semanage (policycoreutils-python-utils on EL8+ and Debian, policycoreutils-python on EL7)
  - semodule (policycoreutils)
extends_documentation_fragment:
  - fleetsec.selinux.attributes
  - fleetsec.selinux.attributes.platform
  - fleetsec.selinux.attributes.idempotent
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: linux
  idempotent:
    support: full
'''

EXAMPLES = r'''
- name: Read the local customisations
  fleetsec.selinux.customisations_info:
  register: local

- name: Give a fresh host the same settings (one transaction)
  fleetsec.selinux.remedy:
    booleans: "{{ local.customisations.booleans }}"
    ports: "{{ local.customisations.ports }}"
    fcontexts: "{{ local.customisations.fcontexts }}"
    equivalences: "{{ local.customisations.equivalences }}"
    logins: "{{ local.customisations.logins }}"
  delegate_to: fresh.example.com
'''

RETURN = r'''
customisations:
  description: The local customisations, as the options of M(fleetsec.selinux.remedy).
  returned: always
  type: dict
  contains:
    booleans:
      description: Boolean settings.
      type: list
      elements: dict
      sample: [{name: httpd_can_network_connect, state: true}]
    ports:
      description: Port labels.
      type: list
      elements: dict
      sample: [{ports: '8089', proto: tcp, setype: http_port_t}]
    fcontexts:
      description: File-context rules.
      type: list
      elements: dict
      sample: [{target: '/srv/app(/.*)?', ftype: a, setype: httpd_sys_content_t}]
    equivalences:
      description: File-context equivalences (O(fleetsec.selinux.remedy#module:equivalences[].path) is labelled as
        O(fleetsec.selinux.remedy#module:equivalences[].equal) is).
      type: list
      elements: dict
      sample: [{path: /srv/www, equal: /var/www}]
    logins:
      description: Login mappings.
      type: list
      elements: dict
      sample: [{login: '%admins', seuser: staff_u, range: s0-s0:c0.c1023}]
modules:
  description: The modules that are not the policy package's own - at another priority than 100 (400 is what
    C(semodule -i) gives, 200 what packages such as container-selinux use), or disabled.
  returned: always
  type: list
  elements: dict
  sample: [{name: acme_app, priority: 400, kind: cil, enabled: true, checksum: 'sha256:...'}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._customisations import read
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner, finish


def run(module):
    found = read(module, Runner(module, CATALOGUE))
    return dict(found, changed=False), []


def main():
    finish(AnsibleModule(argument_spec={}, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
