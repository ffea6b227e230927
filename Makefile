# `make demo`, `make test` and `make bench`. Each sets up the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATE ?= 2026-11-20
DEMO_START ?= 2026-10-01
STAMP := $(VENV)/.installed

.PHONY: demo test bench setup ui clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,deploy]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/okr-pipeline check
	$(BIN)/okr-pipeline backfill --start $(DEMO_START) --end $(DEMO_DATE)
	$(BIN)/okr-pipeline run --date $(DEMO_DATE)

# The Dagster UI on the history `okr-pipeline run` and `backfill` keep: $DAGSTER_HOME when
# it is set, else .okr/dagster.
ui: $(STAMP)
	home="$${DAGSTER_HOME:-$(CURDIR)/.okr/dagster}" && mkdir -p "$$home" && \
	DAGSTER_HOME="$$home" $(BIN)/dagster dev -w workspace.yaml

test: $(STAMP)
	$(BIN)/ruff check okr_pipeline tests definitions.py
	$(BIN)/python -m pytest -n 2 -q

# Every benchmark: one line per figure (figure | floor measured beside it | ratio | target).
# sql_source.py needs the PostgreSQL server at 127.0.0.1:5432; report.py needs Chromium.
BENCHMARKS := scoring rest_sources sql_source cli_startup backfill gx_calls validation rest_pages report code_location
bench: $(STAMP)
	@for name in $(BENCHMARKS); do echo "== benchmarks/$$name.py"; $(BIN)/python benchmarks/$$name.py || exit 1; done

clean:
	rm -rf $(VENV) .okr .pytest_cache
