"""The numpy layer and the seed-compatible layer agree, and both agree with a plain
Python model, on random data: random series, points out of order, overwrites,
deletes, flushes, a compaction and a reopen, then random queries."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest

from tidestore import Db, TimeSeriesDB

METRICS = ["cpu", "mem", "disk"]
HOSTS = ["h0", "h1", "h2", "h3"]
REGIONS = ["eu", "us"]

Model = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], Dict[int, float]]


def random_tags(rng: np.random.Generator) -> Dict[str, str]:
    tags = {"host": str(rng.choice(HOSTS))}
    if rng.random() < 0.5:
        tags["region"] = str(rng.choice(REGIONS))
    return tags


def model_points(model: Model, metric: str, start: int, end: int, tags: Dict[str, str]) -> List[dict]:
    out = []
    for (m, key_tags), points in model.items():
        d = dict(key_tags)
        if m != metric or any(d.get(k) != v for k, v in tags.items()):
            continue
        for ts, v in points.items():
            if start <= ts <= end:
                out.append({"metric": m, "timestamp": ts, "value": v, "tags": d})
    # The seed's order: by timestamp, then by series.
    out.sort(key=lambda p: (p["timestamp"], tuple(sorted(p["tags"].items()))))
    return out


def from_scan(db: Db, metric: str, start: int, end: int, tags: Dict[str, str]) -> List[dict]:
    res = db.scan(metric, tags, start, end)
    out = []
    for key, ts, vals in res:
        assert np.all(np.diff(ts) > 0)
        out += [{"metric": key.metric, "timestamp": int(t), "value": float(v), "tags": key.tags} for t, v in zip(ts, vals)]
    out.sort(key=lambda p: (p["timestamp"], tuple(sorted(p["tags"].items()))))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numpy_and_seed_results_agree_with_a_model(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    path = tmp_path / "db"
    model: Model = {}
    tsdb = TimeSeriesDB(path, chunk_points=16, head_bytes=64 << 10)
    db = tsdb.db
    for round_ in range(6):
        for _ in range(20):
            metric, tags = str(rng.choice(METRICS)), random_tags(rng)
            key = (metric, tuple(sorted(tags.items())))
            n = int(rng.integers(1, 200))
            ts = rng.integers(-500, 500, n)
            vals = np.round(rng.normal(50, 20, n), 2)
            kind = rng.integers(0, 3)
            if kind == 0:
                db.write(metric, tags, ts, vals)
            elif kind == 1:
                tsdb.add_data_points(
                    [{"metric": metric, "timestamp": int(t), "value": float(v), "tags": tags} for t, v in zip(ts, vals)]
                )
            else:
                db.append(db.series(metric, tags), ts, vals)
            series = model.setdefault(key, {})
            for t, v in zip(ts.tolist(), vals.tolist()):
                series[t] = v
        # Deletes over a random range of a random filter.
        metric = str(rng.choice(METRICS))
        filt = {"host": str(rng.choice(HOSTS))} if rng.random() < 0.7 else {}
        lo = int(rng.integers(-500, 500))
        hi = lo + int(rng.integers(0, 200))
        db.delete_range(metric, lo, hi, filt)
        for (m, key_tags), points in model.items():
            d = dict(key_tags)
            if m == metric and all(d.get(k) == v for k, v in filt.items()):
                for t in [t for t in points if lo <= t <= hi]:
                    del points[t]
        if round_ % 2 == 1:
            db.flush()
        if round_ == 3:
            db.compact()
        if round_ == 4:
            tsdb.close()
            tsdb = TimeSeriesDB(path, chunk_points=16)
            db = tsdb.db

        for _ in range(15):
            metric = str(rng.choice(METRICS))
            start = int(rng.integers(-600, 600))
            end = start + int(rng.integers(0, 600))
            filt = {} if rng.random() < 0.3 else {"host": str(rng.choice(HOSTS))}
            if rng.random() < 0.3:
                filt["region"] = str(rng.choice(REGIONS))
            expected = model_points(model, metric, start, end, filt)
            assert tsdb.query_range(metric, start, end, filt or None) == expected
            assert from_scan(db, metric, start, end, filt) == expected
        for metric in METRICS:
            expected = model_points(model, metric, -(2**63), 2**63 - 1, {})
            assert tsdb.query_by_metric(metric) == expected
            assert from_scan(db, metric, -(2**63), 2**63 - 1, {}) == expected
        expected_keys = sorted({f"{m}:{t}" for (m, _), pts in model.items() for t in pts})
        assert tsdb.list_all_keys() == expected_keys
    tsdb.close()
