# The single entry point for developers and CI. Every target creates/refreshes the virtualenv itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The Lambda runtime's interpreter: pyenv's 3.12.1 if installed, else python3.12 from PATH (or PY312_BIN=…).
PY312_BIN ?= $(shell d="$$(pyenv root 2>/dev/null)/versions/3.12.1/bin"; if [ -x "$$d/python3.12" ]; then echo "$$d"; else dirname "$$(command -v python3.12 || echo python3.12)"; fi)
STAMP := $(VENV)/.installed
VENV312 := .venv312
STAMP312 := $(VENV312)/.installed

.PHONY: lock dev dev312 run test test-py312 test-py312-smoke test-unit test-functional test-contract test-e2e lint format typecheck validate build \
        openapi fuzz client bench bench-quick pr clean deploy build-SevbridgeLayer

# uv installs the same pinned versions (constraints.txt) from PyPI in seconds where pip takes a minute;
# it is pinned here and bootstrapped into each virtualenv with pip. --compile-bytecode: uv does not write
# .pyc files by default, and every test worker and local-stack process would compile the packages anew.
# Behind a package mirror set UV_INDEX_URL (uv does not read pip.conf).
UV_VERSION := 0.13.8
UV_INSTALL = pip install -q uv==$(UV_VERSION) && $(1)/bin/uv pip install -q --compile-bytecode \
	--python $(1)/bin/python -e '.[dev]' -c constraints.txt
# Workers for the suite: one per core; a test module (and all of tests/e2e, which shares one local stack)
# stays on one worker (tests/conftest.py). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadfile

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m $(call UV_INSTALL,$(VENV))
	@touch $(STAMP)

$(STAMP312): pyproject.toml constraints.txt
	@test -x $(PY312_BIN)/python3.12 || { echo "Python 3.12 (the Lambda runtime) not found in $(PY312_BIN); set PY312_BIN"; exit 2; }
	@test -x $(VENV312)/bin/python || $(PY312_BIN)/python3.12 -m venv $(VENV312)
	$(VENV312)/bin/python -m $(call UV_INSTALL,$(VENV312))
	@touch $(STAMP312)

dev: $(STAMP)  ## create/refresh the virtualenv

dev312: $(STAMP312)  ## create/refresh the Python 3.12 virtualenv (make test-py312)

run: $(STAMP)  ## start the whole stack on this machine (no AWS account needed)
	$(BIN)/python -m local_stack

test: $(STAMP)  ## the whole offline suite: unit, functional, contract, e2e (on every core)
	$(BIN)/pytest $(PYTEST_PARALLEL)

test-py312: $(STAMP312)  ## the same suite on Python 3.12, the Lambda runtime
	$(VENV312)/bin/pytest $(PYTEST_PARALLEL)

# What CI runs on 3.12 (the whole suite runs on 3.11): every unit test, among them a fresh interpreter
# importing each function's handler (tests/unit/test_cold_path.py); every sample event in events/
# driving its real handler against mock_aws; and the local stack started on 3.12, which imports every
# handler of template.yaml, with the seed scenarios pushed end to end through API, moto, transfer
# worker and sandbox. About a minute and a half; `make test-py312` runs everything on 3.12.
PY312_SMOKE := tests/unit tests/functional/test_sample_events.py tests/e2e/test_local_stack_starts.py \
	tests/e2e/test_seed_scenarios.py

test-py312-smoke: $(STAMP312)  ## the 3.12 check CI runs: unit suite, handler imports, local stack and seed scenarios
	$(VENV312)/bin/pytest $(PYTEST_PARALLEL) $(PY312_SMOKE)

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-functional: $(STAMP)
	$(BIN)/pytest tests/functional

test-contract: $(STAMP)
	$(BIN)/pytest tests/contract

test-e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

validate: $(STAMP)  ## sam validate --lint (cfn-lint) on template.yaml
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/sam validate --lint --region eu-central-1

build: $(STAMP)  ## sam build; the Lambda runtime is python3.12, so put that interpreter on PATH
	PATH=$(PY312_BIN):$(CURDIR)/$(BIN):$$PATH $(BIN)/sam build

# The layer (template.yaml: BuildMethod makefile, ContextPath .): `sam build` runs this target in a copy of
# layers/sevbridge/ with ARTIFACTS_DIR set. Exactly the pinned list, without dependencies (the runtime
# provides boto3/botocore; a second copy would double the layer), wheels for the runtime's Python and
# architecture, then bytecode compiled once here (unchecked-hash: the runtime neither compiles nor stats
# the sources on a cold start; /opt is read-only, so it could not cache .pyc files itself).
LAYER_PYTHON ?= python3.12
LAYER_PLATFORM ?= manylinux2014_aarch64
build-SevbridgeLayer:
	$(LAYER_PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --platform $(LAYER_PLATFORM) --implementation cp --python-version 3.12 \
	  --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	rm -rf "$(ARTIFACTS_DIR)/python/bin"
	cp -R sevbridge "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python" -name __pycache__ -type d -prune -exec rm -rf {} +
	$(LAYER_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"

openapi: $(STAMP)  ## regenerate docs/openapi.json (and sevbridge/api/field_names.py, the names error details may show) from the code
	$(BIN)/python -m sevbridge.api.openapi_export docs/openapi.json

fuzz: $(STAMP)  ## long schemathesis run on the real api handler: make fuzz [FUZZ_SECONDS=300] [FUZZ_SEED=n]
	SEVBRIDGE_FUZZ_SECONDS=$(or $(FUZZ_SECONDS),300) SEVBRIDGE_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),100) \
	  SEVBRIDGE_FUZZ_SEED=$(or $(FUZZ_SEED),20261201) $(BIN)/pytest tests/functional/api/test_schemathesis.py -s -q

bench: $(STAMP)  ## benchmarks; results go to docs/benchmarks.md (python3.12 in PY312_BIN builds the layer)
	PY312_BIN=$(PY312_BIN) $(BIN)/python -m benchmarks.run

bench-quick: $(STAMP)  ## per-document figures, cost, cold imports and layer only (a few minutes); also writes docs/benchmarks.md
	PY312_BIN=$(PY312_BIN) $(BIN)/python -m benchmarks.run --quick

pr: lint typecheck validate test test-py312-smoke  ## what CI runs (.ci/run)

deploy: build
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/sam deploy --guided

lock: $(STAMP)  ## re-resolve dependencies to their newest allowed versions and record them
	$(BIN)/python -m pip install -q --upgrade -e '.[dev]'
	{ echo "# Exact versions the suite was last run with; \`make dev\` installs with these as constraints."; \
	  echo "# Refresh: make lock (then run make pr)."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt

clean:
	rm -rf $(VENV) $(VENV312) .aws-sam .local .mypy_cache .ruff_cache
