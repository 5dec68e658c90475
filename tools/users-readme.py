# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the users' README: the repository's README.md without its developer parts (every line from a line
``<!-- developer:begin -->`` to the next ``<!-- developer:end -->``, both included). Fails on a part left open, a
stray end, or a nested begin, so that no developer text can reach the built collection by a typing error.

Usage: .venv/bin/python tools/users-readme.py README.md > OUT
"""
import sys

BEGIN, END = '<!-- developer:begin -->', '<!-- developer:end -->'


def users_readme(text):
    kept, inside = [], None
    for number, line in enumerate(text.splitlines(True), 1):
        mark = line.strip()
        if mark == BEGIN:
            if inside is not None:
                raise ValueError('line %d: a developer part opened inside the one of line %d' % (number, inside))
            inside = number
        elif mark == END:
            if inside is None:
                raise ValueError('line %d: a developer part closed that was not opened' % number)
            inside = None
        elif inside is None:
            kept.append(line)
    if inside is not None:
        raise ValueError('line %d: a developer part that is never closed' % inside)
    # no run of blank lines where a part was cut out
    out = ''.join(kept)
    while '\n\n\n' in out:
        out = out.replace('\n\n\n', '\n\n')
    return out


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding='utf-8') as handle:
        text = handle.read()
    try:
        sys.stdout.write(users_readme(text))
    except ValueError as err:
        sys.stderr.write('%s: %s\n' % (argv[1], err))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
