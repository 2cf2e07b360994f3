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
# `make install` and `make test` also build the compiled core: the engine,
# components and metrics modules compiled with mypyc (a dev extra) into
# extension modules beside their source (setup.py). It is rebuilt whenever one
# of those sources changes (an extension module left older than its source
# would shadow it); without a C compiler, or when compiling fails, the build
# says so in one line and the pure-Python core runs. `make pure` removes the
# compiled modules; `asyncflow --version` says which core runs. `make demo`
# alone stays pure Python; after `make install` it uses (and refreshes) the
# compiled core (see docs/design.md, Dependencies / build).
#
# Long statistical tests are marked `slow` and left out by default; they run
# with `make test SLOW=1`, and always in CI (CI=true).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev
DEMO   := $(VENV)/.installed-demo
CORE   := $(VENV)/.built-core
CORE_SOURCES := $(wildcard src/asyncflow/engine/*.py src/asyncflow/components/*.py \
                           src/asyncflow/metrics/*.py)
SLOW   ?= $(filter true 1 yes,$(CI))

.PHONY: demo test lint typecheck pytest bench bench-quick install install-train core pure clean

install: $(DEV) $(CORE)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The dev extras hold everything the demo needs, so they satisfy its stamp too.
$(DEV): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV) $(DEMO)

$(DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[report]'
	touch $(DEMO)

# Old compiled modules go first: a module that no longer compiles must not
# leave its previous build behind.
$(CORE): $(DEV) $(CORE_SOURCES)
	@$(MAKE) --no-print-directory pure
	$(BIN)/python setup.py --quiet build_ext --inplace --parallel 2
	@$(BIN)/asyncflow --version
	touch $(CORE)

core: $(CORE)

pure:
	rm -f src/*__mypyc*.so src/asyncflow/engine/*.so src/asyncflow/components/*.so \
	      src/asyncflow/metrics/*.so $(CORE)

# The train extra (stable-baselines3) for the RL tests that use it, with
# PyTorch from the CPU wheel index (a fraction of the default wheel's size).
install-train: $(DEV)
	$(BIN)/python -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu \
	  || $(BIN)/python -m pip install --quiet torch
	$(BIN)/python -m pip install --quiet -e '.[train]'

# After a dev install the demo runs on the compiled core: keep it current.
demo: $(DEMO) $(if $(wildcard $(DEV)),$(CORE))
	$(BIN)/asyncflow run examples/asyncflow-0.1/single_server.yml --out out/demo

lint: $(DEV)
	$(BIN)/ruff check src tests bench

typecheck: $(DEV)
	$(BIN)/mypy

# pytest exits with 5 when it collects no test at all; that is not a failure
# of the code, so it is reported and accepted. Every other non-zero exit fails.
# `-m ""` lifts the default `-m "not slow"` of pyproject.toml.
pytest: $(DEV) $(CORE)
	@status=0; $(BIN)/pytest -q $(if $(SLOW),-m "",) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; \
	exit $$status

test: lint typecheck pytest

bench: $(DEV) $(CORE)
	$(BIN)/python bench/run.py

bench-quick: $(DEV) $(CORE)
	$(BIN)/python bench/run.py --quick

clean: pure
	rm -rf out bench/results build .mypy_cache .ruff_cache .pytest_cache .hypothesis
