//! Python arguments into engine values: tags, timestamps, keys, sync modes.
//!
//! Type mistakes (a float timestamp, an int tag value) are `TypeError`s, as in Python
//! itself; values of the right type that the engine cannot take (a timestamp outside
//! int64, an unknown sync mode) are `tidestore.InvalidArgumentError` (a `ValueError`).

use std::time::Duration;

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyBytes, PyDict, PyFloat, PyString};
use tidestore::SyncMode;

use crate::error::invalid;

/// A series' tags, owned: `(key, value)` pairs in the caller's order.
pub type Tags = Vec<(String, String)>;

/// Tags from `None`, a `dict` or any mapping with `items()`; keys and values must be
/// `str`.
pub fn tags(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Tags> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Ok(dict) = obj.cast::<PyDict>() {
        out.reserve(dict.len());
        for (k, v) in dict.iter() {
            out.push(tag_pair(&k, &v)?);
        }
        return Ok(out);
    }
    let items = obj.call_method0("items").map_err(|_| {
        PyTypeError::new_err(format!(
            "tags must be a dict of str to str (or None), not {}",
            type_name(obj)
        ))
    })?;
    for item in items.try_iter()? {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        out.push(tag_pair(&k, &v)?);
    }
    Ok(out)
}

fn tag_pair(k: &Bound<'_, PyAny>, v: &Bound<'_, PyAny>) -> PyResult<(String, String)> {
    let key = k
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("tag keys must be str, not {}", type_name(k))))?;
    let value = v.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "tag values must be str, not {} (tag {:?})",
            type_name(v),
            key.to_string()
        ))
    })?;
    Ok((key.extract()?, value.extract()?))
}

/// Borrowed `(&str, &str)` pairs of owned tags, as the engine takes them.
pub fn tag_refs(tags: &Tags) -> Vec<(&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A timestamp: any Python integer (or object with `__index__`, such as numpy's
/// integers) within int64. A float is a `TypeError`: timestamps are exact integers.
pub fn timestamp(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    if obj.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int, not float ({})",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        )));
    }
    obj.extract::<i64>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(obj.py()) {
            invalid(
                obj.py(),
                format!(
                    "{what} {} is outside the int64 range",
                    obj.str().map(|s| s.to_string()).unwrap_or_default()
                ),
            )
        } else {
            PyTypeError::new_err(format!("{what} must be an int, not {}", type_name(obj)))
        }
    })
}

/// An optional range bound: `None` is the given default (the start or end of time).
pub fn bound(obj: Option<&Bound<'_, PyAny>>, what: &str, default: i64) -> PyResult<i64> {
    match obj.filter(|o| !o.is_none()) {
        Some(o) => timestamp(o, what),
        None => Ok(default),
    }
}

/// A value: anything Python converts with `float()` (ints, floats, numpy scalars).
pub fn value(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    obj.extract::<f64>().map_err(|_| {
        PyTypeError::new_err(format!("value must be a number, not {}", type_name(obj)))
    })
}

/// A key or value of the key-value store: `bytes`, `bytearray`, or `str` (stored as
/// its UTF-8 bytes).
pub enum Bytes {
    Raw(PyBackedBytes),
    Text(PyBackedStr),
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Raw(b) => b.as_ref(),
            Bytes::Text(s) => s.as_bytes(),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Bytes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Bytes::Text(s.to_owned().try_into()?));
        }
        if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<pyo3::types::PyByteArray>() {
            return Ok(Bytes::Raw(obj.extract()?));
        }
        Err(PyTypeError::new_err(format!(
            "expected bytes or str, not {}",
            type_name(&obj)
        )))
    }
}

/// A sync mode from its name (`"always"`, `"interval"`, `"os"`) and, for
/// `"interval"`, the interval in seconds.
pub fn sync_mode(py: Python<'_>, name: &str, interval: f64) -> PyResult<SyncMode> {
    match name {
        "always" => Ok(SyncMode::Always),
        "os" => Ok(SyncMode::Os),
        "interval" => {
            if !(interval.is_finite() && interval > 0.0 && interval <= 86_400.0) {
                return Err(invalid(
                    py,
                    format!("sync_interval must be in (0, 86400] seconds, not {interval}"),
                ));
            }
            Ok(SyncMode::Interval(Duration::from_secs_f64(interval)))
        }
        other => Err(invalid(
            py,
            format!("sync_mode must be 'always', 'interval' or 'os', not {other:?}"),
        )),
    }
}

/// A non-negative size option as `usize`.
pub fn size(py: Python<'_>, name: &str, v: i64) -> PyResult<usize> {
    usize::try_from(v).map_err(|_| invalid(py, format!("{name} must not be negative, not {v}")))
}

pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}
