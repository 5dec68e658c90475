# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the ``modules`` suboptions of local_policy_module's DOCUMENTATION from the one option table.

The options a module entry takes are declared once, in ``_policy_request.OPTIONS`` (which also gives the argument
spec and the entry keys); each entry option is documented once, at the top level. The suboptions of ``modules`` are
a view of both, written by this script between the ``BEGIN``/``END`` marks (ansible-doc reads DOCUMENTATION as a
literal, so it cannot be computed at run time). ``--check`` fails when the file is not what the script writes (the
unit tests run it).

Usage: .venv/bin/python tools/entry-docs.py [--check]
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(HERE, 'plugins', 'modules', 'local_policy_module.py')
BEGIN = '    # BEGIN modules suboptions: written by tools/entry-docs.py from _policy_request.OPTIONS\n'
END = '    # END modules suboptions\n'
INDENT = '      '


def suboptions(options):
    """The YAML lines of the suboptions of ``modules`` for the option table ``options``."""
    lines = []
    for key, spec, dummy, inherited, dummy2 in options:
        if key == 'name':
            description = 'Module name, see O(name).'
        elif inherited:
            description = 'See O(%s); default the top-level O(%s).' % (key, key)
        else:
            description = 'See O(%s).' % key
        lines.append('%s%s:\n' % (INDENT, key))
        lines.append('%s  description: %s\n' % (INDENT, description))
        lines.append('%s  type: %s\n' % (INDENT, spec['type']))
        if 'elements' in spec:
            lines.append('%s  elements: %s\n' % (INDENT, spec['elements']))
        if 'choices' in spec:
            lines.append('%s  choices: [%s]\n' % (INDENT, ', '.join(spec['choices'])))
        if key == 'name':
            lines.append('%s  required: true\n' % INDENT)
    return ''.join(lines)


def written(text, options):
    """``text`` (the module file) with the block between the marks written from ``options``."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + suboptions(options) + text[end:]


def main(argv):
    tree = subprocess.check_output([os.path.join(HERE, 'tools', 'collection-tree.sh')]).decode().strip()
    sys.path.insert(0, tree)
    from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_request import OPTIONS
    with open(MODULE) as handle:
        text = handle.read()
    wanted = written(text, OPTIONS)
    if argv[1:] == ['--check']:
        if wanted != text:
            sys.stderr.write('%s: the modules suboptions are not those of the option table; run tools/entry-docs.py\n'
                             % MODULE)
            return 1
        return 0
    with open(MODULE, 'w') as handle:
        handle.write(wanted)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
