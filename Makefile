# deepTarget suite. Two commands do all set-up on a fresh machine:
#   make demo   create .venv, install the suite, run it on the bundled example
#   make test   install the test extras and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/data
# torch is pinned to the CPU build that lies on local disk; a range admitting newer
# releases would pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: install test test-slow demo bench clean help
help:
	@echo "make demo | make test | make test-slow | make bench | make training-data | make model"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q "$(TORCH_PIN)"
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest -q -n 2 tests

test-slow: install
	$(BIN)/python -m pytest -q -m slow tests

-include mk/*.mk

clean:
	rm -rf $(VENV) build *.egg-info demo-output .pytest_cache
