# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import bz2
import io
import os
import struct

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils._commands import CATALOGUE
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_audit2allow as audit2allow
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_build as build
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_denials as denials
from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_te as te_text
from ansible_collections.fleetsec.selinux.plugins.module_utils._avc_parse import parse_line
from ansible_collections.fleetsec.selinux.plugins.module_utils._runner import Runner

LINE = ('type=AVC msg=audit(1700000000.100:10): avc:  denied  { read open } for  pid=100 comm="avctest" '
        'scontext=system_u:system_r:ntpd_t:s0 tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0')

# Output of the real audit2allow -m mymod (Debian 12, policy 33), kept verbatim.
AUDIT2ALLOW = """
module mymod 1.0;

require {
\ttype user_home_t;
\tclass file { open read };
\ttype httpd_t;
\ttype ntpd_t;
\tclass tcp_socket name_connect;
\ttype http_port_t;
}

#============= httpd_t ==============

#!!!! This avc can be allowed using one of the these booleans:
#     httpd_can_network_connect, httpd_can_network_relay, httpd_graceful_shutdown
allow httpd_t http_port_t:tcp_socket name_connect;

#!!!! This avc can be allowed using the boolean 'httpd_read_user_content'
allow httpd_t user_home_t:file read;

#============= ntpd_t ==============

#!!!! This avc is allowed in the current policy
allow ntpd_t user_home_t:file { open read };
"""


@pytest.mark.parametrize('name, ok', [
    ('acme_app', True), ('A1', True), ('a', True), ('1abc', False), ('_x', False), ('a-b', False), ('a.b', False),
    ('', False), (None, False), ('a b', False),
])
def test_validate_name(name, ok):
    if ok:
        assert build.validate_name(name) == name
    else:
        with pytest.raises(build.PolicySourceError):
            build.validate_name(name)


def test_denial_lines_dedupes_hosts_and_synthesizes_dicts():
    denial = {'scontext': 'system_u:system_r:ntpd_t:s0', 'tcontext': 'system_u:object_r:user_home_t:s0',
              'tclass': 'file', 'permissions': ['read', 'open'], 'comm': 'av"c', 'count': 4}
    lines = denials.denial_lines([LINE, LINE + '\n', '  ' + LINE, denial, dict(denial), LINE + '\n' + LINE])
    # written by the one AVC writer (avc_parse.canonical_line): permissions sorted, a comm with a quote hex-encoded
    # as the kernel does
    assert lines == [LINE, 'type=AVC msg=audit(0.000:1): avc:  denied  { open read } for  comm=61762263 '
                     'scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:user_home_t:s0 tclass=file '
                     'permissive=0']
    # ... and read back by the one reader with the same fields
    kind, rec = parse_line(lines[1].encode('ascii'))
    assert (kind, rec['source_type'], rec['target_type'], rec['tclass'], rec['comm']) == (
        'denial', 'ntpd_t', 'user_home_t', 'file', 'av"c')
    assert sorted(rec['permissions']) == ['open', 'read'] and rec['permissive'] is False


def test_denial_from_dict_with_types_only():
    line = denials.denial_from_dict({'source_type': 'a_t', 'target_type': 'b_t', 'tclass': 'dir', 'permissions': 'search'}, 7)
    assert denials.parse_denial(line) == ('a_t', 'b_t', 'dir', ['search'])
    assert 'scontext=system_u:system_r:a_t:s0 tcontext=system_u:object_r:b_t:s0' in line


def test_denial_from_dict_rejects_incomplete_entries():
    with pytest.raises(build.PolicySourceError):
        denials.denial_from_dict({'source_type': 'a_t', 'tclass': 'file', 'permissions': ['read']}, 1)


@pytest.mark.parametrize('line, expected', [
    (LINE, ('ntpd_t', 'user_home_t', 'file', ['read', 'open'])),
    ('node=h1 ' + LINE, ('ntpd_t', 'user_home_t', 'file', ['read', 'open'])),
    ('type=SYSCALL msg=audit(1.2:3): arch=c000003e', None),
    ('type=AVC msg=audit(1.2:3): avc:  granted  { setenforce } for scontext=a:b:c_t:s0 tcontext=a:b:d_t:s0 tclass=security', None),
])
def test_parse_denial(line, expected):
    assert denials.parse_denial(line) == expected


def test_split_undefined_classes_drops_what_the_policy_lacks_and_keeps_the_rest():
    avc = ('type=AVC msg=audit(1700000000.1:{n}): avc:  denied  {{ {perms} }} for  pid=1 comm="x" '
           'scontext=system_u:system_r:ntpd_t:s0 tcontext=system_u:object_r:user_home_t:s0 tclass={tclass} permissive=0')
    known = avc.format(n=1, perms='read', tclass='file')
    no_class = avc.format(n=2, perms='sqpoll', tclass='io_uring')
    some_perms = avc.format(n=3, perms='read map', tclass='dir')
    kept, dropped = denials.split_undefined_classes(
        [known, no_class, some_perms, 'not a denial'], {'file': set(['read']), 'dir': set(['read', 'search'])})
    assert kept[0] == known and kept[2] == 'not a denial'
    assert denials.parse_denial(kept[1]) == ('ntpd_t', 'user_home_t', 'dir', ['read'])
    assert [(d['line'], d['tclass'], d['permissions'], d['reason']) for d in dropped] == [
        (no_class, 'io_uring', ['sqpoll'], 'class io_uring not defined in the policy'),
        (some_perms, 'dir', ['map'], 'permission(s) map of class dir not defined in the policy')]
    # a denial of nothing but unknown permissions gives no line
    kept, dropped = denials.split_undefined_classes([avc.format(n=4, perms='map', tclass='dir')], {'dir': set(['read'])})
    assert kept == [] and dropped[0]['permissions'] == ['map']


def test_sort_require_block_and_volatile_remark():
    te = audit2allow.sort_require_block(audit2allow.strip_volatile_remarks(AUDIT2ALLOW))
    assert te.split('require {\n')[1].split('\n}')[0].split('\n') == [
        '\ttype http_port_t;', '\ttype httpd_t;', '\ttype ntpd_t;', '\ttype user_home_t;',
        '\tclass file { open read };', '\tclass tcp_socket name_connect;']
    assert 'allowed in the current policy' not in te
    assert "using the boolean 'httpd_read_user_content'" in te
    assert sorted(l for l in te.splitlines() if l) == sorted(l for l in AUDIT2ALLOW.splitlines() if l and 'current policy' not in l)
    # same text as audit2allow gives before the module is loaded (no remark, no blank line after the header)
    assert te.endswith('#============= ntpd_t ==============\nallow ntpd_t user_home_t:file { open read };\n')


def test_boolean_hints():
    assert audit2allow.boolean_hints(AUDIT2ALLOW) == [
        {'rule': 'allow httpd_t http_port_t:tcp_socket name_connect;',
         'booleans': ['httpd_can_network_connect', 'httpd_can_network_relay', 'httpd_graceful_shutdown']},
        {'rule': 'allow httpd_t user_home_t:file read;', 'booleans': ['httpd_read_user_content']},
    ]


def test_parse_te_statements():
    te = """module x 1.0;
require {
    type a_t; type b_t;
    class file { read write };   # nested braces
    class process transition;
};
# a comment; with a semicolon
allow a_t b_t : file   { read
   write };
allow a_t self:capability ~{ sys_admin };
dontaudit a_t b_t:dir search;
type_transition a_t b_t:process c_t;
type_transition a_t b_t:file c_t "name";
type myapp_t;
optional {
  allow a_t b_t:file getattr;
}
"""
    rules = te_text.parse_te(te)
    assert te_text.rule_texts(rules) == [
        'allow a_t b_t:file { read write };',
        'allow a_t self:capability ~{ sys_admin };',
        'dontaudit a_t b_t:dir search;',
        'type_transition a_t b_t:process c_t;',
        'type_transition a_t b_t:file c_t "name";',
        'type myapp_t;',
        'allow a_t b_t:file getattr;',
    ]
    assert str(rules[0].perms) == '{ read write }' and rules[3].default == 'c_t'


def test_parse_te_refpolicy_calls():
    te = "policy_module(acme, 1.0)\ngen_require(`\n  type a_t;\n')\nuserdom_read_user_home_content_files(a_t)\n" \
         "corenet_tcp_connect_http_port(a_t)\n"
    rules = te_text.parse_te(te)
    assert te_text.rule_texts(rules) == ['userdom_read_user_home_content_files(a_t)', 'corenet_tcp_connect_http_port(a_t)']
    assert rules[0].kind == 'call' and list(rules[0].args) == ['a_t']
    assert te_text.is_refpolicy_source(te) and not te_text.is_refpolicy_source('module x 1.0;')
    assert te_text.module_header(te) == ('acme', '1.0')


@pytest.mark.parametrize('te, expected', [
    ('module x 1.0;\nallow a b:c d;\n', 'module x 2.5;\nallow a b:c d;\n'),
    ('\nmodule  x  1.0 ;\nallow a b:c d;\n', '\nmodule x 2.5;\nallow a b:c d;\n'),
    ('allow a b:c d;\n', 'module x 2.5;\n\nallow a b:c d;\n'),
    ('policy_module(x, 1.0)\nfoo(a)\n', 'policy_module(x, 2.5)\nfoo(a)\n'),
])
def test_set_header(te, expected):
    assert te_text.set_header(te, 'x', '2.5') == expected


def test_set_header_refuses_another_module_name():
    with pytest.raises(build.PolicySourceError) as info:
        te_text.set_header('module other 1.0;\n', 'x', '1')
    assert "declares module 'other' but name is 'x'" in info.value.msg


def test_version_and_fingerprint_follow_the_rules_only():
    te = 'module x 1.0;\nrequire { type b_t; type a_t; }\nallow a_t b_t:file read;\n'
    same = '# reviewed\nmodule x 1.0;\nrequire {\n type a_t;\n type b_t;\n}\n\nallow  a_t b_t:file read; # why\n'
    other = te.replace('read', 'write')
    assert te_text.derive_version(te) == te_text.derive_version(same) != te_text.derive_version(other)
    assert te_text.derive_version(te, fc='/a  x') == te_text.derive_version(te, fc='/a x') != te_text.derive_version(te)
    assert te_text.derive_version(te).startswith('1.')
    assert te_text.source_fingerprint(te) == te_text.source_fingerprint(same) != te_text.source_fingerprint(other)
    assert te_text.source_fingerprint(te) != te_text.source_fingerprint(te.replace('1.0', '1.1'))


def test_a_text_is_read_once_and_reads_as_its_text_with_the_header_set(monkeypatch):
    """The version, the statements and the fingerprint come from one reading (comments stripped once, where three
    readings stripped them five times); the text with its header set reads as the text without."""
    te = '# reviewed\nrequire { type b_t; type a_t; }\nallow a_t b_t:file read; # why\n'
    read = te_text.TeText(te)
    text = te_text.set_header(te, 'x', te_text.derive_version(read))
    assert te_text.derive_version(read) == te_text.derive_version(te) == te_text.derive_version(text)
    assert read.statements() == te_text.parse_te(text)
    assert te_text.source_fingerprint(text, read=read) == te_text.source_fingerprint(text)
    calls = []
    strip = te_text._strip_comments
    monkeypatch.setattr(te_text, '_strip_comments', lambda value: calls.append(1) or strip(value))
    read = te_text.TeText(te)
    te_text.derive_version(read), read.statements(), te_text.source_fingerprint(text, read=read)
    assert len(calls) == 1


def test_uncovered_denials_reports_unknown_types():
    lines = [LINE, LINE.replace('ntpd_t', 'nosuch_t').replace('read open', 'read')]
    rules = te_text.parse_te('allow ntpd_t user_home_t:file { open read };')
    dropped = denials.uncovered_denials(lines, rules, 'libsepol.context_from_record: type nosuch_t is not defined\n')
    assert [(d['source_type'], d['permissions'], d['reason']) for d in dropped] == [
        ('nosuch_t', ['read'], 'type(s) nosuch_t not defined in the loaded policy')]
    partial = denials.uncovered_denials([LINE], te_text.parse_te('allow ntpd_t user_home_t:file read;'))
    assert partial[0]['permissions'] == ['open'] and 'no rule generated' in partial[0]['reason']


def test_uncovered_denials_names_a_context_the_policy_does_not_allow():
    # libsepol's words (3.6, EL9's policy) for a published record: unconfined_r has no gnome_atspi_t there
    context = 'unconfined_u:unconfined_r:gnome_atspi_t:s0-s0:c0.c1023'
    line = LINE.replace('unconfined_u:object_r:user_home_t:s0', context)
    assert context in line
    stderr = 'libsepol.context_from_record: invalid security context: "%s"\n' % context
    dropped = denials.uncovered_denials([line], [], stderr)
    assert dropped[0]['reason'] == ('context %s not valid in the loaded policy (its user, role, type or level are not '
                                    'allowed together)' % context)


class FakeModule(object):
    check_mode = False

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/bin/' + name

    def run_command(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        rc, out, err = self.answers.pop(0)
        if rc == 0 and '-o' in cmd:
            with io.open(cmd[cmd.index('-o') + 1], 'w') as handle:
                handle.write(u'built')
        return rc, out, err


def test_generate_passes_module_name_policy_and_stdin():
    module = FakeModule([(0, AUDIT2ALLOW, 'libsepol: type nosuch_t is not defined')])
    runner = Runner(module, CATALOGUE)
    te, err = audit2allow.generate(runner, 'mymod', [LINE], policy_file='/r/etc/selinux/default/policy/policy.33')
    cmd, kwargs = module.calls[0]
    assert cmd == ['/usr/bin/audit2allow', '-m', 'mymod', '-p', '/r/etc/selinux/default/policy/policy.33']
    assert kwargs['data'] == LINE + '\n'
    assert 'nosuch_t' in err and 'current policy' not in te
    module.answers.append((0, 'policy_module(mymod, 1.0)\n', ''))
    audit2allow.generate(runner, 'mymod', [LINE], refpolicy=True, interface_info='/x/if')
    assert module.calls[1][0] == ['/usr/bin/audit2allow', '-R', '--interface-info=/x/if', '-m', 'mymod']


def test_compile_module_runs_checkmodule_then_semodule_package(tmpdir):
    module = FakeModule([(0, '', ''), (0, '', '')])
    runner = Runner(module, CATALOGUE)
    work = str(tmpdir)
    built = build.compile_module(runner, work, 'acme', 'module acme 1.0;\n', fc='/x(/.*)? a_t\n')
    assert [c[0] for c in module.calls] == [
        ['/usr/bin/checkmodule', '-M', '-m', '-o', os.path.join(work, 'acme.mod'), os.path.join(work, 'acme.te')],
        ['/usr/bin/semodule_package', '-o', os.path.join(work, 'acme.pp'), '-m', os.path.join(work, 'acme.mod'),
         '-f', os.path.join(work, 'acme.fc')],
    ]
    assert built == {'pp': os.path.join(work, 'acme.pp'), 'expanded': None}
    assert oct(os.stat(os.path.join(work, 'acme.te')).st_mode & 0o777) in ('0600', '0o600')


def test_compile_error_carries_the_compiler_line(tmpdir):
    err = ("acme.te:6:ERROR 'unknown type nosuch_t' at token ';' on line 6:\nallow a_t nosuch_t:file read;\n"
           "checkmodule:  error(s) encountered while parsing configuration\n")
    module = FakeModule([(1, '', err)])
    with pytest.raises(build.PolicyCompileError) as info:
        build.compile_module(Runner(module, CATALOGUE), str(tmpdir), 'acme', 'module acme 1.0;\n')
    msg = info.value.msg
    assert msg.startswith("Compiling module 'acme' failed (rc=1): acme.te:6:ERROR 'unknown type nosuch_t' at token ';' on line 6:")
    assert 'Nothing was installed' in msg and info.value.fail_kwargs()['rc'] == 1
    assert len(module.calls) == 1


def test_refpolicy_source_uses_the_devel_makefile(tmpdir, monkeypatch):
    monkeypatch.setattr(build, 'find_devel_makefile', lambda: '/usr/share/selinux/devel/Makefile')
    module = FakeModule([(0, '', '')])
    work = str(tmpdir)
    os.mkdir(os.path.join(work, 'tmp'))
    with io.open(os.path.join(work, 'tmp', 'acme.tmp'), 'w') as handle:
        handle.write(u'allow a_t shadow_t:file write;\n')
    built = build.compile_module(Runner(module, CATALOGUE), work, 'acme', 'policy_module(acme, 1.0)\nfoo(a_t)\n')
    cmd, kwargs = module.calls[0]
    guard = os.path.join(work, build.M4_GUARD_FILE)
    assert cmd == ['/usr/bin/make', '-f', '/usr/share/selinux/devel/Makefile',
                   'm4support=$(wildcard $(HEADERDIR)/support/*.spt) %s' % guard,
                   'CHECKMODULE=/usr/bin/checkmodule', 'SEMOD_PKG=/usr/bin/semodule_package', 'acme.pp']
    assert kwargs['cwd'] == work
    with io.open(guard) as handle:
        assert "define(`syscmd', `ifelse(`$#', `0'" in handle.read()
    assert built['expanded'] == 'allow a_t shadow_t:file write;\n'
    assert os.path.exists(os.path.join(work, 'acme.if')) and os.path.exists(os.path.join(work, 'acme.fc'))


@pytest.mark.parametrize('text, builtin', [
    (u"policy_module(acme, 1.0)\nsyscmd(`id > /tmp/x')\n", 'syscmd'),
    (u"policy_module(acme, 1.0)\n# esyscmd (`id')\n", 'esyscmd'),    # comments too: quotes can end a comment
    (u"policy_module(acme, 1.0)\ninclude(`/etc/shadow')\n", 'include'),
    (u"policy_module(acme, 1.0)\nbuiltin(`sys'`cmd', `id')\n", 'builtin'),
])
def test_unsafe_m4_builtins_are_refused_before_m4_runs(text, builtin):
    with pytest.raises(build.PolicySourceError) as info:
        build.check_m4_safe('acme', text)
    assert 'calls the m4 builtin %s()' % builtin in info.value.msg and 'Nothing was run' in info.value.msg


def test_m4_words_without_a_call_are_fine():
    build.check_m4_safe('acme', u"policy_module(acme, 1.0)\n# include the read rule\ntype include_t;\n")


def test_m4_guard_redefines_every_unsafe_builtin():
    guard = build.m4_guard()
    for name, dummy in build.M4_UNSAFE_BUILTINS:
        assert "define(`%s', `ifelse(`$#', `0', ``%s''" % (name, name) in guard
    assert guard.startswith("divert(`-1')") and "defn(`m4exit')" in guard


def _package(name, kind=2, magic=0xf97cff8d):
    ident = b'SE Linux Module'
    body = struct.pack('<II', magic, len(ident)) + ident + struct.pack('<IIIII', kind, 21, 1, 8, 0)
    body += struct.pack('<I', len(name)) + name + struct.pack('<I', 3) + b'1.0'
    return struct.pack('<IIII', 0xf97cff8f, 1, 1, 16) + body


def test_package_module_name_reads_the_declared_name():
    assert build.package_module_name(_package(b'postfix')) == 'postfix'
    assert build.package_module_name(bz2.compress(_package(b'acme'))) == 'acme'


@pytest.mark.parametrize('data, problem', [
    (b'PP', 'not a usable SELinux module package'),
    (_package(b'base', kind=1), 'base policy package'),
    (_package(b'x', magic=0x1234), 'not a policy module'),
    (_package(b'acme')[:65], 'missing or cut'),
    (b'BZh91AY&SY garbage', 'cannot be decompressed'),
])
def test_package_module_name_refuses_what_is_not_a_module(data, problem):
    with pytest.raises(build.PolicySourceError) as info:
        build.package_module_name(data)
    assert problem in info.value.msg


@pytest.mark.parametrize('te', [
    u'require { type a_t; }\nallow a_t b_t:file { read }\n',   # missing ;
    u'allow a_t b_t file read;\n',                           # missing :
    u'allow a_t b_t:file { read ;\n',                        # missing }
    u'allow a_t\u00e9 b_t:file read;\n',                     # non-ASCII token
])
def test_malformed_rules_leave_the_message_to_the_compiler(te):
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_safety as safety
    rules = te_text.parse_te(te)
    assert safety.analyse(rules) == []
    assert denials.uncovered_denials([], rules) == []
