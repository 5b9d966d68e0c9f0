# Every target runs inside .venv, which `make setup` creates on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE ?= HEAD

.PHONY: setup generate check test demo bench schema-diff clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# pip >= 25.1 installs PEP 735 dependency groups.
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[trio]' --group dev
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/python -m codegen generate

check: $(STAMP)
	$(BIN)/ruff check src codegen tests bench examples
	$(BIN)/ruff format --check src codegen tests bench examples
	$(BIN)/mypy
	$(BIN)/python -m codegen check
	# pyright finds the environment through the `python` on PATH.
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/basedpyright --verifytypes marianne_sdk --ignoreexternal

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m examples.run_demo

bench: $(STAMP)
	$(BIN)/python -m bench

schema-diff: $(STAMP)
	$(BIN)/python -m codegen diff --git-ref $(BASE) schema/marianne.openrpc.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
