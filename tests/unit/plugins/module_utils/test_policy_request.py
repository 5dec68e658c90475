# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_request as request_stage

AVC = ('type=AVC msg=audit(1700000000.000:1): avc:  denied  { read } for  pid=1 comm="ntpd" name="x" dev="vda1" '
       'ino=1 scontext=system_u:system_r:ntpd_t:s0 tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file '
       'permissive=1')


def params(**given):
    """The module's parameters as Ansible hands them over: every option present, the top-level defaults filled in."""
    values = dict((key, default) for key, _spec, default, _inherited, _source in request_stage.OPTIONS)
    values['modules'] = None
    values.update(given)
    return values


def test_an_inherited_accumulate_applies_to_denials_entries_only():
    """The documented behaviour: a modules entry with another source ignores the top-level accumulate (it is not an
    error), a denials entry inherits it."""
    entries, single, generating = request_stage.request(params(accumulate=True, modules=[
        {'name': 'handwritten', 'te': 'policy_module(handwritten, 1.0)'},
        {'name': 'captured', 'denials': [AVC]}]))
    assert (single, generating) == (False, False)
    assert [(e.name, e.kind, e.accumulate) for e in entries] == [
        ('handwritten', 'te', False), ('captured', 'denials', True)]


def test_accumulate_set_on_an_entry_with_another_source_is_refused():
    with pytest.raises(request_stage.PlanError) as err:
        request_stage.request(params(modules=[{'name': 'handwritten', 'te': 'T', 'accumulate': True}]))
    assert str(err.value) == ("Module 'handwritten': accumulate merges denials; it does not apply to te. "
                              "Nothing was changed.")


def test_accumulate_at_the_top_level_with_another_source_is_refused():
    with pytest.raises(request_stage.PlanError) as err:
        request_stage.request(params(name='handwritten', te='T', accumulate=True))
    assert 'accumulate merges denials; it does not apply to te' in str(err.value)


def test_an_absent_entry_keeps_no_accumulate():
    entries, _single, _generating = request_stage.request(params(accumulate=True, modules=[
        {'name': 'old', 'state': 'absent'}]))
    assert entries[0].accumulate is False


@pytest.mark.parametrize('version', ['1.0; allow a_t shadow_t:file write', '1.0\nallow a_t b_t:file read;', 'v1', '1 0',
                                     '', '1.0)'])
def test_a_version_that_is_not_a_module_version_is_refused_before_anything_runs(version):
    """The version is written into the module statement: anything beside a version would reach the compiler as
    text the reported rules do not show."""
    with pytest.raises(request_stage.PlanError) as err:
        request_stage.request(params(name='acme', te='allow a_t b_t:file read;', version=version))
    assert 'is not a module version' in str(err.value) and 'Nothing was changed' in str(err.value)


@pytest.mark.parametrize('version', ['1', '1.0', '2.3.1', '1.0a', '1.0_rc1', '1.'])
def test_module_versions_checkmodule_reads_are_taken(version):
    entries = request_stage.request(params(name='acme', te='allow a_t b_t:file read;', version=version))[0]
    assert entries[0].version == version
