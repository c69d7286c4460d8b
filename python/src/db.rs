//! `tidestore._tidestore._Db`: the time-series database for Python.
//!
//! The public classes (`tidestore.Db`, `tidestore.TimeSeriesDB`) are pure Python and
//! call this one: it takes arguments already in their final form (contiguous int64 and
//! float64 arrays, tags as dicts) and releases the GIL for all engine work.

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyList, PyTuple};
use tidestore::ts::{Options, Precision, Stats};
use tidestore::{Db, Point, SeriesHandle};

use crate::args::{self, Tags, tag_refs};
use crate::columns::{Columns, key_list};
use crate::error::invalid;
use crate::handle::Handle;
use crate::query::{self, GroupColumns};
use crate::seed;

/// An open time-series database.
#[pyclass(name = "_Db", module = "tidestore._tidestore", frozen)]
pub struct NativeDb {
    db: Handle<Db>,
    path: String,
}

/// A series handle: a resolved metric + tags of one database, for `append`.
#[pyclass(name = "Series", module = "tidestore", frozen)]
pub struct NativeSeries {
    handle: SeriesHandle,
}

#[pymethods]
impl NativeSeries {
    /// The metric name.
    #[getter]
    fn metric(&self) -> &str {
        self.handle.key().metric()
    }

    /// The tags, as a new dict.
    #[getter]
    fn tags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.handle.key().tag_refs() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// `(metric, ((tag, value), ...))`, tags sorted by key.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        crate::columns::key_tuple(py, self.handle.key())
    }

    fn __repr__(&self) -> String {
        format!("Series({})", self.handle.key())
    }

    fn __str__(&self) -> String {
        self.handle.key().to_string()
    }
}

/// A metric, borrowed from Python.
type Metric = PyBackedStr;

#[pymethods]
impl NativeDb {
    #[new]
    #[pyo3(signature = (
        path, *, sync_mode = "interval", sync_interval = 0.1, head_bytes = None,
        max_frozen_heads = None, chunk_points = None, partition_width = None,
        compaction_trigger = None, retention = None, background_work = true,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PyBackedStr,
        sync_mode: &str,
        sync_interval: f64,
        head_bytes: Option<i64>,
        max_frozen_heads: Option<i64>,
        chunk_points: Option<i64>,
        partition_width: Option<i64>,
        compaction_trigger: Option<i64>,
        retention: Option<i64>,
        background_work: bool,
    ) -> PyResult<Self> {
        let mut opts = Options::default()
            .sync_mode(args::sync_mode(py, sync_mode, sync_interval)?)
            .background_work(background_work)
            .retention(retention);
        if let Some(v) = head_bytes {
            opts = opts.head_bytes(args::size(py, "head_bytes", v)?);
        }
        if let Some(v) = max_frozen_heads {
            opts = opts.max_frozen_heads(args::size(py, "max_frozen_heads", v)?);
        }
        if let Some(v) = chunk_points {
            opts = opts.chunk_points(args::size(py, "chunk_points", v)?);
        }
        if let Some(v) = partition_width {
            opts = opts.partition_width(v);
        }
        if let Some(v) = compaction_trigger {
            opts = opts.compaction_trigger(args::size(py, "compaction_trigger", v)?);
        }
        let db = py
            .detach(|| Db::open_with(&*path, opts))
            .map_err(|e| crate::error::engine(py, e))?;
        Ok(NativeDb {
            db: Handle::new(db, "database"),
            path: path.to_string(),
        })
    }

    /// The database's directory.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        self.db.is_closed(py)
    }

    #[pyo3(signature = (metric, timestamp, value, tags = None))]
    fn insert(
        &self,
        py: Python<'_>,
        metric: Metric,
        timestamp: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (ts, v, tags) = point_args(timestamp, value, tags)?;
        self.db
            .run(py, |db| Ok(db.insert(&metric, ts, v, &tag_refs(&tags))?))
    }

    #[pyo3(signature = (metric, timestamp, value, tags = None))]
    fn update(
        &self,
        py: Python<'_>,
        metric: Metric,
        timestamp: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (ts, v, tags) = point_args(timestamp, value, tags)?;
        self.db
            .run(py, |db| Ok(db.update(&metric, ts, v, &tag_refs(&tags))?))
    }

    /// Writes a list of point dicts (`metric`, `timestamp`, `value`, optional `tags`)
    /// atomically.
    fn insert_points(&self, py: Python<'_>, points: &Bound<'_, PyAny>) -> PyResult<usize> {
        let points = point_list(points)?;
        let n = points.len();
        self.db.run(py, |db| Ok(db.insert_batch(&points)?))?;
        Ok(n)
    }

    #[pyo3(signature = (metric, start, end, tags = None))]
    fn delete_range(
        &self,
        py: Python<'_>,
        metric: Metric,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (start, end, tags) = range_args(start, end, tags)?;
        self.db.run(py, |db| {
            Ok(db.delete_range(&metric, start, end, &tag_refs(&tags))?)
        })
    }

    /// `(keys, offsets, timestamps, values)` of the matching series over
    /// `[start, end]`, keeping the rows whose value passes `value_filter` if given.
    #[pyo3(signature = (metric, start = None, end = None, tags = None, value_filter = None))]
    fn scan<'py>(
        &self,
        py: Python<'py>,
        metric: Metric,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
        value_filter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (start, end, tags) = range_args(start, end, tags)?;
        let keep = value_filter.map(query::value_filter).transpose()?;
        let cols = self.db.run(py, |db| {
            let mut scan = db.scan(&metric, start, end, &tag_refs(&tags))?;
            if let Some(keep) = keep {
                scan = scan.where_value(keep)?;
            }
            Ok(Columns::gather(scan)?)
        })?;
        cols.into_py(py)
    }

    /// The value of the series `metric` + `tags` (exactly these tags) at `timestamp`,
    /// or None.
    #[pyo3(signature = (metric, tags, timestamp))]
    fn value_at(
        &self,
        py: Python<'_>,
        metric: Metric,
        tags: Option<&Bound<'_, PyAny>>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<Option<f64>> {
        let ts = args::timestamp(timestamp, "timestamp")?;
        let tags = args::tags(tags)?;
        self.db
            .run(py, |db| Ok(db.value_at(&metric, &tag_refs(&tags), ts)?))
    }

    /// `(tags, offsets, timestamps, values)` of a query's groups; `agg` None asks
    /// for the raw points.
    #[pyo3(signature = (
        metric, agg = None, start = None, end = None, every = None, group_by = None,
        tags = None, matchers = None, value_filter = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn query<'py>(
        &self,
        py: Python<'py>,
        metric: Metric,
        agg: Option<PyBackedStr>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        every: Option<i64>,
        group_by: Option<Vec<String>>,
        tags: Option<&Bound<'_, PyAny>>,
        matchers: Option<&Bound<'_, PyAny>>,
        value_filter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let args = query::QueryArgs {
            agg: agg.as_deref(),
            start,
            end,
            every,
            group_by,
            tags,
            matchers,
            value_filter,
        };
        let q = query::query(py, &metric, &args)?;
        let answer = self.db.run(py, |db| Ok(db.query_columns(&q)?))?;
        GroupColumns::from_query(answer).into_py(py)
    }

    /// `(tags, offsets, timestamps, values)`: the newest point of each matching series.
    #[pyo3(signature = (metric, tags = None, matchers = None))]
    fn last<'py>(
        &self,
        py: Python<'py>,
        metric: Metric,
        tags: Option<&Bound<'_, PyAny>>,
        matchers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let m = query::matchers(py, tags, matchers)?;
        let points = self.db.run(py, |db| Ok(db.last_points(&metric, &m)?))?;
        GroupColumns::from_last(points).into_py(py)
    }

    /// Writes InfluxDB line protocol in one atomic write; `(points, lines,
    /// skipped_string_fields)`.
    #[pyo3(signature = (text, precision = "ns"))]
    fn write_lines(
        &self,
        py: Python<'_>,
        text: PyBackedStr,
        precision: &str,
    ) -> PyResult<(usize, usize, usize)> {
        let precision: Precision = precision.parse().map_err(|e| crate::error::engine(py, e))?;
        let s = self
            .db
            .run(py, |db| Ok(db.write_lines(&text, precision)?))?;
        Ok((s.points, s.lines, s.skipped_string_fields))
    }

    /// The handle of series `metric` + `tags`, defining the series if it is new.
    #[pyo3(signature = (metric, tags = None))]
    fn series(
        &self,
        py: Python<'_>,
        metric: Metric,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<NativeSeries> {
        let tags = args::tags(tags)?;
        let handle = self
            .db
            .run(py, |db| Ok(db.series(&metric, &tag_refs(&tags))?))?;
        Ok(NativeSeries { handle })
    }

    /// Appends columns to a series (one atomic write).
    fn append(
        &self,
        py: Python<'_>,
        series: &Bound<'_, NativeSeries>,
        timestamps: PyReadonlyArray1<'_, i64>,
        values: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<usize> {
        let (ts, vs) = (slice(py, &timestamps)?, slice(py, &values)?);
        let handle = &series.get().handle;
        self.db.run(py, |db| Ok(db.append(handle, ts, vs)?))?;
        Ok(ts.len())
    }

    /// `series` + `append`: one atomic write of columns to one series.
    #[pyo3(signature = (metric, tags, timestamps, values))]
    fn write(
        &self,
        py: Python<'_>,
        metric: Metric,
        tags: Option<&Bound<'_, PyAny>>,
        timestamps: PyReadonlyArray1<'_, i64>,
        values: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<usize> {
        let tags = args::tags(tags)?;
        let (ts, vs) = (slice(py, &timestamps)?, slice(py, &values)?);
        self.db.run(py, |db| {
            if ts.len() != vs.len() {
                // Checked before the series is defined, so bad input leaves no trace.
                return Err(tidestore::Error::invalid(format!(
                    "{} timestamps but {} values",
                    ts.len(),
                    vs.len()
                ))
                .into());
            }
            let handle = db.series(&metric, &tag_refs(&tags))?;
            Ok(db.append(&handle, ts, vs)?)
        })?;
        Ok(ts.len())
    }

    /// Row `i` of `values` (shape `(len(series), len(timestamps))`) appended to
    /// `series[i]` at `timestamps`: one append per series.
    fn write_block(
        &self,
        py: Python<'_>,
        series: &Bound<'_, PyList>,
        timestamps: PyReadonlyArray1<'_, i64>,
        values: PyReadonlyArray2<'_, f64>,
    ) -> PyResult<usize> {
        let objects = series
            .iter()
            .map(|s| {
                s.cast_into::<NativeSeries>()
                    .map_err(|_| PyTypeError::new_err("series must be a list of tidestore.Series"))
            })
            .collect::<PyResult<Vec<_>>>()?;
        // Borrowed from the objects above (frozen, kept alive here), not cloned: a
        // handle holds its series key, a dozen strings.
        let handles: Vec<&SeriesHandle> = objects.iter().map(|s| &s.get().handle).collect();
        let ts = slice(py, &timestamps)?;
        let shape = values.shape();
        let (rows, cols) = (shape[0], shape[1]);
        if rows != handles.len() || cols != ts.len() {
            return Err(invalid(
                py,
                format!(
                    "values has shape ({rows}, {cols}); expected ({}, {}) for {} series and {} timestamps",
                    handles.len(),
                    ts.len(),
                    handles.len(),
                    ts.len()
                ),
            ));
        }
        let vs = values
            .as_slice()
            .map_err(|_| invalid(py, "values must be a C-contiguous float64 array"))?;
        self.db.run(py, |db| {
            for (&handle, row) in handles.iter().zip(vs.chunks_exact(cols.max(1))) {
                db.append(handle, ts, row.get(..cols).unwrap_or_default())?;
            }
            Ok(())
        })?;
        Ok(rows * cols)
    }

    /// Every series (of `metric`, or of every metric), sorted, as key tuples.
    #[pyo3(signature = (metric = None))]
    fn list_series<'py>(
        &self,
        py: Python<'py>,
        metric: Option<Metric>,
    ) -> PyResult<Bound<'py, PyList>> {
        let keys = self.db.run(py, |db| {
            let mut keys = db.list_keys()?;
            if let Some(m) = &metric {
                keys.retain(|k| k.metric() == &**m);
            }
            Ok(keys)
        })?;
        key_list(py, &keys)
    }

    /// Every metric name, sorted.
    fn metrics(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.db.run(py, |db| Ok(db.metrics()))
    }

    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.db.run(py, |db| Ok(db.flush()?))
    }

    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        self.db.run(py, |db| Ok(db.compact()?))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.db.run(py, |db| Ok(db.stats()))?;
        stats_dict(py, &s)
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.db.close(py, |db| Ok(db.close()?))
    }

    // The seed's shapes (tidestore.TimeSeriesDB).

    /// The points of the matching series in `[start, end]` as seed dicts, by
    /// timestamp then series.
    #[pyo3(signature = (metric, start = None, end = None, tags = None))]
    fn seed_points<'py>(
        &self,
        py: Python<'py>,
        metric: Metric,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let (start, end, tags) = range_args(start, end, tags)?;
        if start > end {
            // The seed filtered an index by `start <= t <= end`: nothing, not an error.
            return Ok(PyList::empty(py));
        }
        let cols = self.db.run(py, |db| {
            Ok(Columns::gather(db.scan(
                &metric,
                start,
                end,
                &tag_refs(&tags),
            )?)?)
        })?;
        let order = py.detach(|| seed::seed_order(&cols));
        seed::point_dicts(py, &cols, &order)
    }

    /// The seed points of every metric whose series have tag `key` = `value`, by
    /// metric, then timestamp, then series.
    fn seed_points_with_tag<'py>(
        &self,
        py: Python<'py>,
        key: PyBackedStr,
        value: PyBackedStr,
    ) -> PyResult<Bound<'py, PyList>> {
        let per_metric = self.db.run(py, |db| {
            let filter = [(&*key, &*value)];
            let mut out = Vec::new();
            for metric in db.metrics() {
                let cols = Columns::gather(db.scan(&metric, i64::MIN, i64::MAX, &filter)?)?;
                let order = seed::seed_order(&cols);
                out.push((cols, order));
            }
            Ok(out)
        })?;
        let all = PyList::empty(py);
        for (cols, order) in &per_metric {
            for p in seed::point_dicts(py, cols, order)?.iter() {
                all.append(p)?;
            }
        }
        Ok(all)
    }

    /// The value of the first matching series (in key order) at `timestamp`, or None.
    #[pyo3(signature = (metric, timestamp, tags = None))]
    fn seed_value(
        &self,
        py: Python<'_>,
        metric: Metric,
        timestamp: &Bound<'_, PyAny>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<f64>> {
        let ts = args::timestamp(timestamp, "timestamp")?;
        let tags = args::tags(tags)?;
        self.db.run(py, |db| {
            let mut scan = db.scan(&metric, ts, ts, &tag_refs(&tags))?;
            Ok(scan.next()?.and_then(|s| s.values().first().copied()))
        })
    }

    /// `"metric:timestamp"` of every distinct metric and timestamp with a point,
    /// sorted as strings.
    fn seed_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let per_metric = self.db.run(py, |db| {
            let mut out = Vec::new();
            for metric in db.metrics() {
                let cols = Columns::gather(db.scan(&metric, i64::MIN, i64::MAX, &[])?)?;
                out.push((metric, seed::distinct_timestamps(&cols)));
            }
            Ok(out)
        })?;
        seed::point_keys(py, &per_metric)
    }
}

fn point_args(
    timestamp: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    tags: Option<&Bound<'_, PyAny>>,
) -> PyResult<(i64, f64, Tags)> {
    Ok((
        args::timestamp(timestamp, "timestamp")?,
        args::value(value)?,
        args::tags(tags)?,
    ))
}

fn range_args(
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    tags: Option<&Bound<'_, PyAny>>,
) -> PyResult<(i64, i64, Tags)> {
    Ok((
        args::bound(start, "start", i64::MIN)?,
        args::bound(end, "end", i64::MAX)?,
        args::tags(tags)?,
    ))
}

/// A contiguous array's elements.
fn slice<'a, T: numpy::Element>(
    py: Python<'_>,
    a: &'a PyReadonlyArray1<'_, T>,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| invalid(py, "arrays must be contiguous"))
}

/// Point dicts (or mappings) into engine points.
fn point_list(points: &Bound<'_, PyAny>) -> PyResult<Vec<Point>> {
    let py = points.py();
    let mut out = Vec::with_capacity(points.len().unwrap_or(0));
    for (i, item) in points.try_iter()?.enumerate() {
        let item = item?;
        let field = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
            match item.get_item(name) {
                Ok(v) => Ok(Some(v)),
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyError>(py) => Ok(None),
                Err(e) if e.is_instance_of::<PyTypeError>(py) => Err(PyTypeError::new_err(
                    format!("data point {i} is not a dict"),
                )),
                Err(e) => Err(e),
            }
        };
        let required = |name: &str| -> PyResult<Bound<'_, PyAny>> {
            field(name)?.ok_or_else(|| invalid(py, format!("data point {i} has no {name:?}")))
        };
        let metric: String = required("metric")?
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("data point {i}: metric must be a str")))?;
        let timestamp = args::timestamp(&required("timestamp")?, "timestamp")?;
        let value = args::value(&required("value")?)?;
        let tags = args::tags(field("tags")?.as_ref())?;
        out.push(Point {
            metric,
            tags,
            timestamp,
            value,
        });
    }
    Ok(out)
}

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let fields: [(&str, u64); 17] = [
        ("series", s.series),
        ("head_points", s.head_points),
        ("head_bytes", s.head_bytes),
        ("frozen_heads", s.frozen_heads),
        ("segments", s.segments),
        ("segment_bytes", s.segment_bytes),
        ("segment_points", s.segment_points),
        ("points_written", s.points_written),
        ("write_batches", s.write_batches),
        ("flushes", s.flushes),
        ("flush_bytes", s.flush_bytes),
        ("compactions", s.compactions),
        ("compaction_bytes", s.compaction_bytes),
        ("segments_expired", s.segments_expired),
        ("write_stalls", s.write_stalls),
        ("wal_torn_tails", s.wal_torn_tails),
        ("wal_records_replayed", s.wal_records_replayed),
    ];
    for (k, v) in fields {
        d.set_item(k, v)?;
    }
    Ok(d)
}
