"""`kind: csv`: a series read from a CSV file of the project, optionally filtered by column."""

from __future__ import annotations

import pandas as pd

from okr_pipeline.config.models import CsvMetric
from okr_pipeline.sources.base import Connector, FetchWindow, SourceError


class CsvConnector(Connector):
    def fetch_metric(self, metric: CsvMetric, window: FetchWindow) -> pd.DataFrame:
        path = self.project.resolve(self.source.path)
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except FileNotFoundError:
            raise SourceError(f"file not found: {self.source.path}") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise SourceError(f"cannot parse {self.source.path}: {error}") from None
        missing = [c for c in (metric.ts, metric.value, *metric.filter) if c not in table.columns]
        if missing:
            raise SourceError(f"{self.source.path} has no column {', '.join(missing)}")
        for column, wanted in metric.filter.items():
            table = table[table[column] == str(wanted)]
        frame = pd.DataFrame(
            {"ts": table[metric.ts], "value": table[metric.value].replace("", None)}
        )
        stamps = pd.to_datetime(frame["ts"], errors="coerce", format="mixed")
        if stamps.isna().any():
            raise SourceError(f"{metric.ts} is not a date: {frame['ts'][stamps.isna()].iloc[0]!r}")
        in_window = (stamps >= pd.Timestamp(window.start)) & (stamps < pd.Timestamp(window.end))
        return frame[in_window.to_numpy()]
