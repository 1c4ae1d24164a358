# azq: the two commands of the README, and their parts.
#   make demo   build azq, install its kernelspec into a local Jupyter, run the quickstart notebook
#   make test   formatting, lints, Rust tests, and the Python tests with real Jupyter clients
#   make bench  compare azq with ipykernel (figures go in bench/README.md)

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

.PHONY: all build venv demo test lint rust-test py-test bench clean

all: build

build:
	$(CARGO) build --release --locked --bin azq

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

# The quickstart against a Jupyter in the project's venv: the kernelspec goes into that
# environment (`azq install --sys-prefix`), so nothing outside the clone changes.
demo: build venv
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(AZQ) install --sys-prefix
	$(VENV)/bin/jupyter kernelspec list
	$(PY) tests/run_notebook.py notebooks/quickstart.ipynb --save build/quickstart.ipynb

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

rust-test:
	$(CARGO) test --locked --workspace

py-test: build venv
	AZQ_BIN=$(AZQ) $(PY) -m pytest -q tests

test: lint rust-test py-test

bench: build venv
	AZQ_BIN=$(AZQ) $(PY) bench/kernel_bench.py

clean:
	rm -rf build $(VENV)
