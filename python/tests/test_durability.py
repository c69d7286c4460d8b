"""Data survives the process: a clean exit without close, and a SIGKILL after
acknowledged writes (the default sync mode promises both)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import run_python
from tidestore import KV, Db, LSMTree, TimeSeriesDB


def test_reopen_after_the_writing_process_exits(tmp_path: Path) -> None:
    run_python(
        """
        import numpy as np, tidestore
        db = tidestore.TimeSeriesDB('ts')
        db.add_data_point('t', 1, 1.5, {'k': 'v'})
        db.db.write('cpu', {'host': 'a'}, np.arange(5000), np.arange(5000) * 0.5)
        kv = tidestore.LSMTree('kv')
        kv.put('c', 'key', {'value': [1, 2]})
        # No close: the interpreter exits with the handles open.
        """,
        tmp_path,
    )
    with TimeSeriesDB(tmp_path / "ts") as db:
        assert db.query_by_metric("t") == [{"metric": "t", "timestamp": 1, "value": 1.5, "tags": {"k": "v"}}]
        res = db.db.scan("cpu")
        np.testing.assert_array_equal(res.timestamps, np.arange(5000))
        np.testing.assert_array_equal(res.values, np.arange(5000) * 0.5)
    with LSMTree(tmp_path / "kv") as kv:
        assert kv.get("c", "key") == {"value": [1, 2]}


CHILD = """
import sys, numpy as np, tidestore
db = tidestore.Db('db')
kv = tidestore.KV('kv')
i = 0
while True:
    db.write('m', {'s': str(i % 7)}, np.arange(i * 10, i * 10 + 10), np.full(10, float(i)))
    kv.put('c', b'%08d' % i, b'%d' % i)
    print(i, flush=True)  # acknowledged
    i += 1
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("after", [5, 300])
def test_acknowledged_writes_survive_sigkill(tmp_path: Path, after: int) -> None:
    for _round in range(2):  # the second round writes over what the first recovered
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(CHILD)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        acked = -1
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while acked < after and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert acked >= after, proc.stderr.read() if proc.stderr else ""
        with Db(tmp_path / "db") as db:
            res = db.scan("m")
            got = dict(zip(res.timestamps.tolist(), res.values.tolist()))
            for i in range(acked + 1):
                for t in range(i * 10, i * 10 + 10):
                    assert got[t] == float(i)
        with KV(tmp_path / "kv") as kv:
            for i in range(acked + 1):
                assert kv.get("c", b"%08d" % i) == b"%d" % i
