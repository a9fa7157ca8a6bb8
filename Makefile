# One-command set-up, run, test and benchmark. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := PYTHONPATH=. $(VENV)/bin/flask --app wsgi
PORT ?= 5000

.PHONY: setup run test lint bench worker beat

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

app/static/vendor/bpmn-js/VERSION: node_modules/.installed
	npm run --silent vendor

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -d app/translations 2>&1 | tail -n 2

setup: $(VENV)/.installed node_modules/.installed app/static/vendor/bpmn-js/VERSION translations

# The embedded column: SQLite under instance/, local object store, timers swept in-process.
run: setup
	$(FLASK) db upgrade
	$(FLASK) deploy
	$(FLASK) seed-demo
	@echo "Smart Land at http://127.0.0.1:$(PORT)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT) --no-reload

lint: setup
	$(VENV)/bin/ruff check .
	npm run --silent lint:bpmn

# Browser tests need Debian's chromium; install it when it is missing (root, as on CI).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

test: setup lint /usr/bin/chromium
	PYTHONPATH=. $(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

bench: setup
	PYTHONPATH=. $(PY) bench/run.py

worker: setup
	PYTHONPATH=. $(VENV)/bin/celery -A app.worker worker --loglevel=info

beat: setup
	PYTHONPATH=. $(VENV)/bin/celery -A app.worker beat --loglevel=info
