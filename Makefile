# Entry points for developers and CI; CI runs the same targets (see .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=
comma := ,

.PHONY: install cli test check format serve repro report-screenshot bench clean

install: $(VENV)/.installed cli

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The pinned @bitwarden/cli versions, installed once into the CLI cache (~/.cache/sleepwalk/cli).
cli: $(VENV)/.installed
	$(VENV)/bin/sleepwalk install-cli

test: $(VENV)/.installed
	$(PY) -m pytest $(ARGS)

check: $(VENV)/.installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The main job: the flagship sleep on the last CLI before the fix and the first with it. BUG=18585 runs the recipe
# of that field report instead (sleepwalk list --bugs lists them).
ifdef BUG
SCENARIO := bug-$(BUG)
endif
SCENARIO ?= sleep-before-send
CLIENTS ?= bw@2025.12.1,bw@2026.1.0
repro: install
	$(VENV)/bin/sleepwalk matrix $(SCENARIO) --clients $(CLIENTS) -j 2 --report-dir reports/repro

# Manual QA mode: the mock server for any client, with its URL, CA, account and the commands to steer it.
serve: $(VENV)/.installed
	$(VENV)/bin/sleepwalk serve $(ARGS)

# The flagship scenario on both pinned CLIs, its HTML timeline report, and a PNG of it for reviewers.
SHOT_DIR ?= reports/screenshot
report-screenshot: install
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	rm -rf $(SHOT_DIR)
	-$(VENV)/bin/sleepwalk run sleep-before-send $(foreach c,$(subst $(comma), ,$(CLIENTS)),--client $(c)) -j 2 --report-dir $(SHOT_DIR)
	$(VENV)/bin/sleepwalk report $(SHOT_DIR) --screenshot $(SHOT_DIR)/report.png

# Throughput of the mock server against a bare FastAPI app and npm oauth2-mock-server; prints, never asserts.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) bench/bench_server.py $(ARGS)
	$(PY) bench/bench_reference.py
	$(PY) bench/bench_harness_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache reports bench/results
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
