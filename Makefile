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

.PHONY: install run test lint typecheck unit integration clean browser-deps test-browser screenshots

install: $(STAMP)

$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: install
	$(PY) -m handler.local serve --host $(HOST) --port $(PORT) $(if $(API_KEY),--api-key $(API_KEY),)

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
	$(PY) -m pytest -q -m "not slow" --ignore=tests/browser

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
