# The two commands: `make run` starts Kollegan on its embedded defaults, `make test` runs every
# check. Both build the virtual environment first; it is rebuilt only when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := core store inbox calendar_sync agent outbox scheduler web kollegan

.PHONY: run test tools lint typecheck pytest bench demo clean

run: $(STAMP)
	$(BIN)/kollegan serve

test: $(STAMP) tools lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES) tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) tools
	$(BIN)/pytest

# Real peers the tests talk to that do not come from PyPI: swaks (a real SMTP client).
tools:
	@command -v swaks >/dev/null 2>&1 || { \
	  echo "installing swaks (Debian package) for the SMTP tests"; \
	  (apt-get install -y -qq swaks >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq swaks)) \
	  || echo "could not install swaks: its tests are skipped locally and fail under CI=true"; }

bench: $(STAMP)
	$(BIN)/python -m bench

demo: $(STAMP)
	$(BIN)/kollegan demo

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else "Kollegan needs Python 3.11 or 3.12 (flanker does not run on 3.13); set PYTHON=…")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache .hypothesis *.egg-info
