"""Window aggregates of metric series, for many key results at once (docs/scoring.md).

A window is (series, first day, last day). All series live in one `SeriesStore`: values
sorted by (series, day), so the values of any window are one contiguous slice, found with two
`searchsorted` calls. Expanding every window to its slice is the merge of the key-result frame
with the values on metric_id, filtered to the window — without ever building the rows outside
the windows. Each aggregate is then one `ufunc.reduceat` over the expanded rows.

Days are integers: days since 1970-01-01.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_DAY_STRIDE = np.int64(1 << 24)
_DAY_OFFSET = np.int64(1 << 23)  # days in [-8M, 8M): any date pandas can hold


def to_days(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Days since the epoch as int64 (NaT as the minimum int64)."""
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class SeriesStore:
    """Every value up to the as-of date, sorted by (series code, day)."""

    series: pd.Index  # series id of each code
    codes: np.ndarray  # int64 per value
    days: np.ndarray  # int64 per value
    values: np.ndarray  # float64 per value
    keys: np.ndarray  # codes * stride + day, sorted: the search key

    @classmethod
    def build(cls, values: pd.DataFrame, as_of_day: int) -> SeriesStore:
        """Values with ts after the as-of date, or with a null value, are dropped here.

        Two values of one series on one day (the warehouse's key forbids it) are averaged,
        so the result never depends on the order of the rows.
        """
        days = to_days(values["ts"])
        numbers = pd.to_numeric(values["value"]).to_numpy(dtype=np.float64)
        keep = (days <= as_of_day) & ~np.isnan(numbers) & values["metric_id"].notna().to_numpy()
        ids = values["metric_id"].to_numpy(dtype=object)[keep]
        codes, series = pd.factorize(ids, sort=True)
        frame = pd.DataFrame({"code": codes, "day": days[keep], "value": numbers[keep]})
        if frame.duplicated(["code", "day"]).any():
            frame = frame.groupby(["code", "day"], as_index=False)["value"].mean()
        else:
            frame = frame.sort_values(["code", "day"], kind="stable")
        codes = frame["code"].to_numpy(dtype=np.int64)
        days = frame["day"].to_numpy(dtype=np.int64)
        return cls(
            series=pd.Index(series, dtype=object),
            codes=codes,
            days=days,
            values=frame["value"].to_numpy(dtype=np.float64),
            keys=codes * _DAY_STRIDE + days + _DAY_OFFSET,
        )

    def code_of(self, series_ids: pd.Series) -> np.ndarray:
        """Code of each series id; -1 where the series has no value at all."""
        return self.series.get_indexer(pd.Index(series_ids.to_numpy(dtype=object)))

    def bounds(self, codes: np.ndarray, first_day: np.ndarray, last_day: np.ndarray):
        """(lo, hi): the slice of each window [first_day, last_day] of series `codes`."""
        base = codes.astype(np.int64) * _DAY_STRIDE + _DAY_OFFSET
        lo = np.searchsorted(self.keys, base + first_day, side="left")
        hi = np.searchsorted(self.keys, base + last_day, side="right")
        empty = (codes < 0) | (hi < lo)
        return np.where(empty, 0, lo), np.where(empty, 0, hi)

    def first_value(self, codes: np.ndarray, first_day: np.ndarray, last_day: np.ndarray):
        """The value at the earliest day of each window (NaN for an empty window)."""
        lo, hi = self.bounds(codes, first_day, last_day)
        result = np.full(len(codes), np.nan)
        filled = hi > lo
        result[filled] = self.values[lo[filled]]
        return result

    def newest_day(self, codes: np.ndarray) -> np.ndarray:
        """Day of the newest value of each series (NaN when it has none)."""
        result = np.full(len(codes), np.nan)
        known = codes >= 0
        result[known] = self.days[np.searchsorted(self.codes, codes[known], side="right") - 1]
        return result


@dataclass(frozen=True)
class Segments:
    """The value rows of many windows, expanded: window `i` owns rows starts[i]:starts[i]+n[i]."""

    n: np.ndarray  # rows per window
    owner: np.ndarray  # window index of each row
    days: np.ndarray
    values: np.ndarray

    @classmethod
    def expand(cls, store: SeriesStore, lo: np.ndarray, hi: np.ndarray) -> Segments:
        n = (hi - lo).astype(np.int64)
        owner = np.repeat(np.arange(len(n)), n)
        starts = np.cumsum(n) - n
        position = np.arange(int(n.sum()), dtype=np.int64) - starts[owner] + lo[owner]
        return cls(n=n, owner=owner, days=store.days[position], values=store.values[position])

    @property
    def starts(self) -> np.ndarray:
        return np.cumsum(self.n) - self.n

    def reduce(self, ufunc: np.ufunc, rows: np.ndarray) -> np.ndarray:
        """`ufunc` over each window's rows; NaN for an empty window."""
        result = np.full(len(self.n), np.nan)
        filled = self.n > 0
        if filled.any():
            result[filled] = ufunc.reduceat(rows.astype(np.float64), self.starts[filled])
        return result

    def last(self, rows: np.ndarray) -> np.ndarray:
        """The row at each window's newest day; NaN for an empty window."""
        result = np.full(len(self.n), np.nan)
        filled = self.n > 0
        result[filled] = rows[(self.starts + self.n - 1)[filled]]
        return result

    def running_sum(self, rows: np.ndarray) -> np.ndarray:
        """Cumulative sum of `rows` within each window."""
        total = np.cumsum(rows)
        before = (total - rows)[self.starts[self.n > 0]]
        return total - np.repeat(before, self.n[self.n > 0])
