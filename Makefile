# ecomml: the two commands that set up everything on a fresh machine.
#   make quickstart   - create .venv, install, run the main job on the built-in sample shop
#   make test         - create .venv, install with test extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ecomml-installed

.PHONY: quickstart test test-twins test-slow bench env clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,spark]"
	touch $(STAMP)

env: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/ecomml quickstart

# the default suite on every core (pytest-xdist); `-m twin` runs the slow twins CI adds
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal

test-twins: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal -m twin

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# Every benchmark against its peers on the real data in ../shared/data (about 30 minutes);
# BENCHMARKS.md gives the command behind each table, including the long scale runs.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	mkdir -p benchmarks/_results
	$(BIN)/python benchmarks/forecast.py --markdown benchmarks/_results/forecast.md
	$(BIN)/python benchmarks/hierarchy.py --markdown benchmarks/_results/hierarchy.md
	$(BIN)/python benchmarks/churn.py --parts cdnow,retail --markdown benchmarks/_results/churn.md
	$(BIN)/python benchmarks/recommend.py --launch --markdown benchmarks/_results/recommend.md
	$(BIN)/python benchmarks/inventory.py --markdown benchmarks/_results/inventory.md
	$(BIN)/python benchmarks/features.py --sizes 1M --pandas-sizes 1M --markdown benchmarks/_results/features.md

clean:
	rm -rf $(VENV) ecomml-output mlruns.db mlruns mlartifacts
