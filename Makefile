# The front door: `make run` serves the demo on embedded services, `make test` runs the suite against real ones.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format bench clean-var

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser builds are not downloaded).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q
$(CHROMIUM):
	$(APT_INSTALL) chromium || { $(SUDO) apt-get update -q && $(APT_INSTALL) chromium; }

run: $(VENV)/.runtime
	$(PY) manage.py serve

test: $(VENV)/.dev $(CHROMIUM)
	$(PY) -m pytest

# ruff, then the import layers (README "Architecture"): a reversed import or an import circle fails here.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tests/layers.py

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks, not tests: each prints a table and writes bench/results/*.json (figures in bench/README.md). About
# 25 min on 2 cores; bench/search.py --rows 1000000 is left out (its HNSW builds take far longer).
bench: $(VENV)/.runtime
	$(PY) bench/encode.py
	$(PY) bench/reindex.py
	$(PY) bench/api.py
	$(PY) bench/memory.py
	$(PY) bench/search.py --rows 100000

# Stops the embedded PostgreSQL and Redis and deletes their data: the next `make run` starts from scratch.
clean-var:
	-$(PY) -m jobmatch_site.embedded stop
	rm -rf var
