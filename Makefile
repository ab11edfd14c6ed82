# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv, train the default models on demo data, build the demo KB, migrate the database,
#               create demo keys, then start the service on http://127.0.0.1:8000 (Ctrl-C stops it)
#   make test   install into .venv and run the whole test suite (CI runs exactly this, via .ci/run)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run test test-fast bench lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned to the CPU wheel in pyproject.toml; an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/triage demo
	$(BIN)/triage serve

test: setup
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
