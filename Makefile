# Two entry points do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint types contracts unit bench clean bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# Every controlroom process imports the same modules: compiled once here, not in each
# process (where PYTHONDONTWRITEBYTECODE is set, nothing would ever be cached). Only
# what changed is compiled again; a stale file is never used (Python checks the source).
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q src

demo: $(VENV)/.installed bytecode
	$(BIN)/controlroom --settings src/controlroom/config/demo-settings.yaml up --setup demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(VENV)/.installed-dev
	$(BIN)/mypy

contracts: $(VENV)/.installed-dev
	$(BIN)/lint-imports

# The integration tests mostly wait on the processes they start: two workers per core's
# worth of waiting halve the run. loadscope keeps a module's shared lab in one worker.
unit: $(VENV)/.installed-dev bytecode
	$(BIN)/python -m pytest -n auto --dist loadscope

test: lint types contracts unit

bench: $(VENV)/.installed bytecode
	$(BIN)/python bench/roundtrip.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
