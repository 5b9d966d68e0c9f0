# Every target runs inside .venv, which `make setup` creates on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE ?= HEAD

.PHONY: setup generate check test demo bench schema-diff schema-sync clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/python -m codegen generate

check: $(STAMP)
	$(BIN)/ruff check src codegen tests bench examples
	$(BIN)/ruff format --check src codegen tests bench examples
	$(BIN)/mypy
	$(BIN)/python -m codegen check

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m examples.run_demo

bench: $(STAMP)
	$(BIN)/python -m bench

schema-diff: $(STAMP)
	$(BIN)/python -m codegen diff --git-ref $(BASE) schema/marianne.openrpc.json

# MODELS: a models file written by codegen/conductor_models.py; WRITE=1 updates the schema.
schema-sync: $(STAMP)
	@test -n "$(MODELS)" || { echo "usage: make schema-sync MODELS=models.json [WRITE=1]" >&2; exit 2; }
	$(BIN)/python -m codegen sync $(MODELS) $(if $(WRITE),--write)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
