"""tidestore.KV and WriteBatch: every method, bounds, batches, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import tidestore
from tidestore import KV, WriteBatch


@pytest.fixture
def kv(tmp_path: Path):
    with KV(tmp_path / "kv") as store:
        yield store


def test_put_get_delete_bytes_and_str(kv: KV) -> None:
    kv.put("cf", b"k1", b"v1")
    kv.put("cf", "k2", "välue")
    kv.put("cf", bytearray(b"k3"), bytearray(b"\x00\xff"))
    assert kv.get("cf", "k1") == b"v1"
    assert kv.get("cf", b"k2") == "välue".encode()
    assert kv.get("cf", b"k3") == b"\x00\xff"
    assert kv.get("cf", b"absent") is None
    assert kv.get("absent-cf", b"k1") is None
    kv.put("cf", b"", b"empty key")
    assert kv.get("cf", b"") == b"empty key"
    kv.delete("cf", "k1")
    assert kv.get("cf", b"k1") is None
    kv.delete("never-made", b"k")
    assert kv.column_families() == ["cf"]


def test_range_bounds(kv: KV) -> None:
    for i in range(3000):
        kv.put("cf", f"k{i:04}", str(i))
    everything = list(kv.range("cf"))
    assert len(everything) == 3000  # more than one native chunk
    assert [k for k, _ in everything] == sorted(k for k, _ in everything)
    assert everything[0] == (b"k0000", b"0")
    assert [k for k, _ in kv.range("cf", "k0010", "k0013")] == [b"k0010", b"k0011", b"k0012"]
    assert [k for k, _ in kv.range("cf", "k0010", "k0013", include_end=True)][-1] == b"k0013"
    assert len(list(kv.range("cf", start="k2990"))) == 10
    assert len(list(kv.range("cf", end=b"k0005"))) == 5
    assert list(kv.range("cf", "k0013", "k0010")) == []
    assert list(kv.range("missing")) == []


def test_range_reads_a_snapshot(kv: KV) -> None:
    kv.put("cf", "a", "1")
    it = kv.range("cf")
    kv.put("cf", "b", "2")
    kv.delete("cf", "a")
    assert list(it) == [(b"a", b"1")]


def test_a_range_outlives_its_store(tmp_path: Path) -> None:
    kv = KV(tmp_path / "kv")
    for i in range(2000):
        kv.put("cf", b"%05d" % i, b"v")
    kv.flush()
    it = kv.range("cf")
    first = next(it)
    kv.close()
    # The range reads the snapshot it was made on, whose files it keeps alive.
    assert [first] + list(it) == [(b"%05d" % i, b"v") for i in range(2000)]


def test_batches_are_atomic(kv: KV) -> None:
    kv.put("cf", "gone", "x")
    b = WriteBatch()
    b.put("cf", "a", "1")
    b.put("other", b"b", b"2")
    b.delete("cf", "gone")
    assert len(b) == 3
    kv.write(b)
    assert len(b) == 0
    assert (kv.get("cf", "a"), kv.get("other", "b"), kv.get("cf", "gone")) == (b"1", b"2", None)

    with kv.batch() as b2:
        b2.put("cf", "c", "3")
        assert kv.get("cf", "c") is None  # not before the block ends
    assert kv.get("cf", "c") == b"3"

    with pytest.raises(RuntimeError):
        with kv.batch() as b3:
            b3.put("cf", "d", "4")
            raise RuntimeError("abandon")
    assert kv.get("cf", "d") is None

    bad = WriteBatch()
    bad.put("cf", "e", "5")
    bad.put("", "f", "6")
    with pytest.raises(ValueError, match="column family name is empty"):
        kv.write(bad)
    assert len(bad) == 2  # kept on error
    assert kv.get("cf", "e") is None  # nothing of it written
    bad.clear()
    assert len(bad) == 0
    assert "0 operations" in repr(bad)


def test_flush_compact_stats_reopen(tmp_path: Path) -> None:
    path = tmp_path / "kv"
    with KV(path, memtable_entries=50, sync_mode="always") as kv:
        for i in range(400):
            kv.put("cf", f"{i:05}", b"x" * 100)
        for i in range(0, 400, 2):
            kv.delete("cf", f"{i:05}")
        kv.flush()
        kv.compact()
        stats = kv.stats()
        assert stats["flushes"] >= 1 and stats["compactions"] >= 1
        assert stats["levels"] and sum(level["files"] for level in stats["levels"]) >= 1
        assert isinstance(stats["write_amplification"], float)
    with KV(path) as kv:
        keys = [k for k, _ in kv.range("cf")]
        assert keys == [f"{i:05}".encode() for i in range(1, 400, 2)]


def test_errors_and_closing(tmp_path: Path) -> None:
    path = tmp_path / "kv"
    kv = KV(path)
    with pytest.raises(TypeError, match="expected bytes or str"):
        kv.put("cf", 1, b"v")
    with pytest.raises(TypeError):
        kv.put("cf", b"k", 1.5)
    with pytest.raises(ValueError, match="key is 70000 bytes"):
        kv.put("cf", b"k" * 70_000, b"v")
    with pytest.raises(ValueError, match="sync_mode must be"):
        KV(tmp_path / "other", sync_mode="sometimes")
    with pytest.raises(ValueError, match="must not be negative"):
        KV(tmp_path / "other2", memtable_bytes=-1)
    assert "open" in repr(kv) and not kv.closed
    kv.close()
    assert kv.closed
    kv.close()
    for call in (lambda: kv.get("cf", b"k"), lambda: kv.put("cf", b"k", b"v"), lambda: kv.range("cf")):
        with pytest.raises(tidestore.ClosedError, match="the store is closed"):
            call()
