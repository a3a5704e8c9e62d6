# Blueprints: one entry point for every task. `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Python 3.13 (the Lambda runtime): python3.13 on PATH, else a pyenv-installed 3.13.
PYTHON313 ?= $(shell for c in python3.13 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	if "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then echo "$$c"; break; fi; done)

VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
SAM_VENV := .venv-sam
SAM := PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
TEMPLATES := template.yaml $(wildcard templates/*.yaml)
TRANSLATED := build/translated
PIP_FLAGS := --disable-pip-version-check --no-input --quiet

define make_venv
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (install CPython 3.13, e.g. pyenv install 3.13)"; exit 1; }
	@rm -rf $(1)
	$(PYTHON313) -m venv $(1)
	$(1)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip==26.3
	$(1)/bin/python -m pip install $(PIP_FLAGS) -r $(2)
	@touch $(1)/.installed
endef

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt
	$(call make_venv,$(VENV),requirements-dev.txt)

# The project itself (the localcloud command), editable: reinstalled when pyproject.toml changes,
# without rebuilding the environment.
$(VENV)/.project: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install $(PIP_FLAGS) --no-deps -e .
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(call make_venv,$(CHECKOV_VENV),requirements-checkov.txt)

$(SAM_VENV)/.installed: requirements-sam.txt
	$(call make_venv,$(SAM_VENV),requirements-sam.txt)

.PHONY: install
install: $(VENV)/.project $(CHECKOV_VENV)/.installed ## create the virtual environments (python3.13, pinned)

.PHONY: lint
lint: $(VENV)/.installed ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: format
format: $(VENV)/.installed ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: typecheck
typecheck: $(VENV)/.installed ## mypy --strict
	$(VENV)/bin/mypy

.PHONY: cfn-lint
cfn-lint: $(VENV)/.installed ## cfn-lint every template, with the project's custom rules
	$(VENV)/bin/cfn-lint --custom-rules checks/cfn-lint/custom_rules.txt -- $(TEMPLATES)

.PHONY: translate
translate: $(VENV)/.installed ## SAM-translate every template to plain CloudFormation (build/translated)
	$(PY) -m tools.sam_translate --out $(TRANSLATED) $(TEMPLATES)

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed translate ## checkov on the templates and their SAM translations
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		--external-checks-dir checks/checkov -f $(TEMPLATES)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		--external-checks-dir checks/checkov -d $(TRANSLATED)

.PHONY: pytest
pytest: $(VENV)/.project ## unit, flow and template tests with coverage
	$(VENV)/bin/pytest -n auto --dist loadfile --cov --cov-report=term --cov-report=xml -q

.PHONY: test
test: lint typecheck cfn-lint checkov pytest ## the whole quality gate (what CI runs)

.PHONY: validate
validate: $(SAM_VENV)/.installed ## sam validate --lint on every template
	@for t in $(TEMPLATES); do echo "sam validate --lint $$t"; $(SAM) validate --lint --region us-east-1 -t $$t; done

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build (arm64 layer and functions)
	$(SAM) build --parallel

.PHONY: bench
bench: $(VENV)/.project ## cold init and warm latency per handler (never fails CI)
	$(PY) -m tools.bench

.PHONY: up
up: $(VENV)/.project ## serve the local cloud on 127.0.0.1:4566 with the application deployed
	$(VENV)/bin/localcloud up

.PHONY: demo
demo: $(VENV)/.project ## run every blueprint's scripted scenario on the local cloud
	$(VENV)/bin/localcloud demo

.PHONY: status
status: $(VENV)/.project ## what the running local cloud holds (stacks, functions, queue depths)
	$(VENV)/bin/localcloud status

.PHONY: clean
clean: ## remove build output and caches (keeps the virtual environments)
	rm -rf .aws-sam build .coverage coverage.xml .mypy_cache .ruff_cache .pytest_cache
