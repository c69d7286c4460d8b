"""The seed's two classes, with their method names and argument shapes, on tidestore.

:class:`TimeSeriesDB` is the seed's SimpleEmbedTimeSeriesDB and :class:`LSMTree` its
key-value LSMTree: a script written for them runs on tidestore with only its import
changed. Where tidestore cannot or should not copy the seed exactly, ``docs/python.md``
says what differs and why.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ._db import Db
from ._kv import KV
from ._tidestore import _Db

Tags = Optional[Mapping[str, str]]
Point = Dict[str, Any]
PathLike = Union[str, "os.PathLike[str]"]


class TimeSeriesDB:
    """The seed's embedded time-series database (SimpleEmbedTimeSeriesDB).

    Points come back as dicts ``{'metric': str, 'timestamp': int, 'value': float,
    'tags': dict}``, ordered by timestamp, then by series. ``tags`` are a dict of
    ``str`` to ``str``; a point without tags belongs to the series with no tags.
    Options are those of :class:`tidestore.Db`. The numpy layer over the same open
    database is :attr:`db`.
    """

    __slots__ = ("db", "_n")

    db: Db
    _n: _Db

    def __init__(self, path: PathLike, **options: Any) -> None:
        #: The :class:`tidestore.Db` underneath, for scans into numpy arrays.
        self.db = Db(path, **options)
        self._n = self.db._native

    def add_data_point(self, metric: str, timestamp: int, value: float, tags: Tags = None) -> None:
        """Adds a point (or replaces the value the series has at ``timestamp``)."""
        self._n.insert(metric, timestamp, value, tags)

    def add_data_points(self, data_points: Iterable[Mapping[str, Any]]) -> None:
        """Adds many points atomically: dicts with keys ``metric``, ``timestamp``,
        ``value`` and (optional) ``tags``. Every point is checked before any is
        written."""
        self._n.insert_points(data_points)

    def update_data_point(
        self, metric: str, timestamp: int, value: float, tags: Tags = None
    ) -> None:
        """Replaces the value of an existing point of series ``metric`` + ``tags``.
        ``KeyError`` (:class:`tidestore.NotFoundError`) if there is none."""
        self._n.update(metric, timestamp, value, tags)

    def get_data_point(self, metric: str, timestamp: int, tags: Tags = None) -> Optional[float]:
        """The value at ``timestamp``, or None. If several series of ``metric`` have a
        point there, the first in series order (narrow it with ``tags``)."""
        return self._n.seed_value(metric, timestamp, tags)

    def delete_data_point(self, metric: str, timestamp: int, tags: Tags = None) -> None:
        """Deletes the point at ``timestamp`` of the series matching ``tags`` (every
        series of ``metric`` when None)."""
        self._n.delete_range(metric, timestamp, timestamp, tags)

    def query_range(
        self, metric: str, start_timestamp: int, end_timestamp: int, tags: Tags = None
    ) -> List[Point]:
        """The points of ``metric`` with ``start_timestamp <= timestamp <=
        end_timestamp``, of the series having every tag in ``tags`` (all series when
        None)."""
        return self._n.seed_points(metric, start_timestamp, end_timestamp, tags)

    def query_by_tags(self, metric: str, tags: Tags) -> List[Point]:
        """Every point of the series of ``metric`` having every tag in ``tags``."""
        return self._n.seed_points(metric, None, None, tags)

    def query_by_tag_key(self, tag_key: str, tag_value: str) -> List[Point]:
        """Every point, of any metric, of the series with tag ``tag_key`` =
        ``tag_value``; by metric, then timestamp, then series."""
        return self._n.seed_points_with_tag(tag_key, tag_value)

    def list_all_keys(self) -> List[str]:
        """The seed's keys: ``"metric:timestamp"`` for every distinct metric and
        timestamp with a point, sorted as strings."""
        return self._n.seed_keys()

    def query_by_metric(self, metric: str) -> List[Point]:
        """Every point of every series of ``metric``."""
        return self._n.seed_points(metric, None, None, None)

    def close(self) -> None:
        """Closes the database (the seed needed no close; tidestore syncs here)."""
        self.db.close()

    def __enter__(self) -> "TimeSeriesDB":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LSMTree:
    """The seed's key-value store (LSMTree): column families of ``str`` keys and
    JSON-serializable values, stored as JSON text as the seed did.

    Options are those of :class:`tidestore.KV`. The byte-level store over the same
    open directory is :attr:`kv`.
    """

    __slots__ = ("kv",)

    kv: KV

    def __init__(self, db_path: PathLike, **options: Any) -> None:
        #: The :class:`tidestore.KV` underneath.
        self.kv = KV(db_path, **options)

    def put(self, column: str, key: Union[str, bytes], value: Any) -> None:
        """Stores ``value`` (anything ``json.dumps`` takes; ``TypeError`` otherwise)
        under ``key`` in column family ``column``."""
        self.kv.put(column, key, json.dumps(value).encode("utf-8"))

    def get(self, column: str, key: Union[str, bytes]) -> Any:
        """The value stored under ``key``, or None."""
        raw = self.kv.get(column, key)
        return None if raw is None else json.loads(raw)

    def delete(self, column: str, key: Union[str, bytes]) -> None:
        """Deletes ``key`` (nothing happens if it is absent)."""
        self.kv.delete(column, key)

    def query(
        self, column: str, start_key: Union[str, bytes], end_key: Union[str, bytes]
    ) -> List[Tuple[Union[str, bytes], Any]]:
        """``(key, value)`` for every key with ``start_key <= key <= end_key``, in key
        order (the order of the keys' UTF-8 bytes, which is ``str`` order). Keys come
        back as ``str``, or as ``bytes`` where a stored key is not UTF-8."""
        if _as_bytes(start_key) > _as_bytes(end_key):
            return []
        return [
            (_key_text(k), json.loads(v))
            for k, v in self.kv.range(column, start_key, end_key, include_end=True)
        ]

    def close(self) -> None:
        """Closes the store (the seed needed no close; tidestore syncs here)."""
        self.kv.close()

    def __enter__(self) -> "LSMTree":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _as_bytes(key: Union[str, bytes]) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def _key_text(key: bytes) -> Union[str, bytes]:
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return key


__all__ = ["TimeSeriesDB", "LSMTree"]
