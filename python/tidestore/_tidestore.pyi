"""Type stubs of the native module tidestore._tidestore (built from python/src/).

The public API is the pure-Python classes of the package; this module is their
engine-side half. `Series` and `WriteBatch` are re-exported by `tidestore`.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

ENGINE_VERSION: str

_Tags = Optional[Mapping[str, str]]
_Bytes = Union[bytes, bytearray, str]
_KeyTuple = Tuple[str, Tuple[Tuple[str, str], ...]]
_Columns = Tuple[
    List[_KeyTuple], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
]
_Groups = Tuple[
    List[Tuple[Tuple[str, str], ...]],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
]
_Matchers = Optional[List[Tuple[str, str, Any]]]

class Series:
    """A resolved series of one database (from `Db.series`), for `append`."""

    @property
    def metric(self) -> str: ...
    @property
    def tags(self) -> Dict[str, str]: ...
    @property
    def key(self) -> _KeyTuple: ...

class WriteBatch:
    """Puts and deletes over column families, applied atomically by `KV.write`."""

    def __init__(self) -> None: ...
    def put(self, cf: str, key: _Bytes, value: _Bytes) -> None: ...
    def delete(self, cf: str, key: _Bytes) -> None: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

class _Db:
    def __init__(
        self,
        path: str,
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
    ) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def insert(self, metric: str, timestamp: int, value: float, tags: _Tags = None) -> None: ...
    def update(self, metric: str, timestamp: int, value: float, tags: _Tags = None) -> None: ...
    def insert_points(self, points: Any) -> int: ...
    def delete_range(
        self, metric: str, start: Optional[int], end: Optional[int], tags: _Tags = None
    ) -> None: ...
    def scan(
        self,
        metric: str,
        start: Optional[int] = None,
        end: Optional[int] = None,
        tags: _Tags = None,
        value_filter: Optional[Tuple[Any, ...]] = None,
    ) -> _Columns: ...
    def value_at(self, metric: str, tags: _Tags, timestamp: int) -> Optional[float]: ...
    def query(
        self,
        metric: str,
        agg: Optional[str] = None,
        start: Optional[int] = None,
        end: Optional[int] = None,
        every: Optional[int] = None,
        group_by: Optional[List[str]] = None,
        tags: _Tags = None,
        matchers: _Matchers = None,
        value_filter: Optional[Tuple[Any, ...]] = None,
    ) -> _Groups: ...
    def last(
        self,
        metric: str,
        tags: _Tags = None,
        matchers: _Matchers = None,
    ) -> _Groups: ...
    def write_lines(self, text: str, precision: str = "ns") -> Tuple[int, int, int]: ...
    def series(self, metric: str, tags: _Tags = None) -> Series: ...
    def append(
        self, series: Series, timestamps: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
    ) -> int: ...
    def write(
        self,
        metric: str,
        tags: _Tags,
        timestamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
    ) -> int: ...
    def write_block(
        self,
        series: Sequence[Series],
        timestamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
    ) -> int: ...
    def list_series(self, metric: Optional[str] = None) -> List[_KeyTuple]: ...
    def metrics(self) -> List[str]: ...
    def flush(self) -> None: ...
    def compact(self) -> None: ...
    def stats(self) -> Dict[str, int]: ...
    def close(self) -> None: ...
    def seed_points(
        self,
        metric: str,
        start: Optional[int] = None,
        end: Optional[int] = None,
        tags: _Tags = None,
    ) -> List[Dict[str, Any]]: ...
    def seed_points_with_tag(self, key: str, value: str) -> List[Dict[str, Any]]: ...
    def seed_value(self, metric: str, timestamp: int, tags: _Tags = None) -> Optional[float]: ...
    def seed_keys(self) -> List[str]: ...

class _Range:
    def fetch(self, n: int) -> List[Tuple[bytes, bytes]]: ...

class _KV:
    def __init__(
        self,
        path: str,
        *,
        sync_mode: str = "interval",
        sync_interval: float = 0.1,
        memtable_bytes: Optional[int] = None,
        memtable_entries: Optional[int] = None,
        max_frozen_memtables: Optional[int] = None,
        l0_compaction_trigger: Optional[int] = None,
        target_file_bytes: Optional[int] = None,
        background_work: bool = True,
    ) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def put(self, cf: str, key: _Bytes, value: _Bytes) -> None: ...
    def get(self, cf: str, key: _Bytes) -> Optional[bytes]: ...
    def delete(self, cf: str, key: _Bytes) -> None: ...
    def write(self, batch: WriteBatch) -> None: ...
    def range(
        self,
        cf: str,
        start: Optional[_Bytes] = None,
        end: Optional[_Bytes] = None,
        include_end: bool = False,
    ) -> _Range: ...
    def column_families(self) -> List[str]: ...
    def flush(self) -> None: ...
    def compact(self) -> None: ...
    def stats(self) -> Dict[str, Any]: ...
    def close(self) -> None: ...
