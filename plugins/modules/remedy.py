#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: remedy
short_description: Apply least-privilege SELinux remedies (booleans, ports, file contexts, logins, relabel) in one transaction
version_added: 0.1.0
description:
  - Sets booleans (persistent and running), port labels, file-context rules, file-context equivalences and login
    mappings - and removes the local ones it is asked to - in ONE C(semanage import)
    transaction, so the policy is rebuilt once whatever their number, then runs C(restorecon) on exactly the paths
    given (and the paths of O(denials) whose remedy is a relabel).
  - Takes the remedies that M(fleetsec.selinux.avc_collect) chose with O(fleetsec.selinux.avc_collect#module:triage=true)
    (O(denials)), explicit lists (O(booleans), O(ports), O(fcontexts), O(restorecon)), or both. Denials whose remedy
    is C(allow) are left alone; they are for M(fleetsec.selinux.local_policy_module).
  - Reads the current state first (C(semanage export) for local customisations, C(seinfo) on the binary policy for
    boolean values, port labels and types, the policy's C(file_contexts), C(getsebool -a) and C(restorecon -n -v)
    when SELinux is active) and changes only what differs; a second run changes nothing.
  - Every value is checked before any tool runs, in check mode too. Refused with nothing changed - an unknown
    boolean, a type that is not a port type or a file type of the policy, a port that the policy gives to another
    service, a file-context expression the policy itself defines, an invalid expression, a path that does not
    exist.
  - Refused until acknowledged in O(allow_dangerous) - setting a boolean so that it turns on rules that hand out
    power, labelling a port below 1024, a file-context rule whose expression matches a system path (C(/), C(/etc),
    C(/etc/shadow), C(/usr/bin), C(/root), C(/home), C(/tmp), ...).
  - A boolean is judged by the rules it turns on, never by its name - the policy's rules it guards (C(sesearch -A -b
    NAME)) in the branch the new value selects, every rule of an expression that also names other booleans, judged
    as M(fleetsec.selinux.local_policy_module) judges a module's rules (executable memory, dangerous capabilities,
    the security server, mapping the lowest addresses, loading kernel modules, entering a privileged domain, writing
    what the policy protects). Turning C(httpd_execmem) on, or C(deny_execmem) or C(secure_mode_insmod) off, is
    refused that way.
  - Does not use M(ansible.posix.seboolean), M(community.general.seport) or M(community.general.sefcontext) - they
    need the libselinux and libsemanage Python bindings in the interpreter Ansible uses and commit (rebuild the
    policy) once per item; this module needs only the C(semanage) command and commits once.
author:
  - fleetsec.selinux maintainers (@fleetsec)
options:
  denials:
    description:
      - The RV(fleetsec.selinux.avc_collect#module:denials) of M(fleetsec.selinux.avc_collect) run with
        O(fleetsec.selinux.avc_collect#module:triage=true). Each C(relabel) remedy adds its path to O(restorecon), each
        C(fcontext) remedy adds its rule to O(fcontexts) and its tree to O(restorecon) (relabelled recursively),
        each C(boolean) remedy turns its booleans on, each C(port) remedy labels its port with its proposed type.
      - An entry without a C(remedy) is refused.
    type: list
    elements: dict
    default: []
  booleans:
    description: Booleans to set, persistently and (when SELinux is active) in the running policy.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Boolean name.
        type: str
        required: true
      state:
        description:
          - The value (V(true) or V(false), or any of Ansible's boolean spellings), or V(absent) - the local setting
            goes and the boolean returns to the value the policy's module declares (read from the store), in the
            running policy too.
          - C(semanage) has no per-boolean delete, so a removal is C(boolean -D) followed by every other local
            boolean setting again, in the same single transaction.
          - Removing a setting whose policy default turns on rules that hand out power (such as a C(deny_*) boolean
            that defaults to off) is refused unless acknowledged in O(allow_dangerous).
        type: raw
        required: true
  ports:
    description: Port labels (C(semanage port -a/-m), and C(-d) for O(ports[].state=absent)).
    type: list
    elements: dict
    default: []
    suboptions:
      ports:
        description: A port or a range C(LOW-HIGH).
        type: str
        required: true
      proto:
        description: Protocol.
        type: str
        required: true
        choices: [tcp, udp, sctp, dccp]
      setype:
        description: Port type (a type with the C(port_type) attribute). Required when O(ports[].state=present).
        type: str
      state:
        description:
          - V(absent) removes the local label of exactly this port or range (one this collection or an administrator
            added); a label the policy itself gives cannot be removed and is left as it is, with a warning.
        type: str
        choices: [present, absent]
        default: present
        version_added: 0.2.0
  fcontexts:
    description: File-context rules (C(semanage fcontext -a/-m), and C(-d) for O(fcontexts[].state=absent)). The paths
      they cover are relabelled only when listed in O(restorecon).
    type: list
    elements: dict
    default: []
    suboptions:
      target:
        description: Absolute path regular expression, such as C(/srv/app(/.*\)?).
        type: str
        required: true
      ftype:
        description: File type the rule applies to (C(a) all, C(f) regular file, C(d) directory, C(c), C(b), C(s),
          C(l), C(p)).
        type: str
        default: a
        choices: [a, f, d, c, b, s, l, p]
      setype:
        description: File type (a type with the C(file_type) attribute). Required when O(fcontexts[].state=present).
        type: str
      state:
        description:
          - V(absent) removes the local rule of exactly this expression and file type; list the paths it covered in
            O(restorecon) to give them back the policy's label in the same run. A rule of the policy itself cannot be
            removed and is left as it is, with a warning.
        type: str
        choices: [present, absent]
        default: present
        version_added: 0.2.0
  equivalences:
    description:
      - File-context equivalences (C(semanage fcontext -a -e EQUAL PATH) - O(equivalences[].path) is labelled as
        O(equivalences[].equal) is, such as a site in C(/srv/www) labelled like C(/var/www)). Relabel the tree with
        O(restorecon) and O(restorecon_recursive).
      - Judged before anything runs as file-context rules for the tree of O(equivalences[].path) with each type the
        policy gives below O(equivalences[].equal) - refused unless acknowledged (by O(equivalences[].path) in
        O(allow_dangerous)) when that reaches a system path or gives out a protected type such as C(shadow_t).
      - C(semanage) writes equivalences to C(file_contexts.subs) itself, outside its transaction; the module keeps the
        file and puts it back if the transaction fails.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      path:
        description: The tree that gets the labels, a plain absolute path (no regular expression, no trailing C(/)).
        type: str
        required: true
      equal:
        description: The tree of the policy whose labels it gets. Required when O(equivalences[].state=present).
        type: str
      state:
        description: V(absent) removes the local equivalence of O(equivalences[].path).
        type: str
        choices: [present, absent]
        default: present
  logins:
    description:
      - Login mappings (C(semanage login)) - which SELinux user a Linux user or C(%group) logs in as.
      - A mapping to an SELinux user with a role beyond C(user_r), C(guest_r) and C(xguest_r) (C(staff_u),
        C(sysadm_u), C(unconfined_u), C(system_u), C(root)) hands out power and is refused unless acknowledged (by the
        login in O(allow_dangerous)); so is removing a mapping when C(__default__) maps to such a user.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      login:
        description: A Linux user name, C(%group) or C(__default__) (which can be changed, never removed).
        type: str
        required: true
      seuser:
        description: An SELinux user of the policy. Required when O(logins[].state=present).
        type: str
      range:
        description: MLS/MCS range, such as C(s0) or C(s0-s0:c0.c1023); the user's default when not given.
        type: str
      state:
        description: V(absent) removes the local mapping of O(logins[].login).
        type: str
        choices: [present, absent]
        default: present
  restorecon:
    description:
      - Paths to give the label the file contexts say (C(restorecon -v)), after the transaction. Only paths whose
        label differs are changed. Must exist.
      - Where SELinux is not active (disabled, or no policy loaded) nothing is relabelled and a warning says so.
    type: list
    elements: path
    default: []
  restorecon_recursive:
    description: Relabel the trees below the paths of O(restorecon) too (C(restorecon -R)).
    type: bool
    default: false
  allow_dangerous:
    description:
      - Acknowledged changes that hand out power - boolean names, ports as C(PROTO/PORT) or C(PROTO/LOW-HIGH) (such as
        C(tcp/80)), file-context expressions exactly as given, equivalence paths, login names.
      - A file-context rule is judged as M(fleetsec.selinux.local_policy_module) judges a module's C(filecon) - by the
        tree its expression can reach as libselinux anchors it, the labels C(matchpathcon) gives that tree today and
        the protected families read from the policy's attributes; an expression whose first path component is not
        literal is refused unless acknowledged. See C(docs/local_policy_module.md).
      - The same values as M(fleetsec.selinux.local_policy_module)'s O(fleetsec.selinux.local_policy_module#module:allow_dangerous)
        - a list of the exact strings a refusal names in RV(acknowledge) (compared with whitespace normalised; a
        comma-separated string is ONE entry, since a file-context expression may hold a comma), or V(true) to
        acknowledge every change; V(false) or V([]) acknowledges nothing. An entry that is not a string is an error.
    type: raw
    default: []
requirements:
  - semanage (policycoreutils-python-utils on EL8+ and Debian, policycoreutils-python on EL7)
  - seinfo and sesearch (setools-console on EL, setools on Debian)
  - setsebool (policycoreutils), to set the running value of a boolean whose local setting is removed
  - matchpathcon (libselinux-utils on EL, selinux-utils on Debian), to judge file-context rules
  - restorecon (policycoreutils), for O(restorecon)
notes:
  - One C(semanage import) is one libsemanage transaction - all of its changes are committed or none.
  - When that transaction fails, nothing is applied and the entry that breaks it is looked for by halving the batch,
    in trials that are never committed (C(semanage import -N) whose last line is one semanage refuses, so its
    transaction ends before the commit) - about log2(n) trials for n entries. The failure names the entry (its index in
    C(import_lines), returned with the failure, and the line as a JSON string) and semanage's reason for it.
  - semanage 3.6 and later run the deletions of an import (every line containing C(-d) or C(-D)) in a transaction of
    their own, committed before the other lines. A batch that mixes both is therefore tried once before it runs (one
    more C(semanage import -N), never committed, 1.4-1.8 seconds for 20 lines on the EL9 store), so that a refused
    entry is found with nothing applied; one that fails at its commit after such a split is reported as having changed
    the store.
  - A file-context rule or boolean is judged with local_policy_module's model of the policy. Its facts are read from
    C(/var/lib/fleetsec-selinux/cache/) when kept there for the checksum of the binary policy (by local_policy_module
    or an earlier run of this module; only a root-owned file and folder that no one else can write are used), else
    queried; a run outside check mode that changes nothing (a refused one, for example) keeps them there (folders
    0700, file 0600) for the next run on the same policy.
  - A transaction relinks every module when the store has no saved linked policy (C(policy.linked); the policy
    package's C(semodule -B) saves it with SELinux userspace 2.7 and later, so EL7 hosts never have it) - measured
    about 10 seconds on the EL9 targeted store, against about 1 second with it.
extends_documentation_fragment:
  - fleetsec.selinux.attributes
  - fleetsec.selinux.attributes.platform
  - fleetsec.selinux.attributes.idempotent
attributes:
  check_mode:
    support: full
    details:
      - The paths a new file-context rule covers are reported as to be relabelled (their new label is only known once
        the rule exists).
  diff_mode:
    support: full
    details:
      - One line per boolean, port, file-context rule, equivalence, login mapping and path that changes. A boolean whose
        local setting is removed shows the policy default read from the store (the modules' CIL); the running value
        is then set to what the new binary policy holds.
  platform:
    platforms: linux
  idempotent:
    support: full
'''

EXAMPLES = r'''
- name: Triage the denials of the web server
  fleetsec.selinux.avc_collect:
    domains: [httpd_t]
    triage: true
  register: avc

- name: Apply the relabels, booleans and port labels the triage chose
  fleetsec.selinux.remedy:
    denials: "{{ avc.denials }}"

- name: Serve /srv/app on port 8089, explicitly
  fleetsec.selinux.remedy:
    booleans:
      - name: httpd_can_network_connect_db
        state: true
    ports:
      - ports: "8089"
        proto: tcp
        setype: http_port_t
    fcontexts:
      - target: /srv/app(/.*)?
        setype: httpd_sys_content_t
    restorecon: [/srv/app]
    restorecon_recursive: true

- name: Take back what was set by hand - the boolean to its policy default, the port label and the rule removed
  fleetsec.selinux.remedy:
    booleans:
      - name: httpd_can_network_connect_db
        state: absent
    ports:
      - ports: "8089"
        proto: tcp
        state: absent
    fcontexts:
      - target: /srv/app(/.*)?
        state: absent
    restorecon: [/srv/app]
    restorecon_recursive: true

- name: Label a site in /srv/www as /var/www is, and map the clerks to user_u
  fleetsec.selinux.remedy:
    equivalences:
      - path: /srv/www
        equal: /var/www
    logins:
      - login: "%clerks"
        seuser: user_u
    restorecon: [/srv/www]
    restorecon_recursive: true
'''

RETURN = r'''
changes:
  description: What changed (or would change in check mode), one sentence each.
  returned: always
  type: list
  elements: str
  sample:
    - boolean httpd_can_network_connect -> on
    - "boolean httpd_enable_homedirs: local setting on removed -> policy default off"
    - port tcp/8089 -> http_port_t
    - equivalence /srv/www -> /var/www
    - login %clerks -> user_u
    - relabel /var/www/html/index.html
import_lines:
  description: The lines given to C(semanage import) (one transaction); empty when none was needed.
  returned: always
  type: list
  elements: str
  sample:
    - boolean -D
    - boolean -m -1 httpd_can_network_connect
    - port -a -t http_port_t -p tcp 8089
    - fcontext -a -e /var/www /srv/www
    - login -a -s user_u '%clerks'
relabelled:
  description: Paths C(restorecon) changed (in check mode, the paths it would change).
  returned: always
  type: list
  elements: str
  sample: [/var/www/html/index.html]
transactions:
  description: Number of policy transactions run (0 or 1).
  returned: always
  type: int
  sample: 1
refused:
  description: What was refused as handing out power, one sentence each (nothing was changed).
  returned: when refused
  type: list
  elements: str
  sample: ["labelling the privileged port(s) tcp/600 http_port_t"]
acknowledge:
  description:
    - The exact strings that, listed in O(allow_dangerous), acknowledge what was refused; the same vocabulary as
      M(fleetsec.selinux.local_policy_module)'s RV(fleetsec.selinux.local_policy_module#module:acknowledge).
  returned: when refused
  type: list
  elements: str
  sample: [tcp/600]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils import _remedy_apply as apply
from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import STATE_DIR
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError, Runner, finish


def argument_spec():
    return dict(
        denials=dict(type='list', elements='dict', default=[]),
        booleans=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True), state=dict(type='raw', required=True))),
        ports=dict(type='list', elements='dict', default=[], options=dict(
            ports=dict(type='str', required=True), proto=dict(type='str', required=True, choices=list(apply.PROTOCOLS)),
            setype=dict(type='str'), state=dict(type='str', default='present', choices=['present', 'absent'])),
            required_if=[('state', 'present', ('setype',))]),
        fcontexts=dict(type='list', elements='dict', default=[], options=dict(
            target=dict(type='str', required=True), ftype=dict(type='str', default='a', choices=list(apply.FTYPES)),
            setype=dict(type='str'), state=dict(type='str', default='present', choices=['present', 'absent'])),
            required_if=[('state', 'present', ('setype',))]),
        equivalences=dict(type='list', elements='dict', default=[], options=dict(
            path=dict(type='str', required=True), equal=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent'])),
            required_if=[('state', 'present', ('equal',))]),
        logins=dict(type='list', elements='dict', default=[], options=dict(
            login=dict(type='str', required=True), seuser=dict(type='str'), range=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent'])),
            required_if=[('state', 'present', ('seuser',))]),
        restorecon=dict(type='list', elements='path', default=[]),
        restorecon_recursive=dict(type='bool', default=False),
        allow_dangerous=dict(type='raw', default=[]),
    )


def current_state(runner):
    policy = facts.binary_policy()
    if policy is None:
        raise FleetsecError('No binary policy under %s: SELinux tooling and a policy are needed.' % facts.SELINUX_DIR)
    fc = '%s/%s/contexts/files/file_contexts' % (facts.SELINUX_DIR, facts.policy_type())
    return apply.Current(runner, policy, fc, facts.selinux_active(), facts.SELINUX_DIR, facts.policy_type(),
                         cache_dir=os.path.join('/', STATE_DIR, 'cache'))


def subs_path():
    """The equivalence file semanage writes itself (outside its transaction)."""
    return '%s/%s/contexts/files/file_contexts.subs' % (facts.SELINUX_DIR, facts.policy_type())


def run(module):
    runner = Runner(module, CATALOGUE)
    wanted = apply.validate(module.params)
    current = current_state(runner)
    try:
        plan = apply.plan(wanted, current, runner)
    except FleetsecError:
        if not module.check_mode:
            current.keep_learnt()  # refused or failed: the policy is unchanged (a cache: its warnings are not news)
        raise
    warnings = list(wanted.warnings + plan.warnings)
    if not module.check_mode and not plan.lines:
        warnings.extend(current.keep_learnt())  # no transaction: the facts still describe the policy
    relabelled = sorted(plan.relabel + plan.pending)
    if plan.changed and not module.check_mode:
        relabelled = apply.act(plan, runner, wanted.recursive, subs_path())
    result = dict(changed=plan.changed, changes=plan.changes, import_lines=plan.lines, relabelled=relabelled,
                  transactions=1 if plan.lines and not module.check_mode else 0)
    if module._diff:
        result['diff'] = dict(before='\n'.join(plan.before) + ('\n' if plan.before else ''),
                              after='\n'.join(plan.after) + ('\n' if plan.after else ''))
    return result, warnings


def main():
    finish(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
