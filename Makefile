# OpenBPO: the two commands of the README are `make demo` and `make test`.
# Everything is installed into the project: Python packages into .venv (uv, from uv.lock),
# front-end libraries into node_modules (npm, from package-lock.json).

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install serve worker lint typecheck bench clean

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	@echo "OpenBPO is serving on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) manage.py run_periodic >var/periodic.log 2>&1 & \
	$(PY) manage.py db_worker >var/worker.log 2>&1 & \
	OPENBPO_BIND=$(HOST):$(PORT) .venv/bin/gunicorn -c bpo/gunicorn_conf.py bpo.wsgi

test: install
	bash scripts/test.sh

install: .venv/.synced node_modules/.installed

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

serve: install
	OPENBPO_BIND=$(HOST):$(PORT) .venv/bin/gunicorn -c bpo/gunicorn_conf.py bpo.wsgi

worker: install
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) manage.py run_periodic & \
	$(PY) manage.py db_worker

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: install
	.venv/bin/mypy bpo bench

bench: install
	$(PY) -m bench api

clean:
	rm -rf .venv .uv node_modules var test-artifacts
