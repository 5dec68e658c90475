# SPDX-License-Identifier: GPL-3.0-or-later
# Controller-side filter: runs on the controller Python only.
import sys

import pytest

if sys.version_info < (3, 8):  # controller code; the py2.7/3.6 runs only cover target-side code
    pytest.skip('controller-side plugin', allow_module_level=True)

from ansible_collections.fleetsec.selinux.plugins.filter.md_escape import md_escape  # noqa: E402


@pytest.mark.parametrize('value, expected', [
    ('plain_t', 'plain_t'),
    ('_em_ x_ _y', '\\_em\\_ x\\_ \\_y'),
    ('/tmp/x\n| evil | row |', '/tmp/x \\| evil \\| row \\|'),
    ('<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'),
    ('a&b', 'a&amp;b'),
    ('`code` *b* [l](u) #h \\', '\\`code\\` \\*b\\* \\[l\\](u) \\#h \\\\'),
    ('x\r\ny\rz', 'x y z'),
    (None, ''),
    (42, '42'),
])
def test_md_escape(value, expected):
    assert md_escape(value) == expected
