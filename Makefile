# AsyncFlow developer commands.
#
#   make demo   run the single-server 0.1 example and write a dashboard to out/demo
#   make test   lint (ruff), type-check (mypy) and run the test suite (pytest)
#   make bench  benchmark against AsyncFlow 0.1.1 (see docs/benchmarks.md)
#
# The first call creates .venv. `make demo` installs the project with the
# `report` extra only (no test or type-checking tools); `make test` adds the
# `dev` extras. Each install is redone only when pyproject.toml changes
# (stamp files below).
#
# Long statistical tests are marked `slow` and left out by default; they run
# with `make test SLOW=1`, and always in CI (CI=true).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev
DEMO   := $(VENV)/.installed-demo
SLOW   ?= $(filter true 1 yes,$(CI))

.PHONY: demo test lint typecheck pytest bench bench-quick install install-train clean

install: $(DEV)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The dev extras hold everything the demo needs, so they satisfy its stamp too.
$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV) $(DEMO)

$(DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[report]'
	touch $(DEMO)

# The train extra (stable-baselines3) for the RL tests that use it, with
# PyTorch from the CPU wheel index (a fraction of the default wheel's size).
install-train: $(DEV)
	$(BIN)/python -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
	$(BIN)/python -m pip install --quiet -e '.[train]'

demo: $(DEMO)
	$(BIN)/asyncflow run examples/asyncflow-0.1/single_server.yml --out out/demo

lint: $(DEV)
	$(BIN)/ruff check src tests bench

typecheck: $(DEV)
	$(BIN)/mypy

# pytest exits with 5 when it collects no test at all; that is not a failure
# of the code, so it is reported and accepted. Every other non-zero exit fails.
# `-m ""` lifts the default `-m "not slow"` of pyproject.toml.
pytest: $(DEV)
	@status=0; $(BIN)/pytest -q $(if $(SLOW),-m "",) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; \
	exit $$status

test: lint typecheck pytest

bench: $(DEV)
	$(BIN)/python bench/run.py

bench-quick: $(DEV)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf out bench/results .mypy_cache .ruff_cache .pytest_cache .hypothesis
