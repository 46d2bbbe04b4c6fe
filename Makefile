# One entry point for people and CI. `make demo` runs the main job, `make test` runs every check CI runs.
# Both set up what they need on a fresh machine (python3, node and npm only) and are no-ops to re-set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CHECKOV_VENV := .venv-checkov
# The pinned Node 22 and cdk CLI from package.json come first: the machine's Node 20 is end-of-life.
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# This machine's pip configuration lists local mirrors that may not exist; pip warns once per package.
QUIET_PIP := 2>&1 | { grep -v '^WARNING: Location' || true; }

.PHONY: setup demo test unit infra integration e2e synth lint lint-workflows compliance-report bench clean

WORKFLOWS ?= $(wildcard .github/workflows/*.yml)
CDK_OUT ?= cdk.out
REPORT_DIR ?= compliance-report

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt $(QUIET_PIP)
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt $(QUIET_PIP)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed

synth: setup
	cdk synth --quiet --no-notices

demo: setup
	$(BIN)/python -m demo $(if $(EVENTS),--events $(EVENTS))

test: setup
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/mypy
	$(MAKE) --no-print-directory lint-workflows
	$(BIN)/python -m pytest

# One tier each, for iterating; `make test` (what CI runs) is all of them plus the linters.
unit: setup
	$(BIN)/python -m pytest tests/unit

infra: setup
	$(BIN)/python -m pytest tests/infra

integration: setup
	$(BIN)/python -m pytest tests/integration tests/investigate

e2e: setup
	$(BIN)/python -m pytest tests/e2e

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# actionlint without shellcheck/pyflakes: those are found on some machines (GitHub's runners) and not on others,
# and `make test` must judge the workflows the same way everywhere.
lint-workflows:
	$(BIN)/actionlint -shellcheck= -pyflakes= $(WORKFLOWS)

# The compliance report (Markdown + JSON) generated from the synthesized templates and the scanners' verdicts.
# The synth also writes cdk-nag's policy validation report into the cloud assembly for the report to read.
compliance-report: setup
	cdk synth --quiet --no-notices --output $(CDK_OUT) -c @aws-cdk/core:validationReportJson=true
	$(BIN)/python -m compliance --cdk-out $(CDK_OUT) --output $(REPORT_DIR)

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf cdk.out .pytest_cache compliance-report
