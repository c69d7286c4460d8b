//! `tidestore._tidestore._KV`, `WriteBatch` and `_Range`: the key-value store for
//! Python.
//!
//! Keys and values go in as `bytes` or `str` (UTF-8) and come back as `bytes`; the
//! public class `tidestore.KV` and the seed's `tidestore.LSMTree` are pure Python on top.

use std::ops::Bound as KeyBound;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use tidestore::kv::{Options, RangeIter, Stats, Store, WriteBatch};

use crate::args::{self, Bytes};
use crate::error::Failure;
use crate::handle::Handle;

/// An open key-value store.
#[pyclass(name = "_KV", module = "tidestore._tidestore", frozen)]
pub struct NativeKv {
    store: Handle<Store>,
    path: String,
}

/// Puts and deletes over column families, applied atomically by `KV.write`.
#[pyclass(name = "WriteBatch", module = "tidestore", frozen)]
pub struct NativeBatch {
    batch: Mutex<WriteBatch>,
}

impl NativeBatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, WriteBatch> {
        self.batch.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl NativeBatch {
    #[new]
    fn new() -> Self {
        NativeBatch {
            batch: Mutex::new(WriteBatch::new()),
        }
    }

    /// Adds a put of `key` = `value` in column family `cf`.
    fn put(&self, cf: PyBackedStr, key: Bytes, value: Bytes) {
        self.lock().put(&cf, key, value);
    }

    /// Adds a delete of `key` in column family `cf`.
    fn delete(&self, cf: PyBackedStr, key: Bytes) {
        self.lock().delete(&cf, key);
    }

    /// Removes every operation.
    fn clear(&self) {
        self.lock().clear();
    }

    fn __len__(&self) -> usize {
        self.lock().len()
    }

    fn __repr__(&self) -> String {
        format!("WriteBatch({} operations)", self.lock().len())
    }
}

/// A range of a column family, read in key order.
#[pyclass(name = "_Range", module = "tidestore._tidestore", frozen)]
pub struct NativeRange {
    iter: Mutex<Option<RangeIter>>,
}

#[pymethods]
impl NativeRange {
    /// Up to `n` more `(key, value)` pairs; an empty list at the end.
    fn fetch<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyList>> {
        let pairs = py
            .detach(|| {
                let mut guard = self.iter.lock().unwrap_or_else(|e| e.into_inner());
                let mut out = Vec::with_capacity(n.min(4096));
                if let Some(it) = guard.as_mut() {
                    for _ in 0..n {
                        match it.next() {
                            Some(pair) => out.push(pair?),
                            None => {
                                *guard = None;
                                break;
                            }
                        }
                    }
                }
                Ok::<_, tidestore::Error>(out)
            })
            .map_err(|e| crate::error::engine(py, e))?;
        let items = pairs
            .iter()
            .map(|(k, v)| PyTuple::new(py, [PyBytes::new(py, k), PyBytes::new(py, v)]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

#[pymethods]
impl NativeKv {
    #[new]
    #[pyo3(signature = (
        path, *, sync_mode = "interval", sync_interval = 0.1, memtable_bytes = None,
        memtable_entries = None, max_frozen_memtables = None, l0_compaction_trigger = None,
        target_file_bytes = None, background_work = true,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PyBackedStr,
        sync_mode: &str,
        sync_interval: f64,
        memtable_bytes: Option<i64>,
        memtable_entries: Option<i64>,
        max_frozen_memtables: Option<i64>,
        l0_compaction_trigger: Option<i64>,
        target_file_bytes: Option<i64>,
        background_work: bool,
    ) -> PyResult<Self> {
        let mut opts = Options::default()
            .sync_mode(args::sync_mode(py, sync_mode, sync_interval)?)
            .background_work(background_work);
        if let Some(v) = memtable_bytes {
            opts = opts.memtable_bytes(args::size(py, "memtable_bytes", v)?);
        }
        if let Some(v) = memtable_entries {
            opts = opts.memtable_entries(args::size(py, "memtable_entries", v)?);
        }
        if let Some(v) = max_frozen_memtables {
            opts = opts.max_frozen_memtables(args::size(py, "max_frozen_memtables", v)?);
        }
        if let Some(v) = l0_compaction_trigger {
            opts = opts.l0_compaction_trigger(args::size(py, "l0_compaction_trigger", v)?);
        }
        if let Some(v) = target_file_bytes {
            opts = opts.target_file_bytes(args::size(py, "target_file_bytes", v)? as u64);
        }
        let store = py
            .detach(|| Store::open_with(&*path, opts))
            .map_err(|e| crate::error::engine(py, e))?;
        Ok(NativeKv {
            store: Handle::new(store, "store"),
            path: path.to_string(),
        })
    }

    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        self.store.is_closed(py)
    }

    fn put(&self, py: Python<'_>, cf: PyBackedStr, key: Bytes, value: Bytes) -> PyResult<()> {
        self.store.run(py, |s| Ok(s.put(&cf, &key, &value)?))
    }

    fn get<'py>(
        &self,
        py: Python<'py>,
        cf: PyBackedStr,
        key: Bytes,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let v = self.store.run(py, |s| Ok(s.get(&cf, &key)?))?;
        Ok(v.map(|v| PyBytes::new(py, &v)))
    }

    fn delete(&self, py: Python<'_>, cf: PyBackedStr, key: Bytes) -> PyResult<()> {
        self.store.run(py, |s| Ok(s.delete(&cf, &key)?))
    }

    /// Applies `batch` atomically and empties it; on error the batch is left as it was.
    fn write(&self, py: Python<'_>, batch: &Bound<'_, NativeBatch>) -> PyResult<()> {
        let batch = batch.get();
        self.store.run(py, |s| {
            let mut guard = batch.lock();
            let ops = std::mem::take(&mut *guard);
            match s.write(ops.clone()) {
                Ok(()) => Ok(()),
                Err(e) => {
                    *guard = ops;
                    Err(e.into())
                }
            }
        })
    }

    /// The keys of `cf` from `start` (inclusive; None: the first) to `end` (exclusive,
    /// or inclusive with `include_end`; None: the last).
    #[pyo3(signature = (cf, start = None, end = None, include_end = false))]
    fn range(
        &self,
        py: Python<'_>,
        cf: PyBackedStr,
        start: Option<Bytes>,
        end: Option<Bytes>,
        include_end: bool,
    ) -> PyResult<NativeRange> {
        let lower = match &start {
            Some(k) => KeyBound::Included(k.as_ref()),
            None => KeyBound::Unbounded,
        };
        let upper = match (&end, include_end) {
            (Some(k), true) => KeyBound::Included(k.as_ref()),
            (Some(k), false) => KeyBound::Excluded(k.as_ref()),
            (None, _) => KeyBound::Unbounded,
        };
        let iter = self.store.run(py, |s| Ok(s.range(&cf, (lower, upper))?))?;
        Ok(NativeRange {
            iter: Mutex::new(Some(iter)),
        })
    }

    fn column_families(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.store.run(py, |s| Ok(s.list_column_families()))
    }

    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.store.run(py, |s| Ok(s.flush()?))
    }

    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        self.store.run(py, |s| Ok(s.compact()?))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.store.run(py, |s| Ok(s.stats()))?;
        stats_dict(py, &s)
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.store.close(py, |s| s.close().map_err(Failure::from))
    }
}

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let counters: [(&str, u64); 14] = [
        ("writes", s.writes),
        ("user_bytes_written", s.user_bytes_written),
        ("flushes", s.flushes),
        ("flush_bytes", s.flush_bytes),
        ("compactions", s.compactions),
        ("trivial_moves", s.trivial_moves),
        ("compaction_bytes_read", s.compaction_bytes_read),
        ("compaction_bytes_written", s.compaction_bytes_written),
        ("stalls", s.stalls),
        ("bloom_negatives", s.bloom_negatives),
        ("wal_torn_tails", s.wal_torn_tails),
        ("wal_dropped_bytes", s.wal_dropped_bytes),
        ("last_sequence", s.last_sequence),
        ("memtable_bytes", s.memtable_bytes as u64),
    ];
    for (k, v) in counters {
        d.set_item(k, v)?;
    }
    d.set_item("write_amplification", s.write_amplification)?;
    d.set_item("stall_time", s.stall_time.as_secs_f64())?;
    d.set_item("frozen_memtables", s.frozen_memtables)?;
    d.set_item("live_snapshots", s.live_snapshots)?;
    let levels = PyList::empty(py);
    for l in &s.levels {
        let level = PyDict::new(py);
        level.set_item("files", l.files)?;
        level.set_item("bytes", l.bytes)?;
        levels.append(level)?;
    }
    d.set_item("levels", levels)?;
    Ok(d)
}
