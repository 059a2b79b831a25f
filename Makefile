# Two entry points, each doing its own set-up on a fresh machine (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml hatch_build.py src/seatlock/stores/_memory_core.c | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,cli]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/seatlock demo

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks.vs_020

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis src/seatlock/stores/*.so
