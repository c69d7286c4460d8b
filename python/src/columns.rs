//! A scan gathered into columns: every matching series' points back to back, and the
//! offsets where each series starts, handed to numpy without another copy.
//!
//! The engine decodes a series into its scan buffers; [`Columns::gather`] copies each
//! series once from there into one growing `Vec` per column, and
//! [`Columns::into_py`] gives those `Vec`s to numpy as they are (numpy owns the Rust
//! allocation; no copy). So a scan costs exactly one copy of every point.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tidestore::{Result, Scan, SeriesKey};

/// The most points [`Columns::gather`] reserves on a guess (1 GiB of columns).
const MAX_GUESS: usize = 1 << 26;

/// Series keys and their points as columns.
#[derive(Debug, Default)]
pub struct Columns {
    /// The series, in the scan's order (sorted by key).
    pub keys: Vec<SeriesKey>,
    /// `offsets[i]..offsets[i + 1]` are the points of `keys[i]`; `keys.len() + 1`
    /// entries.
    pub offsets: Vec<i64>,
    /// Timestamps, ascending within each series.
    pub timestamps: Vec<i64>,
    /// `values[j]` is the value at `timestamps[j]`.
    pub values: Vec<f64>,
}

impl Columns {
    /// Runs `scan` to its end. Series with no point in range are left out.
    pub fn gather(mut scan: Scan) -> Result<Columns> {
        let mut c = Columns {
            offsets: vec![0],
            ..Columns::default()
        };
        let series = scan.series_count();
        c.keys.reserve(series);
        c.offsets.reserve(series);
        while let Some(s) = scan.next()? {
            if c.keys.is_empty() {
                // Series of a metric tend to have alike lengths: room for every series
                // at the first one's length saves the copies of a doubling Vec.
                c.reserve_points(s.len().saturating_mul(series));
            }
            c.timestamps.extend_from_slice(s.timestamps());
            c.values.extend_from_slice(s.values());
            let end = c.timestamps.len() as i64;
            // A long series comes as several views in time order (`Scan::batch_points`):
            // the later ones extend the series the previous view started.
            match c.offsets.last_mut() {
                Some(last) if s.continues_series() => *last = end,
                _ => {
                    c.offsets.push(end);
                    c.keys.push(s.key().clone());
                }
            }
        }
        if c.timestamps.capacity() > c.timestamps.len() + c.timestamps.len() / 4 {
            c.timestamps.shrink_to_fit();
            c.values.shrink_to_fit();
        }
        Ok(c)
    }

    /// Reserves room for about `points` points, at most [`MAX_GUESS`]; a guess that
    /// cannot be allocated is ignored (the columns then grow as needed).
    fn reserve_points(&mut self, points: usize) {
        let points = points.min(MAX_GUESS);
        if self.timestamps.try_reserve(points).is_ok() && self.values.try_reserve(points).is_err() {
            self.timestamps.shrink_to_fit();
        }
    }

    /// The series each point belongs to, as indexes into `keys`.
    pub fn series_of_points(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.timestamps.len());
        for (i, w) in self.offsets.windows(2).enumerate() {
            let n = (w[1] - w[0]) as usize;
            out.extend(std::iter::repeat_n(i as u32, n));
        }
        out
    }

    /// `(keys, offsets, timestamps, values)`: `keys` a list of `(metric, ((tag,
    /// value), ...))` tuples, the rest numpy arrays that own the gathered `Vec`s.
    pub fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        let keys = key_list(py, &self.keys)?;
        let offsets: Bound<'_, PyArray1<i64>> = self.offsets.into_pyarray(py);
        let timestamps: Bound<'_, PyArray1<i64>> = self.timestamps.into_pyarray(py);
        let values: Bound<'_, PyArray1<f64>> = self.values.into_pyarray(py);
        PyTuple::new(
            py,
            [
                keys.into_any(),
                offsets.into_any(),
                timestamps.into_any(),
                values.into_any(),
            ],
        )
    }
}

/// A series key as `(metric, ((tag, value), ...))`, tags sorted by key.
pub fn key_tuple<'py>(py: Python<'py>, key: &SeriesKey) -> PyResult<Bound<'py, PyTuple>> {
    let tags = PyTuple::new(py, key.tag_refs())?;
    PyTuple::new(
        py,
        [key.metric().into_pyobject(py)?.into_any(), tags.into_any()],
    )
}

/// Many keys as a list of [`key_tuple`]s.
pub fn key_list<'py>(py: Python<'py>, keys: &[SeriesKey]) -> PyResult<Bound<'py, PyList>> {
    let items = keys
        .iter()
        .map(|k| key_tuple(py, k))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}
