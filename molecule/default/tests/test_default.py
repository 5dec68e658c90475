# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks on the REAL enforcing kernel of the test VM, after molecule's converge.

The scenario's inventory (molecule.yml) holds the policy name and type names, so nothing
Debian-specific is hard-coded here.
"""
import re
import uuid

import pytest

APP = "/usr/local/sbin/avctest"
SECRET = "/root/secret.txt"
SECRET_TEXT = "fleetsec-avc-test-secret"
AUDIT_LOG = "/var/log/audit/audit.log"


@pytest.fixture(scope="module")
def tvars(host):
    return host.ansible.get_variables()


def _run(host, command):
    result = host.run(command)
    assert result.rc == 0, "{0} failed (rc={1}): {2}".format(command, result.rc, result.stderr)
    return result.stdout


def _app_denials(host):
    """AVC records of the application in the audit log."""
    out = host.run("grep '^type=AVC.*comm=\"avctest\"' %s" % AUDIT_LOG).stdout
    return [line for line in out.splitlines() if line]


def test_runtime_mode_is_enforcing(host):
    assert _run(host, "getenforce").strip() == "Enforcing"
    assert host.file("/sys/fs/selinux/enforce").content_string.strip() == "1"


def test_config_mode_is_enforcing(host, tvars):
    config = host.file("/etc/selinux/config").content_string
    assert re.search(r"^SELINUX=enforcing$", config, re.M), config
    assert re.search(r"^SELINUXTYPE=%s$" % re.escape(tvars["fleetsec_test_policy_name"]), config, re.M), config
    assert "Loaded policy name:             %s" % tvars["fleetsec_test_policy_name"] in _run(host, "sestatus")


def test_module_is_listed(host, tvars):
    names = [line.split()[0] for line in _run(host, "semodule -l").splitlines() if line.strip()]
    assert tvars["fleetsec_test_module_name"] in names


def test_application_was_denied_before(host, tvars):
    """prepare.yml's run was denied and logged: without it the test below could not fail."""
    denials = _app_denials(host)
    assert denials, "no avctest denial in the audit log: the scenario proves nothing"
    first = denials[0]
    assert "{ read }" in first
    assert ":%s:" % tvars["fleetsec_test_domain"] in first
    assert ":%s:" % tvars["fleetsec_test_target_type"] in first


def test_denied_application_works_under_enforcing(host):
    before = len(_app_denials(host))
    unit = "avctest-verify-%s" % uuid.uuid4().hex[:12]
    run = host.run("systemd-run --wait --quiet --unit=%s -p Type=oneshot %s %s" % (unit, APP, SECRET))
    output = host.run("journalctl --quiet -o cat -u %s _COMM=avctest" % unit).stdout.strip()
    after = _app_denials(host)
    assert _run(host, "getenforce").strip() == "Enforcing"
    assert run.rc == 0, "the application still fails under enforcing: %s %s" % (output, run.stderr)
    assert output == SECRET_TEXT
    assert len(after) == before, "new denial(s) for the application: %s" % after[before:]


def test_capture_left_no_permissive_domain(host, tvars):
    permissive = _run(host, "semanage permissive -l")
    assert not re.search(r"^\s*%s\s*$" % re.escape(tvars["fleetsec_test_domain"]), permissive, re.M), permissive
