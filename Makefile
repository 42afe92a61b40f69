# ecomml: the two commands that set up everything on a fresh machine.
#   make quickstart   - create .venv, install, run the main job on the built-in sample shop
#   make test         - create .venv, install with test extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ecomml-installed

.PHONY: quickstart test test-slow bench env clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

env: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/ecomml quickstart

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/features.py

clean:
	rm -rf $(VENV) ecomml-output mlruns.db mlruns mlartifacts
