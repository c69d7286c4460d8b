"""tidestore.LSMTree: every method of the seed's class, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import tidestore
from tidestore import LSMTree


@pytest.fixture
def tree(tmp_path: Path):
    with LSMTree(tmp_path / "lsm") as t:
        yield t


VALUES = [
    {"value": 2},
    [1, "two", 3.5, None, True],
    "text with ünïcode ✓",
    42,
    -0.5,
    False,
    {"nested": {"list": [1, {"deep": None}]}, "e": 1e300},
]


def test_put_get_json_values(tree: LSMTree) -> None:
    for i, v in enumerate(VALUES):
        tree.put("c", f"k{i}", v)
    for i, v in enumerate(VALUES):
        assert tree.get("c", f"k{i}") == v
    assert tree.get("c", "absent") is None
    assert tree.get("no-such-family", "k0") is None
    # Stored as JSON text, as the seed did: a tuple comes back as a list.
    tree.put("c", "t", (1, 2))
    assert tree.get("c", "t") == [1, 2]
    assert tree.kv.get("c", "k0") == b'{"value": 2}'


def test_put_overwrites_and_delete(tree: LSMTree) -> None:
    tree.put("c", "k", 1)
    tree.put("c", "k", {"v": 2})
    assert tree.get("c", "k") == {"v": 2}
    tree.delete("c", "k")
    assert tree.get("c", "k") is None
    tree.delete("c", "k")  # absent: nothing happens
    tree.delete("other", "k")


def test_query_is_inclusive_in_key_order(tree: LSMTree) -> None:
    for i in range(1000):
        tree.put("column1", f"key{i}", {"value": i})
    assert tree.query("column1", "key0", "key10") == [
        ("key0", {"value": 0}),
        ("key1", {"value": 1}),
        ("key10", {"value": 10}),
    ]
    got = tree.query("column1", "key5", "key6")
    assert [k for k, _ in got] == sorted(f"key{i}" for i in range(1000) if "key5" <= f"key{i}" <= "key6")
    assert len(tree.query("column1", "", "\U0010ffff")) == 1000
    assert tree.query("column1", "key9", "key1") == []
    assert tree.query("column1", "x", "y") == []
    assert tree.query("other", "a", "z") == []


def test_keys_come_back_as_str_or_bytes_when_not_utf8(tree: LSMTree) -> None:
    tree.put("c", "ключ", 1)
    tree.put("c", b"\xff\xfe", 2)
    tree.put("c", b"plain", 3)
    assert tree.get("c", b"\xff\xfe") == 2
    assert tree.get("c", "plain") == 3
    assert tree.query("c", b"", b"\xff\xff") == [("plain", 3), ("ключ", 1), (b"\xff\xfe", 2)]


def test_column_families_are_separate(tree: LSMTree) -> None:
    tree.put("a", "k", 1)
    tree.put("b", "k", 2)
    assert (tree.get("a", "k"), tree.get("b", "k")) == (1, 2)
    assert tree.kv.column_families() == ["a", "b"]


def test_errors(tree: LSMTree) -> None:
    with pytest.raises(TypeError):
        tree.put("c", "k", object())
    with pytest.raises(TypeError, match="expected bytes or str"):
        tree.put("c", 5, 1)
    with pytest.raises(ValueError, match="column family name is empty"):
        tree.put("", "k", 1)
    with pytest.raises(ValueError, match="the limit is 65536"):
        tree.put("c", "k" * 70_000, 1)
    assert tree.kv.column_families() == []


def test_survives_reopen_and_flush(tmp_path: Path) -> None:
    path = tmp_path / "lsm"
    with LSMTree(path, memtable_entries=100) as t:
        for i in range(500):
            t.put("c", f"k{i:03}", i)
        t.delete("c", "k007")
    with LSMTree(path) as t:
        assert t.get("c", "k499") == 499
        assert t.get("c", "k007") is None
        assert len(t.query("c", "k000", "k999")) == 499
        assert t.kv.stats()["flushes"] >= 0
    with pytest.raises(tidestore.ClosedError):
        t.get("c", "k1")
