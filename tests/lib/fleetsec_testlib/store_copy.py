# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The offline copy of a policy store that the real-tool tests (and the benchmarks) work on: where the store is,
its type, its commit number and digest, listing it, and running a module against it in a private mount namespace.
Part of the shared test library (tests/lib/fleetsec_testlib): the store tests' conftest.py holds only the pytest
fixtures, the benchmarks import this module too. Importing it puts this checkout's collection on the import path.
"""
import bz2
import hashlib
import json
import os
import shutil
import subprocess
import sys

MODULE_TIMEOUT = 1200  # seconds; see run_in_store_namespace()
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
# A prebuilt store root to test against instead of this host's store: the EL stores of tools/el/build-store.sh
# (run with that release's userspace first on PATH: tools/test.sh step integration-store-el9).
STORE_ROOT = os.environ.get('FLEETSEC_STORE_ROOT') or '/'
# (EL7 keeps its store under etc/selinux: no var/lib/selinux there)
STORE_DIRS = tuple((parent, path) for parent, path in (
    ('etc', os.path.join(STORE_ROOT, 'etc/selinux')), ('var/lib', os.path.join(STORE_ROOT, 'var/lib/selinux')))
    if parent == 'etc' or os.path.isdir(path))


def store_type(root):
    """SELINUXTYPE of ROOT/etc/selinux/config (the store name semodule -s needs under an alternate root)."""
    found = 'targeted'
    with open(os.path.join(str(root), 'etc/selinux/config')) as handle:
        for line in handle:
            key, sep, value = line.split('#', 1)[0].partition('=')
            if sep and key.strip() == 'SELINUXTYPE' and value.strip():
                found = value.strip().strip('"\'')
    return found


# The interpreter that runs the modules in run_in_store_namespace (as Ansible runs them on a target) and where it finds
# ansible's module_utils: the EL release's own Python in the matrix steps (tools/test.sh), else this one.
TARGET_PYTHON = os.environ.get('FLEETSEC_TARGET_PYTHON') or sys.executable
TARGET_SITE = [p for p in (os.environ.get('FLEETSEC_TARGET_SITE') or '').split(':') if p]


def store_dir(root):
    """ROOT's libsemanage store of its policy type: store-root of ROOT's semanage.conf (EL7: /etc/selinux) + type."""
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts
    return os.path.join(str(root), _host_facts.store_root(os.path.join(str(root), 'etc/selinux')).lstrip('/'),
                        store_type(root))


def binary_policy(root):
    """The path of ROOT's newest binary policy (``policy.NN``) of its policy type, as the modules find it."""
    from ansible_collections.fleetsec.selinux.plugins.module_utils import _host_facts
    policy = _host_facts.newest_policy(os.path.join(str(root), 'etc/selinux', store_type(root), 'policy', 'policy.*'))
    if policy is None:
        raise AssertionError('%s holds no binary policy of type %s' % (root, store_type(root)))
    return policy


def parse_commit_num(data):
    """libsemanage's commit counter from the bytes of ``active/commit_num``: the number in decimal (its
    ``snprintf("%d")``, 2.5 to 3.8), zero-padded to the buffer's size."""
    text = data.split(b'\0', 1)[0].strip()
    if not text.isdigit():
        raise ValueError('active/commit_num holds no decimal number: %r' % data[:32])
    return int(text)


def commit_num(root):
    path = os.path.join(store_dir(root), 'active', 'commit_num')
    with open(path, 'rb') as handle:
        return parse_commit_num(handle.read())


def store_digest(root):
    digest = hashlib.sha256()
    for parent in ('etc/selinux', 'var/lib/selinux'):
        for folder, dirs, files in sorted(os.walk(os.path.join(root, parent))):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(folder, name)
                if os.path.isfile(path) and not os.path.islink(path) and not name.endswith('.LOCK'):
                    digest.update(path.encode())
                    with open(path, 'rb') as handle:
                        digest.update(handle.read())
    return digest.hexdigest()


def collections_path():
    """The collections path where ``ansible_collections.fleetsec.selinux`` is this checkout: made by
    tools/collection-tree.sh, the one mechanism for it (ansible, the tests and the benchmarks all use it)."""
    return subprocess.run([os.path.join(REPO, 'tools', 'collection-tree.sh')], check=True, capture_output=True,
                          text=True).stdout.strip()


# the one place that puts the collection on the import path, for the store tests and the benchmarks
sys.path.insert(0, collections_path())


def store_available():
    return all(os.path.isdir(path) for dummy, path in STORE_DIRS) and shutil.which('semodule') is not None


def semodule_has_checksum():
    """Whether the ``semodule`` on PATH lists checksums (``-m``, ``--checksum``: userspace 3.4 and later)."""
    helptext = subprocess.run(['semodule', '--help'], capture_output=True, text=True, check=False)
    return '--checksum' in helptext.stdout + helptext.stderr


def hold_lock(lock, seconds):
    """A process holding libsemanage's lock file ``lock`` (flock, as libsemanage takes it) for ``seconds``."""
    code = ('import fcntl, os, sys, time\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n'
            'fcntl.flock(fd, fcntl.LOCK_EX)\nprint("locked", flush=True)\ntime.sleep(float(sys.argv[2]))\n')
    proc = subprocess.Popen([sys.executable, '-c', code, lock, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'locked'
    return proc


def stored_checksum(root, name, priority):
    """What a userspace before 3.4 (no ``semodule -m``) has for module ``name`` at ``priority``: the sha256 of the module
    as installed (its ``hll`` file in the store, what ``semodule -E`` extracts), or None when it is not there."""
    path = os.path.join(store_dir(root), 'active', 'modules', str(priority), name, 'hll')
    if not os.path.isfile(path):
        return None
    with open(path, 'rb') as handle:
        data = handle.read()
    try:
        data = bz2.decompress(data)
    except (OSError, ValueError):
        pass  # stored uncompressed
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def semodule_list(root):
    """{name: (priority, kind, enabled, checksum)} of the highest priority of each module in ``root``; before 3.4 (no
    ``semodule -m``) the checksums of modules at priority 400 and above (the local ones) are the stored modules'
    (:func:`stored_checksum`), the others None."""
    listed = semodule_has_checksum()
    checksums = ['-m'] if listed else []
    out = subprocess.run(['semodule', '-p', root, '-s', store_type(root), '-lfull'] + checksums, check=True,
                         capture_output=True, text=True,
                         env=dict(os.environ, LC_ALL='C')).stdout
    modules = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        checksum = next((f for f in fields if f.startswith('sha256:')), None)
        if not listed and int(fields[0]) >= 400:
            checksum = stored_checksum(root, fields[1], fields[0])
        entry = (int(fields[0]), fields[2], 'disabled' not in fields, checksum)
        if fields[1] not in modules or modules[fields[1]][0] < entry[0]:
            modules[fields[1]] = entry
    return modules


UNSHARE = shutil.which('unshare')
MOUNT = shutil.which('mount')
MKDIR = shutil.which('mkdir')  # by its path: a test may give the module a PATH without it
NAMESPACE_TOOLS = UNSHARE is not None and MOUNT is not None


def namespace_ok():
    return subprocess.run([UNSHARE, '-m', 'true'], capture_output=True, check=False).returncode == 0


def in_store_namespace(root, command, binds=()):
    """``command`` (argv) run in a private mount namespace where ``root``'s /etc/selinux and /var/lib/selinux are
    bind-mounted over the host's: how the tools without an alternate-root option (semanage) meet that store. So is
    ``root``'s state directory of the collection (made empty when missing) over /var/lib/fleetsec-selinux, as on a host
    where local_policy_module ran: a module run there (remedy) reads and keeps what the store's own runs keep, never
    this machine's. Its mount point, an empty folder, is made on this machine when missing.
    ``binds``: more (source, target) files or folders to bind-mount there (an EL /etc/os-release)."""
    from ansible_collections.fleetsec.selinux.plugins.module_utils._policy_store import STATE_DIR
    script = ('set -e; m=$1; r=$2; shift 2; "$m" --bind "$r/etc/selinux" /etc/selinux; '
              'if [ -d "$r/var/lib/selinux" ]; then "$m" --bind "$r/var/lib/selinux" /var/lib/selinux; fi; '
              '%s -p -m 0700 "$r/%s" /%s; "$m" --bind "$r/%s" /%s; ' % ((MKDIR,) + (STATE_DIR,) * 4) +
              'while [ "$1" != -- ]; do "$m" --bind "$1" "$2"; shift 2; done; shift; exec "$@"')
    extra = [str(path) for pair in binds for path in pair]
    return ([UNSHARE, '-m', '--propagation', 'private', '/bin/sh', '-c', script, 'sh', MOUNT, str(root)] + extra
            + ['--'] + list(command))


# runs argv[2] as __main__ with argv[1] (a JSON list) first on sys.path; Python 2.7 and 3
_TARGET_BOOT = ('import json, runpy, sys\n'
                'sys.path[0:0] = json.loads(sys.argv[1])\n'
                'sys.argv = sys.argv[2:]\n'
                'runpy.run_path(sys.argv[0], run_name="__main__")\n')


def run_in_store_namespace(module, root, args, check_mode=False, tmp_path=None, path=None, namespace=True, binds=()):
    """Run the module file ``module`` as Ansible runs it (a TARGET_PYTHON process with its JSON arguments) in a private
    mount namespace where ``root``'s policy store is bind-mounted over /etc/selinux and /var/lib/selinux (semanage
    has no alternate-root option); the host store is never touched. ``namespace=False``: no namespace (for a module
    given ``root`` as its own option); ``binds``: see :func:`in_store_namespace`. Returns (result, rc)."""
    payload = dict(args)
    if check_mode:
        payload['_ansible_check_mode'] = True
    args_file = os.path.join(str(tmp_path), 'args.json')
    with open(args_file, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': payload}, handle)
    # the module's imports first, then what is set (an EL userspace's python modules: semanage needs them)
    pythonpath = [os.path.join(REPO, 'build', 'collections')] + [p for p in [os.environ.get('PYTHONPATH')] if p]
    env = dict(os.environ, PYTHONPATH=':'.join(pythonpath), LC_ALL='C')
    if path is not None:
        env['PATH'] = path
    # TARGET_SITE goes on the module's sys.path only, not into PYTHONPATH: the Python tools the module runs (setools'
    # sesearch, semanage) must not import Python 2 packages from it
    command = [TARGET_PYTHON, '-c', _TARGET_BOOT, json.dumps(TARGET_SITE), module, args_file]
    if namespace:
        command = in_store_namespace(root, command, binds)
    # a guard against a hang, not a time limit: `make test` runs these steps at nice 10 beside the VM, and one batch
    # of several modules (trial, gate, transaction) on EL8's store took over 300 s there
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=MODULE_TIMEOUT, check=False)
    try:
        return json.loads(proc.stdout), proc.returncode
    except ValueError:
        raise AssertionError('module printed no JSON (rc=%s): %s %s' % (proc.returncode, proc.stdout, proc.stderr))
