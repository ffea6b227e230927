"""`kind: csv`: a series read from a CSV file of the project, optionally filtered by column.

The file is read once per fetch, as text, so that a filter compares what the file says
(`true`, `1`, `enterprise`) and a value that is not a number is reported, not guessed.
"""

from __future__ import annotations

import pandas as pd

from okr_pipeline.config.models import CsvMetric
from okr_pipeline.sources.base import (
    Connector,
    FetchWindow,
    SourceError,
    SourceFetch,
    window_rows,
)

TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})


def _matches(column: pd.Series, wanted: str | int | float | bool) -> pd.Series:
    """Cells equal to a filter value: booleans by word, numbers by value, text exactly."""
    cells = column.str.strip()
    if isinstance(wanted, bool):
        return cells.str.lower().isin(TRUE_WORDS if wanted else FALSE_WORDS)
    if isinstance(wanted, int | float):
        return pd.to_numeric(cells, errors="coerce") == wanted
    return cells == wanted


class CsvConnector(Connector):
    def __init__(self, source, project):
        super().__init__(source, project)
        self._table: pd.DataFrame | None = None

    def fetch(self, window: FetchWindow) -> SourceFetch:
        try:
            return super().fetch(window)
        finally:
            self._table = None

    def _read(self) -> pd.DataFrame:
        if self._table is None:
            path = self.project.resolve(self.source.path)
            try:
                table = pd.read_csv(path, dtype=str, keep_default_na=False)
            except FileNotFoundError:
                raise SourceError(f"file not found: {self.source.path}") from None
            except OSError as error:
                raise SourceError(f"cannot read {self.source.path}: {error.strerror}") from None
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
                raise SourceError(f"cannot parse {self.source.path}: {error}") from None
            table.columns = [str(column).strip() for column in table.columns]
            self._table = table
        return self._table

    def fetch_metric(self, metric: CsvMetric, window: FetchWindow) -> pd.DataFrame:
        table = self._read()
        missing = [c for c in (metric.ts, metric.value, *metric.filter) if c not in table.columns]
        if missing:
            raise SourceError(f"{self.source.path} has no column {', '.join(missing)}")
        for column, wanted in metric.filter.items():
            table = table[_matches(table[column], wanted)]
        lines = table.index + 2  # the header is line 1

        rows = window_rows(
            table[metric.ts].tolist(),
            table[metric.value].tolist(),
            self.project.settings.timezone,
            window,
            where=lambda row: f"{self.source.path}, line {lines[row]}",
            names=(metric.ts, metric.value),
            quote_cells=False,  # `path` may point at any file: never echo one of its cells
        )
        return rows[["ts", "value"]]
