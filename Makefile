# Two commands do everything on a fresh machine with Python 3.11+:
#   make demo   - set up, start the embedded PostgreSQL with demo data, run the daily group
#   make test   - set up (pip + apt components the tests need) and run lint, types and tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test time-matrix lint system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

# Byte-compiled once here: an editable install leaves src/ without .pyc, and where
# PYTHONDONTWRITEBYTECODE is set every process (each worker too) would compile it from source.
$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python -m compileall -q src > /dev/null
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q src > /dev/null
	touch $@ $(VENV)/.base

# The demo's findings (an emergency backup, a critical CVE in the demo images) make `smc-maint demo`
# exit 1 or 2 by design (Nagios codes); only 3 and up (unknown, config, lock, internal) fail `make`.
demo: $(VENV)/.base
	@$(BIN)/smc-maint demo; rc=$$?; echo "smc-maint demo exit code: $$rc (0 ok, 1 warning, 2 critical)"; \
	  [ $$rc -le 2 ]

system-deps:
	bash scripts/install-system-deps

lint: $(VENV)/.test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: $(VENV)/.test system-deps lint
	$(BIN)/pytest -q

# The time-sensitive tests again at simulated dates (month/year ends, a leap day, both DST changes).
time-matrix: $(VENV)/.test system-deps
	bash scripts/time-matrix

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
