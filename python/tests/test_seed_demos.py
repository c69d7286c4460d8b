"""The seed's two demo scripts, verbatim but for their import line, run on tidestore
and print what their comments say."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import HERE, run_python

TS_DEMO = HERE / "seed_timeseriesdb_demo.py"
LSM_DEMO = HERE / "seed_lsmtree_demo.py"

# What the seed's TimeSeriesDB demo prints (its comments name each line).
TS_EXPECTED = """\
Updated data point: 24.0
Range query results: [{'metric': 'temperature', 'timestamp': 1627588732, 'value': 24.0, 'tags': {'location': 'office'}}, {'metric': 'temperature', 'timestamp': 1627588733, 'value': 23.7, 'tags': {'location': 'office'}}, {'metric': 'temperature', 'timestamp': 1627588734, 'value': 23.8, 'tags': {'location': 'office'}}]
Range query results: [{'metric': 'humidity', 'timestamp': 1627588732, 'value': 55.0, 'tags': {'location': 'office'}}, {'metric': 'humidity', 'timestamp': 1627588733, 'value': 54.5, 'tags': {'location': 'office'}}]
Tag query results: [{'metric': 'humidity', 'timestamp': 1627588732, 'value': 55.0, 'tags': {'location': 'office'}}, {'metric': 'humidity', 'timestamp': 1627588733, 'value': 54.5, 'tags': {'location': 'office'}}]
All keys in the database: ['humidity:1627588732', 'humidity:1627588733', 'temperature:1627588732', 'temperature:1627588733', 'temperature:1627588734']
All data points for metric temperature: [{'metric': 'temperature', 'timestamp': 1627588732, 'value': 24.0, 'tags': {'location': 'office'}}, {'metric': 'temperature', 'timestamp': 1627588733, 'value': 23.7, 'tags': {'location': 'office'}}, {'metric': 'temperature', 'timestamp': 1627588734, 'value': 23.8, 'tags': {'location': 'office'}}]
"""

# `# 输出: {'value': 2}`, then the range key0..=key10 in key (string) order.
LSM_EXPECTED = """\
{'value': 2}
[('key0', {'value': 0}), ('key1', {'value': 1}), ('key10', {'value': 10})]
"""


def run_demo(script: Path, cwd: Path) -> str:
    shutil.copy(script, cwd / script.name)
    return run_python(
        f"import runpy; runpy.run_path({script.name!r}, run_name='__main__')", cwd
    ).stdout


def test_timeseriesdb_demo_prints_what_its_comments_say(tmp_path: Path) -> None:
    assert run_demo(TS_DEMO, tmp_path) == TS_EXPECTED
    # Run again on the same directory: the data is reopened, rewritten, the same.
    assert run_demo(TS_DEMO, tmp_path) == TS_EXPECTED
    assert (tmp_path / "metrics").is_dir()


def test_lsmtree_demo_prints_value_2(tmp_path: Path) -> None:
    assert run_demo(LSM_DEMO, tmp_path) == LSM_EXPECTED
    assert run_demo(LSM_DEMO, tmp_path) == LSM_EXPECTED
    assert (tmp_path / "lsm_db").is_dir()


def _seed_blocks() -> list:
    # The seed's README sits in the shared folder beside the repository.
    for parent in HERE.parents:
        readme = parent / "shared" / "seed" / "README.zh.md"
        if readme.is_file():
            return re.findall(r"```python\n(.*?)```", readme.read_text("utf-8"), re.S)
    pytest.skip("the seed's README.zh.md is not beside the repository")


@pytest.mark.parametrize(
    "demo, import_line, first_line",
    [
        (TS_DEMO, "from tidestore import TimeSeriesDB", "if __name__ == '__main__':"),
        (LSM_DEMO, "from tidestore import LSMTree", "db_path = './lsm_db'"),
    ],
)
def test_demos_are_the_seeds_scripts_verbatim(demo: Path, import_line: str, first_line: str) -> None:
    blocks = [b for b in _seed_blocks() if b.startswith(first_line)]
    assert len(blocks) == 1
    assert demo.read_text("utf-8") == f"{import_line}\n\n{blocks[0]}"
