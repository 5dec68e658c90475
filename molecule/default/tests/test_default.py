# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks on the REAL enforcing kernel of the test VM, after molecule's converge (and its idempotence run).

The application (tools/vm/make-webapp.sh, python labelled httpd_exec_t) was denied four times under enforcing:
its page moved in with mv (relabel), binding tcp/8089 (port label), connecting to sshd (boolean), reading
/root/secret.txt (a missing rule). The role's least-privilege remediation must have fixed the first three without
an allow rule, and put only the fourth into the local module. The scenario's inventory (molecule.yml) holds the
policy name and type names.
"""
import re

import pytest

CTL = "/usr/local/sbin/fleetsec-webapp-ctl"
PAGE = "/var/www/html/index.html"
AUDIT_LOG = "/var/log/audit/audit.log"
COMM = "fleetsec-webapp"


@pytest.fixture(scope="module")
def tvars(host):
    return host.ansible.get_variables()


def _run(host, command):
    result = host.run(command)
    assert result.rc == 0, "{0} failed (rc={1}): {2}".format(command, result.rc, result.stderr)
    return result.stdout


def _app_denials(host):
    """AVC records of the application in the audit log."""
    out = host.run("grep '^type=AVC.*comm=\"%s\"' %s" % (COMM, AUDIT_LOG)).stdout
    return [line for line in out.splitlines() if line]


def _module_rules(host, tvars):
    """The allow rules of the loaded local module (its CIL, extracted from the store)."""
    name = tvars["fleetsec_test_module_name"]
    cil = _run(host, "cd /tmp && semodule --cil -E %s >/dev/null && cat /tmp/%s.cil && rm -f /tmp/%s.cil" % (name, name, name))
    return [line.strip() for line in cil.splitlines() if line.strip().startswith("(allow ")]


def test_runtime_mode_is_enforcing(host):
    assert _run(host, "getenforce").strip() == "Enforcing"
    assert host.file("/sys/fs/selinux/enforce").content_string.strip() == "1"


def test_config_mode_is_enforcing(host, tvars):
    config = host.file("/etc/selinux/config").content_string
    assert re.search(r"^SELINUX=enforcing$", config, re.M), config
    assert re.search(r"^SELINUXTYPE=%s$" % re.escape(tvars["fleetsec_test_policy_name"]), config, re.M), config
    assert "Loaded policy name:             %s" % tvars["fleetsec_test_policy_name"] in _run(host, "sestatus")


def test_application_was_denied_before(host, tvars):
    """prepare.yml's run was denied and logged, each kind: without it the tests below could not fail."""
    denials = _app_denials(host)
    for needle in ('name="index.html"', 'name="secret.txt"', "src=8089", "dest=22"):
        assert any(needle in line and "permissive=0" in line for line in denials), needle
    assert all(":%s:" % tvars["fleetsec_test_domain"] in line for line in denials)


def test_the_application_works_under_enforcing(host):
    before = len(_app_denials(host))
    run = host.run("%s run" % CTL)
    after = _app_denials(host)
    assert run.rc == 0, "the application still fails under enforcing: %s %s" % (run.stdout, run.stderr)
    assert len(after) == before, "new denial(s) for the application: %s" % after[before:]


def test_the_page_was_relabelled_not_allowed(host):
    assert ":httpd_sys_content_t:" in _run(host, "stat -c %%C %s" % PAGE)


def test_the_port_was_labelled(host):
    assert re.search(r"^http_port_t\s+tcp\s+8089$", _run(host, "semanage port -l -C"), re.M)


def test_the_boolean_was_turned_on(host):
    assert _run(host, "getsebool httpd_can_network_connect").strip() == "httpd_can_network_connect --> on"


def test_the_module_holds_only_the_residue(host, tvars):
    rules = _module_rules(host, tvars)
    assert rules, "the module has no allow rule: the missing rule (reading /root/secret.txt) was not built"
    assert all(tvars["fleetsec_test_target_type"] in rule for rule in rules), rules
    assert not [rule for rule in rules if re.search(r"port_t|name_bind|name_connect|httpd_sys_content_t", rule)], rules


def test_capture_left_no_permissive_domain(host, tvars):
    permissive = _run(host, "semanage permissive -l")
    assert not re.search(r"^\s*%s\s*$" % re.escape(tvars["fleetsec_test_domain"]), permissive, re.M), permissive
