# Every target runs inside .venv, which `make setup` creates on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE ?= HEAD

LOWEST := .venv-lowest
PYENV_VERSIONS ?= $(HOME)/.pyenv/versions
SUPPORTED_PYTHONS := 3.11 3.12 3.13

.PHONY: setup generate check test test-lowest test-all-pythons docs demo bench schema-diff schema-sync clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# pip >= 25.1 installs PEP 735 dependency groups.
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[trio,otel]' --group dev
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/python -m codegen generate

check: $(STAMP)
	$(BIN)/ruff check src codegen tests bench examples docs
	$(BIN)/ruff format --check src codegen tests bench examples docs
	$(BIN)/mypy
	$(BIN)/python -m codegen check
	# pyright finds the environment through the `python` on PATH.
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/basedpyright --verifytypes marianne_sdk --ignoreexternal

test: $(STAMP)
	$(BIN)/python -m pytest

# The suite against the lowest versions pyproject.toml allows for the runtime
# dependencies and the trio and otel extras (the test and docs tools at their newest), in a
# fresh $(LOWEST).
test-lowest: $(STAMP)
	rm -rf $(LOWEST)
	$(BIN)/uv venv --quiet --python $(PYTHON) $(LOWEST)
	$(BIN)/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[trio,otel]'
	$(BIN)/uv pip freeze --quiet --python $(LOWEST)/bin/python --exclude-editable > $(LOWEST)/runtime.txt
	$(BIN)/uv pip install --quiet --python $(LOWEST)/bin/python --group test --group docs -c $(LOWEST)/runtime.txt
	$(LOWEST)/bin/python -m tests.declared_minima
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider

# The suite on each supported Python found under $(PYENV_VERSIONS), each in .venv-pyX.Y;
# a missing one is skipped with a message.
test-all-pythons: $(STAMP)
	@failed=""; for minor in $(SUPPORTED_PYTHONS); do \
	  python=$$(ls -d $(PYENV_VERSIONS)/$$minor.*/bin/python$$minor 2>/dev/null | sort -V | tail -n 1); \
	  if [ -z "$$python" ]; then \
	    echo "SKIPPED Python $$minor: no $(PYENV_VERSIONS)/$$minor.*/bin/python$$minor"; continue; \
	  fi; \
	  echo "== Python $$minor: $$python"; \
	  $(BIN)/uv venv --quiet --clear --python $$python .venv-py$$minor \
	  && $(BIN)/uv pip install --quiet --python .venv-py$$minor/bin/python -e '.[trio,otel]' --group test --group docs \
	  && .venv-py$$minor/bin/python -m pytest -p no:cacheprovider -q \
	  || failed="$$failed $$minor"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED on Python$$failed"; exit 1; fi

# The documentation site, into site/; any warning fails the build.
# python -m, not the mkdocs script: the hooks import codegen from this checkout.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --quiet

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
	rm -rf $(VENV) $(LOWEST) .venv-py3.* site .pytest_cache .mypy_cache .ruff_cache
