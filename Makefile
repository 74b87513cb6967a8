# vpadmin: `make run` serves the dashboard, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run serve test test-browser bench lint clean espeak

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip setuptools
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(PY) manage.py ensure_admin
	DEBUG=$${DEBUG:-true} $(PY) manage.py rundev 127.0.0.1:8000

# Production: gunicorn (WEB_CONCURRENCY workers) with whitenoise, settings from the
# environment (DEBUG off, SECRET_KEY, DATABASE_URL ...); see the README's Production section.
serve: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(VENV)/bin/gunicorn vpadmin.wsgi --bind $${BIND:-127.0.0.1:8000} \
		--workers $${WEB_CONCURRENCY:-2} --timeout 60

test: $(VENV)/.installed-test espeak
	$(VENV)/bin/pytest

# The audio tests speak with espeak-ng: installed here when missing, if we are root with
# apt-get; without it they are skipped (failed under CI).
espeak:
	@command -v espeak-ng >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null \
		|| { apt-get update -q && apt-get install -y -q espeak-ng; } || true

# The browser tests alone (part of `make test` too); they refresh screenshots/.
test-browser: $(VENV)/.installed-test
	$(VENV)/bin/pytest tests/browser

# Full-account scale (1,000 groups and devices, 100,000 audit rows) in a separate database;
# prints a table, writes bench/results.json, exits 1 if a target is missed. Takes minutes.
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache screenshots test-results
