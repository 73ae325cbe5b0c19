# The commands a person types. Each target does its own setup on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Go tools (the collector's build, actionlint) live here on a fresh machine.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

.PHONY: install run test lint types unit e2e bench synth dashboards clean collector fluent-bit tools

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,infra,dashboards,bench]'
	touch $@

install: $(BIN)/.installed

run: install
	PORT=$(PORT) scripts/run-local.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy src/ infra/logger_app_infra dashboards/

unit: install
	$(BIN)/pytest tests/unit tests/integration

# The test collector (built once per machine with ocb, cached outside the repo) and Prometheus.
collector:
	scripts/ensure-e2e-tools.sh >/dev/null

# Fluent Bit built from source (../shared/vendor, or FLUENT_BIT_SOURCE), cached the same way,
# for the log-path tests (tests/log_router).
fluent-bit:
	scripts/build-fluent-bit.sh >/dev/null

# Grafana's LogQL grammar (@grafana/lezer-logql, locked), for the dashboards' LogQL checks.
LOGQL := tests/dashboards/logql
$(LOGQL)/node_modules/.package-lock.json: $(LOGQL)/package-lock.json
	npm ci --prefix $(LOGQL) --no-audit --no-fund --loglevel=error

# What tests/deploy runs: actionlint (go install, pinned), ShellCheck and promtool (apt-get).
tools: collector fluent-bit $(LOGQL)/node_modules/.package-lock.json
	scripts/install-deploy-tools.sh

test: lint types tools
	$(BIN)/pytest

e2e: install collector
	$(BIN)/pytest tests/e2e tests/collector

synth: install
	rm -rf infra/cdk.out
	$(BIN)/python infra/app.py

# Not part of make test: ~25 min on 2 cores. Writes bench/results/ and BENCHMARKS.md.
bench: install
	bench/setup.sh
	$(BIN)/python -m bench

# Regenerates grafana/dashboards/*.json from dashboards/ (a test fails if they differ).
dashboards: install
	$(BIN)/python -m dashboards

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache infra/cdk.out
