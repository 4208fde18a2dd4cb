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

.PHONY: install run exp test docs bench lint server vendor-vega clean-results

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs,server,spark]'
	@touch $(STAMP)

install: $(STAMP)  ## create the virtual environment (if none is active) and install the project

run: install  ## dvc repro on the embedded default (synthetic cohort), then a summary
	$(BIN)/python -m pipeline.stages.run

# `make exp`: `dvc exp show` in a table that fits a terminal: the headline metrics below and
# data.source always, every other param (or metric) only where the experiments differ; stage
# dependency hashes, and the headline numbers left to `dvc metrics show`, left out. Override:
# make exp EXP_KEEP='regex' EXP_DROP='regex' EXP_ARGS='--all-commits'
EXP_KEEP ?= ^(Experiment|Created|data\.source|(data/reports/headline\.json:)?(uno_c|ibs|cal_slope|gain|regret|forbidden|n_train))$$
EXP_DROP ?= ^((data/reports/headline\.json:)?(harrell_c|pehe|n_test)|features|models|guidelines|pipeline/.*|data/.*)$$
EXP_ARGS ?=

exp: install  ## dvc exp show, readable: headline metrics, data.source and the params that differ
	$(BIN)/dvc exp show --no-pager --only-changed --keep '$(EXP_KEEP)' --drop '$(EXP_DROP)' $(EXP_ARGS)

test: install docs  ## the documentation build (strict), then the test suite
	$(BIN)/python -m pytest

docs: install  ## the documentation site into site/ (strict: a broken link or reference fails)
	$(BIN)/mkdocs build --strict --site-dir site

bench: install  ## benchmarks: latency, throughput, memory; writes data/reports/bench.json
	$(BIN)/python -m benchmarks.run

# The team's MLflow tracking server (PostgreSQL backend, served artifacts, users and
# permissions), configured by HCC_TRACKING_* variables: docs/usage.md "A team server".
# One person needs none: the pipeline tracks to sqlite:///<project>/mlflow.db.
SERVER_ARGS ?=
server: install  ## the team tracking server: mlflow server on PostgreSQL with authentication
	$(BIN)/hcc tracking-server $(SERVER_ARGS)

lint: install
	$(BIN)/ruff check .

# the Vega builds inlined in the offline page of `dvc plots show` (.dvc/plots/offline.html)
VEGA_PACKAGES := vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0
vendor-vega: install  ## re-vendor Vega from npm into .dvc/plots/offline.html (needs npm)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(VEGA_PACKAGES) >/dev/null) && \
	$(BIN)/python tools/vendor_vega.py $$tmp; status=$$?; rm -rf $$tmp; exit $$status
