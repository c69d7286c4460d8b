//! Shared helpers of the time-series integration tests (`ts_model`, `ts_crash`,
//! `ts_corruption`): the reference model of a database, a fixed universe of series,
//! and the comparison of query results bit for bit.

#![allow(dead_code)] // each test binary uses its own subset

use std::collections::{BTreeMap, BTreeSet};

use tidestore::io::sim_fs::SimFs;
use tidestore::{Db, Point, SeriesKey};

/// The series the tests write: (metric, tags). Two metrics; tag sets that overlap so
/// that partial filters match several series; one series without tags.
pub const SERIES: [(&str, &[(&str, &str)]); 6] = [
    ("cpu", &[("host", "a"), ("dc", "x")]),
    ("cpu", &[("host", "b"), ("dc", "x")]),
    ("cpu", &[("dc", "y"), ("host", "c")]),
    ("cpu", &[("host", "d"), ("dc", "y"), ("rack", "7")]),
    ("mem", &[("host", "a"), ("dc", "x")]),
    ("mem", &[]),
];

/// Tag filters a query may use (on either metric).
pub const FILTERS: [&[(&str, &str)]; 6] = [
    &[],
    &[("dc", "x")],
    &[("dc", "y")],
    &[("host", "a")],
    &[("host", "d"), ("rack", "7")],
    &[("host", "zz")],
];

/// One step of a model run (the proptest `ts_model` and the fuzz target `ts_model`
/// generate and execute these each their own way). Series, metrics and filters are
/// indexes into [`SERIES`], [`METRICS`] and [`FILTERS`].
#[derive(Debug, Clone)]
pub enum Op {
    /// `insert`.
    Insert {
        /// Series.
        s: usize,
        /// Timestamp.
        t: i64,
        /// Value.
        v: f64,
    },
    /// `insert_batch` (later duplicates win).
    Batch(Vec<(usize, i64, f64)>),
    /// `series` (defining it), then `append`.
    Append {
        /// Series.
        s: usize,
        /// `(timestamp, value)`s, any order.
        points: Vec<(i64, f64)>,
    },
    /// `update`: `NotFound` unless the point exists.
    Update {
        /// Series.
        s: usize,
        /// Timestamp.
        t: i64,
        /// Value.
        v: f64,
    },
    /// `delete_range(METRICS[m], a, b, FILTERS[f])`.
    Delete {
        /// Metric.
        m: usize,
        /// Filter.
        f: usize,
        /// Start (inclusive).
        a: i64,
        /// End (inclusive).
        b: i64,
    },
    /// `query_range` and friends, compared with the model.
    Query {
        /// Metric.
        m: usize,
        /// Filter.
        f: usize,
        /// Start (inclusive).
        a: i64,
        /// End (inclusive).
        b: i64,
    },
    /// `get(METRICS[m], t)`.
    Get {
        /// Metric.
        m: usize,
        /// Timestamp.
        t: i64,
    },
    /// `flush`.
    Flush,
    /// `compact`.
    Compact,
    /// `close`, then open again.
    Reopen,
    /// `kill -9`: open handles die, what was handed to the OS stays.
    Kill,
    /// Power cut: only what was fsync'd stays.
    PowerCut,
}

/// The metrics, sorted.
pub const METRICS: [&str; 2] = ["cpu", "mem"];

/// The canonical key of series number `s`.
pub fn key(s: usize) -> SeriesKey {
    let (m, t) = SERIES[s];
    SeriesKey::new(m, t).unwrap()
}

/// A point as compared: series key, timestamp, value bits.
pub type Row = (SeriesKey, i64, u64);

/// Rows of query results, in the order returned.
pub fn rows(points: &[Point]) -> Vec<Row> {
    points
        .iter()
        .map(|p| (p.series_key().unwrap(), p.timestamp, p.value.to_bits()))
        .collect()
}

/// The reference: the value bits of every live point, and every series defined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    /// (series number, timestamp) -> value bits.
    pub points: BTreeMap<(usize, i64), u64>,
    /// Series numbers ever written (they stay listed after their points are deleted).
    pub defined: BTreeSet<usize>,
}

impl Model {
    /// Records a write of `value` to series `s` at `t` (last write wins).
    pub fn insert(&mut self, s: usize, t: i64, value: f64) {
        self.points.insert((s, t), value.to_bits());
        self.defined.insert(s);
    }

    /// Deletes `[a, b]` of every series of `metric` matching `filter`.
    pub fn delete(&mut self, metric: &str, a: i64, b: i64, filter: &[(&str, &str)]) {
        let hit: BTreeSet<usize> = self.matching(metric, filter).into_iter().collect();
        self.points
            .retain(|&(s, t), _| !(hit.contains(&s) && (a..=b).contains(&t)));
    }

    /// Series numbers of `metric` matching `filter` (defined or not), sorted by key.
    pub fn matching(&self, metric: &str, filter: &[(&str, &str)]) -> Vec<usize> {
        let mut v: Vec<usize> = (0..SERIES.len())
            .filter(|&s| {
                let (m, tags) = SERIES[s];
                m == metric && filter.iter().all(|f| tags.contains(f))
            })
            .collect();
        v.sort_by_key(|&s| key(s));
        v
    }

    /// What `query_range(metric, a, b, filter)` must return.
    pub fn range(&self, metric: &str, a: i64, b: i64, filter: &[(&str, &str)]) -> Vec<Row> {
        let mut out = Vec::new();
        for s in self.matching(metric, filter) {
            let k = key(s);
            out.extend(
                self.points
                    .range((s, a)..=(s, b))
                    .map(|(&(_, t), &v)| (k.clone(), t, v)),
            );
        }
        out
    }

    /// What `list_keys` must return.
    pub fn keys(&self) -> Vec<SeriesKey> {
        let mut v: Vec<SeriesKey> = self.defined.iter().map(|&s| key(s)).collect();
        v.sort();
        v
    }
}

/// Reads every point of `metric` (filter, range) through `scan`, as rows.
pub fn scan_rows(db: &Db, metric: &str, a: i64, b: i64, filter: &[(&str, &str)]) -> Vec<Row> {
    rows_of_scan(db.scan(metric, a, b, filter).unwrap())
}

/// Every row a scan yields, checking the views' shape.
pub fn rows_of_scan(mut scan: tidestore::ts::Scan) -> Vec<Row> {
    let mut out = Vec::new();
    while let Some(v) = scan.next().unwrap() {
        assert!(!v.is_empty(), "a scan yields only series with points");
        assert!(
            v.timestamps().windows(2).all(|w| w[0] < w[1]),
            "timestamps strictly ascending"
        );
        assert_eq!(v.timestamps().len(), v.values().len());
        for (&t, &x) in v.timestamps().iter().zip(v.values()) {
            out.push((v.key().clone(), t, x.to_bits()));
        }
    }
    out
}

/// Every point of the database as rows (both metrics, whole time line).
pub fn all_rows(db: &Db) -> Vec<Row> {
    let mut out = Vec::new();
    for m in METRICS {
        out.extend(rows(&db.query_metric(m).unwrap()));
    }
    out
}

/// Asserts that the database holds exactly the model's points and series.
pub fn assert_matches(db: &Db, model: &Model) {
    for m in METRICS {
        let want = model.range(m, i64::MIN, i64::MAX, &[]);
        let got = rows(&db.query_metric(m).unwrap());
        assert_eq!(got, want, "query_metric({m})");
    }
    assert_eq!(db.list_keys().unwrap(), model.keys(), "list_keys");
}

/// How a simulated process's session with a database on a `SimFs` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// A clean close.
    Close,
    /// The process is killed: what reached the OS survives.
    Kill,
    /// The power is cut: only what was synced survives.
    PowerCut,
}

impl End {
    /// Ends `db`'s session on `fs` this way; after a kill or a power cut the dead
    /// handle is dropped (it can no longer reach the files: `SimFs` invalidated them).
    pub fn end(self, fs: &SimFs, db: Db) {
        match self {
            End::Close => db.close().unwrap(),
            End::Kill => {
                fs.kill_process();
                drop(db);
            }
            End::PowerCut => {
                fs.crash();
                drop(db);
            }
        }
    }
}
