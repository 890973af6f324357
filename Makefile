# Two entry points for a fresh machine; each builds its own virtual environment.
#   make demo   set up and run the main job
#   make test   set up and run lint + the test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-all bench lint format clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e .
	touch $@

demo: $(VENV)/.installed
	$(BIN)/convforge train

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/python -m pytest -n 2 -q

test-all: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 -q -m "slow or not slow"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
