# citizen_desk — set-up, demo and tests. `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app citizen_desk
DEMO_DB := $(CURDIR)/instance/demo.sqlite
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install assets translations demo test test-postgres bench dist clean

## install: Python packages (in .venv), npm assets, compiled translations
install: $(VENV)/.installed node_modules/.installed assets translations

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## assets: copy the GOV.GR design system's prebuilt stylesheet and the ALTCHA widget into static/
assets: node_modules/.installed
	mkdir -p citizen_desk/static/vendor
	cp node_modules/@digigov/css/dist/digigov.css citizen_desk/static/vendor/digigov.css
	# ALTCHA's "external" build: stylesheet and SHA worker as files, as the CSP (no inline, no blob:) wants
	mkdir -p citizen_desk/static/vendor/altcha/workers
	cp node_modules/altcha/dist/external/altcha.min.js node_modules/altcha/dist/external/altcha.css \
	  node_modules/altcha/LICENSE.txt citizen_desk/static/vendor/altcha/
	cp node_modules/altcha/dist/workers/sha.js citizen_desk/static/vendor/altcha/workers/sha.js

## translations: compile the .po catalogs (.mo files are never committed)
translations: $(VENV)/.installed
	CITIZEN_DESK_ENV=development $(FLASK) translate compile

## demo: a fresh demo database, seeded, served on http://127.0.0.1:5000
demo: install
	mkdir -p instance
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	CITIZEN_DESK_ENV=development DATABASE_URL=sqlite:///$(DEMO_DB) $(FLASK) db upgrade
	@echo
	@echo "citizen_desk demo — open these links:"
	@CITIZEN_DESK_ENV=development DATABASE_URL=sqlite:///$(DEMO_DB) $(FLASK) demo seed --base-url http://$(HOST):$(PORT)
	@echo
	CITIZEN_DESK_ENV=development DATABASE_URL=sqlite:///$(DEMO_DB) $(FLASK) run --host $(HOST) --port $(PORT) --with-threads

## test: the whole suite (SQLite; set CITIZEN_DESK_TEST_DATABASE_URL for PostgreSQL)
test: install
	$(PY) -m pytest

test-postgres: install
	CITIZEN_DESK_TEST_DATABASE_URL=$${CITIZEN_DESK_TEST_DATABASE_URL:-postgresql://root@127.0.0.1:5432/test} $(PY) -m pytest

## dist: the sdist and a wheel that carries templates, compiled catalogs, migrations and CSS
dist: install
	$(PY) -m build --outdir dist .

## bench: the benchmark harness (not part of the tests)
bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules citizen_desk/static/vendor instance/demo.sqlite* build dist
