#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_mode
short_description: Set the SELinux mode at runtime and in the config file, and per-domain permissive mode
version_added: 0.1.0
description:
  - Compares the running SELinux mode and the mode in O(configfile) separately and changes only what differs.
  - The runtime mode is changed with C(setenforce) (or the selinuxfs C(enforce) file); the persistent mode by
    rewriting C(SELINUX=) (and C(SELINUXTYPE=) when O(policy) is given) in O(configfile). Comments and
    unrelated lines are kept; the file is replaced atomically, which keeps its SELinux label.
  - Never reboots the host. When the request can only take effect after a reboot (enabling SELinux where the
    running kernel has it disabled, disabling it, switching policy type) the module says so with
    RV(reboot_required).
  - Where SELinux is disabled in the running kernel and O(state) is enabled, the config is set to C(permissive)
    first and C(/.autorelabel) is created (see O(autorelabel)); run the module again after the reboot to reach
    C(enforcing).
  - When O(configfile) sets no C(SELINUXTYPE=) (an empty or foreign file) and O(state) is written to it, C(SELINUXTYPE=)
    is added as well, because libselinux would otherwise look for C(targeted), which Debian does not have.
  - Works without the libselinux Python bindings, so it runs on the platform Python of EL7 to EL10 and Debian.
  - Domain types can be made permissive one by one with O(permissive_domains), the safer alternative to a
    system-wide permissive mode. All additions and removals are made in one C(semanage import) transaction, so
    an invalid type name changes nothing.
  - With neither O(state) nor O(permissive_domains) the module only reads and returns the state (runtime and
    config mode, policy type, permissive domains) and never changes anything, in check mode or not.
author:
  - fleetsec.selinux maintainers (@fleetsec)
options:
  state:
    description:
      - The SELinux mode wanted.
      - When omitted, the mode is left as it is (see O(permissive_domains) and the read-only use in the examples).
      - V(disabled) cannot be reached at runtime. With O(scope=both) the config is set to V(disabled), an enforcing
        runtime is set to permissive and a reboot is reported as required. From EL 9 on, C(SELINUX=disabled) no
        longer disables SELinux (the kernel argument C(selinux=0) does); the module warns about it.
    type: str
    choices: [enforcing, permissive, disabled]
  scope:
    description:
      - Where to set O(state).
      - V(runtime) changes the running kernel only, V(config) only O(configfile), V(both) both.
      - A V(runtime) request that the running kernel cannot satisfy is not pretended. Where SELinux is disabled in
        the kernel nothing changes; for O(state=disabled) an enforcing runtime is set to permissive. Both warn and
        report RV(reboot_required).
    type: str
    choices: [both, runtime, config]
    default: both
  policy:
    description:
      - Policy type to write as C(SELINUXTYPE=) in O(configfile), for example V(targeted) (EL), V(default)
        (Debian) or V(mls). Left unchanged when omitted.
      - The policy must be installed, so a directory of that name must exist beside O(configfile).
      - A change of policy type takes effect at the next boot and needs a relabel (see O(autorelabel)).
      - Requires O(state).
    type: str
  configfile:
    description:
      - Path of the SELinux config file. A symlink (like C(/etc/sysconfig/selinux) on EL) is followed and kept.
      - When it does not exist and O(scope) is V(both) or V(config), it is created from a template; its policy
        type is then O(policy), else the loaded policy, else the only policy installed beside it. When it exists
        but sets no C(SELINUXTYPE=) (or an empty one), the policy type is added, chosen the same way. When none of
        these tells the policy type, the module fails and changes nothing.
      - The file need not be UTF-8. Bytes that are not are kept as they are in comments and unrelated lines, but a
        C(SELINUX=) or C(SELINUXTYPE=) value that is not valid UTF-8 fails the module (naming the line), in check
        mode too, before anything is changed.
      - A file at C(ROOT/etc/selinux/config) belongs to the root file system at C(ROOT) (an image or a chroot), and
        its relabel flag is C(ROOT/.autorelabel) (see O(autorelabel)).
    type: path
    default: /etc/selinux/config
  permissive_domains:
    description:
      - Domain types (for example V(ntpd_t)) to make permissive or enforcing again, see O(permissive_domains_state).
      - Each must be a type of the policy. It is checked before anything is changed, in check mode too. With
        C(seinfo) when that is installed; without it, by looking the name up in the type table of the newest
        binary policy of the configured type (C(/etc/selinux/<SELINUXTYPE>/policy/policy.NN)). A name missing
        there fails the module as with C(seinfo); a name found there is only probably a type (a weaker check,
        the module warns in check mode), and a real run relies on C(semanage), whose one transaction rejects a
        name that is not a type and then changes nothing.
      - Where neither C(seinfo) nor a readable binary policy exists, check mode cannot tell whether a domain to
        add is a type. It does not predict it in RV(permissive_domains) but lists it in RV(unvalidated_domains),
        warns, and reports C(changed=true), because the real run either adds it (changed) or fails; it cannot
        end unchanged.
    type: list
    elements: str
  permissive_domains_state:
    description:
      - V(present) makes the O(permissive_domains) permissive, V(absent) makes them enforcing again (removes the
        C(permissive_<type>) policy modules made by C(semanage permissive -a)).
    type: str
    choices: [present, absent]
    default: present
  dontaudit:
    description:
      - V(false) rebuilds the policy without its C(dontaudit) rules (C(semodule -DB)), so that denials the policy
        normally hides reach the audit log during a capture; V(true) restores them (C(semodule -B)).
      - Idempotent - the state is read from libsemanage's C(disable_dontaudit) flag in the policy store, and the
        policy is rebuilt only when it differs. Not given - only read and returned in RV(dontaudit).
    type: bool
    version_added: 0.2.0
  autorelabel:
    description:
      - When SELinux is disabled in the running kernel and O(state) is V(enforcing) or V(permissive) (or when
        O(policy) changes the policy type), create C(/.autorelabel) so that the next boot relabels the file systems.
      - The flag is created at the root of the file system O(configfile) belongs to - C(/.autorelabel) for
        C(/etc/selinux/config), C(ROOT/.autorelabel) for C(ROOT/etc/selinux/config); for a symlink, that of its
        target, else that of the link. For an O(configfile) that is in no C(etc/selinux) directory (nor its target)
        that root is unknown, so a change that needs a relabel fails there (in check mode too) and changes nothing;
        set V(false) to change such a file without a relabel flag. The live C(/.autorelabel) is never created for
        another config file than the live one.
      - With V(true), a request for V(enforcing) on such a host sets the config to V(permissive) first, because going
        straight from disabled to enforcing leaves files unlabelled and can lock the host out.
    type: bool
    default: true
requirements:
  - C(setenforce) and C(getenforce) (libselinux-utils on EL, selinux-utils on Debian), C(sestatus) (policycoreutils)
  - For O(permissive_domains), C(semanage) (policycoreutils-python-utils; policycoreutils-python on EL7)
  - Optional, C(seinfo) (setools-console on EL, setools on Debian) to validate type names; without it the binary
    policy file is read (see O(permissive_domains))
seealso:
  - module: ansible.posix.selinux
extends_documentation_fragment:
  - fleetsec.selinux.attributes
  - fleetsec.selinux.attributes.platform
  - fleetsec.selinux.attributes.idempotent
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows the change of O(configfile).
  platform:
    platforms: linux
  idempotent:
    support: full
'''

EXAMPLES = r'''
- name: Read the SELinux state (changes nothing)
  fleetsec.selinux.selinux_mode:
  register: selinux_state

- name: Show it
  ansible.builtin.debug:
    msg: "{{ selinux_state.runtime_after }} now, {{ selinux_state.config_after }} after a reboot"

- name: Enforce SELinux now and after reboots
  fleetsec.selinux.selinux_mode:
    state: enforcing

- name: Stop enforcing until the next boot only
  fleetsec.selinux.selinux_mode:
    state: permissive
    scope: runtime

- name: Enable SELinux on a host where it is disabled (goes through permissive and a relabel)
  fleetsec.selinux.selinux_mode:
    state: enforcing
    policy: targeted
  register: selinux_mode

- name: Reboot when needed, then run the module again to reach enforcing
  ansible.builtin.reboot:
    reboot_command: systemctl reboot
  when: selinux_mode.reboot_required

- name: Make one domain permissive instead of the whole system
  fleetsec.selinux.selinux_mode:
    permissive_domains:
      - ntpd_t

- name: Make it enforcing again
  fleetsec.selinux.selinux_mode:
    permissive_domains:
      - ntpd_t
    permissive_domains_state: absent
'''

RETURN = r'''
runtime_before:
  description: Mode of the running kernel before the module ran.
  returned: always
  type: str
  sample: permissive
runtime_after:
  description:
    - Mode of the running kernel after the module ran, read back from the kernel (predicted in check mode).
    - Stays V(disabled) where SELinux is disabled in the kernel, whatever was asked. Only a reboot can change it.
  returned: always
  type: str
  sample: enforcing
config_before:
  description: Value of C(SELINUX=) in the config file before the module ran; null when the file or the key is missing.
  returned: always
  type: str
  sample: permissive
config_after:
  description: Value of C(SELINUX=) in the config file after the module ran (predicted in check mode).
  returned: always
  type: str
  sample: enforcing
policy:
  description: Policy type of the config file after the module ran (C(SELINUXTYPE=)), else the loaded policy; null if neither is known.
  returned: always
  type: str
  sample: targeted
permissive_domains:
  description:
    - Every permissive domain type after the module ran (predicted in check mode), built-in and customized, sorted.
    - When O(permissive_domains) is not given, the list is read if C(semanage) is installed, and is null when it
      is not installed or cannot read the policy store.
    - The two lists are those of C(semanage permissive -l). Where C(semodule) and C(seinfo) are installed they are
      read with C(semodule -l) (the enabled C(permissive_TYPE) modules) and C(seinfo --permissive) on the newest
      binary policy, which costs less than loading semanage's Python library; semanage answers otherwise.
  returned: always
  type: list
  elements: str
  sample: [ntpd_t]
permissive_builtin:
  description:
    - The part of RV(permissive_domains) that the policy itself makes permissive (C(semanage permissive -l),
      "Builtin Permissive Types"; for example C(coreos_installer_t) in the EL9 targeted policy). These are the
      distribution's choice, not a local change, and C(semanage) cannot make them enforcing.
    - Null when RV(permissive_domains) is.
  returned: always
  type: list
  elements: str
  sample: [coreos_installer_t]
unvalidated_domains:
  description:
    - Check mode only, where neither C(seinfo) nor a readable binary policy exists; empty otherwise, and always
      empty in a real run (where C(semanage) checks the names).
    - The domains of O(permissive_domains) that a real run would ask C(semanage) to add although nothing could
      check that they are types. They are not in RV(permissive_domains), and they make C(changed) true (see
      O(permissive_domains)).
  returned: always
  type: list
  elements: str
  sample: [ntpd_t]
dontaudit:
  description: Whether the policy keeps its C(dontaudit) rules after the module ran (predicted in check mode); null
    when there is no policy store to read.
  returned: always
  type: bool
  sample: true
reboot_required:
  description:
    - True when the request takes effect only after a reboot (enable or disable SELinux, pending relabel,
      change of policy type). The module never reboots.
    - With O(scope=runtime) it means that the running kernel cannot reach O(state) without a reboot (and a
      config that asks for it).
  returned: always
  type: bool
  sample: true
msg:
  description: What changed (or would change in check mode), what is left to do, separated by C(; ).
  returned: always
  type: str
  sample: "config SELINUX: disabled -> permissive; created /.autorelabel; reboot required"
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import FleetsecError, Runner, finish
from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_config as config
from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts as facts
from ansible_collections.fleetsec.selinux.plugins.module_utils._files import NotReadable, read_regular, write_atomic
from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_state as selinux_state
from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE


def argument_spec():
    return dict(
        state=dict(type='str', choices=list(selinux_state.MODES)),
        scope=dict(type='str', default='both', choices=['both', 'runtime', 'config']),
        policy=dict(type='str'),
        configfile=dict(type='path', default='/etc/selinux/config'),
        permissive_domains=dict(type='list', elements='str'),
        permissive_domains_state=dict(type='str', default='present', choices=['present', 'absent']),
        autorelabel=dict(type='bool', default=True),
        dontaudit=dict(type='bool'),
    )


def read_file(path):
    """Text of ``path`` (line endings and bytes that are not UTF-8 kept, see config.decode), None when it does not exist.

    Anything but a regular file (a FIFO would block the read forever; a device node, or a symlink to one, would be
    replaced by a regular file on write) is refused before anything is read or written. A SELINUX or SELINUXTYPE
    value that is not valid UTF-8 can be neither compared nor reported: refused.
    """
    try:
        data = read_regular(path)
    except NotReadable as exc:
        if exc.errno is None:
            raise selinux_state.ModeError('%s %s: configfile must be a regular file. Nothing was read or changed.'
                                          % (path, exc.reason))
        raise selinux_state.ModeError('Could not read %s: %s' % (path, exc.reason))
    if data is None:
        return None
    text = config.decode(data)
    bad = config.undecodable(text)
    if bad is not None:
        raise selinux_state.ModeError(
            '%s line %d: the value of %s is not valid UTF-8 (%s), so it can be neither compared nor reported. Correct '
            'that line by hand. Nothing was changed.' % (path, bad.index + 1, bad.key, config.escape(bad.value)))
    return text


def check_writable(path):
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        raise selinux_state.ModeError('Cannot write %s: directory %s does not exist.' % (path, directory))
    target = path if os.path.exists(path) else directory
    if not os.access(target, os.W_OK) or not os.access(directory, os.W_OK):
        raise selinux_state.ModeError('Cannot write %s: permission denied or read-only file system.' % path)


def write_file(module, path, text):
    write_atomic(module, path, config.encode(text), tmpdir=module.tmpdir)


def installed_policies(directory):
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [name for name in names if os.path.isdir(os.path.join(directory, name, 'policy'))]


def fallback_policy(module, configfile, loaded, exists):
    """The policy type to write where ``configfile`` has none (``exists``: the file exists but sets no SELINUXTYPE):
    O(policy), else the loaded policy, else the only policy installed beside it."""
    if module.params['policy']:
        return module.params['policy']
    if loaded:
        return loaded
    found = installed_policies(os.path.dirname(configfile))
    if len(found) == 1:
        return found[0]
    raise selinux_state.ModeError(
        '%s %s and its policy type is unknown (installed beside it: %s): set the policy option. Nothing was changed.'
        % (configfile, 'sets no SELINUXTYPE' if exists else 'does not exist', ', '.join(found) or 'none'))


def check_relabel_flag(configfile, flag):
    """Refuse a relabel that has no flag to go to (``flag`` None, see relabel_flag_for) or cannot be created."""
    if flag is None:
        raise selinux_state.ModeError(
            'autorelabel: this change needs a relabel, but %s is not in an etc/selinux directory, so the root file '
            'system it belongs to, where .autorelabel would go, is unknown. Set autorelabel=false (and create '
            'ROOT/.autorelabel yourself if the file belongs to a root file system at ROOT). Nothing was changed.'
            % configfile)
    if not os.path.exists(flag):
        check_writable(flag)


def check_policy(configfile, policy):
    if not config.POLICY_NAME_RE.match(policy):
        raise selinux_state.ModeError('Invalid policy type %r.' % policy)
    directory = os.path.join(os.path.dirname(configfile), policy)
    if not os.path.isdir(directory):
        raise selinux_state.ModeError(
            'Policy type %r is not installed: %s does not exist (booting with it would fail). Install its policy '
            'package first.' % (policy, directory))


def describe_config_change(configfile, text_before, before, after):
    if text_before is None:
        return ['created %s (SELINUX=%s, SELINUXTYPE=%s)' % (configfile, after['mode'], after['policy'])]
    changes = []
    for key, label in (('mode', 'SELINUX'), ('policy', 'SELINUXTYPE')):
        if before[key] != after[key]:
            changes.append('config %s: %s -> %s' % (label, before[key], after[key]))
    return changes or ['rewrote the SELinux lines of %s in the form libselinux reads' % configfile]


def plan_domains(module, host):
    """The DomainPlan for O(permissive_domains); reads the list even when not asked."""
    domains = module.params['permissive_domains']
    plan = selinux_state.DomainPlan()
    if domains is None:
        if not host.runner.has('semanage'):
            return plan
        try:
            builtin, customized = host.permissive_domains()
        except FleetsecError:
            return plan  # informational only here: not asked for, so not a failure
        plan.after = sorted(set(builtin) | set(customized))
        plan.builtin = sorted(builtin)
        return plan
    # Type names first: a name that is certainly not a type fails before semanage is run at all.
    checked = host.check_types(domains) if domains else None
    if checked is not None:
        checked.refuse_unknown()
    builtin, customized = host.permissive_domains()
    return selinux_state.plan_permissive(domains, module.params['permissive_domains_state'], builtin, customized,
                                         checked, module.check_mode)


def planned_steps(module, host, plan, target, text_after, config_changes, domains, dontaudit_before, runtime_before):
    """What this run changes, in order: ``[(descriptions, action)]``; an action is called only outside check mode."""
    steps = []
    if config_changes:
        steps.append((config_changes, lambda: write_file(module, target, text_after)))
    if plan.relabel and not os.path.exists(host.relabel_flag):
        steps.append((['created %s (relabel at next boot)' % host.relabel_flag], host.create_relabel_flag))
    if plan.runtime_target is not None and plan.runtime_target != runtime_before:
        steps.append((['runtime: %s -> %s' % (runtime_before, plan.runtime_target)],
                      lambda: host.set_runtime(plan.runtime_target)))
    if domains.add or domains.remove:
        steps.append((['permissive domains %s: %s' % (verb, ', '.join(names))
                       for verb, names in (('added', domains.add), ('removed', domains.remove)) if names],
                      lambda: host.change_permissive(domains.add, domains.remove)))
    wanted = module.params['dontaudit']
    if wanted is not None and wanted != dontaudit_before:
        steps.append((['policy rebuilt %s its dontaudit rules' % ('with' if wanted else 'without')],
                      lambda: host.set_dontaudit(wanted)))
    return steps


def act(module, steps):
    """The one place where check mode is decided: carry out ``steps`` (nothing in check mode); returns what they
    change. A failure names what was already done before it."""
    done = []
    for descriptions, action in steps:
        if not module.check_mode:
            try:
                action()
            except FleetsecError as err:
                if done:
                    err.msg = '%s. Already done before this failure: %s' % (err.msg.rstrip('.'), '; '.join(done))
                raise
        done.extend(descriptions)
    return done


class ConfigPlan(object):
    """The config file before and after this run: texts, parsed values, and the changes described."""

    def __init__(self, text_before, text_after):
        self.text_before, self.text_after = text_before, text_after
        self.before, self.after = config.read_config(text_before), config.read_config(text_after)
        self.changes = []


def make_host(module, configfile):
    """The SelinuxHost of the root file system ``configfile`` belongs to, the file to edit, and its relabel flag
    (None when that root file system is unknown)."""
    # EL's /etc/sysconfig/selinux is a symlink to /etc/selinux/config: edit the target, keep the link.
    target = os.path.realpath(configfile)
    # The relabel flag of the root file system the config belongs to: that of the file edited, else that of the
    # symlink given (ROOT/etc/selinux/config linked elsewhere). None: unknown, refused when a relabel is needed.
    relabel_flag = selinux_state.relabel_flag_for(target) or selinux_state.relabel_flag_for(configfile)
    return selinux_state.SelinuxHost(Runner(module, CATALOGUE), relabel_flag=relabel_flag), target, relabel_flag


def validate(params, target):
    """What needs no host access is checked first."""
    if params['policy'] is not None:
        if params['scope'] == 'runtime':
            raise selinux_state.ModeError('policy is written to the config file: it cannot be used with scope=runtime.')
        check_policy(target, params['policy'])
    if params['permissive_domains']:
        selinux_state.check_type_names(params['permissive_domains'])


def plan_config(module, plan, target, loaded, manage):
    """The config text this run writes (the same text when the config is not managed or already right)."""
    configfile = module.params['configfile']
    text_before = read_file(configfile)
    text_after = text_before
    if manage:
        policy = module.params['policy']
        if not config.read_config(text_before)['policy']:
            # without SELINUXTYPE, libselinux looks for 'targeted' (missing on Debian)
            policy = fallback_policy(module, target, loaded, text_before is not None)
        if text_before is None:
            text_after = config.template(plan.config_mode, policy)
        else:
            text_after = config.render(text_before, mode=plan.config_mode, policy=policy)
    result = ConfigPlan(text_before, text_after)
    if text_after != text_before:
        check_writable(target)
        result.changes = describe_config_change(configfile, text_before, result.before, result.after)
    return result


def dontaudit_state(module, host, policy_type):
    """Whether the policy keeps its dontaudit rules now; refused when asked to change it without a store."""
    store_root = facts.store_root(host.selinux_dir)
    before = host.dontaudit_enabled(store_root, policy_type)
    if module.params['dontaudit'] is not None and before is None:
        raise selinux_state.ModeError('dontaudit: no SELinux policy store was found under %s; nothing was changed.'
                                      % store_root)
    return before


def run(module):
    params = module.params
    state, scope = params['state'], params['scope']
    host, target, relabel_flag = make_host(module, params['configfile'])
    validate(params, target)

    # Read the current state, then decide (nothing is changed before every check has passed).
    runtime_before = host.runtime_mode()
    loaded = host.loaded_policy() if runtime_before != 'disabled' else None
    manage_config = state is not None and scope in ('both', 'config')
    policy_change = bool(params['policy'] and manage_config and loaded and params['policy'] != loaded)
    plan = selinux_state.plan_mode(state, scope, params['autorelabel'], runtime_before, policy_change=policy_change,
                                   el=host.el_major() if state == 'disabled' else None)
    if plan.relabel:
        check_relabel_flag(target, relabel_flag)
    conf = plan_config(module, plan, target, loaded, manage_config)
    domains = plan_domains(module, host)
    dontaudit_before = dontaudit_state(module, host, conf.after['policy'] or loaded or 'targeted')

    # Act (check mode is decided in act), then report.
    changes = act(module, planned_steps(module, host, plan, target, conf.text_after, conf.changes, domains,
                                        dontaudit_before, runtime_before))
    if domains.unvalidated:
        # Check mode only (see plan_permissive): the real run adds these domains or fails; it cannot end unchanged,
        # so changed=false would be the one wrong prediction. They count as a change, named as unchecked.
        changes.append('permissive domains to add if semanage accepts them as types (not checked): %s'
                       % ', '.join(domains.unvalidated))
    result = dict(
        changed=bool(changes),
        runtime_before=runtime_before,
        # a runtime change was read back by set_runtime, or failed
        runtime_after=plan.runtime_target if plan.runtime_target is not None else runtime_before,
        config_before=conf.before['mode'],
        config_after=conf.after['mode'],
        policy=conf.after['policy'] or loaded,
        permissive_domains=domains.after,
        permissive_builtin=domains.builtin,
        unvalidated_domains=domains.unvalidated,
        dontaudit=dontaudit_before if params['dontaudit'] is None else params['dontaudit'],
        reboot_required=plan.reboot_required,
        msg=summary(changes, plan),
    )
    if module._diff:
        result['diff'] = config.make_diff(params['configfile'], conf.text_before, conf.text_after)
    return result, plan.warnings + domains.warnings


def summary(changes, plan):
    notes = changes + plan.notes
    if plan.reboot_required:
        notes.append('reboot required')
    if not changes:
        notes.insert(0, 'no change needed')
    return '; '.join(notes)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_by={'policy': 'state'},
        supports_check_mode=True,
    )
    finish(module, run)


if __name__ == '__main__':
    main()
