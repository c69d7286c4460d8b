"""Scan results as numpy columns: :class:`ScanResult`, :class:`SeriesKey`,
:class:`SeriesData`.

A scan returns every point of the matching series back to back in two arrays
(``timestamps`` as ``int64``, ``values`` as ``float64``), series after series in key
order, with ``offsets`` telling where each series starts. The arrays are the buffers
the engine filled (handed to numpy without a copy); per-series views are slices of
them, also without a copy.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np


class SeriesKey:
    """The identity of a series: a metric and its tags (sorted by tag key).

    Hashable and comparable (by metric, then tags), so it can key a dict.
    ``str(key)`` renders ``cpu{host=a,region=x}`` like the engine.
    """

    __slots__ = ("metric", "_tags")

    metric: str
    _tags: Tuple[Tuple[str, str], ...]

    def __init__(self, metric: str, tags: Optional[Mapping[str, str]] = None) -> None:
        self.metric = metric
        self._tags = tuple(sorted((tags or {}).items()))

    @classmethod
    def _from_native(cls, metric: str, tags: Tuple[Tuple[str, str], ...]) -> "SeriesKey":
        key = cls.__new__(cls)
        key.metric = metric
        key._tags = tags  # already sorted by the engine
        return key

    @property
    def tags(self) -> Dict[str, str]:
        """The tags, as a new dict."""
        return dict(self._tags)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SeriesKey):
            return NotImplemented
        return (self.metric, self._tags) == (other.metric, other._tags)

    def __lt__(self, other: "SeriesKey") -> bool:
        return (self.metric, self._tags) < (other.metric, other._tags)

    def __hash__(self) -> int:
        return hash((self.metric, self._tags))

    def __repr__(self) -> str:
        return f"SeriesKey({self.metric!r}, {dict(self._tags)!r})"

    def __str__(self) -> str:
        def esc(s: str) -> str:
            return "".join("\\" + c if c in "\\{}=," else c for c in s)

        if not self._tags:
            return esc(self.metric)
        inner = ",".join(f"{esc(k)}={esc(v)}" for k, v in self._tags)
        return f"{esc(self.metric)}{{{inner}}}"


class SeriesData(NamedTuple):
    """One series of a :class:`ScanResult`: its key and its points (views, no copy)."""

    key: SeriesKey
    timestamps: np.ndarray
    values: np.ndarray


class ScanResult:
    """The points of the series a scan matched, as columns.

    - ``keys``: the series, sorted by key (series with no point in range are left out);
    - ``offsets``: ``int64`` array of ``len(keys) + 1``; the points of ``keys[i]`` are
      ``timestamps[offsets[i]:offsets[i + 1]]``;
    - ``timestamps`` (``int64``) and ``values`` (``float64``): every point, series
      after series, ascending by timestamp within a series.

    ``len(result)`` is the number of series; iterating yields :class:`SeriesData`
    views; ``result[i]`` is the i-th. :meth:`to_pandas` makes a DataFrame.
    """

    __slots__ = ("keys", "offsets", "timestamps", "values")

    keys: List[SeriesKey]
    offsets: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray

    def __init__(
        self,
        keys: Sequence[SeriesKey],
        offsets: np.ndarray,
        timestamps: np.ndarray,
        values: np.ndarray,
    ) -> None:
        self.keys = list(keys)
        self.offsets = offsets
        self.timestamps = timestamps
        self.values = values

    @classmethod
    def _from_native(cls, raw: Tuple[Any, np.ndarray, np.ndarray, np.ndarray]) -> "ScanResult":
        keys, offsets, timestamps, values = raw
        return cls([SeriesKey._from_native(m, t) for m, t in keys], offsets, timestamps, values)

    @property
    def points(self) -> int:
        """The number of points, over every series."""
        return int(self.timestamps.shape[0])

    @property
    def series_index(self) -> np.ndarray:
        """For every point, the index of its series in ``keys`` (``int64``)."""
        counts = np.diff(self.offsets)
        return np.repeat(np.arange(len(self.keys), dtype=np.int64), counts)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> SeriesData:
        key = self.keys[i]  # IndexError as a list would raise
        if i < 0:
            i += len(self.keys)
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return SeriesData(key, self.timestamps[lo:hi], self.values[lo:hi])

    def __iter__(self) -> Iterator[SeriesData]:
        for i in range(len(self.keys)):
            yield self[i]

    def __repr__(self) -> str:
        return f"<ScanResult: {len(self.keys)} series, {self.points} points>"

    def to_pandas(self, time_unit: Optional[str] = None) -> Any:
        """The points as a pandas DataFrame in long form, one row per point.

        Columns: ``metric``, one column per tag key found in any series (categorical;
        missing where a series lacks the tag), ``timestamp`` and ``value``. With
        ``time_unit`` (``"s"``, ``"ms"``, ``"us"`` or ``"ns"``), ``timestamp`` is a
        ``datetime64`` column read in that unit; without it, the stored ``int64``.

        Needs pandas (``pip install pandas``); it is not a dependency of tidestore.
        """
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("ScanResult.to_pandas() needs pandas: pip install pandas") from e

        index = self.series_index
        columns: Dict[str, Any] = {}
        columns["metric"] = _categorical(pd, [k.metric for k in self.keys], index)
        tag_keys = sorted({t for k in self.keys for t, _ in k._tags})
        for t in tag_keys:
            per_series = [dict(k._tags).get(t) for k in self.keys]
            columns[t] = _categorical(pd, per_series, index)
        if time_unit is None:
            columns["timestamp"] = self.timestamps
        else:
            columns["timestamp"] = pd.to_datetime(self.timestamps, unit=time_unit)
        columns["value"] = self.values
        return pd.DataFrame(columns)


def _categorical(pd: Any, per_series: List[Optional[str]], index: np.ndarray) -> Any:
    """A pandas Categorical of one entry per point, from one entry per series."""
    categories = sorted({v for v in per_series if v is not None})
    code_of = {v: i for i, v in enumerate(categories)}
    codes = np.array([code_of.get(v, -1) if v is not None else -1 for v in per_series], dtype=np.int32)
    return pd.Categorical.from_codes(codes[index], categories=categories)
