"""Array arguments into the exact form the native module takes.

Timestamps become contiguous ``int64`` arrays and values contiguous ``float64`` arrays.
An argument already in that form is passed through as it is (no copy); anything else
is converted once. Timestamps must be integers: floats are refused rather than
truncated, and ``datetime64`` must be converted explicitly (in the unit you store).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def timestamps(obj: Any, name: str = "timestamps") -> np.ndarray:
    """``obj`` as a contiguous 1-D ``int64`` array."""
    arr = np.asarray(obj)
    if arr.dtype != np.int64:
        if arr.size == 0:
            arr = arr.astype(np.int64)
        elif arr.dtype.kind in "iu":
            # "same_kind" would let uint64 wrap: only casts that keep every value.
            if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
                raise ValueError(f"{name} has values outside the int64 range")
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "M":
            raise TypeError(
                f"{name} is datetime64; convert it to integers in the unit you store, "
                "e.g. arr.astype('datetime64[s]').astype('int64')"
            )
        else:
            raise TypeError(f"{name} must be integers, not {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, not of shape {arr.shape}")
    return np.ascontiguousarray(arr)


def values(obj: Any, name: str = "values", ndim: int = 1) -> np.ndarray:
    """``obj`` as a C-contiguous ``float64`` array of ``ndim`` dimensions."""
    arr = np.asarray(obj)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numbers, not {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), not shape {arr.shape}")
    return arr
