# Two commands on a fresh machine: `make run` and `make test`. Both install first if needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
REQS   := requirements-dev.txt requirements-embedded.txt requirements-embedded-nodeps.txt layers/requirements.txt
HOST   ?= 127.0.0.1
PORT   ?= 3000

export POWERTOOLS_SERVICE_NAME ?= tryon
export POWERTOOLS_METRICS_NAMESPACE ?= TryOn
export POWERTOOLS_TRACE_DISABLED ?= true

.PHONY: doctor subscribe smoke invoke keys
.PHONY: environments checks install run test lint typecheck unit integration clean browser-deps test-browser screenshots tools lint-template sam-build deploy-check events package-check samples benchmark-intake benchmark-decoding benchmark-cold-start benchmark-person-check benchmark-model-calls benchmark-preview bench bench-embedded benchmark-models

install: $(STAMP)

$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-embedded-nodeps.txt
	touch $(STAMP)

# WEBHOOK_SECRET=whsec_...: the secret that signs job webhooks (passed in the environment, not the command line).
# ALLOW_LOCAL_URLS=1: garment and webhook URLs on this machine or a private network, on any port.
# DATA_DIR=DIR: the folder of the jobs and the named API keys (default .tryon-data).
run: install
	$(if $(WEBHOOK_SECRET),TRYON_WEBHOOK_SECRET='$(WEBHOOK_SECRET)',) $(if $(filter 1 yes true,$(ALLOW_LOCAL_URLS)),TRYON_ALLOW_PRIVATE_GARMENT_URLS=1,) $(PY) -m tryon_dev serve --host $(HOST) --port $(PORT) $(if $(API_KEY),--api-key $(API_KEY),) \
		$(if $(DATA_DIR),--data-dir '$(DATA_DIR)',) \
		$(if $(filter %-emulated,$(BACKEND)),--emulate-aws $(BACKEND:-emulated=),) \
		$(if $(MODEL_URL),--sagemaker-model-url $(MODEL_URL),)

# Named API keys: make keys ARGS='create --name shop --per-minute 30 --per-month 1000' (list, revoke ID,
# usage [ID]); DATA_DIR=DIR for the local store, or ARGS='--stack NAME ...' for a deployed one.
keys: install
	$(PY) -m tryon_dev keys $(if $(DATA_DIR),--data-dir '$(DATA_DIR)',) $(ARGS)

lint: install
	$(PY) -m ruff check tryon_api tryon_dev tests scripts clients
	$(PY) -m ruff format --check tryon_api tryon_dev tests scripts clients

typecheck: install
	$(PY) -m mypy

unit: install
	$(PY) -m pytest tests/unit -q

integration: install
	$(PY) -m pytest tests/integration -q

# sam-build: tests/integration/test_sam_local_invoke.py runs SAM CLI's environment resolution
# (.tools/) over the built template and invokes the built handler (cached: seconds when unchanged).
# model-test: the SageMaker model server's own tests (its venv, .venv-model/), and that venv lets
# tests/integration/models/test_model_server_chain.py run the whole chain with the tiny model.
# Tests run in parallel (pytest-xdist): one worker per core, at most TEST_WORKERS_MAX (servers and
# models per worker cost memory); TEST_WORKERS=1 runs them in one process. xdist's default `load`
# distribution: the scope-based modes (loadscope, loadfile, loadgroup) key tests by node id and
# silently run one of Schemathesis' six same-id items (one per API operation). Every test has a
# timeout (pyproject.toml).
TEST_WORKERS_MAX ?= 4
TEST_WORKERS     ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt $(TEST_WORKERS_MAX) ] && n=$(TEST_WORKERS_MAX); echo $$n)
PYTEST_PARALLEL  := $(if $(filter 1,$(TEST_WORKERS)),-n 0,-n $(TEST_WORKERS) --dist load)
# The three environments (.venv, .tools, .venv-model) install side by side first: pip mostly waits
# on downloads and the disk (a clean clone here: 100 s one after another, 58 s side by side).
environments:
	$(MAKE) -j3 --output-sync=target install tools model-install

# Lint and types (CPU) beside sam build (mostly pip fetching the layer's wheels).
checks: environments
	$(MAKE) -j3 --output-sync=target lint typecheck sam-build

test: checks model-test
	$(PY) -m pytest -q -m "not slow" --ignore=tests/browser $(PYTEST_PARALLEL)

# The playground page in a real browser: Debian's Chromium driven by Playwright for Python.
CHROMIUM      := /usr/bin/chromium
BROWSER_STAMP := $(VENV)/.browser-installed
SUDO          := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser-deps: install $(BROWSER_STAMP)
	@test -x $(CHROMIUM) || $(SUDO) apt-get install -y chromium || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

$(BROWSER_STAMP): $(STAMP) requirements-browser.txt
	$(PY) -m pip install --quiet -r requirements-browser.txt
	touch $@

test-browser: browser-deps
	PLAYGROUND_BROWSER_REQUIRED=1 $(PY) -m pytest tests/browser -q

# Re-run the browser tests and refresh the committed screenshots in docs/screenshots/.
screenshots: browser-deps
	PLAYGROUND_BROWSER_REQUIRED=1 PLAYGROUND_UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/browser -q

# Figures, not tests (scripts/benchmark_*.py print them; ratios are measured within one run).
# Our request-path image work against a naive Pillow pipeline, and peak RSS.
benchmark-intake: install
	$(PY) scripts/benchmark_intake.py

# The decoding budget: scan bombs over HTTP, concurrent bombs against one render's RSS, and the
# worst single request per image format at the pixel limit (peak RSS, CPU seconds).
benchmark-decoding: install
	$(PY) scripts/benchmark_decoding.py

# The latency the person check adds per request: the local face model, and the real boto3 client
# against the loopback Rekognition emulator (the real service's round trip is not measured).
benchmark-person-check: install
	$(PY) scripts/benchmark_person_check.py

# Importing the handler and building its container, against a bare `import boto3` plus one client.
benchmark-cold-start: install
	$(PY) scripts/benchmark_cold_start.py

# The old names of the benchmark targets.
bench: benchmark-intake
bench-embedded: benchmark-preview
benchmark-models: benchmark-model-calls

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .aws-sam

# ---- deployment checks (SAM) -------------------------------------------------------------
# The SAM CLI pins its own boto3, so it and cfn-lint live in their own venv, .tools/.
TOOLS       := .tools
TOOLS_STAMP := $(TOOLS)/.installed
# sam build needs the Lambda runtime's Python (python3.12) on PATH to build the layer.
PYTHON312   ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $(TOOLS_STAMP)

lint-template: tools
	$(TOOLS)/bin/cfn-lint template.yaml --include-checks I
	$(TOOLS)/bin/sam validate --lint

# Set REQUIRE_SAM_BUILD=1 to make a missing python3.12 an error instead of a skipped step.
sam-build: tools
	@if [ -z "$(PYTHON312)" ]; then \
		echo "sam build SKIPPED: no python3.12 found (pyenv install 3.12, or PYTHON312=/path/to/python3.12)"; \
		test -z "$(REQUIRE_SAM_BUILD)"; \
	else \
		echo "sam build with $(PYTHON312)"; \
		PATH="$$(dirname $(PYTHON312)):$$PATH" $(TOOLS)/bin/sam build && \
		du -sh .aws-sam/build/TryOnFunction .aws-sam/build/JobWorkerFunction .aws-sam/build/DependenciesLayer; \
	fi

# The built package imports on its own (with the venv's packages standing in for the arm64 layer)
# and holds neither the embedded backend nor tests.
package-check: install sam-build
	@for function in TryOnFunction JobWorkerFunction; do \
		if [ -d .aws-sam/build/$$function/tryon_api ]; then \
			(cd .aws-sam/build/$$function && TRYON_BACKEND=bedrock $(CURDIR)/$(PY) -c \
			"import importlib.util as u, tryon_api.entrypoints.function_url, tryon_api.entrypoints.queue_worker as w; assert u.find_spec('tryon_api.backends.embedded') is None; assert u.find_spec('tryon_dev') is None; print('package ok:', w.__file__)" && \
			test ! -e tests && test ! -e tryon_dev && test ! -e tryon_api/backends/embedded) || exit 1; \
		fi; \
	done

deploy-check: lint-template sam-build package-check

# Called by `sam build` (BuildMethod: makefile, CodeUri: tryon_api/) in a copy of tryon_api/: ship the
# package without the embedded backend (numpy, local runs only) and without caches. The dev-only
# package tryon_dev/ sits outside CodeUri, so it never reaches the zip.
build-TryOnFunction:
	mkdir -p "$(ARTIFACTS_DIR)/tryon_api"
	cp -R . "$(ARTIFACTS_DIR)/tryon_api/"
	rm -rf "$(ARTIFACTS_DIR)/tryon_api/backends/embedded"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

# The jobs worker ships the same package (its handler is tryon_api.entrypoints.queue_worker.lambda_handler).
build-JobWorkerFunction: build-TryOnFunction

# Preflight of the AWS account before and after deploying, in the region and with the parameters
# sam deploy uses (samconfig.toml's, or the deployed stack's): each model's availability (Marketplace
# agreement, authorization, entitlement, region), the API-key secret, reserved concurrency vs the
# account, Bedrock quotas. INVOKE=1 adds one billed minimal call per model. CONFIG_ENV=prod for
# samconfig.toml's prod environment.
doctor: install
	$(PY) -m tryon_dev.doctor --config-env $(or $(CONFIG_ENV),default) $(if $(INVOKE),--invoke,)

# Once per account: accept the configured models' Marketplace offers with your credentials (the
# function's role holds no Marketplace permission). `make doctor` shows when they are ready.
subscribe: install
	$(PY) -m tryon_dev.doctor --config-env $(or $(CONFIG_ENV),default) --subscribe

# Post-deploy smoke test: make smoke URL=<FunctionUrl output> API_KEY=<a key from the secret>
# (CONFIG_ENV=prod for the prod function). The client waits the deployed function's timeout.
smoke: install
	@test -n "$(URL)" -a -n "$(API_KEY)" || { echo "usage: make smoke URL=https://<id>.lambda-url.<region>.on.aws/ API_KEY=<key>"; exit 2; }
	$(PY) -m tryon_dev.smoke --url "$(URL)" --api-key "$(API_KEY)" --config-env $(or $(CONFIG_ENV),default)

# sam local invoke (Docker) of one event with samconfig.toml's local settings, immune to exported
# TRYON_*/POWERTOOLS_* variables (SAM would let them override the template's values).
invoke: install sam-build
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/bad-mode.json [CONFIG_ENV=prod]"; exit 2; }
	$(PY) -m tryon_dev.sam_local --event "$(EVENT)" --config-env $(or $(CONFIG_ENV),default)

# Rewrites events/ from tests/photos.py's selfie (deterministic: same bytes every run).
events: install
	$(PY) scripts/make_events.py

# Model-call sequence and latency of the Bedrock/SageMaker pipelines against the emulator.
benchmark-model-calls: install
	$(PY) scripts/benchmark_model_calls.py

# A contact sheet of the embedded backend's output (both bundled photos x descriptions x modes).
samples: install
	$(PY) scripts/render_samples.py --out docs/samples

# Seconds per image of the embedded preview at 512 and 1024 px, and the first request after start-up.
benchmark-preview: install
	$(PY) scripts/benchmark_preview.py

.PHONY: openapi docs fuzz load load-jobs
# The OpenAPI document generated from the code (a test checks the committed copy matches).
openapi: install
	$(PY) -m tryon_api.http.openapi docs/openapi.json

# The settings table of docs/configuration.md, generated from tryon_api/settings.py (a test checks it).
docs: install
	$(PY) -m tryon_dev.settings_doc docs/configuration.md

# Long fuzzing and load runs (their short versions are part of `make test`).
fuzz: install
	FUZZ_EXAMPLES=1000 $(PY) -m pytest tests/fuzz tests/security tests/reliability -q -m "slow or not slow" \
		--hypothesis-show-statistics

load: install
	$(PY) scripts/load.py --backend embedded
	$(PY) scripts/load.py --backend bedrock --model-delay 0.5 --faults 4

# A burst of jobs above the local worker pool's concurrency, the server killed and restarted
# mid-burst: every job finishes, none lost, each webhook delivered and verified.
load-jobs: install
	$(PY) scripts/load_jobs.py --jobs 24 --workers 2 --restart

# The SageMaker model server (its own venv and tests). `-include`: sam build runs this Makefile
# where model_server/ is absent.
-include model_server/model.mk
