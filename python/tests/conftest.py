"""Shared helpers of the tidestore Python tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def run_python(code: str, cwd: Path, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter (the one running the tests) in ``cwd``."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db"
