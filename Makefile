# Two commands: `make demo` and `make test`. Both set up the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATE ?= 2026-11-20
DEMO_START ?= 2026-10-01
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/okr-pipeline check
	$(BIN)/okr-pipeline backfill --start $(DEMO_START) --end $(DEMO_DATE)
	$(BIN)/okr-pipeline run --date $(DEMO_DATE)
	$(BIN)/okr-pipeline report --date $(DEMO_DATE) --out .okr/report.html

test: $(STAMP)
	$(BIN)/ruff check okr_pipeline tests definitions.py
	$(BIN)/python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) .okr .pytest_cache
