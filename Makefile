# The few targets a newcomer needs. Every target installs what it uses (virtual env, npm CDK CLI) first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CDK := node_modules/.bin/cdk
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo local test lint format synth deploy bench bench-model openapi clean chromium

demo: $(INSTALLED)
	$(BIN)/leadscore demo

local: $(INSTALLED)
	$(BIN)/leadscore local

test: $(INSTALLED) $(CDK) chromium
	$(BIN)/pytest -n 2 --dist loadfile

# Debian's chromium, for the browser SDK tests (Playwright drives it; its own browser download is unused).
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

lint: $(INSTALLED)
	$(BIN)/ruff check shared functions infra tests bench
	$(BIN)/ruff format --check shared functions infra tests bench
	$(BIN)/mypy shared functions infra

format: $(INSTALLED)
	$(BIN)/ruff check --fix shared functions infra tests bench
	$(BIN)/ruff format shared functions infra tests bench

synth: $(INSTALLED) $(CDK)
	$(CDK) synth --quiet $(if $(ALERT_EMAIL),-c alertEmail=$(ALERT_EMAIL)) $(if $(OPS_EMAIL),-c opsEmail=$(OPS_EMAIL))

deploy: $(INSTALLED) $(CDK)
	$(CDK) deploy $(if $(ALERT_EMAIL),-c alertEmail=$(ALERT_EMAIL)) $(if $(OPS_EMAIL),-c opsEmail=$(OPS_EMAIL))

bench: $(INSTALLED)
	$(BIN)/python -m bench

# The learned scorecard beside logistic regression and gradient boosting (held-out ROC AUC; a few minutes).
bench-model: $(INSTALLED)
	$(BIN)/python -m bench model

# docs/openapi.json from the functions' routes (a test fails while it is stale).
openapi: $(INSTALLED)
	$(BIN)/python -m infra.openapi

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules .build cdk.out .local .pytest_cache .mypy_cache .ruff_cache
