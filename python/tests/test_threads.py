"""Handles shared by Python threads: concurrent writers and readers, close while in
use, and the GIL released during engine calls."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np

import tidestore
from tidestore import KV, Db, TimeSeriesDB


def run_threads(n, target):
    errors = []

    def wrap(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_writers_and_readers_share_a_db(db_path: Path) -> None:
    tsdb = TimeSeriesDB(db_path, head_bytes=256 << 10)
    db = tsdb.db
    per_thread = 40

    def work(i):
        s = db.series("m", {"thread": str(i)})
        for j in range(per_thread):
            ts = np.arange(j * 100, j * 100 + 100)
            if j % 3 == 0:
                db.write("m", {"thread": str(i)}, ts, np.full(100, float(i)))
            elif j % 3 == 1:
                db.append(s, ts, np.full(100, float(i)))
            else:
                tsdb.add_data_points([{"metric": "m", "timestamp": int(t), "value": float(i), "tags": {"thread": str(i)}} for t in ts])
            # A reader sees whole writes only: every series' count is a multiple of 100.
            res = db.scan("m")
            assert all(int(n) % 100 == 0 for n in np.diff(res.offsets))
            if j % 10 == 0:
                db.flush()

    run_threads(8, work)
    res = db.scan("m")
    assert len(res) == 8 and res.points == 8 * per_thread * 100
    for key, _ts, vals in res:
        assert np.all(vals == float(key.tags["thread"]))
    tsdb.close()


def test_kv_shared_by_threads(tmp_path: Path) -> None:
    with KV(tmp_path / "kv", memtable_entries=500) as kv:
        def work(i):
            for j in range(1000):
                kv.put("cf", f"{i}:{j:05}", str(j))
                if j % 100 == 0:
                    assert len(list(kv.range("cf", f"{i}:", f"{i};"))) == j + 1

        run_threads(6, work)
        assert len(list(kv.range("cf"))) == 6000


def test_close_waits_for_calls_in_progress(db_path: Path) -> None:
    db = Db(db_path)
    db.write("m", None, np.arange(200_000), np.ones(200_000))
    stop = threading.Event()
    outcomes = []

    def reader():
        # Scans until one is refused: a scan in progress when `close` runs finishes
        # whole, and the next one after it is refused (`stop` only bounds a hang).
        while not stop.is_set():
            try:
                outcomes.append(db.scan("m").points)
            except tidestore.ClosedError:
                outcomes.append("closed")
                return

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.05)
    db.close()
    t.join(timeout=60)
    stop.set()
    t.join()
    # Every scan before the close was whole; the first one after it was refused.
    assert outcomes[-1] == "closed"
    assert all(o == 200_000 for o in outcomes[:-1])


def test_engine_calls_release_the_gil(db_path: Path) -> None:
    # With a huge switch interval a thread holding the GIL is never made to give it
    # up, so the counter thread runs during a call only if the call releases the GIL.
    with Db(db_path, sync_mode="always") as db:
        db.write("m", None, np.arange(2_000_000), np.random.default_rng(0).random(2_000_000))
        counter = [0]
        stop = threading.Event()

        def count():
            while not stop.is_set():
                counter[0] += 1
                time.sleep(0.0001)  # releases the GIL between increments

        old = sys.getswitchinterval()
        t = threading.Thread(target=count)
        t.start()
        time.sleep(0.01)
        sys.setswitchinterval(1000.0)
        try:
            progress = []
            for call in (lambda: db.scan("m"), db.compact):
                before = counter[0]
                call()
                progress.append(counter[0] - before)
        finally:
            sys.setswitchinterval(old)
            stop.set()
            t.join()
        assert all(p > 0 for p in progress), progress
