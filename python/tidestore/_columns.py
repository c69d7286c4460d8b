"""Scan and query results as numpy columns: :class:`ScanResult`, :class:`SeriesKey`,
:class:`SeriesData`, :class:`QueryResult`, :class:`GroupData`.

A scan returns every point of the matching series back to back in two arrays
(``timestamps`` as ``int64``, ``values`` as ``float64``), series after series in key
order, with ``offsets`` telling where each series starts. The arrays are the buffers
the engine filled (handed to numpy without a copy); per-series views are slices of
them, also without a copy. A query's answer has the same shape, with one entry per
group (its tags) instead of one per series.
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
        return _owner_index(self.offsets)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> SeriesData:
        key = self.keys[i]  # IndexError as a list would raise
        lo, hi = _span(self.offsets, i, len(self.keys))
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
        _add_tag_columns(pd, columns, tag_keys, [k._tags for k in self.keys], index)
        return _frame(pd, columns, self.timestamps, self.values, time_unit)


class GroupData(NamedTuple):
    """One group of a :class:`QueryResult`: its tags and its rows (views, no copy)."""

    tags: Dict[str, str]
    timestamps: np.ndarray
    values: np.ndarray


class QueryResult:
    """A query's answer as columns: one entry per group.

    - ``groups``: each group's tags as a tuple of ``(key, value)`` pairs (the series'
      tags sorted by key without ``group_by``; the ``group_by`` keys in their order
      with it, leaving out keys the group's series lack), groups sorted by tags;
    - ``offsets``: ``int64`` array of ``len(groups) + 1``; the rows of group ``i``
      are ``timestamps[offsets[i]:offsets[i + 1]]``;
    - ``timestamps`` (``int64``): bucket starts, ascending within a group (for raw
      queries, the points' timestamps); ``values`` (``float64``): one per row.

    ``len(result)`` is the number of groups; iterating yields :class:`GroupData`;
    ``result[i]`` is the i-th. :meth:`to_pandas` makes a DataFrame.
    """

    __slots__ = ("groups", "offsets", "timestamps", "values")

    groups: List[Tuple[Tuple[str, str], ...]]
    offsets: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray

    def __init__(
        self,
        groups: Sequence[Tuple[Tuple[str, str], ...]],
        offsets: np.ndarray,
        timestamps: np.ndarray,
        values: np.ndarray,
    ) -> None:
        self.groups = list(groups)
        self.offsets = offsets
        self.timestamps = timestamps
        self.values = values

    @classmethod
    def _from_native(cls, raw: Tuple[Any, np.ndarray, np.ndarray, np.ndarray]) -> "QueryResult":
        return cls(*raw)

    @property
    def rows(self) -> int:
        """The number of rows, over every group."""
        return int(self.timestamps.shape[0])

    @property
    def group_index(self) -> np.ndarray:
        """For every row, the index of its group in ``groups`` (``int64``)."""
        return _owner_index(self.offsets)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> GroupData:
        tags = dict(self.groups[i])  # IndexError as a list would raise
        lo, hi = _span(self.offsets, i, len(self.groups))
        return GroupData(tags, self.timestamps[lo:hi], self.values[lo:hi])

    def __iter__(self) -> Iterator[GroupData]:
        for i in range(len(self.groups)):
            yield self[i]

    def __repr__(self) -> str:
        return f"<QueryResult: {len(self.groups)} groups, {self.rows} rows>"

    def to_pandas(self, time_unit: Optional[str] = None) -> Any:
        """The rows as a pandas DataFrame in long form, one row per bucket of a group.

        Columns: one per tag key of any group (categorical; missing where a group lacks
        it), ``timestamp`` (``datetime64`` read in ``time_unit`` when given) and
        ``value``. Needs pandas; it is not a dependency of tidestore.
        """
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("QueryResult.to_pandas() needs pandas: pip install pandas") from e

        index = self.group_index
        columns: Dict[str, Any] = {}
        tag_keys: List[str] = []
        for g in self.groups:
            for k, _ in g:
                if k not in tag_keys:
                    tag_keys.append(k)
        _add_tag_columns(pd, columns, tag_keys, self.groups, index)
        return _frame(pd, columns, self.timestamps, self.values, time_unit)


def _owner_index(offsets: np.ndarray) -> np.ndarray:
    """For every row, the index of the entry (series or group) it belongs to."""
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))


def _span(offsets: np.ndarray, i: int, n: int) -> Tuple[int, int]:
    """The rows of entry ``i`` (negative counts from the end) of ``n`` entries."""
    if i < 0:
        i += n
    return int(offsets[i]), int(offsets[i + 1])


def _add_tag_columns(
    pd: Any,
    columns: Dict[str, Any],
    tag_keys: Sequence[str],
    tags_per_entry: Sequence[Tuple[Tuple[str, str], ...]],
    index: np.ndarray,
) -> None:
    """One categorical column per tag key, from the tags of each entry."""
    as_dicts = [dict(t) for t in tags_per_entry]
    for t in tag_keys:
        columns[t] = _categorical(pd, [d.get(t) for d in as_dicts], index)


def _frame(
    pd: Any,
    columns: Dict[str, Any],
    timestamps: np.ndarray,
    values: np.ndarray,
    time_unit: Optional[str],
) -> Any:
    """The DataFrame of ``columns`` plus ``timestamp`` and ``value``."""
    if time_unit is None:
        columns["timestamp"] = timestamps
    else:
        columns["timestamp"] = pd.to_datetime(timestamps, unit=time_unit)
    columns["value"] = values
    return pd.DataFrame(columns)


def _categorical(pd: Any, per_series: List[Optional[str]], index: np.ndarray) -> Any:
    """A pandas Categorical of one entry per point, from one entry per series."""
    categories = sorted({v for v in per_series if v is not None})
    code_of = {v: i for i, v in enumerate(categories)}
    codes = np.array([code_of.get(v, -1) if v is not None else -1 for v in per_series], dtype=np.int32)
    return pd.Categorical.from_codes(codes[index], categories=categories)
