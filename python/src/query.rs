//! Queries for Python: [`matchers`] and [`query`] turn Python arguments into the
//! engine's `Matcher`s and `Query`, and [`GroupColumns`] hands an answer's groups to
//! numpy as columns.
//!
//! Matchers come as a tag dict (every pair an equality, as in `scan`) plus a sequence
//! of `(key, op, value)` triples, `op` one of `=`, `!=`, `=~`, `!~` (Prometheus'
//! operators; the regexes fully anchored) or `in` (with a sequence of values). A value
//! predicate comes as `(op, x)` with `op` one of `>`, `>=`, `<`, `<=`, or as
//! `("between", lo, hi)`.

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::sync::Arc;

use tidestore::SeriesKey;
use tidestore::ts::{Aggregation, GroupKey, LastPoints, Matcher, Query, QueryColumns, ValueFilter};

use crate::args;

/// The matchers of a tag dict and a sequence of `(key, op, value)` triples.
pub fn matchers(
    py: Python<'_>,
    tags: Option<&Bound<'_, PyAny>>,
    triples: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Matcher>> {
    let mut out: Vec<Matcher> = args::tags(tags)?
        .iter()
        .map(|(k, v)| Matcher::eq(k, v))
        .collect();
    let Some(triples) = triples.filter(|t| !t.is_none()) else {
        return Ok(out);
    };
    for (i, item) in triples.try_iter()?.enumerate() {
        let item = item?;
        let (key, op, value): (String, String, Bound<'_, PyAny>) =
            item.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "matcher {i} must be a (key, op, value) tuple, not {}",
                    args::type_name(&item)
                ))
            })?;
        out.push(matcher(py, i, &key, &op, &value)?);
    }
    Ok(out)
}

fn matcher(
    py: Python<'_>,
    i: usize,
    key: &str,
    op: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<Matcher> {
    let text = || -> PyResult<String> {
        value.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "matcher {i} ({key:?} {op}): the value must be a str, not {}",
                args::type_name(value)
            ))
        })
    };
    let engine = |r: tidestore::Result<Matcher>| r.map_err(|e| crate::error::engine(py, e));
    match op {
        "=" | "==" => Ok(Matcher::eq(key, &text()?)),
        "!=" => Ok(Matcher::ne(key, &text()?)),
        "=~" => engine(Matcher::regex(key, &text()?)),
        "!~" => engine(Matcher::not_regex(key, &text()?)),
        "in" => {
            if value.extract::<String>().is_ok() {
                return Err(PyTypeError::new_err(format!(
                    "matcher {i} ({key:?} in): the values must be a sequence of str, not a str"
                )));
            }
            let values: Vec<String> = value.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "matcher {i} ({key:?} in): the values must be a sequence of str"
                ))
            })?;
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            Ok(Matcher::one_of(key, &refs))
        }
        _ => Err(crate::error::invalid(
            py,
            format!("matcher {i}: unknown operator {op:?} (expected =, !=, =~, !~ or in)"),
        )),
    }
}

/// A value predicate from `(op, x)` or `("between", lo, hi)`.
pub fn value_filter(obj: &Bound<'_, PyAny>) -> PyResult<ValueFilter> {
    let shape = || {
        PyTypeError::new_err(
            "where must be (op, x) with op one of >, >=, <, <=, or (\"between\", lo, hi)",
        )
    };
    let tuple = obj.cast::<PyTuple>().map_err(|_| shape())?;
    let op: String = tuple
        .get_item(0)
        .and_then(|o| o.extract())
        .map_err(|_| shape())?;
    let number = |i: usize| -> PyResult<f64> { args::value(&tuple.get_item(i)?) };
    let filter = match (op.as_str(), tuple.len()) {
        (">", 2) => ValueFilter::gt(number(1)?),
        (">=", 2) => ValueFilter::ge(number(1)?),
        ("<", 2) => ValueFilter::lt(number(1)?),
        ("<=", 2) => ValueFilter::le(number(1)?),
        ("between", 3) => ValueFilter::between(number(1)?, number(2)?),
        _ => return Err(shape()),
    };
    Ok(filter)
}

/// The arguments of `Db.query`, as Python gives them.
pub struct QueryArgs<'a, 'py> {
    pub agg: Option<&'a str>,
    pub start: Option<&'a Bound<'py, PyAny>>,
    pub end: Option<&'a Bound<'py, PyAny>>,
    pub every: Option<i64>,
    pub group_by: Option<Vec<String>>,
    pub tags: Option<&'a Bound<'py, PyAny>>,
    pub matchers: Option<&'a Bound<'py, PyAny>>,
    pub value_filter: Option<&'a Bound<'py, PyAny>>,
}

/// The engine query for `metric` and `a`; checked by the engine when it runs.
pub fn query(py: Python<'_>, metric: &str, a: &QueryArgs<'_, '_>) -> PyResult<Query> {
    let mut q = match a.agg {
        None => Query::raw(metric),
        Some(name) => {
            let agg: Aggregation = name.parse().map_err(|e| crate::error::engine(py, e))?;
            Query::new(metric, agg)
        }
    };
    for m in matchers(py, a.tags, a.matchers)? {
        q = q.filter(m);
    }
    if a.start.is_some_and(|s| !s.is_none()) || a.end.is_some_and(|e| !e.is_none()) {
        q = q.range(
            args::bound(a.start, "start", i64::MIN)?,
            args::bound(a.end, "end", i64::MAX)?,
        );
    }
    if let Some(w) = a.every {
        q = q.every(w);
    }
    if let Some(keys) = &a.group_by {
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        q = q.group_by(&refs);
    }
    if let Some(f) = a.value_filter.filter(|f| !f.is_none()) {
        q = q.where_value(value_filter(f)?);
    }
    Ok(q)
}

/// An answer's groups as columns: every group's rows back to back, the groups' tags
/// shared with the engine's answer (no string is copied before Python's own).
#[derive(Debug, Default)]
pub struct GroupColumns {
    tags: Vec<GroupTags>,
    /// `offsets[i]..offsets[i + 1]` are the rows of group `i`.
    offsets: Vec<i64>,
    timestamps: Vec<i64>,
    values: Vec<f64>,
}

/// One group's tags: a query's group, or a series of `last`.
#[derive(Debug)]
enum GroupTags {
    Group(GroupKey),
    Series(Arc<SeriesKey>),
}

impl GroupTags {
    fn pairs(&self) -> &[(String, String)] {
        match self {
            GroupTags::Group(key) => key.tags(),
            GroupTags::Series(key) => key.tags(),
        }
    }
}

impl GroupColumns {
    /// A query's answer (`Db::query_columns`), its columns moved.
    pub fn from_query(c: QueryColumns) -> GroupColumns {
        GroupColumns {
            tags: c.keys.into_iter().map(GroupTags::Group).collect(),
            offsets: c.offsets.iter().map(|&o| o as i64).collect(),
            timestamps: c.timestamps,
            values: c.values,
        }
    }

    /// The newest point of each series (`Db::last_points`): a group of one row each.
    pub fn from_last(p: LastPoints) -> GroupColumns {
        GroupColumns {
            offsets: (0..=p.keys.len() as i64).collect(),
            tags: p.keys.into_iter().map(GroupTags::Series).collect(),
            timestamps: p.timestamps,
            values: p.values,
        }
    }

    /// `(tags, offsets, timestamps, values)`: `tags` a list of `((key, value), ...)`
    /// tuples, the rest numpy arrays that own the gathered `Vec`s.
    pub fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        let tags = self
            .tags
            .iter()
            .map(|t| {
                let pairs = t.pairs().iter();
                PyTuple::new(py, pairs.map(|(k, v)| (k.as_str(), v.as_str())))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let tags = PyList::new(py, tags)?;
        let offsets: Bound<'_, PyArray1<i64>> = self.offsets.into_pyarray(py);
        let timestamps: Bound<'_, PyArray1<i64>> = self.timestamps.into_pyarray(py);
        let values: Bound<'_, PyArray1<f64>> = self.values.into_pyarray(py);
        PyTuple::new(
            py,
            [
                tags.into_any(),
                offsets.into_any(),
                timestamps.into_any(),
                values.into_any(),
            ],
        )
    }
}
