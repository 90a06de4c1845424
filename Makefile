# Two commands on a fresh machine: `make run` and `make test`. Both install first if needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
REQS   := requirements-dev.txt requirements-embedded.txt layers/requirements.txt
HOST   ?= 127.0.0.1
PORT   ?= 3000

export POWERTOOLS_SERVICE_NAME ?= tryon
export POWERTOOLS_METRICS_NAMESPACE ?= TryOn
export POWERTOOLS_TRACE_DISABLED ?= true

.PHONY: install run test lint typecheck unit integration clean benchmark-models

install: $(STAMP)

$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: install
	$(PY) -m handler.local serve --host $(HOST) --port $(PORT) $(if $(API_KEY),--api-key $(API_KEY),) \
		$(if $(filter %-emulated,$(BACKEND)),--emulate-aws $(BACKEND:-emulated=),)

lint: install
	$(PY) -m ruff check handler tests
	$(PY) -m ruff format --check handler tests

typecheck: install
	$(PY) -m mypy

unit: install
	$(PY) -m pytest tests/unit -q

integration: install
	$(PY) -m pytest tests/integration -q

test: install lint typecheck
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Model-call sequence and latency of the Bedrock/SageMaker pipelines against the emulator.
benchmark-models: install
	$(PY) scripts/benchmark_model_calls.py

.PHONY: openapi fuzz load
# The OpenAPI document generated from the code (a test checks the committed copy matches).
openapi: install
	$(PY) -m handler.openapi docs/openapi.json

# Long fuzzing and load runs (their short versions are part of `make test`).
fuzz: install
	FUZZ_EXAMPLES=1000 $(PY) -m pytest tests/fuzz tests/security tests/reliability -q -m "slow or not slow" \
		--hypothesis-show-statistics

load: install
	$(PY) scripts/load.py --backend embedded
	$(PY) scripts/load.py --backend bedrock --model-delay 0.5 --faults 4
