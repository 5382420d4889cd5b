# Storyreel: the README's two commands.
#   make demo   set up (base install) and run the whole pipeline on the bundled sample
#   make test   set up (with [gpu,dev] extras, torch 2.13.0 CPU) and run ruff + pytest

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_OUT ?= demo-output

.PHONY: demo test lint bench fuzz clean postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.full: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[gpu,dev]"
	touch $@ $(VENV)/.base

demo: $(VENV)/.base
	$(BIN)/storyreel demo $(DEMO_OUT)

lint: $(VENV)/.full
	$(BIN)/ruff check engine studio tests bench

# the team tests start a real PostgreSQL server (Debian's postgresql, as the postgres user)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  (command -v apt-get >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	   postgresql >/dev/null) || \
	  (echo "PostgreSQL's server is needed for the team tests: install Debian's postgresql" \
	   && false)

test: $(VENV)/.full postgres
	$(BIN)/ruff check engine studio tests bench
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: $(VENV)/.full
	$(BIN)/python bench/engine_overhead.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/script_import.py
	$(BIN)/python bench/identity.py

fuzz: $(VENV)/.full
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/python bench/fuzz.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
