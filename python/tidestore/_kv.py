""":class:`KV`: the key-value store (named column families of byte keys and values)."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from ._handle import Handle
from ._tidestore import WriteBatch, _KV

Key = Union[bytes, bytearray, str]
PathLike = Union[str, "os.PathLike[str]"]

#: How many pairs a range reads per native call (with the GIL released).
_RANGE_CHUNK = 1024


class KV(Handle):
    """A key-value store in one directory: named column families (created by their
    first write) of byte keys and values, ordered by key.

    Keys and values are ``bytes`` (or ``bytearray``), or ``str``, stored as its UTF-8
    bytes; reads return ``bytes``. Keys up to 64 KiB, values up to 64 MiB.

    ``KV`` is thread-safe; engine work releases the GIL. Use it as a context manager,
    or call :meth:`close`::

        with tidestore.KV("./kv") as kv:
            kv.put("users", b"alice", b"...")
            for key, value in kv.range("users", b"a", b"b"):
                ...

    Options (keyword-only, engine defaults when omitted): ``sync_mode`` and
    ``sync_interval`` as for :class:`tidestore.Db`; ``memtable_bytes`` (64 MiB) and
    ``memtable_entries`` (None) — the memtable is flushed past either;
    ``max_frozen_memtables`` (2); ``l0_compaction_trigger`` (4); ``target_file_bytes``
    (32 MiB); ``background_work`` (True).

    Raises :class:`tidestore.LockedError` if another handle has the directory open.
    """

    __slots__ = ()

    _native: _KV

    def __init__(
        self,
        path: PathLike,
        *,
        sync_mode: str = "interval",
        sync_interval: float = 0.1,
        memtable_bytes: Optional[int] = None,
        memtable_entries: Optional[int] = None,
        max_frozen_memtables: Optional[int] = None,
        l0_compaction_trigger: Optional[int] = None,
        target_file_bytes: Optional[int] = None,
        background_work: bool = True,
    ) -> None:
        self._native = _KV(
            os.fspath(path),
            sync_mode=sync_mode,
            sync_interval=sync_interval,
            memtable_bytes=memtable_bytes,
            memtable_entries=memtable_entries,
            max_frozen_memtables=max_frozen_memtables,
            l0_compaction_trigger=l0_compaction_trigger,
            target_file_bytes=target_file_bytes,
            background_work=background_work,
        )

    def put(self, cf: str, key: Key, value: Key) -> None:
        """Sets ``key`` to ``value`` in column family ``cf`` (created if missing)."""
        self._native.put(cf, key, value)

    def get(self, cf: str, key: Key) -> Optional[bytes]:
        """The value of ``key`` in ``cf``, or None (also when ``cf`` does not exist)."""
        return self._native.get(cf, key)

    def delete(self, cf: str, key: Key) -> None:
        """Deletes ``key`` from ``cf`` (nothing happens if it is absent)."""
        self._native.delete(cf, key)

    def write(self, batch: WriteBatch) -> None:
        """Applies every operation of ``batch`` atomically (after a crash, all of them
        or none), then empties it. On error nothing is written and the batch is kept."""
        self._native.write(batch)

    @contextlib.contextmanager
    def batch(self) -> Iterator[WriteBatch]:
        """A :class:`WriteBatch` written atomically when the ``with`` block ends without
        an exception (and discarded if it raises)::

            with kv.batch() as b:
                b.put("cf", b"k1", b"v1")
                b.delete("cf", b"k2")
        """
        b = WriteBatch()
        yield b
        self.write(b)

    def range(
        self,
        cf: str,
        start: Optional[Key] = None,
        end: Optional[Key] = None,
        *,
        include_end: bool = False,
    ) -> Iterator[Tuple[bytes, bytes]]:
        """The ``(key, value)`` pairs of ``cf`` with ``start <= key < end`` (``<=``
        with ``include_end``), in key order; None is no bound. Reads a consistent
        snapshot taken when called. A family that does not exist reads as empty."""
        native = self._native.range(cf, start, end, include_end)
        return _drain(native)

    def column_families(self) -> List[str]:
        """The names of every column family, sorted."""
        return self._native.column_families()

    def flush(self) -> None:
        """Writes the memtable to a table file and waits for it."""
        self._native.flush()

    def compact(self) -> None:
        """Flushes, then compacts everything into the deepest level (dropping
        overwritten and deleted entries), and waits for it."""
        self._native.compact()

    def stats(self) -> Dict[str, Any]:
        """Counters and the shape of the LSM tree (``levels``: files and bytes per
        level)."""
        return self._native.stats()


def _drain(native: Any) -> Iterator[Tuple[bytes, bytes]]:
    while True:
        chunk = native.fetch(_RANGE_CHUNK)
        if not chunk:
            return
        yield from chunk


__all__ = ["KV", "WriteBatch"]
