# hcc-recommender: `make run` runs the pipeline on the embedded synthetic cohort, `make test` the
# docs build and the tests.
SHELL := /bin/bash
PYTHON ?= python3
# Use the active virtual environment if there is one, else a project-local .venv.
VENV := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),.venv)
BIN := $(VENV)/bin
STAMP := $(VENV)/.hcc-installed
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
# mkdocs-material prints a banner about its end of life on every build; the build is unaffected
export NO_MKDOCS_2_WARNING := 1

.PHONY: install run test docs bench lint clean-results

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	@touch $(STAMP)

install: $(STAMP)  ## create the virtual environment (if none is active) and install the project

run: install  ## dvc repro on the embedded default (synthetic cohort), then a summary
	$(BIN)/python -m pipeline.stages.run

test: install docs  ## the documentation build (strict), then the test suite
	$(BIN)/python -m pytest

docs: install  ## the documentation site into site/ (strict: a broken link or reference fails)
	$(BIN)/mkdocs build --strict --site-dir site

bench: install  ## benchmarks: latency, throughput, memory; writes data/reports/bench.json
	$(BIN)/python -m benchmarks.run

lint: install
	$(BIN)/ruff check .
