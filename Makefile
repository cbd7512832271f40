# csm-metrics: `make demo` and `make test` are all a newcomer needs (Python 3.11, pip, make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-from-lock

.PHONY: install demo ui serve pg pg-stop bi-files report-check test bench lint format lock clean

# The environment is made from the lock file, and again whenever the lock file changes.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

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

test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist worksteal

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

# Re-pin every dependency (maintainers only): writes requirements.lock with hashes.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet uv
	.venv-lock/bin/uv pip compile pyproject.toml --extra dev --extra distributed --python-version 3.11 \
		--generate-hashes --no-strip-extras --custom-compile-command "make lock" \
		-o requirements.lock
	.venv-lock/bin/uv pip compile pyproject.toml --extra dev --extra distributed --extra bench \
		--python-version 3.11 --generate-hashes --no-strip-extras \
		--custom-compile-command "make lock" -c requirements.lock -o requirements-bench.lock

clean:
	rm -rf data .pytest_cache .ruff_cache
