# fleetsec.selinux — developer entry points. Every target sets up what it needs (cached).
.PHONY: demo test test-extended setup collection unit sanity lint integration check-records molecule bench adversarial docs clean distclean

demo:            ## main job: the collection's fleet workflow against the local enforcing VM
	tools/demo.sh

test:            ## the whole test suite (what CI runs)
	tools/test.sh

test-extended:   ## the steps left out of make test for CI's time (EL7, the corpus on EL8 and EL10, bench-smoke, selinux_mode_vm under QEMU)
	tools/test.sh extended

setup:           ## Debian packages + pinned venvs (idempotent, cached)
	tools/setup.sh all

collection: setup  ## the collection tarball as it ships (the users' README) into build/dist
	tools/collection-build.sh build/dist

unit: setup
	tools/test.sh unit-py311 unit-py27 unit-py36 unit-compat

sanity: setup
	tools/test.sh sanity-2.19 sanity-2.16

lint: setup
	tools/test.sh ansible-lint docs-lint docsite changelog galaxy-build-install galaxy-importer

docs: setup        ## the documentation site (antsibull-docs, offline) into build/docsite/html
	tools/docsite.sh

changelog-preview: setup  ## the next release's CHANGELOG, rendered from the fragments into build/ (nothing released)
	tools/changelog-preview.sh

integration: setup
	tools/test.sh integration-store integration-store-el8 integration-store-el9 integration-store-el10 integration-targets report playbooks

check-records: setup  ## your own audit records through the collection on an EL store: RECORDS='/path/audit.log*' [RELEASE=el9]
	FLEETSEC_RECORDS="$(RECORDS)" FLEETSEC_RECORDS_RELEASE="$(or $(RELEASE),el9)" tools/test.sh records

molecule: setup
	tools/test.sh molecule molecule-container

adversarial: setup  ## the hostile/faulty/concurrent input suites -> docs/dev/adversarial.md (figures from the run)
	.venv/bin/python tools/adversarial-figures.py

bench: setup     ## benchmarks -> BENCHMARKS.md
	tools/bench.sh

clean:
	rm -rf build tests/output .pytest_cache

distclean: clean ## also the venvs (the VM image cache stays in ~/.cache/fleetsec-selinux)
	rm -rf .venv .venv-compat .venv-py27 .venv-py36
