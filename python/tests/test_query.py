"""tidestore.Db.query / last / write_lines: the engine's analytics and line protocol
from Python, checked against numpy computations over the same data and the scan."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tidestore
from tidestore import Db, LineSummary, QueryResult

HOSTS = ["h0", "h1", "h2", "h3"]
REGION = {"h0": "eu-west", "h1": "eu-north", "h2": "us-east", "h3": "us-east"}


@pytest.fixture
def db(db_path: Path):
    with Db(db_path) as d:
        yield d


def fill(db: Db, seed: int = 7, n: int = 500) -> dict:
    """Random points for four hosts (irregular timestamps, some repeated); returns
    ``{host: (timestamps, values)}`` as stored (last write wins, sorted)."""
    rng = np.random.default_rng(seed)
    stored = {}
    for h in HOSTS:
        ts = rng.integers(-50, 2_000, size=n).astype(np.int64)
        vs = np.round(rng.normal(50, 30, size=n), 2)
        db.write("cpu", {"host": h, "region": REGION[h]}, ts, vs)
        last = {}
        for t, v in zip(ts.tolist(), vs.tolist()):
            last[t] = v
        keys = np.array(sorted(last), dtype=np.int64)
        stored[h] = (keys, np.array([last[t] for t in keys.tolist()]))
    return stored


def buckets(ts: np.ndarray, vs: np.ndarray, every: int, fn) -> dict:
    out = {}
    starts = (ts // every) * every
    for b in np.unique(starts):
        out[int(b)] = fn(vs[starts == b])
    return out


def as_dict(g) -> dict:
    return dict(zip(g.timestamps.tolist(), g.values.tolist()))


@pytest.mark.parametrize(
    "agg,fn",
    [
        ("max", np.max),
        ("min", np.min),
        ("sum", np.sum),
        ("count", lambda v: float(len(v))),
        ("mean", np.mean),
    ],
)
def test_bucketed_aggregations_match_numpy(db: Db, agg, fn) -> None:
    stored = fill(db)
    db.flush()
    res = db.query("cpu", agg, every=60)
    assert isinstance(res, QueryResult)
    assert [g.tags for g in res] == [{"host": h, "region": REGION[h]} for h in HOSTS]
    for g, h in zip(res, HOSTS):
        want = buckets(*stored[h], 60, fn)
        got = as_dict(g)
        assert list(got) == sorted(want)
        for b in want:
            assert got[b] == pytest.approx(want[b], rel=1e-12, abs=1e-9)


def test_first_last_and_range(db: Db) -> None:
    stored = fill(db)
    res = db.query("cpu", "first", start=100, end=999, tags={"host": "h2"})
    (g,) = list(res)
    ts, vs = stored["h2"]
    inside = (ts >= 100) & (ts <= 999)
    assert g.timestamps.tolist() == [100]  # one bucket: the range start as given
    assert g.values[0] == vs[inside][0]
    res = db.query("cpu", "last", start=100, end=999, tags={"host": "h2"})
    assert res[0].values[0] == vs[inside][-1]


def test_matchers_of_every_kind(db: Db) -> None:
    fill(db)

    def hosts(**kw) -> list:
        return [g.tags["host"] for g in db.query("cpu", "count", **kw)]

    assert hosts(match=[("region", "=~", "eu-.*")]) == ["h0", "h1"]
    assert hosts(match=[("region", "!~", "eu-.*")]) == ["h2", "h3"]
    assert hosts(match=[("host", "!=", "h1")]) == ["h0", "h2", "h3"]
    assert hosts(match=[("host", "in", ["h3", "h0", "nope"])]) == ["h0", "h3"]
    assert hosts(match=[("host", "=", "h1")]) == ["h1"]
    # Fully anchored, and a missing tag is the empty string.
    assert hosts(match=[("region", "=~", "eu")]) == []
    assert hosts(match=[("team", "=~", "")]) == HOSTS
    assert hosts(match=[("team", "!=", "x")]) == HOSTS
    assert hosts(tags={"region": "us-east"}, match=[("host", "!=", "h2")]) == ["h3"]
    assert db.query("nothing", "max").groups == []


def test_group_by(db: Db) -> None:
    stored = fill(db)
    res = db.query("cpu", "max", group_by=["region"])
    assert res.groups == [
        (("region", "eu-north"),),
        (("region", "eu-west"),),
        (("region", "us-east"),),
    ]
    us = np.concatenate([stored["h2"][1], stored["h3"][1]])
    assert res[2].values.tolist() == [us.max()]
    everything = db.query("cpu", "count", group_by=[])
    assert everything.groups == [()]
    assert everything.values.tolist() == [float(sum(len(t) for t, _ in stored.values()))]


def test_value_predicate_and_raw_points(db: Db) -> None:
    stored = fill(db)
    raw = db.query("cpu", None, where=(">", 90.0), tags={"host": "h1"})
    ts, vs = stored["h1"]
    assert raw[0].timestamps.tolist() == ts[vs > 90.0].tolist()
    assert raw[0].values.tolist() == vs[vs > 90.0].tolist()
    counted = db.query("cpu", "count", where=("between", 10.0, 20.0), tags={"host": "h1"})
    assert counted.values.tolist() == [float(((vs >= 10.0) & (vs <= 20.0)).sum())]


def test_scan_where_keeps_the_passing_rows(db: Db) -> None:
    stored = fill(db)
    db.flush()
    got = db.scan("cpu", {"host": "h2"}, where=(">=", 75.5))
    ts, vs = stored["h2"]
    assert got.timestamps.tolist() == ts[vs >= 75.5].tolist()
    assert got.values.tolist() == vs[vs >= 75.5].tolist()
    every = db.scan("cpu", where=("between", 0.0, 1e9))
    assert len(every.timestamps) == sum(int((v >= 0.0).sum()) for _, v in stored.values())
    assert len(db.scan("cpu", where=("<", -1e9)).timestamps) == 0
    with pytest.raises(TypeError):
        db.scan("cpu", where=("above", 1.0))
    with pytest.raises(tidestore.InvalidArgumentError):
        db.scan("cpu", where=("between", 2.0, 1.0))


def test_value_at_is_the_point_of_one_series(db: Db) -> None:
    stored = fill(db)
    db.flush()
    ts, vs = stored["h0"]
    tags = {"region": REGION["h0"], "host": "h0"}
    for t, v in list(zip(ts.tolist(), vs.tolist()))[:50]:
        assert db.value_at("cpu", tags, t) == v
    missing = sorted(set(range(-50, 2_000)) - set(ts.tolist()))[:5]
    assert all(db.value_at("cpu", tags, t) is None for t in missing)
    # A subset of the tags names another (absent) series.
    assert db.value_at("cpu", {"host": "h0"}, int(ts[0])) is None
    with pytest.raises(tidestore.InvalidArgumentError):
        db.value_at("", tags, 0)


def test_last_is_the_newest_point_of_each_series(db: Db) -> None:
    stored = fill(db)
    db.flush()
    db.insert("cpu", 5_000, -1.0, {"host": "h3", "region": "us-east"})
    res = db.last("cpu")
    assert [g.tags["host"] for g in res] == HOSTS
    for g, h in zip(res, HOSTS):
        ts, vs = stored[h]
        want = (5_000, -1.0) if h == "h3" else (int(ts[-1]), float(vs[-1]))
        assert (g.timestamps.tolist(), g.values.tolist()) == ([want[0]], [want[1]])
    assert [g.tags["host"] for g in db.last("cpu", match=[("region", "=~", "us-.*")])] == [
        "h2",
        "h3",
    ]
    db.delete_range("cpu", 5_000, 5_000, {"host": "h3"})
    assert db.last("cpu", {"host": "h3"})[0].timestamps.tolist() == [int(stored["h3"][0][-1])]


def test_query_errors(db: Db) -> None:
    fill(db, n=10)
    with pytest.raises(tidestore.InvalidArgumentError):
        db.query("cpu", "maximum")
    with pytest.raises(tidestore.InvalidArgumentError):
        db.query("cpu", "max", match=[("host", "=~", "(")])
    with pytest.raises(ValueError, match="operator"):
        db.query("cpu", "max", match=[("host", "~", "a")])
    with pytest.raises(TypeError):
        db.query("cpu", "max", match=[("host", "in", "a")])
    with pytest.raises(TypeError):
        db.query("cpu", "max", where=("above", 1.0))
    with pytest.raises(ValueError):
        db.query("cpu", "max", every=0)
    with pytest.raises(ValueError):
        db.query("cpu", "max", start=10, end=5)


def test_write_lines(db: Db) -> None:
    text = (
        "# a comment\n"
        "cpu,host=a usage_user=58i,usage_idle=24.5,ok=true,note=\"x y\" 1704067200000\n"
        "\n"
        "temp value=21.5 1704067200001\n"
    )
    summary = db.write_lines(text, precision="ms")
    assert summary == LineSummary(points=4, lines=2, skipped_string_fields=1)
    assert db.scan("cpu_usage_user", {"host": "a"}).values.tolist() == [58.0]
    assert db.scan("cpu_ok").values.tolist() == [1.0]
    assert db.scan("temp").timestamps.tolist() == [1704067200001]


def test_write_lines_refuses_a_bad_line_and_writes_nothing(db: Db) -> None:
    with pytest.raises(tidestore.InvalidArgumentError) as e:
        db.write_lines("good value=1 1\nbad,host=a value= 2\n")
    assert re.search(r"line 2", str(e.value))
    assert db.scan("good").points == 0
    with pytest.raises(ValueError):
        db.write_lines("x value=1 1\n", precision="minutes")


def test_query_to_pandas(db: Db) -> None:
    pd = pytest.importorskip("pandas")
    fill(db, n=50)
    df = db.query("cpu", "mean", every=500, group_by=["region"]).to_pandas()
    assert list(df.columns) == ["region", "timestamp", "value"]
    assert set(df["region"]) == {"eu-west", "eu-north", "us-east"}
