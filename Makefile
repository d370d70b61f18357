# The catalog: `make demo` to try it, `make test` to check it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export DEBUG ?= 1
# Two processes: the suite is I/O-bound on the database (override: make test PYTEST_ARGS=)
PYTEST_ARGS ?= -n 2

.PHONY: demo install migrate load-demo serve test test-postgres lint check bench fuzz screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

load-demo: migrate
	$(PY) manage.py load_demo

serve: install
	$(PY) manage.py runserver 127.0.0.1:8000

## demo: create the virtualenv, install, migrate, load the demo data, print the admin and customer logins, serve
demo: load-demo serve

## test: the whole suite (SQLite unless DATABASE_URL is set)
test: install
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

## fuzz: schemathesis over every API operation against a live server on PostgreSQL (docs/api-fuzzing.md)
fuzz: install
	scripts/fuzz.sh

## screenshots: draw the README's screenshots again (docs/screenshots/; needs chromium and chromium-driver)
screenshots: install
	SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider $(wildcard tests/*/test_browser*.py)

bench: install
	$(PY) bench/allocation.py
	$(PY) bench/admin_dashboard.py

clean:
	rm -rf $(VENV) var/*.sqlite3* .pytest_cache
