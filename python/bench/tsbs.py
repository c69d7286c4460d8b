"""TSBS devops cpu-only from Python: ingest and full scans through the numpy layer
(tidestore.Db) beside the same through the seed-compatible calls (TimeSeriesDB).

    python python/bench/tsbs.py                 # full size: 100 hosts, 24 h (8.64 M points)
    python python/bench/tsbs.py --hosts 10 --hours 2   # quick

The data set is that of examples/tsbs.rs: 100 hosts with ten tags each (hostname,
region, datacenter, rack, os, arch, team, service, service_version,
service_environment) and the ten cpu fields as metrics cpu_usage_user, ...: 1,000
series, one point every 10 s for 24 h from 2016-01-01T00:00:00Z (Unix seconds), values
a random walk in [0, 100] rounded to two decimals (numpy's generator here, so the
values differ from the Rust benchmark's, not their shape).

What is timed is what a user does with data already in memory as numpy arrays (one
row of values per series) or, for the seed-compatible path, as Python dicts, which
the user must build, so building them is timed. Data arrives in time order (every
series at t, then t + 10 s) except for the "whole day per series" row, which writes
each series' 8,640 points in one call. WAL on, default sync mode (interval, 100 ms).

The seed-compatible calls are too slow for the full set (and its dicts would take
several GB), so they run on the first --seed-hours hours (all 1,000 series) and the
rate is reported as measured on that subset (points/s does not depend on the size).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

import tidestore

FIELDS = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_nice",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
]
REGIONS = [
    "us-east-1", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1",
    "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1",
]
START = 1_451_606_400  # 2016-01-01T00:00:00Z
STEP = 10  # seconds between two points of a series
BATCH = 10_000  # points per call in arrival order


class Dataset:
    """``metrics[i]``, ``tags[i]`` and ``values[i, :]`` describe series i."""

    def __init__(self, hosts: int, steps: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.metrics: List[str] = []
        self.tags: List[Dict[str, str]] = []
        for h in range(hosts):
            region = str(rng.choice(REGIONS))
            host_tags = {
                "hostname": f"host_{h}",
                "region": region,
                "datacenter": region + str(rng.choice(list("abc"))),
                "rack": str(rng.integers(100)),
                "os": str(rng.choice(["Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"])),
                "arch": str(rng.choice(["x64", "x86"])),
                "team": str(rng.choice(["SF", "NYC", "LON", "CHI"])),
                "service": str(rng.integers(20)),
                "service_version": str(rng.integers(2)),
                "service_environment": str(rng.choice(["production", "staging", "test"])),
            }
            for field in FIELDS:
                self.metrics.append(f"cpu_{field}")
                self.tags.append(host_tags)
        n = len(self.metrics)
        self.timestamps = START + STEP * np.arange(steps, dtype=np.int64)
        walk = np.empty((n, steps))
        v = rng.uniform(0, 100, n)
        steps_normal = rng.standard_normal((steps, n))
        for t in range(steps):
            walk[:, t] = v
            v = np.clip(v + steps_normal[t], 0.0, 100.0)
        self.values = np.round(walk, 2)

    @property
    def points(self) -> int:
        return self.values.size


def timed(f: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def fresh(base: Path, name: str) -> Path:
    path = base / name
    shutil.rmtree(path, ignore_errors=True)
    return path


# Ingest paths. Each returns (points written, seconds).


def ingest_whole_series(ds: Dataset, path: Path) -> Tuple[int, float]:
    """Db.write: one call per series with all of its points."""
    with tidestore.Db(path) as db:
        def run() -> None:
            for metric, tags, row in zip(ds.metrics, ds.tags, ds.values):
                db.write(metric, tags, ds.timestamps, row)
        return ds.points, timed(run)


def ingest_blocks(ds: Dataset, path: Path) -> Tuple[int, float]:
    """Db.series once per series, then Db.write_block of every series at 10
    timestamps (10,000 points) per call, in time order."""
    with tidestore.Db(path) as db:
        per_call = max(1, BATCH // len(ds.metrics))

        def run() -> None:
            handles = [db.series(m, t) for m, t in zip(ds.metrics, ds.tags)]
            for t in range(0, ds.timestamps.size, per_call):
                db.write_block(handles, ds.timestamps[t:t + per_call], ds.values[:, t:t + per_call])
        return ds.points, timed(run)


def seed_points(ds: Dataset, steps: int) -> List[List[dict]]:
    """The subset's points as the seed's dicts, in batches of BATCH, in time order."""
    out: List[List[dict]] = []
    batch: List[dict] = []
    for t in range(steps):
        ts = int(ds.timestamps[t])
        column = ds.values[:, t].tolist()
        for metric, tags, v in zip(ds.metrics, ds.tags, column):
            batch.append({"metric": metric, "timestamp": ts, "value": v, "tags": tags})
            if len(batch) == BATCH:
                out.append(batch)
                batch = []
    if batch:
        out.append(batch)
    return out


def ingest_seed_batches(ds: Dataset, path: Path, steps: int) -> Tuple[int, float]:
    """TimeSeriesDB.add_data_points, 10,000 dicts per call, building the dicts timed."""
    with tidestore.TimeSeriesDB(path) as db:
        def run() -> None:
            for batch in seed_points(ds, steps):
                db.add_data_points(batch)
        return len(ds.metrics) * steps, timed(run)


def ingest_seed_points(ds: Dataset, path: Path, steps: int) -> Tuple[int, float]:
    """TimeSeriesDB.add_data_point, one point per call."""
    with tidestore.TimeSeriesDB(path) as db:
        def run() -> None:
            for t in range(steps):
                ts = int(ds.timestamps[t])
                for metric, tags, v in zip(ds.metrics, ds.tags, ds.values[:, t].tolist()):
                    db.add_data_point(metric, ts, v, tags)
        return len(ds.metrics) * steps, timed(run)


# Reads, on the database written by ingest_whole_series, flushed, compacted, reopened.


def best_of(n: int, f: Callable[[], int]) -> Tuple[int, float]:
    best = float("inf")
    points = 0
    for _ in range(n):
        t0 = time.perf_counter()
        points = f()
        best = min(best, time.perf_counter() - t0)
    return points, best


def scan_numpy(db: tidestore.Db, metrics: List[str]) -> int:
    total = 0
    for m in metrics:
        res = db.scan(m)
        total += res.points
    return total


def scan_seed(tsdb: tidestore.TimeSeriesDB, metrics: List[str], end: int) -> int:
    total = 0
    for m in metrics:
        total += len(tsdb.query_range(m, START, end))
    return total


def range_queries(ds: Dataset, db: tidestore.Db, tsdb: tidestore.TimeSeriesDB, n: int, seed: int) -> Dict[str, Tuple[float, float]]:
    """Median and p99 latency (µs) of n 1-hour queries of one series, both ways."""
    rng = np.random.default_rng(seed)
    hours = ds.timestamps.size * STEP // 3600
    out: Dict[str, Tuple[float, float]] = {}
    queries = []
    for _ in range(n):
        i = int(rng.integers(len(ds.metrics)))
        start = START + 3600 * int(rng.integers(max(1, hours)))
        queries.append((ds.metrics[i], {"hostname": ds.tags[i]["hostname"]}, start, start + 3600 - 1))
    for name, call in (
        ("scan", lambda q: db.scan(q[0], q[1], q[2], q[3])),
        ("query_range", lambda q: tsdb.query_range(q[0], q[2], q[3], q[1])),
    ):
        times = []
        for q in queries:
            t0 = time.perf_counter()
            call(q)
            times.append(time.perf_counter() - t0)
        times.sort()
        out[name] = (statistics.median(times) * 1e6, times[int(len(times) * 0.99)] * 1e6)
    return out


def machine() -> str:
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{model}; {os.cpu_count()} cores (nproc); Python {platform.python_version()}, "
        f"numpy {np.__version__}, tidestore {tidestore.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--seed-hours", type=float, default=1, help="hours of the subset for the seed-compatible calls")
    ap.add_argument("--single-hours", type=float, default=0.25, help="hours of the subset for add_data_point")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dir", type=Path, default=None, help="working directory (default: a temporary one)")
    args = ap.parse_args()

    steps = int(args.hours * 3600 / STEP)
    seed_steps = min(steps, int(args.seed_hours * 3600 / STEP))
    single_steps = min(steps, int(args.single_hours * 3600 / STEP))
    base = args.dir or Path(tempfile.mkdtemp(prefix="tidestore-pybench-"))
    base.mkdir(parents=True, exist_ok=True)

    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    ds = Dataset(args.hosts, steps, args.seed)
    print(
        f"data: {len(ds.metrics)} series x {steps} points = {ds.points:,} points "
        f"(generated in {time.perf_counter() - t0:.1f} s, not timed)"
    )
    rows: List[Tuple[str, str]] = []

    def rate(points: int, secs: float) -> str:
        return f"{points / secs / 1e6:.2f} M points/s ({points:,} in {secs:.2f} s)"

    n, s = ingest_whole_series(ds, fresh(base, "whole"))
    rows.append(("ingest, Db.write, whole day per series (1 call per series)", rate(n, s)))
    n, s = ingest_blocks(ds, fresh(base, "blocks"))
    rows.append((f"ingest, Db.write_block, time order ({BATCH:,} points per call)", rate(n, s)))
    n, s = ingest_seed_batches(ds, fresh(base, "seed_batches"), seed_steps)
    rows.append((f"ingest, TimeSeriesDB.add_data_points ({BATCH:,} dicts per call; first {args.seed_hours:g} h)", rate(n, s)))
    n, s = ingest_seed_points(ds, fresh(base, "seed_points"), single_steps)
    rows.append((f"ingest, TimeSeriesDB.add_data_point (1 per call; first {args.single_hours:g} h)", rate(n, s)))

    path = base / "whole"
    with tidestore.Db(path) as db:
        db.compact()
    metrics = sorted(set(ds.metrics))
    with tidestore.TimeSeriesDB(path) as tsdb:
        db = tsdb.db
        n, s = best_of(3, lambda: scan_numpy(db, metrics))
        assert n == ds.points, (n, ds.points)
        rows.append(("full scan into numpy, Db.scan per metric (best of 3)", rate(n, s)))
        end = START + seed_steps * STEP - 1
        n, s = best_of(3, lambda: scan_seed(tsdb, metrics, end))
        assert n == len(ds.metrics) * seed_steps, n
        rows.append((f"read as dicts, TimeSeriesDB.query_range per metric (first {args.seed_hours:g} h; best of 3)", rate(n, s)))
        lat = range_queries(ds, db, tsdb, args.queries, args.seed)
        for name, (median, p99) in lat.items():
            what = "Db.scan" if name == "scan" else "TimeSeriesDB.query_range"
            rows.append((f"1-hour query of one series, {what}: median / p99", f"{median:.1f} µs / {p99:.1f} µs"))

    width = max(len(r[0]) for r in rows)
    print()
    print(f"| {'figure'.ljust(width)} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
