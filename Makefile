# csm-metrics: `make demo` and `make test` are all a newcomer needs (Python 3.11, pip, make).
PYTHON ?= python3
# A failing command in a pipe fails its line (the install's progress is piped).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-from-lock

.PHONY: install demo ui serve pg pg-stop bi-files report-check test test-fast test-connectors \
	test-pipeline bench lint format lock clean

# The environment is made from the lock file, and again whenever the lock file changes. The
# distributed executors' packages (dagster-celery, dagster-k8s and the Kubernetes client) are in
# their own lock: the tests install it, so CI checks they load; the demo does without.
DIST_STAMP := $(VENV)/.installed-distributed
$(STAMP): requirements.lock pyproject.toml
	@echo "Setting up $(VENV) from requirements.lock: $$(grep -c '==' requirements.lock) pinned packages, hash-checked (a few minutes the first time; later runs reuse it) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar off --require-hashes -r requirements.lock \
		| awk '/^Collecting/ {print "  collecting " $$2; fflush()} /^Successfully installed/ {print "  installed"}'
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(DIST_STAMP): $(STAMP) requirements-distributed.lock
	@echo "Adding the distributed executors' packages (requirements-distributed.lock) for the tests ..."
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-distributed.lock
	touch $(DIST_STAMP)

install: $(STAMP)

demo: $(STAMP)  ## start the fake APIs, backfill 24 months through Dagster, print the tables
	$(BIN)/python -m sandbox demo

ui: $(STAMP)  ## the Dagster UI on the demo warehouse, with its run history
	$(BIN)/python -m sandbox ui

serve: $(STAMP)  ## only the fake APIs, printing the variables that point at them
	$(BIN)/python -m sandbox serve

# BI on the published marts; the demo's unless WAREHOUSE_PATH says otherwise (docs/bi.md).
pg bi-files: export WAREHOUSE_PATH ?= data/demo/warehouse.duckdb

pg: $(STAMP)  ## a local PostgreSQL (data/pg/, 127.0.0.1:5433) with the marts; prints bi's URL
	$(BIN)/python -m warehouse pg-start

pg-stop: $(STAMP)  ## stop the local PostgreSQL
	$(BIN)/python -m warehouse pg-stop

bi-files: $(STAMP)  ## LookML views and Tableau data sources, into bi/
	$(BIN)/python -m warehouse bi-files --out bi

# The whole of the demo's report rendered by headless chromium; fails on a blank or cut page
# (docs/report.md).
report-check: $(STAMP)  ## screenshot the whole of data/demo/report.html to data/demo/report.png
	$(BIN)/python -m pipelines.report render data/demo/report.html data/demo/report.png

# The tests, in tiers (README, "Tests"): `fast` (pure functions and the contracts' unit tests on
# in-memory DuckDB, under a minute, no Dagster, HTTP or PostgreSQL), `connectors` (against the
# fake APIs) and `pipeline` (Dagster runs, PostgreSQL, Hyper, the report). `make test` runs all
# three on every core; the tiny build and the PostgreSQL server are made once for the session.
PYTEST := $(BIN)/python -m pytest
test: $(DIST_STAMP)  ## every tier
	$(PYTEST) -n auto --dist worksteal

test-fast: $(STAMP)  ## the fast tier, in one process
	$(PYTEST) -m fast

test-connectors: $(STAMP)  ## the connectors against the fake APIs
	$(PYTEST) -m connectors -n auto --dist worksteal

test-pipeline: $(DIST_STAMP)  ## Dagster runs, PostgreSQL, Hyper and the report
	$(PYTEST) -m pipeline -n auto --dist worksteal

# The benchmark (docs/performance.md): SCALE=1 is 300 CSMs, 20,000 accounts, 3,000,000 entries.
SCALE ?= 1
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-bench.lock
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  ## the pipeline at scale: rows/s, requests, memory; writes data/bench/
	$(BIN)/python -m benchmarks --scale $(SCALE)

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff check --fix .

# Re-pin every dependency (maintainers only): the distributed lock first (the widest), then the
# base lock within its pins, then the benchmark's within the base's, all with hashes.
LOCK := .venv-lock/bin/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes \
	--no-strip-extras --custom-compile-command "make lock"
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet uv
	$(LOCK) --extra dev --extra distributed -o requirements-distributed.lock
	$(LOCK) --extra dev -c requirements-distributed.lock -o requirements.lock
	$(LOCK) --extra dev --extra bench -c requirements.lock -o requirements-bench.lock

clean:
	rm -rf data .pytest_cache .ruff_cache
