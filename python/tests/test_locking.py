"""A database open in one handle is refused to a second one, in this process or in
another, with tidestore.LockedError."""

from __future__ import annotations

from pathlib import Path

import pytest

import tidestore
from conftest import run_python
from tidestore import KV, Db, LSMTree, TimeSeriesDB


@pytest.mark.parametrize("opener", [Db, TimeSeriesDB, KV, LSMTree])
def test_second_handle_in_this_process(tmp_path: Path, opener) -> None:
    path = tmp_path / "d"
    first = opener(path)
    with pytest.raises(tidestore.LockedError, match="is locked by another open handle") as e:
        opener(path)
    assert isinstance(e.value, tidestore.Error)
    assert e.value.path == str(path)
    first.close()
    opener(path).close()  # free again once closed


def test_second_handle_in_another_process(tmp_path: Path) -> None:
    with Db(tmp_path / "d"):
        out = run_python(
            """
            import tidestore
            try:
                tidestore.Db('d')
            except tidestore.LockedError as e:
                print('locked', type(e).__name__)
            """,
            tmp_path,
        ).stdout
        assert out == "locked LockedError\n"
    out = run_python("import tidestore; tidestore.Db('d').close(); print('ok')", tmp_path).stdout
    assert out == "ok\n"
