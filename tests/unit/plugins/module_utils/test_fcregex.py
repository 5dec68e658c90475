# -*- coding: utf-8 -*-
# Copyright: fleetsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.fleetsec.selinux.plugins.module_utils import _fcregex as fcregex


@pytest.mark.parametrize('first, second, expected', [
    ('/srv/acme(/.*)?', '/srv/[^/]+/\\.secret', True),
    ('/srv/acme(/.*)?', '/srv/[^/]+', True),
    ('/srv/acme(/.*)?', '/srv/b[^/]*/x', False),
    ('/srv/acme', '/srv/[^/]+/x', False),
    ('/srv/acme(/.*)?', '/[^/]+', False),
    ('/srv/acme(/.*)?', '/(.*/)?\\.ssh(/.*)?', True),
    ('/srv/acme/x\\.conf', '/srv/[a-z]{4}/x.conf', True),
    ('/srv/acme/x\\.conf', '/srv/[a-z]{3}/x.conf', False),
    ('/srv/a{2,3}', '/srv/aaaa', False),
    ('/srv/a{2,}', '/srv/aaaaaaa', True),
    ('/srv/a{40}', '/srv/' + 'a' * 50, True),       # a count over MAX_COUNT: unbounded, never a missed match
    ('/srv/x{', '/srv/x{', True),                    # not a bound: a literal {
    ('/srv/[^/]*', '/srv/a/b', False),
    ('/srv/a|/etc/shadow', '/etc/shadow', True),     # ^/srv/a|/etc/shadow$: either branch
    ('/srv/a|/etc/x', '/srv/abc/def', True),         # the first branch is anchored at the start only
    ('/srv/a|/etc/x', '/home/u/etc/x', True),        # the last at the end only
    ('/srv/a|/x|/etc/y', '/home/x/z', True),         # the others nowhere
    ('/srv/a|/etc/x', '/home/u/etc/y', False),
    ('/etc/shado.', '/etc/shado\n', True),          # PCRE2_DOTALL: . matches a newline
    ('/etc/shadow', '/etc/shadow\n', True),         # the final $ matches before a final newline
    ('/etc/shadow', '/etc/shadow\n\n', False),
    ('/srv/[]a]', '/srv/]', True),                   # a ] first in a bracket is a member
    ('/srv/[a-]', '/srv/-', True),
    ('/srv/[[:digit:]]+', '/srv/12', True),
    ('/srv/[[:digit:]]+', '/srv/1a', False),
    ('/srv/\\d+', '/srv/7', True),
    ('/srv/\\Qa.b\\E', '/srv/a.b', True),
    ('/srv/\\Qa.b\\E', '/srv/axb', False),
    ('/srv/a\\tb', '/srv/atb', True),                # \t: a tab (PCRE) or a t (POSIX): both readings
    ('/srv/[\\d]', '/srv/\\\\', True),                 # a \ in a bracket: an escape or itself
    ('^/srv/x$', '/srv/x', True),                    # anchors: always true
    ('/srv/a*?b', '/srv/aab', True),                 # lazy: the same matches
    ('/srv/(?i)acme', '/srv/acme', None),            # not read: the caller counts it as "may meet"
    ('/srv/(a)\\1', '/srv/aa', None),
    ('/srv/[[:nope:]]', '/srv/a', None),
    ('/srv/(a', '/srv/a', None),
    ('/srv/a)', '/srv/a', None),
    ('/srv/((a{32}){32}){32}', '/srv/a', None),
    ('/srv/acme/(*ACCEPT)', '/srv/acme/x', None),    # a PCRE2 verb: not read
    ('/srv/a{,2}', '/srv/aa', None),                  # a count from PCRE2 10.43 on, text before     # too large an automaton: not read, never a long search
])
def test_intersects(first, second, expected):
    for pair in ((first, second), (second, first)):  # the answer does not depend on the order
        assert fcregex.intersects(*pair) is expected, pair
