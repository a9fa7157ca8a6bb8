# One-command set-up, run, test and benchmark. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := PYTHONPATH=. $(VENV)/bin/flask --app wsgi
PORT ?= 5000

.PHONY: setup run test lint bench worker beat system-packages

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

# Certificates need Debian's CJK fonts, pango and HarfBuzz's subsetter for weasyprint, and poppler's pdfsig
# (the signature tests); installed when missing (root, as on CI).
SYSTEM_PACKAGES := fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
FONT := instance/fonts/NotoSerifCJKsc-Regular.otf

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# The certificate font: the Simplified Chinese face of Noto Serif CJK, taken out of Debian's collection.
$(FONT): | $(VENV)/.installed system-packages
	PYTHONPATH=. $(PY) -m documents.fonts $(dir $(FONT))

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -d app/translations 2>&1 | tail -n 2

setup: $(VENV)/.installed system-packages $(FONT) node_modules/.installed app/static/vendor/bpmn-js/VERSION translations

# The embedded column: SQLite under instance/, local object store, timers swept in-process.
run: setup
	$(FLASK) db upgrade
	$(FLASK) deploy
	$(FLASK) seed-demo
	$(FLASK) certificates dev-key
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
