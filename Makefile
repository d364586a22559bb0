# The two commands: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
# The interpreter the virtual environment is made from: the system's own
# Python (/usr/bin/python3, 3.11 or newer, with venv) when there is one, else
# the first python3 on the PATH. Debian's is linked statically and built
# with the distribution's optimisations; a source build made without
# --enable-optimizations (pyenv's default) ran the case page with 15 % more
# instructions and served 15-30 % fewer pages a second on the same machine
# (README, Performance). After changing it: `make clean`, then any target.
PYTHON ?= $(shell /usr/bin/python3 -c 'import ensurepip, sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
export FLASK_APP := wsgi

.PHONY: run test test-integration test-browser fuzz ci lint translations extract bench bench-quick clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# Compiled catalogs are built here, never committed.
translations: venv
	@$(FLASK) translate compile

run: venv translations
	$(FLASK) grievance init
	$(FLASK) grievance seed-demo
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C to stop)"
	@# Reminders and the other periodic work: `grievance tick` every minute beside the server.
	@( while sleep 60; do $(FLASK) grievance tick >/dev/null || true; done ) & ticker=$$!; \
	trap 'kill $$ticker 2>/dev/null' EXIT; \
	$(BIN)/gunicorn --bind 127.0.0.1:5000 --workers 2 --threads 4 --config gunicorn.conf.py wsgi:app

# The unit suite runs on TEST_WORKERS processes (pytest-xdist): every test
# has its own in-memory database. The integration suite shares one
# PostgreSQL database and one Redis database, so it runs in one process.
TEST_WORKERS ?= 2
test: venv translations
	GRIEVANCE_ENV=testing $(BIN)/pytest -q -n $(TEST_WORKERS) -m "not integration and not browser"

test-integration: venv translations
	GRIEVANCE_ENV=testing $(BIN)/pytest -q -m integration

# axe-core (accessibility checks) from npm, pinned in package-lock.json.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

test-browser: venv translations node_modules/axe-core/axe.min.js
	GRIEVANCE_ENV=testing $(BIN)/pytest -q -m browser

# The full-size fuzzing run: 20,000 generated requests.
fuzz: venv translations
	GRIEVANCE_ENV=testing FUZZ_EXAMPLES=4000 $(BIN)/pytest -q tests/test_fuzz.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

extract: venv
	$(FLASK) translate extract
	$(FLASK) translate update

# Load benchmarks: gunicorn on SQLite and PostgreSQL, driven by wrk (loopback).
bench: venv translations
	$(BIN)/python bench/run.py

# Under three minutes, for checking a change.
bench-quick: venv translations
	BENCH_CASES=10000 BENCH_SECONDS=3 BENCH_SOLO_SECONDS=1 BENCH_DRAIN_JOBS=150 $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
	find translations -name '*.mo' -delete
