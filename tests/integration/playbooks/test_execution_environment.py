# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection in an execution environment, as AWX/AAP builds one with ansible-builder: the built tarball is
installed, ansible-builder's introspection reads the collection's meta/execution-environment.yml (and finds it
needs nothing on the controller side), and `ansible-builder create` writes a build context that installs it.
No image is built (that needs a container registry); the context is what ansible-builder would build.
"""
import glob
import os
import shutil
import subprocess

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
VENV = os.path.join(REPO, '.venv', 'bin')


def _run(*argv, **kwargs):
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, '%s\n%s\n%s' % (' '.join(argv), proc.stdout, proc.stderr)
    return proc.stdout


def _installed(tmp_path):
    dist = tmp_path / 'dist'
    _run(os.path.join(VENV, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dist), REPO)
    tarball = glob.glob(str(dist / 'fleetsec-selinux-*.tar.gz'))[0]
    _run(os.path.join(VENV, 'ansible-galaxy'), 'collection', 'install', '--offline', '--force', '-p',
         str(tmp_path / 'collections'), tarball)
    return tarball, tmp_path / 'collections'


def _introspect(collections):
    out = _run(os.path.join(VENV, 'ansible-builder'), 'introspect', '--sanitize', str(collections))
    return yaml.safe_load(out[out.index('---'):] if '---' in out else out) or {}


def test_ansible_builder_reads_the_collection_needs(tmp_path):
    tarball, collections = _installed(tmp_path)
    found = _introspect(collections)
    assert not found.get('python') and not found.get('system'), found  # nothing beyond ansible-core
    # the files are read: a line added to the installed copy is reported, attributed to the collection
    meta = collections / 'ansible_collections' / 'fleetsec' / 'selinux' / 'meta'
    with open(str(meta / 'ee-requirements.txt'), 'a') as handle:
        handle.write('fleetsec-probe-package\n')
    probed = _introspect(collections)
    assert any('fleetsec-probe-package' in str(line) and 'fleetsec.selinux' in str(line)
               for line in probed.get('python') or []), probed


def test_ansible_builder_writes_a_context_that_installs_the_collection(tmp_path):
    tarball, dummy = _installed(tmp_path)
    work = tmp_path / 'ee'
    work.mkdir()
    shutil.copy(tarball, str(work))
    (work / 'requirements.yml').write_text(yaml.safe_dump({'collections': [
        {'name': os.path.basename(tarball), 'type': 'file'}]}))
    (work / 'execution-environment.yml').write_text(yaml.safe_dump({
        'version': 3,
        'images': {'base_image': {'name': 'registry.invalid/ee-minimal:latest'}},
        'dependencies': {'galaxy': 'requirements.yml', 'ansible_core': {'package_pip': 'ansible-core==2.19.14'},
                         'ansible_runner': {'package_pip': 'ansible-runner==2.4.3'}},
        'additional_build_files': [{'src': os.path.basename(tarball), 'dest': 'collections'}],
    }))
    _run(os.path.join(VENV, 'ansible-builder'), 'create', '--file', 'execution-environment.yml', '--context', 'context',
         cwd=str(work))
    context = work / 'context'
    containerfile = (context / 'Containerfile').read_text()
    assert 'ansible-galaxy collection install' in containerfile or 'install-from-bindep' in containerfile, containerfile
    assert (context / '_build' / 'requirements.yml').exists()
    assert os.path.basename(tarball) in (context / '_build' / 'requirements.yml').read_text()
    assert (context / '_build' / 'collections' / os.path.basename(tarball)).exists()
