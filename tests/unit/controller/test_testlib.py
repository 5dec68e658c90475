# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared test library's readers of store files (what the store tests and the benchmarks count with)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from fleetsec_testlib.store_copy import parse_commit_num


@pytest.mark.parametrize('data, number', [
    # libsemanage writes snprintf("%d") into a zero-filled 32-byte buffer: "9" then "10" (the binary reading of these
    # bytes jumped by 12280 at the tenth commit and by 256 after it)
    (b'9' + b'\0' * 31, 9),
    (b'10' + b'\0' * 30, 10),
    (b'12' + b'\0' * 30, 12),
    (b'7', 7),
])
def test_commit_counter_is_the_decimal_text_libsemanage_writes(data, number):
    assert parse_commit_num(data) == number


def test_a_counter_that_is_not_a_number_is_an_error():
    with pytest.raises(ValueError, match='no decimal number'):
        parse_commit_num(b'\x01\x00\x00\x00')
