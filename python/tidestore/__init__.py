"""tidestore: an embedded time-series and key-value storage engine (Rust), for Python.

Two layers over one engine:

- the seed-compatible classes :class:`TimeSeriesDB` and :class:`LSMTree`, whose
  methods keep the names and argument shapes of the scripts tidestore grew from;
- the native layer :class:`Db` (time series, numpy columns in and out) and
  :class:`KV` (key-value store with column families).

Errors derive from :class:`Error`; see :mod:`tidestore._errors` for the classes.
Documentation: docs/python.md in the repository.
"""

from ._columns import GroupData, QueryResult, ScanResult, SeriesData, SeriesKey
from ._db import Db, LineSummary
from ._errors import (
    ClosedError,
    CorruptionError,
    Error,
    InvalidArgumentError,
    IoError,
    LockedError,
    NotFoundError,
    PoisonedError,
    UnsupportedVersionError,
)
from ._kv import KV
from ._seed import LSMTree, TimeSeriesDB
from ._tidestore import ENGINE_VERSION, Series, WriteBatch

__version__ = ENGINE_VERSION

__all__ = [
    "Db",
    "KV",
    "TimeSeriesDB",
    "LSMTree",
    "ScanResult",
    "QueryResult",
    "GroupData",
    "LineSummary",
    "SeriesData",
    "SeriesKey",
    "Series",
    "WriteBatch",
    "Error",
    "InvalidArgumentError",
    "NotFoundError",
    "CorruptionError",
    "UnsupportedVersionError",
    "LockedError",
    "PoisonedError",
    "IoError",
    "ClosedError",
    "__version__",
]
