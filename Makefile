# Playlist Analytics: `make run` for the demo, `make test` for the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SANDBOX_PORT ?= 8765
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (one per core, at most 4); 0 runs in one process.
PYTEST_WORKERS ?= auto

.PHONY: install run test lint migrate sandbox bench clean

# Reinstall only when the pinned requirements change.
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

.env:
	cp .env.example .env

install: $(VENV)/.installed .env

migrate: install
	$(PY) manage.py migrate --noinput

# Starts the Spotify sandbox, ingests the demo playlists, serves the app.
run: install
	PY=$(PY) PORT=$(PORT) SANDBOX_PORT=$(SANDBOX_PORT) bash scripts/run.sh

# A Spotify Web API stand-in on its own, for trying the shell command.
sandbox: install
	$(PY) manage.py spotify_sandbox --port $(SANDBOX_PORT)

# The whole suite; DATABASE_URL picks the database (SQLite by default). The workers
# take tests as they free up (worksteal): the few long ones do not queue behind each other.
test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --maxprocesses=4 --dist=worksteal $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

# Every benchmark, on throwaway databases (PostgreSQL must be running); numbers
# and how to read them are in docs/benchmarks.md. Takes several minutes.
bench: install
	$(PY) -m benchmarks.bench_load
	$(PY) -m benchmarks.bench_extract
	$(PY) -m benchmarks.bench_queue
	$(PY) -m benchmarks.bench_dashboard
	$(PY) -m benchmarks.bench_history

clean:
	rm -rf $(VENV) data staticfiles .pytest_cache
