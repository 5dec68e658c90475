# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""One identifier grammar for every SELinux name the collection passes to a tool (module, type, boolean, policy
type): a trailing newline must not pass (with ``$`` it did, and would end a line of a semanage import or name a
file)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _policy_build as build
from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_config as config
from ansible_collections.fleetsec.selinux.plugins.module_utils import _selinux_state as state


def test_module_name_with_a_trailing_newline_is_refused():
    with pytest.raises(build.PolicySourceError):
        build.validate_name('fleetsec_app\n')
    assert build.validate_name('fleetsec_app') == 'fleetsec_app'


def test_type_name_with_a_trailing_newline_is_refused():
    with pytest.raises(state.ModeError):
        state.check_type_names(['ntpd_t\n'])
    state.check_type_names(['ntpd_t'])


def test_policy_type_with_a_trailing_newline_is_refused():
    assert config.POLICY_NAME_RE.match('targeted\n') is None
    assert config.POLICY_NAME_RE.match('targeted') is not None


def test_one_identifier_grammar():
    assert build.NAME_RE is config.IDENTIFIER_RE and state.TYPE_NAME_RE is config.IDENTIFIER_RE
