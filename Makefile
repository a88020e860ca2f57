# redis_ha.sentinel_vip — developer and CI entry points.
#   make lab    bring up the three-node Docker lab, run playbooks/site.yml, print the status table
#               (NODES=N: an N-node lab, 3..9; make lab-status / lab-down find it again)
#   make test   the whole suite (ansible-lint, sanity, ansible-test units, functional tests with real Redis,
#               collection build, Molecule)
#   make unit   ansible-test units (tests/unit, pure) and the functional tests (tests/functional, real Redis)
#   make lint   the static checks alone (ansible-lint, ansible-test sanity for ansible-core 2.18 and 2.19, docs)
#   make docs   the docs site into build/docs/html
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.cache/collections
export PY_COLORS := 0
export ANSIBLE_FORCE_COLOR := 0
COLLECTION_TARBALL = $(CURDIR)/build/redis_ha-sentinel_vip-$(shell sed -n 's/^version: *//p' galaxy.yml).tar.gz

.PHONY: help suite-clock venv host-packages docker image collection lint docs unit molecule test lab lab-status lab-down lab-clear clean

help:
	@sed -n 's/^#   //p' Makefile

$(VENV)/.installed: requirements.txt
	@echo "==> Python virtualenv $(VENV) (pinned requirements.txt)"
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The older ansible-core of the support matrix (requirements-ansible-2.18.txt, with the `ansible` 11.x
# collections): tests/lint runs ansible-test sanity, the offline install and the syntax check with it too.
VENV_218 := $(CURDIR)/.cache/ansible-2.18

$(VENV_218)/.installed: requirements-ansible-2.18.txt
	@echo "==> Python virtualenv $(VENV_218) (ansible-core 2.18, pinned requirements-ansible-2.18.txt)"
	python3 -m venv $(VENV_218)
	$(VENV_218)/bin/pip install --quiet --disable-pip-version-check -r requirements-ansible-2.18.txt
	touch $@

# The wheels ansible-test installs into its own sanity virtualenvs, exactly as its requirement files in
# each ansible-core of the matrix pin them, and the pip it bootstraps there (24.2 for 2.18 and 2.19):
# tests/lint/test_sanity.py runs ansible-test sanity offline from this directory.
WHEELS := $(CURDIR)/.cache/wheels
SANITY_REQUIREMENTS = lib/python3.11/site-packages/ansible_test/_data/requirements/sanity.*.txt

$(WHEELS)/.downloaded: $(VENV)/.installed $(VENV_218)/.installed
	@echo "==> Wheels of ansible-test sanity's requirements in $(WHEELS)"
	for venv in $(VENV) $(VENV_218); do \
		$(BIN)/pip download --quiet --disable-pip-version-check --only-binary=:all: --dest $(WHEELS) \
			pip==24.2 $$(printf -- '-r %s ' $$venv/$(SANITY_REQUIREMENTS)); done
	touch $@

# The wheels `ansible-test units --venv` installs (units.txt and ansible.txt of the pinned ansible-core, with its
# constraints): tests/lint/test_units.py runs ansible-test units offline from the same directory.
UNITS_REQUIREMENTS = $(VENV)/lib/python3.11/site-packages/ansible_test/_data/requirements

$(WHEELS)/.units-downloaded: $(VENV)/.installed
	@echo "==> Wheels of ansible-test units' requirements in $(WHEELS)"
	$(BIN)/pip download --quiet --disable-pip-version-check --only-binary=:all: --dest $(WHEELS) pip==24.2 \
		-r $(UNITS_REQUIREMENTS)/units.txt -r $(UNITS_REQUIREMENTS)/ansible.txt -c $(UNITS_REQUIREMENTS)/constraints.txt
	touch $@

venv: $(VENV)/.installed $(WHEELS)/.downloaded $(WHEELS)/.units-downloaded

host-packages:
	@scripts/ensure-host-packages.sh

docker:
	@scripts/ensure-docker.sh

image: docker
	@scripts/build-image.sh debian12
	@scripts/build-image.sh debian13

collection: venv
	@echo "==> Building and installing the collection into .cache/collections"
	@mkdir -p build .cache/collections
	$(BIN)/ansible-galaxy collection build --force --output-path build . >/dev/null
	$(BIN)/ansible-galaxy collection install --force -p .cache/collections $(COLLECTION_TARBALL) >/dev/null

# The static checks; tests/lint/test_units.py (ansible-test units) is make unit's.
lint: venv host-packages collection
	$(BIN)/python -m pytest -v tests/lint --ignore=tests/lint/test_units.py

# The docs site (antsibull-docs + Sphinx, no network) into build/docs/html; make test builds and link-checks it.
docs: venv collection
	$(BIN)/python docs/site/build.py

# tests/unit: pure unit tests in ansible-test's layout, run by ansible-test units on the built collection
# (tests/lint/test_units.py); tests/functional: the tests against real redis-server/redis-sentinel processes
# and ansible-playbook on this machine (pytest).
unit: venv host-packages collection
	$(BIN)/python -m pytest -v tests/lint/test_units.py tests/functional

molecule: venv image collection lab-clear
	$(BIN)/python -m pytest -v --capture=tee-sys tests/integration

# When `make test` started: tests/conftest.py reports the set-up time (venv, packages, images) and the
# time since then in the suite's heartbeat and summary (the 60-minute budget counts all of it).
suite-clock:
	@mkdir -p .cache && date +%s > .cache/suite-started

# The whole suite in one pytest run, so its last line is pytest's summary.
test: suite-clock venv host-packages image collection lab-clear
	REDIS_HA_SUITE_STARTED=$$(cat .cache/suite-started) $(BIN)/python -m pytest -v --capture=tee-sys tests/lint tests/functional tests/integration

# NODES=N (3..9): the number of lab nodes; unset, the Molecule default scenario's three (scripts/lab.sh).
lab: venv image collection
	@NODES="$(NODES)" scripts/lab.sh up

lab-status: venv collection
	@scripts/lab.sh status

lab-down: venv
	@scripts/lab.sh down

# The Molecule scenarios make their own nodes: an N-node lab (tools/lab_nodes.py) would share the networks, the
# VRRP router id and the Sentinels' master name with them, so it is removed first (the three-node lab is theirs).
lab-clear: venv
	@$(BIN)/python tools/lab_nodes.py down

clean:
	rm -rf build .cache .pytest_cache
