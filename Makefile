# azq: the two commands of the README, and their parts.
#   make demo   build azq, install its kernelspec into a local Jupyter, run the quickstart notebook
#               (executed notebook and HTML under build/)
#   make lab    JupyterLab on notebooks/ with azq registered (the venv's Jupyter, loopback)
#   make wheel  the pip-installable azq under build/wheel/
#   make test   formatting, lints, Rust tests, and the Python tests with real Jupyter clients
#   make rust   build azq-rust, the companion that runs Rust cells (evcxr), beside azq
#   make soak   the long hardening runs of docs/reliability.md (fuzzing to 10 M, faults, load, kills)
#   make bench  compare azq with ipykernel and evcxr_jupyter (figures go in bench/README.md)

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
AZQ := $(CARGO_TARGET_DIR)/release/azq
PY := $(VENV)/bin/python
# The tests' Jupyter stays out of the user's home.
export JUPYTER_PLATFORM_DIRS := 1

.PHONY: all build rust venv chromium kernelspec demo lab wheel test lint rust-test py-test fuzz soak bench clean

all: build

build:
	$(CARGO) build --release --locked --bin azq

# Rust cells run in a companion program (evcxr and rust-analyzer: about 6 minutes to build on
# two cores, once). It goes beside azq, where the kernel looks for it first.
rust:
	$(CARGO) build --profile companion --locked -p azq-rust
	install -m 0755 $(CARGO_TARGET_DIR)/companion/azq-rust $(CARGO_TARGET_DIR)/release/azq-rust.new
	mv -f $(CARGO_TARGET_DIR)/release/azq-rust.new $(CARGO_TARGET_DIR)/release/azq-rust

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

# The quickstart against a Jupyter in the project's venv: the kernelspec goes into that
# environment (`azq install --sys-prefix`), so nothing outside the clone changes.
kernelspec: build venv
	VIRTUAL_ENV=$(abspath $(VENV)) $(AZQ) install --sys-prefix

demo: kernelspec
	$(VENV)/bin/jupyter kernelspec list
	$(PY) tests/run_notebook.py notebooks/quickstart.ipynb --save build/quickstart.ipynb --html build/quickstart.html
	@echo
	@echo "To open it: 'make lab' starts JupyterLab on notebooks/ with azq registered (the URL it prints,"
	@echo "on 127.0.0.1); or open build/quickstart.html in a browser to read the outputs above."

# JupyterLab from the project's venv, on loopback, with azq registered in that venv.
LAB_PORT ?= 8888
lab: kernelspec
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) --no-browser --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# The pip-installable azq (pyproject.toml): `pip install build/wheel/azq-*.whl` puts azq on the
# environment's PATH and its kernelspec in share/jupyter/kernels/azq/. maturin builds into
# CARGO_TARGET_DIR with the features `make build` resolves, so after it this only packs (~1 s).
WHEEL_DIR ?= build/wheel
wheel: venv
	rm -f $(WHEEL_DIR)/azq-*.whl
	$(VENV)/bin/maturin build --out $(WHEEL_DIR)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked --profile companion -p azq-rust --all-targets -- -D warnings

# The default members, then the companion's own tests in the profile `make rust` builds (a
# debug build of evcxr would cost another ten minutes).
rust-test:
	$(CARGO) test --locked
	$(CARGO) test --locked --profile companion -p azq-rust

# Debian's chromium for the browser test (tests/test_browser.py): Playwright drives it, and
# cannot download a browser of its own here.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium:
	command -v chromium >/dev/null || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

py-test: build rust venv chromium
	AZQ_BIN=$(AZQ) $(PY) -m pytest -q tests

# Every fuzz target (fuzz/run.sh: the program readers, the magic grammar and binding, the wire
# decoder, the connection-string and resource-id parsers, the emulator's routing and listing
# filter) for FUZZ_SECONDS each, seeded with the corpora in the repo; new inputs go to scratch
# directories, never into the tree.
FUZZ_SECONDS ?= 30
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked --version 0.13.2
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

test: lint rust-test py-test fuzz

# Issue 18's long runs, whose figures are in docs/reliability.md: every fuzz target to 10 million
# executions, then the hardening tests at full size (AZQ_SOAK=1). Hours on two cores.
SOAK_TESTS := tests/test_hostile_traffic.py tests/test_network_faults.py tests/test_signin_faults.py \
	tests/test_load.py tests/test_token_cache_crash.py tests/test_emulator_durability.py \
	tests/test_resource_bounds.py
soak: build rust venv
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked --version 0.13.2
	AZQ_SOAK=1 fuzz/run.sh
	AZQ_SOAK=1 AZQ_BIN=$(AZQ) $(PY) -m pytest -q -s $(SOAK_TESTS)

# The Rust-cell anchor, evcxr_jupyter 0.22, is built once with cargo (about 10 minutes) outside
# the clone.
EVCXR_ANCHOR ?= $(HOME)/.cache/azq/anchors/evcxr
# The simulator anchors (Qiskit Aer, qulacs, qsim) in a venv of their own, outside the clone.
SIM_VENV ?= $(HOME)/.cache/azq/anchors/sim-venv
$(SIM_VENV)/.installed: bench/requirements-sim.txt
	$(PYTHON) -m venv $(SIM_VENV)
	$(SIM_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-sim.txt
	touch $@

bench: kernelspec rust $(SIM_VENV)/.installed
	test -x $(EVCXR_ANCHOR)/bin/evcxr_jupyter || $(CARGO) install evcxr_jupyter@0.22.0 --locked --root $(EVCXR_ANCHOR)
	AZQ_BIN=$(AZQ) $(PY) bench/kernel_bench.py
	AZQ_BIN=$(AZQ) $(PY) bench/connect_bench.py
	AZQ_BIN=$(AZQ) $(PY) bench/jobs_bench.py
	AZQ_BIN=$(AZQ) $(SIM_VENV)/bin/python bench/sim_suite.py --threads-check --write-readme
	AZQ_BIN=$(AZQ) $(PY) bench/diagram_bench.py
	EVCXR_JUPYTER=$(EVCXR_ANCHOR)/bin/evcxr_jupyter AZQ_BIN=$(AZQ) $(PY) bench/rust_bench.py
	$(CARGO) run --release --locked -p azq-emulator --example load

clean:
	rm -rf build $(VENV)
