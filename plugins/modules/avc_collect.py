#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: avc_collect
short_description: Collect SELinux AVC denials from audit logs, ausearch or the journal
version_added: 0.1.0
description:
  - Reads SELinux denial records (C(AVC), C(USER_AVC)) and returns one entry per unique
    (source type, target type, class) with the permissions merged, plus the deduplicated
    raw AVC lines ready to feed C(audit2allow).
  - Understands raw C(audit.log) lines (with or without C(node=), with auditd ENRICHED fields),
    C(ausearch -i) interpreted output, syslog, journal and dmesg lines (C(type=1400), C(type=1107),
    C(type=1401), C(audit[PID]) followed by C(AVC)), C(USER_AVC) records with the denial nested in C(msg='...'),
    hex-encoded C(comm), C(name), C(path) and C(exe) fields and MLS ranges. The executable is taken
    from the C(SYSCALL) record of the same event when the denial does not carry it.
  - Records of granted permissions (C(granted) instead of C(denied)), policy load notices and
    C(SELINUX_ERR) records produce no denial;
    C(SELINUX_ERR) records are returned in RV(errors).
  - Log files are streamed; memory grows with the number of unique denials, not with the log size.
  - Read-only on the host; only the O(checkpoint) state file is written (never in check mode).
author:
  - fleetsec.selinux maintainers (@fleetsec)
extends_documentation_fragment:
  - fleetsec.selinux.attributes
  - fleetsec.selinux.attributes.platform
attributes:
  check_mode:
    support: full
    details:
      - The O(checkpoint) file is not advanced in check mode; everything else is read-only.
  diff_mode:
    support: none
  platform:
    platforms: linux
options:
  source:
    description:
      - Where to read the records from.
      - V(auto) reads the files named in O(paths) when O(paths) is set; otherwise it uses
        C(ausearch) when it is installed and C(/var/log/audit/audit.log) exists, then that file
        without C(ausearch), then the journal.
      - V(file) streams the files in O(paths) (any of the formats listed above).
      - V(ausearch) runs C(ausearch --raw) on the auditd logs (C(--input-logs)), or with C(-if) on
        each file of O(paths) when O(paths) is set (raw auditd format only).
      - V(journal) reads audit and kernel messages with C(journalctl) (hosts without auditd).
    type: str
    choices: [auto, file, ausearch, journal]
    default: auto
  paths:
    description:
      - Log files or glob patterns to read.
      - When not set, C(/var/log/audit/audit.log).
      - Only regular files are read, with O(source=file) and O(source=ausearch) alike. A path that is
        a directory, a FIFO, a device or a socket, a broken or looping symlink, or a file that cannot be
        opened is named in a warning with the reason when at least one other file can be read; when
        none can, the task fails and names each path and why. A FIFO is never opened for reading
        (that would wait for a writer forever).
    type: list
    elements: path
  include_rotated:
    description:
      - Also read the rotated siblings of each file (C(audit.log.1), C(audit.log.2.gz),
        C(audit.log-20261120)), oldest first.
      - A compressed rotated file that is damaged (truncated or corrupt) gives a warning that names
        it; the records read before the damage are kept and the other files are still read.
    type: bool
    default: true
  since:
    description:
      - Only records at or after this time.
      - V(boot) (the last boot), V(today) (local midnight), V(recent) (the last 10 minutes),
        an epoch (V(1764115800)) or an ISO 8601 time (V(2026-11-26T00:10:00Z); without a zone, UTC).
      - Impossible dates and times (V(2026-02-30), V(25:61:61)) and zone offsets outside the
        RFC 3339 ranges (hours 00-23, minutes 00-59, so not V(+99:99)) are refused before anything is read.
    type: str
  checkpoint:
    description:
      - Path of a state file. When set, only records newer than the previous run are returned and
        the file is then advanced (not in check mode).
      - The state holds each file's identity (device, inode, digest of its first bytes) and the
        offset read, plus the last event (timestamp and serial), so log rotation is survived.
      - The file is written with mode C(0600); its directory must exist.
      - The checkpoint moves past every record read, whatever O(domains), O(comms) or O(tclasses) select.
      - A checkpoint that is not a regular file (a FIFO, a directory, a device), is not valid JSON or
        has fields of the wrong type (for example a string where a number is expected) fails the task
        with its path and what is wrong, in check mode too, before any log is read; nothing is written.
        It is not silently treated as missing, which would return every old denial again; remove the
        file to start over.
    type: path
  domains:
    description:
      - Only denials whose source type is in this list (for example V(ntpd_t)).
    type: list
    elements: str
  exclude_domains:
    description:
      - Ignore denials whose source type is in this list.
    type: list
    elements: str
  comms:
    description:
      - Only denial records whose C(comm) is in this list.
    type: list
    elements: str
  tclasses:
    description:
      - Only denials of these object classes (for example V(file), V(tcp_socket)).
    type: list
    elements: str
  explain:
    description:
      - Classify each denial with C(audit2why) and add RV(denials[].explanation).
    type: bool
    default: false
  triage:
    description:
      - Decide for each denial the least-privilege remedy, with its evidence, and add RV(denials[].remedy).
      - In the order of how little each opens. C(relabel) when the object's type differs from the one the policy's
        file contexts give its path and the domain may do what it was denied on that default type (C(restorecon)
        fixes it). The full path comes from the record's C(path) field or, for a record that names only the last
        component, from the C(PATH) record of the same event with the same inode (written when syscall auditing is
        on, for example with one watch rule such as C(auditctl -w /etc/shadow -p w)).
      - C(fcontext) when neither the object's type nor its path's default type lets the domain do it (an
        application in a non-default tree such as C(/srv/acme), whose files are C(var_t)) - a file-context rule for
        the smallest directory that holds the object (never C(/), a system directory or a directory a package owns)
        with the file type the domain's own rules give exactly what was denied and the least else (a content type
        for reads, its read-write sibling for writes; a tie goes to the type the policy's file contexts use most),
        then C(restorecon -R) of that tree. An allow rule for the generic type would give the domain every such file.
      - C(dac) for C(dac_override) or C(dac_read_search) - the file permissions refused the process before SELinux
        was asked (a wrong owner or mode) - advice with the C(ausearch) that names the file, and no rule (the
        capability would let the domain past the permissions of every file).
      - C(port) for a socket denial on a generic port type when the policy has specific port types the domain may
        use (C(semanage port -a)) - one port, where the boolean audit2why may name (C(nis_enabled)) opens them all.
      - C(boolean) when C(audit2why) names the boolean(s) that allow it (with their current values where SELinux is
        active); of several, the one that enables the fewest rules (C(sesearch -A -b)).
      - C(allow) for the residue, which goes into the local module, and whenever the evidence is incomplete (for
        example a record with no full path); the reason says so and nothing is guessed.
      - Entries are then per object as well (source type, target type, class and the record's C(name)), since a
        remedy is per object - two files of one type denied to one domain would otherwise share the first one's path.
      - Implies O(explain=true). Reads the policy with C(sesearch) and C(seinfo) (setools) and the file
        contexts with C(matchpathcon); a missing tool fails the task before any log is read.
      - Nothing is changed; applying the remedies is a separate step.
    type: bool
    default: false
  policy:
    description:
      - Binary policy file passed to C(audit2why -p) with O(explain=true), and read by O(triage=true).
      - When not set and SELinux is not active on the host, the newest
        C(/etc/selinux/<SELINUXTYPE>/policy/policy.N) is used.
      - It must be a regular file that can be read; anything else (a FIFO, a directory) is refused
        before any log is read and before C(audit2why) runs.
    type: path
requirements:
  - None for O(source=file). C(ausearch) (audit) for O(source=ausearch), C(journalctl) (systemd) for
    O(source=journal)
  - For O(explain=true), C(audit2why) (policycoreutils-python-utils; policycoreutils-python on EL7)
  - For O(triage=true), also C(sesearch) and C(seinfo) (setools-console on EL, setools on Debian), C(getsebool)
    and C(matchpathcon) (libselinux-utils on EL, selinux-utils on Debian)
notes:
  - C(ausearch) understands only raw auditd records; use O(source=file) for syslog or journal exports.
  - For the fastest scan of large logs use O(source=file), which streams the files through bounded
    memory windows. With O(source=ausearch) or O(source=journal) the command output (every matching
    record) is held in memory while it is parsed.
  - Records without a time (for example C(journalctl -o cat) exports) pass the O(since) and
    O(checkpoint) time filters; RV(denials[].first_seen) is null for them.
seealso:
  - name: audit2allow(1)
    description: Generates policy allow rules from denials.
    link: https://man7.org/linux/man-pages/man1/audit2allow.1.html
'''

EXAMPLES = r'''
- name: Which denials a relabel, a boolean or a port label would fix instead of an allow rule
  fleetsec.selinux.avc_collect:
    since: boot
    triage: true
  register: avc

- name: Show the remedy of each denial
  ansible.builtin.debug:
    msg: "{{ avc.denials | map(attribute='remedy') | list }}"

- name: Collect today's denials of the ntpd domain
  fleetsec.selinux.avc_collect:
    since: today
    domains:
      - ntpd_t
  register: avc

- name: Collect only what is new since the last run, with an explanation
  fleetsec.selinux.avc_collect:
    source: file
    checkpoint: /var/lib/fleetsec/avc.checkpoint
    explain: true
  register: avc

- name: Show the lines to give to audit2allow
  ansible.builtin.debug:
    var: avc.lines

- name: Read an exported journal or syslog file
  fleetsec.selinux.avc_collect:
    source: file
    paths:
      - /var/log/messages
    include_rotated: false
'''

RETURN = r'''
denials:
  description: One entry per unique (source type, target type, class); with O(triage=true) per object name as well.
  returned: always
  type: list
  elements: dict
  contains:
    source_type:
      description: Type of the source (process) context.
      type: str
      sample: ntpd_t
    target_type:
      description: Type of the target context.
      type: str
      sample: user_home_t
    tclass:
      description: Object class.
      type: str
      sample: file
    permissions:
      description: Denied permissions of all merged records, sorted.
      type: list
      elements: str
      sample: [open, read]
    scontext:
      description: Full source context of the first record.
      type: str
      sample: system_u:system_r:ntpd_t:s0
    tcontext:
      description: Full target context of the first record.
      type: str
      sample: system_u:object_r:user_home_t:s0
    comm:
      description: Command name (hex-encoded values decoded; bytes that are not UTF-8 kept as C(\xNN)).
      type: str
      sample: avctest
    exe:
      description: Executable, from the record or from the C(SYSCALL) record of the same event.
      type: str
      sample: /usr/local/sbin/avctest
    path:
      description: C(path) field of the first record that had one, decoded.
      type: str
      sample: /root/secret.txt
    name:
      description: C(name) field of the first record that had one, decoded.
      type: str
      sample: secret.txt
    port:
      description:
        - For a socket class (C(tcp_socket), C(udp_socket), C(sctp_socket), C(dccp_socket)), the port of the first
          record that named one (C(src=) of C(name_bind), C(dest=) of C(name_connect)); null otherwise.
      type: int
      sample: 8081
    count:
      description: Number of denial records merged into this entry.
      type: int
      sample: 3
    first_seen:
      description: Time of the oldest record, ISO 8601 UTC (null when the format has no time).
      type: str
      sample: '2026-11-26T00:10:00Z'
    last_seen:
      description: Time of the newest record, ISO 8601 UTC (null when the format has no time).
      type: str
      sample: '2026-11-26T00:12:31Z'
    permissive:
      description:
        - V(false) when at least one record was enforced (C(permissive=0)), V(true) when every
          record that tells says C(permissive=1), null when no record carries the field.
      type: bool
      sample: false
    remedy:
      description:
        - With O(triage=true), the least-privilege remedy of this denial.
        - C(remedy) is C(relabel), C(fcontext), C(port), C(boolean), C(dac), C(allow) or C(none) (the loaded policy allows it now); C(reason) says why in one
          sentence; C(evidence) holds what the decision rests on (C(path), C(current_type), C(default_type), C(command) for a relabel; the same and
          C(tree), C(target) (the file-context expression), C(setype) for a file-context rule;
          C(booleans) (the one chosen, with C(name), C(current) and C(rules), the number of rules it enables) and
          C(alternatives) (the other booleans audit2why names) for a boolean; C(protocol), C(port), C(current_type),
          C(candidates), C(proposed_type), C(command) for a port label).
      type: dict
      returned: with O(triage=true)
      sample:
        remedy: relabel
        reason: /var/www/html/index.html is admin_home_t, the policy gives its path httpd_sys_content_t, on which
          httpd_t may read
        evidence:
          path: /var/www/html/index.html
          current_type: admin_home_t
          default_type: httpd_sys_content_t
          command: restorecon -v /var/www/html/index.html
    record_type:
      description: C(AVC) (kernel) or C(USER_AVC) (userspace object manager such as D-Bus).
      type: str
      sample: AVC
    node:
      description: Host name from the C(node=) prefix of the first record, else null.
      type: str
      sample: web01
    explanation:
      description: Only with O(explain=true). What audit2why says about the denial.
      type: dict
      returned: when O(explain=true)
      contains:
        kind:
          description: V(missing_rule), V(boolean), V(constraint), V(reload) (would be allowed by the current policy) or V(unknown).
          type: str
          sample: boolean
        booleans:
          description: Booleans that would allow the access.
          type: list
          elements: str
          sample: [httpd_can_network_connect_db]
        text:
          description: The audit2why analysis, one line per line.
          type: str
          sample: Missing type enforcement (TE) allow rule.
lines:
  description:
    - One canonical raw AVC line per entry of RV(denials) (same order), in C(audit.log) form with the
      merged permissions, fit to feed C(audit2allow) or C(audit2why).
  returned: always
  type: list
  elements: str
  sample:
    - 'type=AVC msg=audit(1764115800.123:4242): avc:  denied  { open read } for  pid=812 comm="avctest"
      name="secret.txt" scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0'
allow_lines:
  description:
    - The RV(lines) that only an allow rule fixes, to give to M(fleetsec.selinux.local_policy_module) as its
      O(fleetsec.selinux.local_policy_module#module:denials). With O(triage=true), those whose RV(denials[].remedy)
      is V(allow) (the other remedies fix theirs without a rule, and V(none) needs nothing); without triage, all of
      RV(lines).
    - With O(triage=true) each line carries every permission that its source type, target type and class were
      denied on any object of the capture. The kernel logs a permission once per (domain, type, class), not per
      object; of two files of one type read in permissive mode, the second shows only what the first did not
      already log. An allow rule from that object's own record alone would still be denied once the other file
      is relabelled.
  returned: always
  type: list
  elements: str
  sample: []
records:
  description: Number of denial records read that passed the time and domain filters.
  returned: always
  type: int
  sample: 12
skipped_lines:
  description:
    - Lines that look like SELinux records but could not be parsed (truncated, garbage, too long),
      including denials cut between their permission list and their context fields and records cut
      inside C(tclass=).
    - Named C(skipped_lines) because Ansible reserves the result key C(skipped) (a task returning a
      true C(skipped) is shown and counted as skipped).
  returned: always
  type: dict
  contains:
    count:
      description: How many lines were skipped.
      type: int
      sample: 1
    samples:
      description: Up to 5 of them (first 200 bytes) with the reason.
      type: list
      elements: str
      sample: ['type=AVC msg=audit(1764115800.123:4242): avc:  denied  { read } for  pid=812 (missing or invalid scontext)']
errors:
  description:
    - Records that are not denials but matter, such as C(SELINUX_ERR) invalid contexts and refused
      transitions, one entry per unique record with C(count), C(first_seen), C(last_seen).
  returned: always
  type: list
  elements: dict
  sample:
    - record_type: SELINUX_ERR
      op: security_compute_sid
      invalid_context: root:sysadm_r:myapp_t
      scontext: root:sysadm_r:myapp_t
      tcontext: root:sysadm_r:myapp_t
      tclass: unix_dgram_socket
      count: 1
      first_seen: '2024-06-24T09:23:33Z'
      last_seen: '2024-06-24T09:23:33Z'
checkpoint_updated:
  description: Whether the O(checkpoint) file was written (always V(false) in check mode and without O(checkpoint)).
  returned: always
  type: bool
  sample: true
source:
  description: The source actually read (V(file), V(ausearch) or V(journal)).
  returned: always
  type: str
  sample: file
remedies:
  description: With O(triage=true), how many denials each remedy fixes; null without it.
  returned: always
  type: dict
  sample: {relabel: 1, fcontext: 1, port: 1, boolean: 1, allow: 2, none: 0}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_capture import capture
from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner, finish


def argument_spec():
    return dict(
        source=dict(type='str', default='auto', choices=['auto', 'file', 'ausearch', 'journal']),
        paths=dict(type='list', elements='path'),
        include_rotated=dict(type='bool', default=True),
        since=dict(type='str'),
        checkpoint=dict(type='path'),
        domains=dict(type='list', elements='str'),
        exclude_domains=dict(type='list', elements='str'),
        comms=dict(type='list', elements='str'),
        tclasses=dict(type='list', elements='str'),
        explain=dict(type='bool', default=False),
        triage=dict(type='bool', default=False),
        policy=dict(type='path'),
    )


def run(module):
    return capture(Runner(module, CATALOGUE), module.params), []


def main():
    finish(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
