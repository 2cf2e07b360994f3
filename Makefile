# AsyncFlow developer commands.
#
#   make demo   run the single-server 0.1 example and write a dashboard to out/demo
#   make test   lint (ruff), type-check (mypy) and run the test suite (pytest)
#   make bench  benchmark against AsyncFlow 0.1.1 (see docs/benchmarks.md)
#
# The first call creates .venv and installs the project with its dev extras.
# The install is redone only when pyproject.toml changes (stamp file below).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench bench-quick install clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/asyncflow run examples/asyncflow-0.1/single_server.yml --out out/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest exits with 5 when it collects no test at all; that is not a failure
# of the code, so it is reported and accepted. Every other non-zero exit fails.
pytest: $(STAMP)
	@status=0; $(BIN)/pytest -q || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; \
	exit $$status

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf out bench/results .mypy_cache .ruff_cache .pytest_cache .hypothesis
