"""tidestore.Db: the native layer's every method, numpy in and out, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tidestore
from tidestore import Db, ScanResult, SeriesKey

A = {"host": "a", "dc": "x"}
B = {"host": "b", "dc": "x"}


@pytest.fixture
def db(db_path: Path):
    with Db(db_path) as d:
        yield d


def test_write_and_scan_round_trip(db: Db) -> None:
    ts = np.arange(0, 1000, 10, dtype=np.int64)
    vals = np.linspace(0.0, 1.0, ts.size)
    assert db.write("cpu", A, ts, vals) == 100
    res = db.scan("cpu")
    assert isinstance(res, ScanResult)
    assert res.timestamps.dtype == np.int64 and res.values.dtype == np.float64
    np.testing.assert_array_equal(res.timestamps, ts)
    np.testing.assert_array_equal(res.values, vals)
    assert res.keys == [SeriesKey("cpu", A)]
    assert res.offsets.tolist() == [0, 100]
    assert res.points == 100 and len(res) == 1


def test_write_accepts_lists_and_other_dtypes(db: Db) -> None:
    db.write("m", None, [3, 1, 2], [30, 10, 20])  # any order, ints as values
    db.write("m", None, np.array([4], dtype=np.int32), np.array([40], dtype=np.float32))
    db.write("m", None, np.array([5], dtype=np.uint16), [True])
    db.write("m", None, [], [])
    db.write("m", None, np.arange(20, dtype=np.int64)[10::2], np.arange(5.0))  # strided: one copy
    res = db.scan("m")
    assert res.timestamps.tolist() == [1, 2, 3, 4, 5, 10, 12, 14, 16, 18]
    assert res.values.tolist() == [10, 20, 30, 40, 1, 0, 1, 2, 3, 4]


def test_write_rejects_bad_arrays_and_writes_nothing(db: Db) -> None:
    with pytest.raises(TypeError, match="must be integers"):
        db.write("m", None, [1.5], [1.0])
    with pytest.raises(TypeError, match="datetime64"):
        db.write("m", None, np.array(["2024-01-01"], dtype="datetime64[s]"), [1.0])
    with pytest.raises(TypeError, match="must be numbers"):
        db.write("m", None, [1], ["x"])
    with pytest.raises(ValueError, match="one-dimensional"):
        db.write("m", None, [[1, 2]], [1.0, 2.0])
    with pytest.raises(ValueError, match="outside the int64 range"):
        db.write("m", None, np.array([2**64 - 1], dtype=np.uint64), [1.0])
    with pytest.raises(ValueError, match="2 timestamps but 1 values"):
        db.write("m", {"new": "series"}, [1, 2], [1.0])
    with pytest.raises(ValueError, match="metric name is empty"):
        db.write("", None, [1], [1.0])
    # No series was defined by any failed write.
    assert db.list_series() == []


def test_scan_filters_and_bounds(db: Db) -> None:
    ts = np.arange(10, dtype=np.int64)
    db.write("cpu", A, ts, ts * 1.0)
    db.write("cpu", B, ts, ts * 2.0)
    db.write("mem", A, ts, ts * 3.0)
    res = db.scan("cpu", start=3, end=5)
    assert [str(k) for k in res.keys] == ["cpu{dc=x,host=a}", "cpu{dc=x,host=b}"]
    assert res.timestamps.tolist() == [3, 4, 5, 3, 4, 5]
    assert res.values.tolist() == [3, 4, 5, 6, 8, 10]
    assert res.series_index.tolist() == [0, 0, 0, 1, 1, 1]
    assert db.scan("cpu", {"host": "b"}, 8).values.tolist() == [16, 18]
    assert db.scan("cpu", {"dc": "x"}, end=0).values.tolist() == [0, 0]
    assert db.scan("cpu", {"host": "z"}).points == 0
    assert db.scan("nothing").points == 0 and db.scan("nothing").offsets.tolist() == [0]
    with pytest.raises(ValueError, match="range start 5 is after its end 3"):
        db.scan("cpu", start=5, end=3)
    # Views per series are slices of the result's arrays.
    first, second = list(res)
    assert first.key == SeriesKey("cpu", A) and second.values.tolist() == [6, 8, 10]
    assert np.shares_memory(second.values, res.values)
    assert res[-1].key == res.keys[1]
    with pytest.raises(IndexError):
        res[2]


def test_scan_keeps_long_series_whole(db: Db) -> None:
    # The engine hands a series longer than its scan batch (16 384 points) over in
    # several views; the result must still hold one entry per series.
    n = 40_000
    ts = np.arange(n, dtype=np.int64)
    db.write("cpu", A, ts, ts * 1.0)
    db.write("cpu", B, ts, ts * 2.0)
    db.flush()
    res = db.scan("cpu")
    assert len(res.keys) == 2
    assert res.offsets.tolist() == [0, n, 2 * n]
    assert np.array_equal(res.timestamps[:n], ts) and np.array_equal(res.timestamps[n:], ts)
    assert np.array_equal(res[1].values, ts * 2.0)


def test_insert_update_get_delete(db: Db) -> None:
    db.insert("t", 1, 1.0, A)
    db.insert("t", 1, 2.0, B)
    db.insert("t", 2, 3.0)
    db.update("t", 1, 5.0, A)
    got = db.get("t", 1)
    assert got.values.tolist() == [5.0, 2.0]
    assert db.get("t", 1, {"host": "b"}).values.tolist() == [2.0]
    with pytest.raises(KeyError, match="no point of t at 7"):
        db.update("t", 7, 1.0)
    db.delete_range("t", 0, 1, {"host": "a"})
    assert db.get("t", 1).values.tolist() == [2.0]
    db.delete_range("t")  # every point of every series of t
    assert db.scan("t").points == 0
    # Deleted series stay listed (their points are gone).
    assert len(db.list_series("t")) == 3


def test_series_handles_and_append(db: Db) -> None:
    s = db.series("cpu", A)
    assert (s.metric, s.tags) == ("cpu", A)
    assert str(s) == "cpu{dc=x,host=a}" and "Series(" in repr(s)
    assert s.key == ("cpu", (("dc", "x"), ("host", "a")))
    assert db.append(s, [1, 2, 3], [1.0, 2.0, 3.0]) == 3
    assert db.append(s, np.array([2]), [20.0]) == 1  # last write wins
    assert db.scan("cpu").values.tolist() == [1.0, 20.0, 3.0]


def test_handles_belong_to_their_database(tmp_path: Path) -> None:
    with Db(tmp_path / "one") as one, Db(tmp_path / "two") as two:
        s = one.series("cpu")
        with pytest.raises(ValueError, match="belongs to another database"):
            two.append(s, [1], [1.0])
        with pytest.raises(TypeError):
            two.append("cpu", [1], [1.0])


def test_write_block(db: Db) -> None:
    series = [db.series("cpu", {"host": str(i)}) for i in range(3)]
    ts = np.array([10, 20], dtype=np.int64)
    vals = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert db.write_block(series, ts, vals) == 6
    assert db.write_block(series, [30, 40], vals.tolist()) == 6
    res = db.scan("cpu")
    assert res.timestamps.tolist() == [10, 20, 30, 40] * 3
    assert res.values.tolist() == [1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6]
    with pytest.raises(ValueError, match=r"shape \(3, 2\); expected \(2, 2\)"):
        db.write_block(series[:2], [50, 60], vals)
    with pytest.raises(ValueError, match="2 dimension"):
        db.write_block(series, [50, 60], [1.0, 2.0])
    with pytest.raises(TypeError, match="list of tidestore.Series"):
        db.write_block(["cpu"], [50], [[1.0]])
    assert db.scan("cpu", start=50).points == 0


def test_list_series_metrics_stats_flush_compact(db: Db) -> None:
    db.write("b", A, [1], [1.0])
    db.write("a", B, [1], [1.0])
    db.write("a", A, [1], [1.0])
    assert db.metrics() == ["a", "b"]
    assert db.list_series() == [SeriesKey("a", A), SeriesKey("a", B), SeriesKey("b", A)]
    assert db.list_series("a") == [SeriesKey("a", A), SeriesKey("a", B)]
    db.flush()
    db.write("a", A, [2], [2.0])
    db.flush()
    assert db.stats()["segments"] == 2
    db.compact()
    stats = db.stats()
    assert stats["series"] == 3 and stats["segments"] == 1 and stats["points_written"] == 4
    assert stats["flushes"] == 2 and stats["compactions"] == 1
    assert db.scan("a").points == 3


def test_series_key() -> None:
    k = SeriesKey("cpu", {"b": "2", "a": "1"})
    assert k == SeriesKey("cpu", {"a": "1", "b": "2"}) and hash(k) == hash(SeriesKey("cpu", {"a": "1", "b": "2"}))
    assert k.tags == {"a": "1", "b": "2"}
    assert str(k) == "cpu{a=1,b=2}" and str(SeriesKey("m")) == "m"
    assert str(SeriesKey("a,b", {"k=": "{v}"})) == "a\\,b{k\\==\\{v\\}}"
    assert repr(k) == "SeriesKey('cpu', {'a': '1', 'b': '2'})"
    assert sorted([k, SeriesKey("b")]) == [SeriesKey("b"), k]
    assert {k: 1}[SeriesKey("cpu", {"a": "1", "b": "2"})] == 1


def test_to_pandas(db: Db) -> None:
    pd = pytest.importorskip("pandas")
    db.write("cpu", {"host": "a", "dc": "x"}, [1, 2], [1.0, 2.0])
    db.write("cpu", {"host": "b"}, [1], [3.0])
    df = db.scan("cpu").to_pandas()
    assert list(df.columns) == ["metric", "dc", "host", "timestamp", "value"]
    assert df["host"].tolist() == ["a", "a", "b"]
    assert df["dc"].isna().tolist() == [False, False, True]
    assert df["metric"].tolist() == ["cpu"] * 3
    assert df["timestamp"].dtype == np.int64 and df["value"].tolist() == [1.0, 2.0, 3.0]
    dt = db.scan("cpu").to_pandas(time_unit="s")["timestamp"]
    assert dt.iloc[0] == pd.Timestamp(1, unit="s")
    assert db.scan("none").to_pandas().shape == (0, 3)


def test_options_and_lifecycle(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with pytest.raises(ValueError, match="sync_mode must be"):
        Db(path, sync_mode="never")
    with pytest.raises(ValueError, match="sync_interval"):
        Db(path, sync_interval=0)
    with pytest.raises(ValueError, match="head_bytes must be at least 4096"):
        Db(path, head_bytes=10)
    with pytest.raises(ValueError, match="chunk_points"):
        Db(path, chunk_points=1)
    db = Db(
        path,
        sync_mode="always",
        head_bytes=1 << 20,
        max_frozen_heads=1,
        chunk_points=64,
        partition_width=1000,
        compaction_trigger=2,
        retention=100,
        background_work=False,
    )
    assert db.path == str(path) and "open" in repr(db)
    db.write("m", None, np.arange(1000), np.ones(1000))
    # Retention hides points older than the newest (999) minus 100.
    assert db.scan("m").timestamps[0] == 899
    db.close()
    assert db.closed and "closed" in repr(db)
    with pytest.raises(tidestore.ClosedError):
        db.scan("m")
    with pytest.raises(ValueError):  # ClosedError is a ValueError, like a closed file
        db.insert("m", 1, 1.0)
    with Db(path) as again:
        assert again.scan("m").points == 1000  # without retention, all of it
    assert again.closed
