"""tidestore.TimeSeriesDB: every method of the seed's class, and its errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import tidestore
from tidestore import TimeSeriesDB

OFFICE = {"location": "office"}
LAB = {"location": "lab"}


@pytest.fixture
def db(db_path: Path):
    with TimeSeriesDB(db_path) as d:
        yield d


def point(metric, ts, value, tags):
    return {"metric": metric, "timestamp": ts, "value": value, "tags": tags}


def test_add_get_update(db: TimeSeriesDB) -> None:
    db.add_data_point("temperature", 100, 23.5, OFFICE)
    assert db.get_data_point("temperature", 100) == 23.5
    assert isinstance(db.get_data_point("temperature", 100), float)
    db.update_data_point("temperature", 100, 24.0, OFFICE)
    assert db.get_data_point("temperature", 100) == 24.0
    # Absent timestamp, absent metric: None, as the seed returned.
    assert db.get_data_point("temperature", 101) is None
    assert db.get_data_point("pressure", 100) is None


def test_add_replaces_and_tags_are_optional(db: TimeSeriesDB) -> None:
    db.add_data_point("t", 1, 1.0)
    db.add_data_point("t", 1, 2)  # an int value is stored as a float
    assert db.query_by_metric("t") == [point("t", 1, 2.0, {})]
    assert type(db.query_by_metric("t")[0]["value"]) is float


def test_get_data_point_with_several_series(db: TimeSeriesDB) -> None:
    db.add_data_point("t", 5, 1.0, OFFICE)
    db.add_data_point("t", 5, 2.0, LAB)
    # The first series in key order (lab < office); tags narrow it.
    assert db.get_data_point("t", 5) == 2.0
    assert db.get_data_point("t", 5, OFFICE) == 1.0
    assert db.get_data_point("t", 5, {"location": "attic"}) is None


def test_update_of_a_missing_point_is_a_key_error(db: TimeSeriesDB) -> None:
    db.add_data_point("t", 1, 1.0, OFFICE)
    with pytest.raises(KeyError) as e:
        db.update_data_point("t", 2, 5.0, OFFICE)
    assert isinstance(e.value, tidestore.NotFoundError)
    assert "no point of t{location=office} at 2" in str(e.value)
    # Another series of the metric has no point at 1 either.
    with pytest.raises(KeyError):
        db.update_data_point("t", 1, 5.0, LAB)
    with pytest.raises(KeyError):
        db.update_data_point("never", 1, 5.0)
    # Nothing was written by the failed updates.
    assert db.query_by_metric("t") == [point("t", 1, 1.0, OFFICE)]


def test_add_data_points_is_atomic_and_validated(db: TimeSeriesDB) -> None:
    good = [point("t", i, float(i), OFFICE) for i in range(5)]
    db.add_data_points(good)
    assert db.query_by_metric("t") == good
    # Tags may be left out; any iterable of mappings works.
    db.add_data_points(iter([{"metric": "u", "timestamp": 1, "value": 1.5}]))
    assert db.query_by_metric("u") == [point("u", 1, 1.5, {})]

    bad_batches = [
        ([point("t", 10, 1.0, OFFICE), point("", 11, 1.0, OFFICE)], ValueError, "metric name is empty"),
        ([point("t", 10, 1.0, OFFICE), {"metric": "t", "timestamp": 11}], ValueError, "no \"value\""),
        ([point("t", 10, 1.0, OFFICE), {"metric": "t", "value": 1.0}], ValueError, "no \"timestamp\""),
        ([point("t", 10, 1.0, OFFICE), point("t", 11, 1.0, {"k": 3})], TypeError, "tag values must be str"),
        ([point("t", 10, 1.0, OFFICE), point("t", 11.5, 1.0, OFFICE)], TypeError, "must be an int"),
        ([point("t", 10, 1.0, OFFICE), point("t", 11, "x", OFFICE)], TypeError, "must be a number"),
        ([point("t", 10, 1.0, OFFICE), 7], TypeError, "not a dict"),
    ]
    for batch, exc, message in bad_batches:
        with pytest.raises(exc, match=message):
            db.add_data_points(batch)
    # Not even the valid first point of each bad batch was written.
    assert db.query_range("t", 10, 11) == []


def test_query_range_orders_by_timestamp_then_series(db: TimeSeriesDB) -> None:
    db.add_data_points(
        [
            point("t", 3, 30.0, OFFICE),
            point("t", 1, 10.0, OFFICE),
            point("t", 2, 2.0, LAB),
            point("t", 1, 1.0, LAB),
            point("h", 1, 99.0, OFFICE),
        ]
    )
    assert db.query_range("t", 1, 3) == [
        point("t", 1, 1.0, LAB),
        point("t", 1, 10.0, OFFICE),
        point("t", 2, 2.0, LAB),
        point("t", 3, 30.0, OFFICE),
    ]
    assert db.query_range("t", 2, 3, OFFICE) == [point("t", 3, 30.0, OFFICE)]
    assert db.query_range("t", 2, 2, {}) == [point("t", 2, 2.0, LAB)]
    # Inclusive bounds; a reversed range is empty, as the seed's filter was.
    assert [p["timestamp"] for p in db.query_range("t", 1, 1)] == [1, 1]
    assert db.query_range("t", 3, 1) == []
    assert db.query_range("nothing", 0, 10) == []


def test_tag_filters_match_subsets(db: TimeSeriesDB) -> None:
    both = {"location": "office", "floor": "2"}
    db.add_data_point("t", 1, 1.0, both)
    db.add_data_point("t", 2, 2.0, OFFICE)
    assert db.query_by_tags("t", OFFICE) == [point("t", 1, 1.0, both), point("t", 2, 2.0, OFFICE)]
    assert db.query_by_tags("t", {"floor": "2"}) == [point("t", 1, 1.0, both)]
    assert db.query_by_tags("t", {"floor": "3"}) == []


def test_query_by_tag_key_spans_metrics(db: TimeSeriesDB) -> None:
    db.add_data_point("b", 2, 2.0, OFFICE)
    db.add_data_point("a", 3, 3.0, OFFICE)
    db.add_data_point("a", 1, 1.0, LAB)
    assert db.query_by_tag_key("location", "office") == [point("a", 3, 3.0, OFFICE), point("b", 2, 2.0, OFFICE)]
    assert db.query_by_tag_key("location", "attic") == []


def test_list_all_keys_is_the_seeds_metric_colon_timestamp(db: TimeSeriesDB) -> None:
    assert db.list_all_keys() == []
    db.add_data_point("m", 99, 1.0, OFFICE)
    db.add_data_point("m", 100, 1.0, OFFICE)
    db.add_data_point("m", 100, 2.0, LAB)  # same metric and timestamp: one key
    db.add_data_point("m_x", 5, 1.0)
    db.add_data_point("l", -5, 1.0)
    # Sorted as strings, like the seed's LevelDB keys: "m:100" < "m:99" < "m_x:5".
    assert db.list_all_keys() == ["l:-5", "m:100", "m:99", "m_x:5"]
    db.delete_data_point("m_x", 5)
    assert db.list_all_keys() == ["l:-5", "m:100", "m:99"]


def test_query_by_metric_and_delete(db: TimeSeriesDB) -> None:
    db.add_data_point("t", 1, 1.0, OFFICE)
    db.add_data_point("t", 1, 2.0, LAB)
    db.add_data_point("t", 2, 3.0, LAB)
    assert db.query_by_metric("t") == [point("t", 1, 2.0, LAB), point("t", 1, 1.0, OFFICE), point("t", 2, 3.0, LAB)]
    db.delete_data_point("t", 1, LAB)
    assert db.query_by_metric("t") == [point("t", 1, 1.0, OFFICE), point("t", 2, 3.0, LAB)]
    db.delete_data_point("t", 1)  # every series
    assert db.query_by_metric("t") == [point("t", 2, 3.0, LAB)]
    # The point can be written again after the delete.
    db.add_data_point("t", 1, 7.0, OFFICE)
    assert db.get_data_point("t", 1) == 7.0


def test_returned_dicts_are_independent(db: TimeSeriesDB) -> None:
    db.add_data_points([point("t", i, 1.0, OFFICE) for i in range(3)])
    pts = db.query_by_metric("t")
    pts[0]["tags"]["location"] = "changed"
    assert pts[1]["tags"] == OFFICE
    assert db.query_by_metric("t")[0]["tags"] == OFFICE


def test_values_and_timestamps_round_trip(db: TimeSeriesDB) -> None:
    big = 2**63 - 1
    values = [float("nan"), float("inf"), -0.0, 5e-324, -1.5]
    for i, v in enumerate(values):
        db.add_data_point("v", -big - 1 + i, v)
    db.add_data_point("v", big, 1.0)
    got = db.query_by_metric("v")
    assert [p["timestamp"] for p in got] == [-big - 1 + i for i in range(5)] + [big]
    assert math.isnan(got[0]["value"]) and got[1]["value"] == math.inf
    assert math.copysign(1.0, got[2]["value"]) == -1.0
    assert [p["value"] for p in got[3:]] == [5e-324, -1.5, 1.0]


def test_bad_input_errors(db: TimeSeriesDB) -> None:
    with pytest.raises(ValueError, match="invalid argument: metric name is empty") as e:
        db.add_data_point("", 1, 1.0)
    assert isinstance(e.value, tidestore.InvalidArgumentError)
    assert isinstance(e.value, tidestore.Error)
    with pytest.raises(ValueError, match="outside the int64 range"):
        db.add_data_point("t", 2**63, 1.0)
    with pytest.raises(TypeError, match="must be an int, not float"):
        db.add_data_point("t", 1.0, 1.0)
    with pytest.raises(TypeError, match="tag keys must be str"):
        db.add_data_point("t", 1, 1.0, {1: "a"})
    with pytest.raises(TypeError, match="tags must be a dict"):
        db.add_data_point("t", 1, 1.0, ["location", "office"])
    with pytest.raises(ValueError, match="control character"):
        db.add_data_point("t", 1, 1.0, {"k": "a\nb"})
    with pytest.raises(TypeError):
        db.query_range("t", "0", 10)
    assert db.list_all_keys() == []


def test_closed_database(db_path: Path) -> None:
    db = TimeSeriesDB(db_path)
    db.add_data_point("t", 1, 1.0)
    db.close()
    db.close()  # twice is fine
    with pytest.raises(tidestore.ClosedError, match="the database is closed"):
        db.query_by_metric("t")
    with TimeSeriesDB(db_path) as again:
        assert again.get_data_point("t", 1) == 1.0
        # The numpy layer over the same handle.
        assert again.db.scan("t").values.tolist() == [1.0]
