#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
module: local_policy_module
short_description: Generate, compile and load SELinux local policy modules idempotently and safely
version_added: 0.1.0
description:
  - Builds an SELinux policy module from AVC denials (with the real C(audit2allow -m NAME)), from type-enforcement
    text, from a C(.te) file kept on the controller (policy as code), or takes a prebuilt C(.pp)/C(.cil) file, and
    loads it with C(semodule) at a given priority.
  - Compiles with C(checkmodule -M -m) and C(semodule_package) (refpolicy sources with C(policy_module()) go through
    the policy devel Makefile). A source that does not compile fails with the compiler's message and line; nothing is
    installed and the module already loaded stays as it was.
  - Several modules given in O(modules) are installed, removed, enabled or disabled in ONE C(semodule) transaction,
    that is one policy rebuild instead of one per module.
  - Idempotent with zero policy rebuilds on an unchanged rerun. The module keeps a record of what it installed under
    C(/var/lib/fleetsec-selinux/modules/) (mode 0700, below O(policy_root) when set); when the source checksum and the
    installed module's checksum still match the record, nothing is compiled. Otherwise the freshly compiled package
    is compared with the installed one (C(semodule -lfull -m) on userspace 3.4 and later, C(semodule -E) extraction
    on 2.5 and later, the stored copy on EL6) and loaded only when it differs.
  - Refuses rules that hand out power (see O(allow_dangerous)) and refuses to replace a module of the same name that
    it did not install (see O(force)). What a module grants is judged on the policy it builds, not on its text
    alone, so attributes, aliases, C(.cil) and prebuilt C(.pp) sources are judged too.
  - Before anything is committed (in check mode too), the whole transaction is tried on a private copy of the store
    (C(semodule -p COPY -n)); a transaction that would fail there fails with nothing changed, and the record
    directory is checked writable so that an installed module never lacks its record.
  - Refpolicy sources are expanded by C(m4). The m4 builtins that run commands or read and write files
    (C(syscmd), C(esyscmd), C(include), C(sinclude), C(undivert), C(debugfile), C(mkstemp), C(maketemp),
    C(builtin), C(indir), C(changeword)) are refused before m4 runs and disabled inside m4.
  - A prebuilt C(.pp) must declare the module O(name) (semodule installs it under the name it declares).
  - The action plugin of the same name reads (and templates, for names ending in C(.j2)) O(src) on the controller
    and writes the generated sources to O(dest) on the controller.
author:
  - fleetsec.selinux maintainers (@fleetsec)
extends_documentation_fragment:
  - fleetsec.selinux.attributes
  - fleetsec.selinux.attributes.platform
attributes:
  check_mode:
    support: full
    details:
      - Sources are compiled in a temporary directory to compare them; nothing is written to the policy store or to
        the record. RV(rebuilds) tells how many transactions would run.
  diff_mode:
    support: full
    details:
      - The diff lists the module's rules before and after, one per line.
  platform:
    platforms: linux
options:
  name:
    description:
      - Name of the policy module. Letters, digits and V(_), starting with a letter.
      - Pick an organisation-specific name; never the name of a distribution module (C(semodule -l)).
      - Required unless O(modules) is given.
    type: str
  state:
    description:
      - V(present) installs the module from its source (and enables it if it was disabled).
      - V(absent) removes the module at O(priority).
      - V(enabled) / V(disabled) enable or disable an installed module; with a source, the module is also installed
        or updated first.
      - V(generated) does everything V(present) does before the commit - generate the source, compile it, try the
        whole transaction on a private copy of the store and judge it with the safety gate - and installs nothing,
        the review step of a rollout (RV(te), RV(rules), RV(dangerous)), with O(dest) to keep the source for review.
        It changes nothing on the host, so it runs outside check mode and is reported unchanged (unless O(dest)
        files were written). It cannot be mixed with other states in one call.
    type: str
    choices: [present, absent, enabled, disabled, generated]
    default: present
  priority:
    description:
      - Module priority, 1 to 999. 100 is the distribution policy, 200 third-party packages, 400 the local
        administrator.
    type: int
    default: 400
  version:
    description:
      - Version written in the module statement - digits, then a dot and letters, digits, dots or underscores, as
        checkmodule reads a version (V(1.0), V(2.3.1)); anything else is refused before anything runs.
      - Default derived from the content, so it changes whenever the rules change.
    type: str
  denials:
    description:
      - AVC denials to allow, as returned by M(fleetsec.selinux.avc_collect) in RV(fleetsec.selinux.avc_collect#module:lines)
        (raw lines) or RV(fleetsec.selinux.avc_collect#module:denials) (dicts with C(scontext), C(tcontext),
        C(tclass), C(permissions)); lists from many hosts may be concatenated (duplicates are removed).
      - The module is generated on the target with the real C(audit2allow -m NAME) (with C(-p POLICY) when SELinux
        is disabled or O(policy_root) is set). Denials whose types the policy does not define are reported in
        RV(dropped) with a warning; rules a boolean could allow are reported in RV(booleans).
      - Mutually exclusive with O(te), O(src), O(pp) and O(cil).
    type: list
    elements: raw
  accumulate:
    description:
      - With O(denials), add the given denials to those the module was last generated from (kept in its record
        under C(/var/lib/fleetsec-selinux)) instead of replacing them, so that a run which captured only part of
        the workload never shrinks the module. The merged lines are sorted, so the same set always gives the same
        source (and an unchanged rerun compiles nothing).
      - Only for O(denials). Set on a module with another source, it is an error (a O(modules) entry with another
        source ignores the inherited top-level value). Removing the module (V(state=absent)) forgets the recorded
        denials.
    type: bool
    default: false
  te:
    description:
      - Type-enforcement source text. Its C(module) (or C(policy_module)) statement, if any, must name O(name); the
        version in it is replaced by O(version) or the derived one.
    type: str
  fc:
    description:
      - File-context text (C(.fc)) packaged with the module (C(semodule_package -f)).
    type: str
  if:
    description:
      - Interface text (C(.if)); the module is then built with the policy devel Makefile.
    type: str
  src:
    description:
      - Path to a C(.te) file. On the controller (read, and templated when its name ends in C(.j2), by the action
        plugin; a sibling C(.fc) file with the same base name is packaged too) unless O(remote_src=true).
    type: path
  remote_src:
    description:
      - Whether O(src) is a path on the target.
    type: bool
    default: false
  pp:
    description:
      - Path on the target of a prebuilt policy package (C(.pp)) to install as O(name).
    type: path
  cil:
    description:
      - Path on the target of a CIL module to install as O(name) (given straight to C(semodule -i)).
    type: path
  refpolicy:
    description:
      - With O(denials), generate refpolicy-style sources (C(audit2allow -R), interface calls); the interface
        information is (re)generated with C(sepolgen-ifgen) when missing or older than the policy headers.
    type: bool
    default: false
  modules:
    description:
      - Several modules handled in ONE C(semodule) transaction (one policy rebuild).
      - Each entry takes the same options as a single module; O(state), O(priority), O(refpolicy), O(force),
        O(allow_dangerous), O(accumulate) and O(remote_src) default to the top-level values.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
    # BEGIN modules suboptions: written by tools/entry-docs.py from _policy_request.OPTIONS
      name:
        description: Module name, see O(name).
        type: str
        required: true
      state:
        description: See O(state); default the top-level O(state).
        type: str
        choices: [present, absent, enabled, disabled, generated]
      priority:
        description: See O(priority); default the top-level O(priority).
        type: int
      version:
        description: See O(version).
        type: str
      denials:
        description: See O(denials).
        type: list
        elements: raw
      accumulate:
        description: See O(accumulate); default the top-level O(accumulate).
        type: bool
      te:
        description: See O(te).
        type: str
      fc:
        description: See O(fc).
        type: str
      src:
        description: See O(src).
        type: path
      remote_src:
        description: See O(remote_src); default the top-level O(remote_src).
        type: bool
      pp:
        description: See O(pp).
        type: path
      cil:
        description: See O(cil).
        type: path
      refpolicy:
        description: See O(refpolicy); default the top-level O(refpolicy).
        type: bool
      force:
        description: See O(force); default the top-level O(force).
        type: bool
      allow_dangerous:
        description: See O(allow_dangerous); default the top-level O(allow_dangerous).
        type: raw
      if:
        description: See O(if).
        type: str
    # END modules suboptions
  policy_root:
    description:
      - Operate on the policy store below this alternate root (C(semodule -p ROOT -s TYPE -n), TYPE being the
        C(SELINUXTYPE) of C(ROOT/etc/selinux/config)), for image builds, chroots and tests. The policy is never
        loaded into the running kernel then.
      - An empty value is refused (it usually is an unset variable), rather than silently meaning the live store.
    type: path
  force:
    description:
      - Allow replacing, overriding or removing a module of the same name that fleetsec.selinux did not install
        (a distribution or vendor module at priority 100/200, or one installed by hand).
    type: bool
    default: false
  allow_dangerous:
    description:
      - Findings to load anyway. Before anything is built (in check mode too), one verdict judges everything the
        transaction installs or enables, from the CIL the store receives (the C(.fc) and dormant C(optional) and
        conditional content included); each finding refuses its module unless acknowledged here. The full rules,
        with how each protected family is read from the installed policy, are in C(docs/local_policy_module.md).
      - Access rules after alias and attribute expansion - writes to protected types (security and authentication
        files, entry points and code, files every program reads, kernel parameters, devices not open to every
        domain, login home content), C(ptrace) of another domain, transitions into privileged domains, dangerous
        capabilities, C(security) server permissions, executable memory, V(all)/V(not) permission sets.
      - A type joining an attribute of the policy, judged on both sides (V(typeattribute myapp_t can_setenforce),
        V(typeattribute bin_t httpdcontent)), constraint and assertion exemptions; file contexts that can
        relabel protected files or hand out a privileged domain's entry point; every other labelling statement
        (C(portcon), C(genfscon), ...); roles and users (V(userrole staff_u sysadm_r)); permissive domains
        (V(permissive myapp_t)); statements the verdict does not judge (namespaces, macros, unknown ones).
      - A list acknowledges the findings it names, one rule each as reported in RV(dangerous), for example
        V(allow myapp_t self:capability sys_admin). V(true) acknowledges every finding.
    type: raw
  dest:
    description:
      - Folder on the CONTROLLER where the action plugin writes the generated C(NAME.te) (and C(NAME.fc)) for review
        and commit. Not written in check mode.
    type: path
requirements:
  - policycoreutils (C(semodule)), checkpolicy (C(checkmodule)), C(semodule_package) (policycoreutils on EL,
    semodule-utils on Debian), C(audit2allow) for O(denials) (policycoreutils-python-utils; policycoreutils-python on
    EL6/EL7)
  - setools (C(sesearch), C(seinfo); setools-console on EL, setools on Debian) and the store's pp-to-CIL converter
    (policycoreutils) to judge what a module grants before installing it; without them an install is refused unless
    O(allow_dangerous=true). C(matchpathcon) (libselinux-utils) to judge file contexts; without it every file
    context is a finding.
notes:
  - Rules that only a boolean needs are kept in the generated source (as C(audit2allow) does) and reported in
    RV(booleans) with a warning; consider setting the boolean instead.
  - C(.pp) packages are not portable to older policy versions; build on the target (the default) or the oldest one.
seealso:
  - module: fleetsec.selinux.avc_collect
  - name: Local policy modules in fleetsec.selinux
    description: The safety list, the idempotence record and keeping .te files in git.
    link: https://github.com/fleetsec/selinux/blob/main/docs/local_policy_module.md
'''

EXAMPLES = r'''
- name: Collect the denials of the last boot
  fleetsec.selinux.avc_collect:
    since: boot
  register: avc

- name: Allow them in a local module (generated with audit2allow on the target)
  fleetsec.selinux.local_policy_module:
    name: acme_ntpd_local
    denials: "{{ avc.lines }}"
    dest: "{{ playbook_dir }}/selinux"

- name: Add today's denials to those the module was built from (a partial capture never shrinks it)
  fleetsec.selinux.local_policy_module:
    name: acme_ntpd_local
    denials: "{{ avc.allow_lines }}"
    accumulate: true

- name: Generate and judge a module for review, install nothing; keep its source in the repository
  fleetsec.selinux.local_policy_module:
    name: acme_app
    state: generated
    denials: "{{ avc.allow_lines }}"
    dest: "{{ playbook_dir }}/selinux"

- name: Load a reviewed .te kept in git next to the playbook
  fleetsec.selinux.local_policy_module:
    name: acme_app
    src: selinux/acme_app.te

- name: Three modules, one policy rebuild
  fleetsec.selinux.local_policy_module:
    modules:
      - name: acme_web
        src: selinux/acme_web.te
      - name: acme_db
        te: "{{ lookup('ansible.builtin.file', 'selinux/acme_db.te') }}"
      - name: acme_old
        state: absent

- name: A rule that needs a capability, acknowledged after review
  fleetsec.selinux.local_policy_module:
    name: acme_agent
    te: |
      require { type acme_agent_t; class capability sys_ptrace; }
      allow acme_agent_t self:capability sys_ptrace;
    allow_dangerous:
      - allow acme_agent_t self:capability sys_ptrace

- name: Build into an image root without touching the running system
  fleetsec.selinux.local_policy_module:
    name: acme_app
    src: selinux/acme_app.te
    policy_root: /srv/image-root

- name: Disable a module
  fleetsec.selinux.local_policy_module:
    name: acme_old
    state: disabled
'''

RETURN = r'''
te:
  description: Final type-enforcement source (with its version); null with O(modules) or for O(pp)/O(cil) sources.
  returned: always
  type: str
  sample: "module acme_ntpd_local 1.4242;\n\nrequire {\n\ttype ntpd_t;\n ..."
rules:
  description: Policy statements of the module (outside C(module) and C(require)), whitespace-normalised; with
    O(modules), those of every module.
  returned: always
  type: list
  elements: str
  sample: ["allow ntpd_t user_home_t:file { open read };"]
checksum:
  description:
    - Checksum of the module as the store reports it after the run (C(sha256:...) of its CIL with userspace 3.4
      and later); null when absent or with O(modules).
  returned: always
  type: str
  sample: "sha256:921ff3043297e34cc51f806ce26b34e88b568c3bec5de1307742bddce8f8d0a0"
priority:
  description: Priority the module is (or would be) installed at.
  returned: always
  type: int
  sample: 400
installed_before:
  description: Checksum of the module installed at that priority before the run, null when none (or with O(modules)).
  returned: always
  type: str
  sample: null
rebuilds:
  description: Number of C(semodule) transactions (policy rebuilds) run, or that would run in check mode; 0 when
    nothing changes.
  returned: always
  type: int
  sample: 1
dangerous:
  description: Dangerous-rule findings (see O(allow_dangerous)), with whether each was acknowledged.
  returned: always
  type: list
  elements: dict
  contains:
    rule:
      description: The statement, one permission per finding for access rules (or the whole rule for permission
        expressions); V(typeattribute TYPE ATTRIBUTE), V(filecon PATH KIND TYPE), V(permissive TYPE) or the statement
        as written for the others.
      type: str
      sample: "allow acme_agent_t self:capability sys_ptrace"
    reason:
      description: Why it hands out power, as a sentence; a statement inside an C(optional) block or a conditional
        branch says so (V(dormant, judged as if active)).
      type: str
      sample: "capability sys_ptrace"
    acknowledged:
      description: Whether O(allow_dangerous) acknowledges it.
      type: bool
      sample: true
    module:
      description: Module the rule belongs to.
      type: str
      sample: acme_agent
acknowledge:
  description:
    - When modules are refused for dangerous rules, the exact strings that, listed in O(allow_dangerous), acknowledge
      them (each finding's RV(dangerous[].rule)); the same vocabulary as M(fleetsec.selinux.remedy)'s
      RV(fleetsec.selinux.remedy#module:acknowledge).
  returned: when refused for dangerous rules
  type: list
  elements: str
  sample: ["allow acme_agent_t self:capability sys_ptrace"]
dropped:
  description:
    - Denials that produced no rule, with the reason; for example types, or classes and permissions, that the local
      policy does not define (records of another release).
    - A denial with some permissions the policy defines and some it does not lists only the latter.
  returned: always
  type: list
  elements: dict
  sample: [{"line": "type=AVC ...", "source_type": "nosuch_t", "target_type": "etc_t", "tclass": "file",
            "permissions": ["read"], "reason": "type(s) nosuch_t not defined in the loaded policy", "module": "acme"}]
booleans:
  description: Generated rules that a boolean already allows, with the booleans C(audit2allow) names.
  returned: always
  type: list
  elements: dict
  sample: [{"rule": "allow httpd_t user_home_t:file read;", "booleans": ["httpd_read_user_content"], "module": "acme"}]
modules:
  description: One entry per managed module (also for a single O(name)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Module name.
      type: str
      sample: acme_web
    state:
      description: Requested state.
      type: str
      sample: present
    changed:
      description: Whether this module changed (or would change).
      type: bool
      sample: true
    action:
      description: What was done to it, V(none), V(install), V(remove), V(enable), V(disable), or V(install+disable).
      type: str
      sample: install
    te:
      description: Final source, see RV(te).
      type: str
      sample: "module acme_web 1.77;\n..."
    fc:
      description: The file contexts packaged with the module (O(fc), or the C(NAME.fc) found beside a O(src)); their
        labels are judged with the rules (see O(allow_dangerous)). V(null) when there are none.
      type: str
      sample: "/srv/acme(/.*)? system_u:object_r:httpd_sys_content_t:s0\n"
    rules:
      description: See RV(rules).
      type: list
      elements: str
      sample: ["allow httpd_t acme_web_t:file read;"]
    version:
      description: Version given to the module.
      type: str
      sample: "1.77"
    checksum:
      description: See RV(checksum).
      type: str
      sample: "sha256:..."
    installed_before:
      description: See RV(installed_before).
      type: str
      sample: null
    priority:
      description: See RV(priority).
      type: int
      sample: 400
    compiled:
      description: Whether the sources were compiled in this run (false when the record proved them unchanged).
      type: bool
      sample: false
dest_files:
  description: Files written (or, in check mode, that would be written or are unchanged) in O(dest) on the controller.
  returned: when O(dest) is set
  type: list
  elements: str
  sample: ["/home/me/policy/selinux/acme_app.te"]
policy:
  description:
    - With O(state=generated), the binary policy the modules were judged against - C(file) and C(checksum)
      (C(sha256:...)); the change set of the C(rollout) playbook records it.
  returned: with O(state=generated)
  type: dict
  version_added: 0.2.0
  sample: {file: /etc/selinux/targeted/policy/policy.33, checksum: "sha256:0c4f..."}
msg:
  description: Summary of what changed.
  returned: always
  type: str
  sample: "installed acme_web; 1 policy rebuild"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner, finish
from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_plan import run
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_request import SOURCE_KEYS, argument_spec, request
from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import PolicyStore


def _run(module):
    params = module.params
    if params['policy_root'] is not None and not params['policy_root'].strip():
        module.fail_json(msg='policy_root is empty (an unset variable?). Omit it to work on the live policy store, '
                             'or give the directory of an image root. Nothing was changed.')
    asked = request(params)
    # state=generated decides and judges only: its runner refuses any command that would change the host
    runner = Runner(module, CATALOGUE, check_mode=module.check_mode or asked[2])
    return run(module, runner, PolicyStore(module, runner, policy_root=params['policy_root']), asked, params['priority'])


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[list(SOURCE_KEYS), ['name', 'modules']],
        required_one_of=[['name', 'modules']],
        supports_check_mode=True,
    )
    finish(module, _run)


if __name__ == '__main__':
    main()
