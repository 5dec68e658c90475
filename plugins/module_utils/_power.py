# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE: the one table of what hands out power, shared by local_policy_module's verdict and remedy.

What a permission gives whatever the type (:func:`permission_reason`), which families of types writing (or reading)
hands out power (:func:`protection_of`, read from the policy's own attributes by ``_policy_model``), which of them the
kernel and the security tools trust by the label alone (:func:`trusted_by_label`), and remedy's own changes that hand
it out: a privileged port, a system tree, a login mapped to a user with a powerful role. What acknowledges a finding is
``_policy_safety.Acknowledged`` (one vocabulary for both modules).

Not part of the public API of the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

FILE_CLASSES = frozenset(['file', 'dir', 'lnk_file', 'chr_file', 'blk_file', 'sock_file', 'fifo_file'])
# what reads an object's content (a relabel to a type some domain may read exposes a secret type's content)
READ_PERMS = frozenset(['read', 'map', 'execute'])
WRITE_PERMS = frozenset([
    'write', 'append', 'create', 'unlink', 'rename', 'setattr', 'link', 'add_name', 'remove_name',
    'reparent', 'rmdir', 'relabelfrom', 'relabelto', 'mounton',
])
CAPABILITY_CLASSES = frozenset(['capability', 'capability2', 'cap_userns', 'cap2_userns'])
# Capabilities are judged deny-by-default: every capability is a finding but these, which change no one else's
# objects and bypass no check (a root daemon dropping its identity, binding a low port, its own scheduling and
# limits, locking its memory, writing audit records of its own). A capability a later kernel adds is a finding.
HARMLESS_CAPABILITIES = frozenset(['net_bind_service', 'setuid', 'setgid', 'kill', 'sys_nice', 'sys_resource',
                                   'ipc_lock', 'sys_tty_config', 'lease', 'audit_write', 'net_broadcast',
                                   'sys_chroot', 'wake_alarm', 'block_suspend'])
SECURITY_PERMS = frozenset(['load_policy', 'setenforce', 'setbool', 'setsecparam', 'setcheckreqprot'])
EXEC_PERMS = frozenset(['execmem', 'execstack', 'execheap', 'execmod'])
# classes whose every permission reaches into the kernel: eBPF programs and maps, performance events (kernel
# profiling and tracing), lockdown (reading or changing what the kernel protects from root), kernel services
# (acting with another context, creating files as one)
KERNEL_CLASSES = {
    'bpf': 'eBPF (programs and maps that run in or read the kernel)',
    'perf_event': 'performance events (kernel profiling and tracing)',
    'lockdown': 'the kernel lockdown (what the kernel protects from root)',
    'kernel_service': 'acting with another security context in the kernel',
}
# the system class: the kernel's and systemd's permissions; these two alone change nothing
HARMLESS_SYSTEM = frozenset(['status', 'ipc_info'])
# process permissions over ANOTHER domain: control of it, or entering it with what the caller chose
PROCESS_CONTROL = frozenset(['ptrace'])
PROCESS_ENTRY = frozenset(['transition', 'dyntransition', 'noatsecure', 'siginh', 'rlimitinh', 'nnp_transition',
                           'nosuid_transition'])
# entering another domain (what it holds becomes the caller's)
PROCESS_TRANSITIONS = frozenset(['transition', 'dyntransition', 'nnp_transition', 'nosuid_transition'])
# control of the security policy and of the kernel's code: a domain holding one of these (directly or through an
# attribute) is powerful even when it is confined, so entering it is judged (load_policy_t, semanage_t, kmod_t; not
# what every daemon holds, such as dac_override or device reads, which would refuse ordinary policy booleans)
CONTROL_PERMS = {
    'security': SECURITY_PERMS,
    'system': frozenset(['module_load']),
    'capability': frozenset(['sys_module', 'mac_admin', 'mac_override']),
    'capability2': frozenset(['mac_admin', 'mac_override']),
}


def permission_reason(tclass, perm):
    """Why ``perm`` on ``tclass`` hands out power whatever the type (a short text), or None: capabilities but the
    harmless ones, security server permissions, executable memory, mapping the lowest addresses, the kernel's own
    classes (eBPF, perf events, lockdown, kernel services), the system class (kernel modules, the kernel log, systemd
    units and power), netlink writes that change kernel state (routes, audit rules, IPsec, firewall). The one list of
    them: the verdict over a module, the text check, and remedy's judgement of a boolean (by the rules it turns on)
    use it."""
    if tclass in CAPABILITY_CLASSES:
        return None if perm in HARMLESS_CAPABILITIES else 'capability %s' % perm
    if tclass == 'security' and perm in SECURITY_PERMS:
        return '%s on the security server' % perm
    if perm in EXEC_PERMS:
        return '%s (executable memory or stack)' % perm
    if tclass == 'memprotect' and perm == 'mmap_zero':
        return 'mmap_zero (mapping the lowest addresses makes a kernel NULL-pointer bug a way in)'
    if tclass == 'system' and perm == 'module_load':
        return 'module_load (loading code into the kernel)'
    if tclass == 'system' and perm not in HARMLESS_SYSTEM:
        return 'system %s (the kernel log and modules, systemd units, halt and reboot)' % perm
    if tclass in KERNEL_CLASSES:
        return '%s %s: %s' % (tclass, perm, KERNEL_CLASSES[tclass])
    if tclass.startswith('netlink_') and tclass.endswith('_socket') and perm == 'nlmsg_write':
        return '%s nlmsg_write (changes kernel state: routes, audit rules, IPsec or firewall)' % tclass
    return None


# what a protected type is, in words: the families protection_of names
KERNEL_STATE_FAMILY = "the kernel's own state as files (/sys, /proc, tracefs, efivarfs, cgroups, ...)"
DEVICE_FAMILY = 'a device not open to every domain (disks, memory, ...)'


def protection_of(attrs, type_name, model):
    """(family, secret) of ``type_name`` (whose attributes are ``attrs``), or (None, False): why writing to it hands
    out power, and whether READING it does too (its content is a secret: an authentication file, a raw device; never
    a type every domain reads). The families and the attributes they are read from are documented in
    docs/local_policy_module.md."""
    granted = model.every_domain.get(type_name, {})
    # secrets: authentication files (passwords, their hashes) no domain at large reads; a login's files are left
    # out (the policy gives ssh keys no attribute apart from other home content, and a daemon reading a file in a
    # home is the everyday case a reviewer reads), and so is the SELinux configuration every program may consult
    authentication = 'file_type' in attrs and 'non_auth_file_type' not in attrs and 'non_auth_file_type' in model.attributes
    secret = authentication and 'read' not in granted.get('file', set())
    refpolicy_security = ('file_type' in attrs and 'non_security_file_type' not in attrs
                          and 'non_security_file_type' in model.attributes)
    if 'security_file_type' in attrs or refpolicy_security:
        return 'a security file (SELinux policy and configuration, passwords)', secret
    if authentication:
        return 'an authentication file', secret
    if attrs & set(['exec_type', 'entry_type']):
        return 'an entry point of domains (code that runs in them)', False
    if type_name in model.loaded_modules:
        return 'code the kernel loads (kernel modules)', False
    if 'sysctl_type' in attrs:
        return 'a kernel parameter (sysctl)', False
    if type_name in model.kernel_state and 'write' not in granted.get('file', set()):
        return KERNEL_STATE_FAMILY, False
    # files only: every domain also reads the /proc files of some domains (abrt_t), which are no family
    shared = granted.get('file', set()) if 'file_type' in attrs or 'file_type' not in model.attributes else set()
    if shared & set(['execute', 'execmod']):
        return 'code every domain runs (libraries, the loader)', False
    if 'read' in shared or attrs & set(['base_ro_file_type', 'configfile']):
        return 'a file every program reads (system files and configuration)', False
    if 'device_node' in attrs:
        if 'write' not in granted.get('chr_file', set()) | granted.get('blk_file', set()):
            return DEVICE_FAMILY, 'read' not in (
                granted.get('chr_file', set()) | granted.get('blk_file', set()))
    if attrs & set(['user_home_type', 'user_home_content_type']):
        return "a login's home content (startup files, ssh keys)", False
    return None, False


def protection(attrs, type_name, model):
    """Why writing to ``type_name`` hands out power: a family name, or None (see :func:`protection_of`)."""
    return protection_of(attrs, type_name, model)[0]


# label families whose type the kernel or the security tools trust by the label alone (what is relabelled to them
# becomes trusted): the SELinux policy and configuration, authentication files, kernel modules, kernel parameters.
# Entry points, libraries and system files are not among them: the ordinary remedy labels web content
# (httpd_sys_content_t, an entry type on EL9) or an application's binaries so; an entry point of a privileged domain
# is judged apart (privileged_entries).
TRUSTED_BY_LABEL_PREFIXES = ('a security file', 'an authentication file', 'code the kernel loads',
                             'a kernel parameter', 'a type the installed policy does not define')


def trusted_by_label(family):
    """Whether a protection family (:func:`protection_of`) is one the kernel or the security tools trust by the
    label alone: what is relabelled to it becomes trusted."""
    return bool(family) and family.startswith(TRUSTED_BY_LABEL_PREFIXES)


# directories that are never an application's tree: a file-context rule there relabels what other software uses
SYSTEM_TREES = frozenset((
    '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/media', '/mnt', '/opt', '/proc',
    '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/include', '/usr/lib', '/usr/lib64',
    '/usr/libexec', '/usr/local', '/usr/local/bin', '/usr/local/etc', '/usr/local/lib', '/usr/local/sbin',
    '/usr/local/share', '/usr/sbin', '/usr/share', '/usr/src', '/var', '/var/cache', '/var/lib', '/var/local',
    '/var/lock', '/var/log', '/var/mail', '/var/opt', '/var/run', '/var/spool', '/var/tmp', '/var/www'))
# ports below it are bound by root services only: labelling one hands a service's port to another
PRIVILEGED_PORTS = 1024
# the roles of an SELinux user that hand out no power (a login mapped to a user with any other role can reach it)
PLAIN_ROLES = frozenset(['object_r', 'user_r', 'guest_r', 'xguest_r'])


def powerful_user(roles):
    """Whether a login mapped to an SELinux user with ``roles`` can reach power (any role beyond the plain user
    ones: staff_r can become sysadm_r, unconfined_r is unconfined)."""
    return bool(set(roles) - PLAIN_ROLES)
