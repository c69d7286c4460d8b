//! The shapes of the seed's `TimeSeriesDB` results, built natively for speed: points as
//! dicts `{'metric', 'timestamp', 'value', 'tags'}` in the seed's order (by timestamp,
//! then series), and its `list_all_keys` strings `"metric:timestamp"`.
//!
//! The seed kept an index whose keys were `metric:timestamp:tags`, so its results came
//! ordered by timestamp across series; the engine scans series by series, so the
//! points are put back in timestamp order here.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::{IntoPyObjectExt, intern};

use crate::columns::Columns;

/// The order in which the seed returned the points of `cols`: by timestamp, then by
/// series (in key order). Indexes into the columns.
pub fn seed_order(cols: &Columns) -> Vec<usize> {
    let n = cols.timestamps.len();
    let mut order: Vec<usize> = (0..n).collect();
    if cols.keys.len() > 1 {
        // Points are stored series by series, so a point's index orders its series.
        let ts = &cols.timestamps;
        order.sort_unstable_by_key(|&i| (ts.get(i).copied().unwrap_or(i64::MAX), i));
    }
    order
}

/// The points of `cols` (in `order`) as a list of seed dicts. Each dict gets its own
/// `tags` dict; strings are shared between the points of a series (they are
/// immutable).
pub fn point_dicts<'py>(
    py: Python<'py>,
    cols: &Columns,
    order: &[usize],
) -> PyResult<Bound<'py, PyList>> {
    let series_of = cols.series_of_points();
    let mut metrics = Vec::with_capacity(cols.keys.len());
    let mut templates = Vec::with_capacity(cols.keys.len());
    for key in &cols.keys {
        metrics.push(PyString::new(py, key.metric()));
        let tags = PyDict::new(py);
        for (k, v) in key.tag_refs() {
            tags.set_item(k, v)?;
        }
        templates.push(tags);
    }
    let (k_metric, k_ts, k_value, k_tags) = (
        intern!(py, "metric"),
        intern!(py, "timestamp"),
        intern!(py, "value"),
        intern!(py, "tags"),
    );
    let list = PyList::empty(py);
    for &i in order {
        let (Some(&s), Some(&ts), Some(&value)) =
            (series_of.get(i), cols.timestamps.get(i), cols.values.get(i))
        else {
            continue;
        };
        let (Some(metric), Some(template)) = (metrics.get(s as usize), templates.get(s as usize))
        else {
            continue;
        };
        let point = PyDict::new(py);
        point.set_item(k_metric, metric)?;
        point.set_item(k_ts, ts)?;
        point.set_item(k_value, value)?;
        point.set_item(k_tags, template.copy()?)?;
        list.append(point)?;
    }
    Ok(list)
}

/// The seed's `list_all_keys()`: one `"metric:timestamp"` string per distinct metric
/// and timestamp with a live point, sorted as strings (the seed's LevelDB key order).
pub fn point_keys<'py>(
    py: Python<'py>,
    per_metric: &[(String, Vec<i64>)],
) -> PyResult<Bound<'py, PyList>> {
    let mut keys: Vec<String> = per_metric
        .iter()
        .flat_map(|(metric, ts)| ts.iter().map(move |t| format!("{metric}:{t}")))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let items = keys
        .iter()
        .map(|k| k.into_bound_py_any(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// Distinct timestamps of `cols`, ascending.
pub fn distinct_timestamps(cols: &Columns) -> Vec<i64> {
    let mut ts = cols.timestamps.clone();
    ts.sort_unstable();
    ts.dedup();
    ts
}
