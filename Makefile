# minicloud: two commands on a fresh Debian 12 machine: `make demo` and `make test`.
# Both run `make setup` first, which installs only what is missing.

PYTHON ?= python3
VENV := .venv
OSC_VENV := .venv-osc
PY := $(VENV)/bin/python
DEBS := qemu-system-x86 qemu-utils qemu-block-extra libvirt-daemon-system libvirt-clients \
	libvirt-dev pkg-config tgt ovmf libiscsi-bin mtools dosfstools fdisk syslinux \
	syslinux-common grub-efi-amd64-bin busybox-static linux-image-amd64 cpio gcc
OSC_PINS := python-openstackclient==10.5.0 openstacksdk==4.22.0 keystoneauth1==5.18.1 osc-lib==4.7.0 \
	python-glanceclient==4.13.0 python-novaclient==18.13.1 python-cinderclient==9.10.0 \
	python-barbicanclient==7.6.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: setup debs venv osc-venv test test-faults demo lint bench soak clean

setup: debs venv osc-venv tempest-venv

debs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: setup.cfg pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,virt]'
	touch $@

venv: debs $(VENV)/.installed

$(OSC_VENV)/.installed: Makefile
	[ -x $(OSC_VENV)/bin/python ] || $(PYTHON) -m venv $(OSC_VENV)
	$(OSC_VENV)/bin/python -m pip install -q $(OSC_PINS)
	touch $@

osc-venv: $(OSC_VENV)/.installed

# Tempest, OpenStack's conformance suite, in its own venv (its pins never meet minicloud's).
# `make tempest` runs it against a throw-away cloud: see docs/conformance.md.
TEMPEST_VENV := .venv-tempest
TEMPEST_PIN := tempest==47.0.0
TEMPEST_SET ?= interop
TEMPEST_REGEX ?=
TEMPEST_CONCURRENCY ?= 2
TEMPEST_REF ?=
TEMPEST_ARGS ?=

.PHONY: tempest tempest-venv

$(TEMPEST_VENV)/.installed: conformance/tempest-constraints.txt
	[ -x $(TEMPEST_VENV)/bin/python ] || $(PYTHON) -m venv $(TEMPEST_VENV)
	$(TEMPEST_VENV)/bin/python -m pip install -q $(TEMPEST_PIN) -c conformance/tempest-constraints.txt
	touch $@

tempest-venv: $(TEMPEST_VENV)/.installed

tempest: setup tempest-venv
	$(PY) conformance/run.py --set $(TEMPEST_SET) --concurrency $(TEMPEST_CONCURRENCY) \
		$(if $(TEMPEST_REGEX),--regex '$(TEMPEST_REGEX)') $(if $(TEMPEST_REF),--ref $(TEMPEST_REF)) \
		$(TEMPEST_ARGS)

test: setup
	$(VENV)/bin/ruff check minicloud images compute volumes keymanager tests benchmarks conformance
	$(VENV)/bin/pytest -m "not faults" --durations=25 $(PYTEST_ARGS)

demo: setup
	$(PY) -m minicloud.demo

lint: venv
	$(VENV)/bin/ruff check minicloud images compute volumes keymanager tests benchmarks conformance

# Not in `test` (12-33 s a cycle, measured; 100 cycles 23 min quiet): SOAK_CYCLES cycles, then a clean audit.
SOAK_CYCLES ?= 100
soak: setup
	SOAK_CYCLES=$(SOAK_CYCLES) $(PY) tests/soak.py

# Not in `test` either: the fault-injection suite (tests/test_faults_*.py: real guests and
# tgtd, processes killed with SIGKILL at named steps, docs/architecture.md "Crash recovery"),
# then the soak (FAULTS_SOAK_CYCLES cycles) and its clean audit. CI runs it after `make test`
# with a shorter soak when the time allows (.ci/run).
FAULTS_SOAK_CYCLES ?= $(SOAK_CYCLES)
test-faults: setup
	$(VENV)/bin/pytest -m faults tests/test_faults_compute.py tests/test_faults_storage.py \
		$(PYTEST_ARGS)
	SOAK_CYCLES=$(FAULTS_SOAK_CYCLES) $(PY) tests/soak.py

bench: setup
	$(PY) benchmarks/upload.py
	$(PY) benchmarks/boot.py
	$(PY) benchmarks/volumes.py
	$(PY) benchmarks/backup.py

clean:
	rm -rf $(VENV) $(OSC_VENV) build *.egg-info
