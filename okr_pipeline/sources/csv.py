"""`kind: csv`: a series read from a CSV file of the project, optionally filtered by column.

The file is read once per fetch, as text, so that a filter compares what the file says
(`true`, `1`, `enterprise`) and a value that is not a number is reported, not guessed.
"""

from __future__ import annotations

import pandas as pd

from okr_pipeline.config.models import CsvMetric
from okr_pipeline.sources.base import Connector, FetchWindow, SourceError, SourceFetch

TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})
OFFSET = r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$"  # an ISO timestamp's UTC offset


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
        texts = table[metric.ts].str.strip()
        stamps = pd.to_datetime(texts, errors="coerce", format="mixed", utc=True)
        if stamps.isna().any():
            raise SourceError(f"{metric.ts} is not a date: {texts[stamps.isna()].iloc[0]!r}")
        # Text without an offset is local time already: parsed as UTC, its wall clock is
        # kept. Text with an offset (`Z`, `+02:00`) is converted to the project's timezone.
        has_offset = texts.str.contains(OFFSET, regex=True)
        zoned = stamps.dt.tz_convert(self.project.settings.timezone).dt.tz_localize(None)
        days = stamps.dt.tz_localize(None).where(~has_offset, zoned).dt.normalize()
        in_window = (days >= pd.Timestamp(window.start)) & (days < pd.Timestamp(window.end))
        values = table[metric.value].str.strip().replace("", None)
        return pd.DataFrame({"ts": days[in_window], "value": values[in_window].to_numpy()})
