# The commands a person types. Each target does its own setup on a fresh clone: it installs,
# from uv.lock (exact versions, every file checked against its hash), the runtime and only the
# extras that target needs. `make run` needs the runtime and the emulator, nothing else.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# uv reads uv.lock. Installed from PyPI into the venv, at this version (the Dockerfile's
# UV_VERSION must match: tests/deploy/test_lock.py checks it).
UV_VERSION := 0.13.9
UV := $(BIN)/uv
# uv uses the venv's Python and never downloads one of its own.
export UV_PYTHON_DOWNLOADS := never
# Go tools (the collector's build, actionlint) live here on a fresh machine.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

.PHONY: install run test lint types unit e2e bench synth dashboards slo clean collector fluent-bit \
	sloth tools container-tools containers lock lock-check lock-upgrade

# The extras (pyproject.toml) each set of targets installs. Sets add to the venv and never remove
# from it (uv sync --inexact), so switching targets does not reinstall; `make clean` starts over.
EXTRAS_run := emulator
EXTRAS_dev := dev
# The alert e2e test also reads the staff alert panel's query (dashboards/alerts.py).
EXTRAS_e2e := dev dashboards
# The bench harness has unit tests of its own (tests/unit/test_bench_*.py).
EXTRAS_test := dev infra dashboards bench
EXTRAS_infra := infra
EXTRAS_dashboards := dashboards
EXTRAS_bench := dev bench
EXTRAS_all := dev infra dashboards bench

# A venv without pip of its own: the interpreter's pip puts uv in it, and uv does the rest.
$(BIN)/.uv-$(UV_VERSION):
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --disable-pip-version-check \
		'uv==$(UV_VERSION)'
	touch $@

# One stamp per set, redone when the lock or pyproject.toml changes. --locked: a lock that
# disagrees with pyproject.toml stops here (`make lock` updates it).
$(VENV)/.synced-%: uv.lock pyproject.toml $(BIN)/.uv-$(UV_VERSION)
	$(UV) sync --quiet --locked --inexact $(addprefix --extra ,$(EXTRAS_$*))
	touch $@

# `make install` installs every extra; `make install-SET` one set (run, dev, e2e, test, infra,
# dashboards, bench): the deploy workflow's CDK app gets install-infra.
install: $(VENV)/.synced-all
install-%: $(VENV)/.synced-% ;
.PRECIOUS: $(VENV)/.synced-%

run: $(VENV)/.synced-run
	PORT=$(PORT) scripts/run-local.sh

# After editing dependencies in pyproject.toml: the smallest change to uv.lock that agrees.
lock: $(BIN)/.uv-$(UV_VERSION)
	$(UV) lock

# Every package to the newest version pyproject.toml allows (what the update bot does weekly).
lock-upgrade: $(BIN)/.uv-$(UV_VERSION)
	$(UV) lock --upgrade

# Fails when uv.lock does not agree with pyproject.toml.
lock-check: $(BIN)/.uv-$(UV_VERSION)
	$(UV) lock --check

lint: $(VENV)/.synced-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.synced-test
	$(BIN)/mypy src/ infra/logger_app_infra dashboards/ harness/

unit: $(VENV)/.synced-dev
	$(BIN)/pytest tests/unit tests/integration

# The test collector (built once per machine with ocb, cached outside the repo), Prometheus and
# Alertmanager.
collector:
	scripts/ensure-e2e-tools.sh >/dev/null

# Fluent Bit built from source (../shared/vendor, or FLUENT_BIT_SOURCE), cached the same way,
# for the log-path tests (tests/log_router).
fluent-bit:
	scripts/build-fluent-bit.sh >/dev/null

# Sloth (github.com/slok/sloth) built from its Go module, cached the same way: it generates the
# SLO rules (`make slo`, tests/alerts).
sloth:
	scripts/build-sloth.sh >/dev/null

# Grafana's LogQL grammar (@grafana/lezer-logql, locked), for the dashboards' LogQL checks.
LOGQL := tests/dashboards/logql
$(LOGQL)/node_modules/.package-lock.json: $(LOGQL)/package-lock.json
	npm ci --prefix $(LOGQL) --no-audit --no-fund --loglevel=error

# What tests/deploy runs: actionlint (go install, pinned), ShellCheck, promtool and amtool
# (apt-get).
tools: collector fluent-bit sloth $(LOGQL)/node_modules/.package-lock.json
	scripts/install-deploy-tools.sh

# What tests/containers runs beside the venv: Debian's docker.io (dockerd and its CLI; the system
# service is never started) and debootstrap (apt-get), Compose v2 (trixie's package, cached).
container-tools:
	scripts/install-container-tools.sh >/dev/null

test: lock-check lint types tools container-tools $(VENV)/.synced-test
	$(BIN)/pytest

# The image built from the Dockerfile and run, and the compose stack brought up for real with
# local stand-ins for the images no registry here can serve, on a private Docker engine started
# and stopped by the tests (tests/containers). Builds are cached outside the repo: a warm run
# takes about 3 minutes, a cold one (nothing cached) about 9 (measured 2026-12-02, 2 cores).
containers: $(VENV)/.synced-dev collector fluent-bit container-tools
	$(BIN)/pytest tests/containers

e2e: $(VENV)/.synced-e2e collector
	$(BIN)/pytest tests/e2e tests/collector tests/alerts/test_e2e_alerts.py

synth: $(VENV)/.synced-infra
	rm -rf infra/cdk.out
	$(BIN)/python infra/app.py

# Not part of make test: ~25 min on 2 cores. Writes bench/results/ and BENCHMARKS.md.
bench: $(VENV)/.synced-bench
	bench/setup.sh
	$(BIN)/python -m bench

# Regenerates alerts/logger-app.slo.rules.yaml from the SLO spec, alerts/logger-app.slo.yaml,
# with Sloth (a test fails if they differ).
slo:
	scripts/generate-slo.sh

# Regenerates grafana/dashboards/*.json from dashboards/ (a test fails if they differ).
dashboards: $(VENV)/.synced-dashboards
	$(BIN)/python -m dashboards

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache infra/cdk.out
