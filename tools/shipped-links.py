"""Every relative link in a Markdown file of the collection tarball names a file that is in the tarball.

Usage: shipped-links.py FILES_TXT TARBALL (FILES_TXT: the tarball's member list, one per line).
"""
import os
import re
import sys
import tarfile

LINK = re.compile(r'\]\(([^)\s]+)\)')


def main(files_txt, tarball):
    with open(files_txt) as handle:
        shipped = set(line.strip().rstrip('/') for line in handle if line.strip())
    broken = []
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith('.md'):
                continue
            text = tar.extractfile(member).read().decode('utf-8', 'replace')
            for target in LINK.findall(text):
                if re.match(r'^[a-z]+:', target) or target.startswith('#'):
                    continue
                path = os.path.normpath(os.path.join(os.path.dirname(member.name), target.split('#', 1)[0]))
                if path not in shipped:
                    broken.append('%s -> %s' % (member.name, target))
    for item in broken:
        print('link to a file that is not shipped: %s' % item)
    print('shipped Markdown links checked: %d broken' % len(broken))
    return 1 if broken else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
