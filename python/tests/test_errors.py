"""The exception classes, and damaged files reported as tidestore.CorruptionError."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest

import tidestore
from tidestore import KV, Db


def test_hierarchy() -> None:
    E = tidestore
    for cls in (E.InvalidArgumentError, E.NotFoundError, E.CorruptionError, E.UnsupportedVersionError,
                E.LockedError, E.PoisonedError, E.IoError, E.ClosedError):
        assert issubclass(cls, E.Error)
    assert issubclass(E.InvalidArgumentError, ValueError)
    assert issubclass(E.ClosedError, ValueError)
    assert issubclass(E.NotFoundError, KeyError)
    assert issubclass(E.IoError, OSError)
    assert not issubclass(E.CorruptionError, ValueError)


def test_io_errors_are_oserrors(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    for opener in (Db, KV):
        with pytest.raises(OSError) as e:
            opener(not_a_dir)
        assert isinstance(e.value, tidestore.IoError)
        assert e.value.errno in (errno.EEXIST, errno.ENOTDIR)


def flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def only(paths):
    paths = list(paths)
    assert len(paths) == 1, paths
    return paths[0]


def test_damaged_segment_is_a_corruption_error(db_path: Path) -> None:
    with Db(db_path) as db:
        for h in range(20):
            db.write("cpu", {"host": str(h)}, np.arange(10_000), np.random.default_rng(h).random(10_000))
        db.compact()
    before = set(db_path.iterdir())
    segment = max((p for p in before if p.is_file()), key=lambda p: p.stat().st_size)
    flip_middle(segment)
    with pytest.raises(tidestore.CorruptionError) as e:
        with Db(db_path) as db:
            for h in range(20):
                db.scan("cpu", {"host": str(h)})
    assert Path(e.value.file).name == segment.name
    assert isinstance(e.value.offset, int) and e.value.what
    assert segment.name in str(e.value)


def test_damaged_sstable_is_a_corruption_error(tmp_path: Path) -> None:
    path = tmp_path / "kv"
    with KV(path) as kv:
        for i in range(20_000):
            kv.put("cf", b"%08d" % i, b"value %d" % i * 3)
        kv.compact()
    table = max((p for p in path.iterdir() if p.is_file()), key=lambda p: p.stat().st_size)
    flip_middle(table)
    with pytest.raises(tidestore.CorruptionError) as e:
        with KV(path) as kv:
            list(kv.range("cf"))
    assert Path(e.value.file).name == table.name
