# Two commands set everything up on a fresh machine with Python 3.9+ and make:
#   make demo   creates .venv, installs the project, runs the lecture's worked example
#   make test   adds the dev tools, runs lint and every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# PyTorch for tinygrad_edu.torch and its tests (skipped without it). The CPU build: a wheel of
# about 200 MB, where `pip install torch` on Linux brings about 5 GB of CUDA libraries. pip finds
# it where it is configured to look (a package index or local wheels); .ci/run installs it.
TORCH ?= torch==2.13.0+cpu
TORCH_PIP_OPTIONS ?=

.PHONY: demo test lint bench torch clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-bench: setup.cfg pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

$(VENV)/.installed-torch: setup.cfg pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_OPTIONS) -e '.[torch]' '$(TORCH)'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/tinygrad-edu demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

torch: $(VENV)/.installed-torch

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .hypothesis
