# chaihuo: every target bootstraps .venv on a fresh machine, then does its job.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-postgres quality bench lint format clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "python3 (3.11+) is required" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11+ is required" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		echo "venv missing: installing python3-venv" >&2; \
		sudo_cmd=$$(command -v sudo || true); \
		$$sudo_cmd apt-get update -qq && $$sudo_cmd apt-get install -y -qq python3-venv && \
		$(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,postgres]'
	@touch $@

.PHONY: system-deps
system-deps:
	@scripts/ensure_java.sh
	@scripts/link_shared_data.sh
	@python3 scripts/rebuild_epsilon_host.py

# Three nodes on loopback, data from examples/data: needs neither Java nor the shared datasets.
demo: $(STAMP)
	$(BIN)/python scripts/node_demo.py

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

test: lint system-deps
	$(BIN)/pytest -m "not slow and not spark_jvm" -n 2 --dist loadgroup
	$(BIN)/pytest -m "spark_jvm and not slow"

test-slow: $(STAMP) system-deps
	$(BIN)/pytest -m slow

# The store conformance suite against a throw-away PostgreSQL cluster (installs it if missing).
test-postgres: $(STAMP)
	scripts/postgres_test.sh

quality: $(STAMP) system-deps
	$(BIN)/pytest -m slow tests/quality -v -rA -n 2 --dist loadgroup

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/crypto.py --json
	$(BIN)/python benchmarks/runtime.py --json
	cd benchmarks && ../$(BIN)/python vertical_lr.py --json

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
