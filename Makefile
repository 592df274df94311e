# Two commands set everything up on a fresh machine with Python 3.9+ and make:
#   make demo   creates .venv, installs the project, runs the lecture's worked example
#   make test   adds the dev tools, runs lint and every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# pip's own output (build warnings, progress) goes to this log, so `make demo` starts with the
# lecture; when pip fails, the log is printed.
LOG := $(VENV)/install.log
PIP_INSTALL = $(BIN)/python -m pip install --quiet
QUIETLY = >> $(LOG) 2>&1 || { cat $(LOG) >&2; echo "pip failed: its output is in $(LOG)" >&2; exit 1; }

# PyTorch for tinygrad_edu.torch and its tests (skipped without it). The CPU build: a wheel of
# about 200 MB, where `pip install torch` on Linux brings about 5 GB of CUDA libraries. pip finds
# it where it is configured to look (a package index or local wheels); .ci/run installs it.
TORCH ?= torch==2.13.0+cpu
TORCH_PIP_OPTIONS ?=

.PHONY: demo test lint bench torch clean

$(BIN)/python:
	@echo "Installing into $(VENV) (pip's output: $(LOG))"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP_INSTALL) --upgrade pip $(QUIETLY)

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	@$(PIP_INSTALL) -e . $(QUIETLY)
	@touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml $(VENV)/.installed
	@echo "Installing the dev tools into $(VENV) (pip's output: $(LOG))"
	@$(PIP_INSTALL) -e '.[dev]' $(QUIETLY)
	@touch $@

$(VENV)/.installed-bench: setup.cfg pyproject.toml $(VENV)/.installed
	@echo "Installing what make bench compares against (pip's output: $(LOG))"
	@$(PIP_INSTALL) -e '.[bench]' $(QUIETLY)
	@touch $@

$(VENV)/.installed-torch: setup.cfg pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_OPTIONS) -e '.[torch]' '$(TORCH)'
	touch $@

demo: $(VENV)/.installed
	@$(BIN)/tinygrad-edu demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

torch: $(VENV)/.installed-torch

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .hypothesis
