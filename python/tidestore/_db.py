""":class:`Db`: the time-series database, with numpy columns in and out."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from . import _arrays
from ._columns import QueryResult, ScanResult, SeriesKey
from ._handle import Handle
from ._tidestore import Series, _Db

Tags = Optional[Mapping[str, str]]
PathLike = Union[str, "os.PathLike[str]"]
#: ``(key, op, value)``: ``op`` one of ``"="``, ``"!="``, ``"=~"``, ``"!~"`` (a
#: fully anchored regex) or ``"in"`` (``value`` a sequence of str).
MatcherSpec = Tuple[str, str, Any]


class LineSummary(NamedTuple):
    """What :meth:`Db.write_lines` wrote."""

    #: Points written: one per numeric or boolean field.
    points: int
    #: Lines that held data (blank lines and ``#`` comments are not counted).
    lines: int
    #: String fields, parsed but not stored.
    skipped_string_fields: int


class Db(Handle):
    """An embedded time-series database in one directory.

    A point is ``(metric, tags, timestamp, value)``: ``metric`` a non-empty ``str``,
    ``tags`` a dict of ``str`` to ``str`` (or None), ``timestamp`` an ``int`` (int64, in
    whatever unit you use consistently), ``value`` a float. A metric plus its tags is a
    *series*. Writing a series and timestamp again replaces the value. A *tag filter*
    matches the series of a metric that have every given tag (extra tags allowed);
    None matches every series of the metric. Ranges include both ends.

    ``Db`` is thread-safe; every call that does engine work releases the GIL. Use it as
    a context manager, or call :meth:`close`::

        with tidestore.Db("./metrics") as db:
            db.write("cpu", {"host": "a"}, timestamps, values)
            result = db.scan("cpu", start=t0, end=t1)

    Options (keyword-only, engine defaults when omitted):

    - ``sync_mode``: when an acknowledged write is durable. ``"interval"`` (default):
      at once against a process crash, and against power loss but for the last
      ``sync_interval`` seconds (default 0.1); ``"always"``: fsync before every write
      returns; ``"os"``: left to the OS (survives a process crash, not power loss).
    - ``head_bytes`` (64 MiB): the in-memory head is flushed to a segment past this.
    - ``max_frozen_heads`` (2), ``chunk_points`` (4096), ``compaction_trigger`` (4).
    - ``partition_width`` (86400): width of a compaction time partition, in timestamp
      units (one day of Unix seconds).
    - ``retention`` (None): points older than the newest timestamp written minus this
      are hidden and dropped by compaction.
    - ``background_work`` (True): flush and compact on a background thread.

    Raises :class:`tidestore.LockedError` if another handle has the directory open.
    """

    __slots__ = ()

    _native: _Db

    def __init__(
        self,
        path: PathLike,
        *,
        sync_mode: str = "interval",
        sync_interval: float = 0.1,
        head_bytes: Optional[int] = None,
        max_frozen_heads: Optional[int] = None,
        chunk_points: Optional[int] = None,
        partition_width: Optional[int] = None,
        compaction_trigger: Optional[int] = None,
        retention: Optional[int] = None,
        background_work: bool = True,
    ) -> None:
        self._native = _Db(
            os.fspath(path),
            sync_mode=sync_mode,
            sync_interval=sync_interval,
            head_bytes=head_bytes,
            max_frozen_heads=max_frozen_heads,
            chunk_points=chunk_points,
            partition_width=partition_width,
            compaction_trigger=compaction_trigger,
            retention=retention,
            background_work=background_work,
        )

    # Writes.

    def insert(self, metric: str, timestamp: int, value: float, tags: Tags = None) -> None:
        """Adds one point (replacing the value if the series has one at ``timestamp``)."""
        self._native.insert(metric, timestamp, value, tags)

    def update(self, metric: str, timestamp: int, value: float, tags: Tags = None) -> None:
        """Replaces the value of an existing point of the series ``metric`` + ``tags``.
        :class:`tidestore.NotFoundError` (a ``KeyError``) if it has none there."""
        self._native.update(metric, timestamp, value, tags)

    def write(self, metric: str, tags: Tags, timestamps: Any, values: Any) -> int:
        """Writes columns to one series in one atomic write: ``values[i]`` at
        ``timestamps[i]``, in any order (a timestamp given twice keeps the last value).

        ``timestamps``: integers (an ``int64`` array passes without a copy);
        ``values``: numbers (a ``float64`` array passes without a copy). Returns the
        number of points written.
        """
        return self._native.write(
            metric, tags, _arrays.timestamps(timestamps), _arrays.values(values)
        )

    def series(self, metric: str, tags: Tags = None) -> Series:
        """The handle of series ``metric`` + ``tags`` (defined now if new), for
        :meth:`append` and :meth:`write_block`, which then skip resolving the tags."""
        return self._native.series(metric, tags)

    def append(self, series: Series, timestamps: Any, values: Any) -> int:
        """Like :meth:`write` with a handle from :meth:`series`: the fastest path for
        many small writes to known series."""
        return self._native.append(series, _arrays.timestamps(timestamps), _arrays.values(values))

    def write_block(self, series: Sequence[Series], timestamps: Any, values: Any) -> int:
        """Writes a block of series sharing timestamps: ``values[i, j]`` to
        ``series[i]`` at ``timestamps[j]`` (``values`` of shape
        ``(len(series), len(timestamps))``). This is how data arriving in time order
        (every series at t, then t + 1, ...) is written fast.

        The shapes are checked before anything is written. Each series' row is one
        atomic write; the block as a whole is not (a crash during the call can keep
        the rows of some series and not others).
        """
        return self._native.write_block(
            list(series), _arrays.timestamps(timestamps), _arrays.values(values, ndim=2)
        )

    def write_lines(self, text: str, precision: str = "ns") -> LineSummary:
        """Writes InfluxDB line protocol (v2 grammar) in one atomic write.

        Each numeric field of a line becomes a point of metric ``measurement_field``
        (a field named ``value``: metric ``measurement``); booleans are 1.0 / 0.0;
        string fields are counted, not stored. ``precision`` (``"s"``, ``"ms"``,
        ``"us"``, ``"ns"``) is the unit of the timestamps in the text; a line without
        one gets the current time in that unit. A malformed line raises
        :class:`tidestore.InvalidArgumentError` naming its line and column, and
        nothing of the call is written.
        """
        return LineSummary(*self._native.write_lines(text, precision))

    def delete_range(
        self,
        metric: str,
        start: Optional[int] = None,
        end: Optional[int] = None,
        tags: Tags = None,
    ) -> None:
        """Deletes the points with ``start <= timestamp <= end`` (None: no bound) of
        the series of ``metric`` matching the tag filter. Later writes are kept."""
        self._native.delete_range(metric, start, end, tags)

    # Reads.

    def scan(
        self,
        metric: str,
        tags: Tags = None,
        start: Optional[int] = None,
        end: Optional[int] = None,
        *,
        where: Optional[Tuple[Any, ...]] = None,
    ) -> ScanResult:
        """The points of the series of ``metric`` matching the tag filter ``tags``, with
        ``start <= timestamp <= end`` (None: no bound), as numpy columns. Reads one
        consistent snapshot. ``where`` keeps the rows whose value passes a predicate,
        as in :meth:`query` (``(">", 90.0)``, ``("between", lo, hi)``...); chunks
        whose stored min and max exclude it are not read."""
        return ScanResult._from_native(self._native.scan(metric, start, end, tags, where))

    def value_at(self, metric: str, tags: Tags, timestamp: int) -> Optional[float]:
        """The value of the one series ``metric`` with exactly the tags ``tags`` (a
        dict, or None for no tags) at ``timestamp``, or None when that series has no
        live point there."""
        return self._native.value_at(metric, tags, timestamp)

    def query(
        self,
        metric: str,
        agg: Optional[str] = None,
        *,
        tags: Tags = None,
        match: Optional[Sequence[MatcherSpec]] = None,
        start: Optional[int] = None,
        end: Optional[int] = None,
        every: Optional[int] = None,
        group_by: Optional[Sequence[str]] = None,
        where: Optional[Tuple[Any, ...]] = None,
    ) -> QueryResult:
        """Aggregates the series of ``metric`` that pass every matcher, per group and
        per time bucket, in the engine (chunks answered from the index where
        possible), over one consistent snapshot.

        - ``agg``: ``"count"``, ``"sum"``, ``"min"``, ``"max"``, ``"mean"`` (or
          ``"avg"``), ``"first"``, ``"last"``, ``"stddev"``, ``"median"`` or ``"pNN"``
          (a quantile in percent, ``"p99"``); None: the raw points.
        - ``tags``: a dict of equalities; ``match``: more matchers as
          ``(key, op, value)`` triples (``=``, ``!=``, ``=~``, ``!~``, ``in``), with
          Prometheus' semantics (a missing tag counts as the empty string).
        - ``start``/``end``: inclusive bounds (None: no bound).
        - ``every``: bucket width; a point at ``t`` goes to the bucket starting at
          ``t // every * every``; without it the range is one bucket.
        - ``group_by``: tag keys; series with the same values form one group
          (``[]``: one group of everything); default one group per series.
        - ``where``: a value predicate applied before aggregating: ``(">", x)``,
          ``(">=", x)``, ``("<", x)``, ``("<=", x)`` or ``("between", lo, hi)``.
        """
        return QueryResult._from_native(
            self._native.query(
                metric,
                agg,
                start,
                end,
                every,
                None if group_by is None else list(group_by),
                tags,
                None if match is None else list(match),
                where,
            )
        )

    def last(
        self,
        metric: str,
        tags: Tags = None,
        *,
        match: Optional[Sequence[MatcherSpec]] = None,
    ) -> QueryResult:
        """The newest live point of each series of ``metric`` that passes the
        matchers (``tags`` and ``match`` as in :meth:`query`): one group per series,
        with one row each."""
        return QueryResult._from_native(
            self._native.last(metric, tags, None if match is None else list(match))
        )

    def get(self, metric: str, timestamp: int, tags: Tags = None) -> ScanResult:
        """The point at ``timestamp`` of every series of ``metric`` matching ``tags``
        (at most one per series), as a :class:`ScanResult`."""
        return ScanResult._from_native(self._native.scan(metric, timestamp, timestamp, tags))

    def list_series(self, metric: Optional[str] = None) -> List[SeriesKey]:
        """Every series ever written (of ``metric``, or of every metric), sorted;
        series whose points were all deleted included."""
        return [SeriesKey._from_native(m, t) for m, t in self._native.list_series(metric)]

    def metrics(self) -> List[str]:
        """Every metric name, sorted."""
        return self._native.metrics()

    # Maintenance.

    def flush(self) -> None:
        """Writes the in-memory head to segments and waits for it."""
        self._native.flush()

    def compact(self) -> None:
        """Flushes, then compacts every segment into one per time partition (applying
        deletes and retention), and waits for it."""
        self._native.compact()

    def stats(self) -> Dict[str, int]:
        """Sizes and counters: ``series``, ``segments``, ``segment_bytes``,
        ``points_written``, ``flushes``, ``compactions``, ..."""
        return self._native.stats()


__all__ = ["Db", "LineSummary"]
