//! The in-memory head: the time-series memtable.
//!
//! Each series has its own `(timestamp, value)` points (`series_buf`, one allocation
//! per series) behind its own mutex, found
//! through a read-mostly map from series id. A write locks only the series it touches
//! (a batch: once per distinct series), so readers of other series never wait on it,
//! and the map's write lock is taken only to add a series the head has not seen.
//! Counters (points, bytes, time bounds) are atomics updated once per series run.
//!
//! Points may arrive in any order. The same series and timestamp written twice keeps
//! the later value. A range delete removes the head's matching points and records a
//! tombstone `(series id, start, end)` (inclusive) that the engine applies to older data;
//! points written after the delete are kept.

mod series_buf;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use rayon::prelude::*;

use crate::engine::lock::{lock, read, write};
use crate::error::{Error, Result};
use crate::ts::core::columns::Columns;
use series_buf::SeriesBuf;

/// A range delete: `(series id, start, end)`, both ends inclusive.
pub type Tombstone = (u32, i64, i64);

/// Bytes charged per series on top of its points (map slot, `Arc`, mutex, vector).
const SERIES_OVERHEAD: usize = 96;

/// Hashes dense series ids: a Fibonacci multiply spreads them over all 64 bits.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type SeriesMap = HashMap<u32, Arc<Mutex<SeriesBuf>>, BuildHasherDefault<IdHasher>>;

/// One series' sorted, deduplicated columns, as handed to a flush.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesColumns {
    /// The series id.
    pub id: u32,
    /// Strictly increasing timestamps.
    pub timestamps: Vec<i64>,
    /// `values[i]` is the value at `timestamps[i]`.
    pub values: Vec<f64>,
}

/// The whole content of a head, sorted: what a flush writes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SortedHead {
    /// Every series with at least one point, by ascending id.
    pub series: Vec<SeriesColumns>,
    /// Every range delete, in the order they were made.
    pub tombstones: Vec<Tombstone>,
}

/// The in-memory head. `Send + Sync`; every method takes `&self`.
pub struct Head {
    series: RwLock<SeriesMap>,
    tombstones: Mutex<Vec<Tombstone>>,
    points: AtomicUsize,
    bytes: AtomicUsize,
    /// `i64::MAX` / `i64::MIN` until the first point.
    min_ts: AtomicI64,
    max_ts: AtomicI64,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            series: RwLock::default(),
            tombstones: Mutex::default(),
            points: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
        }
    }
}

impl fmt::Debug for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Head")
            .field("points", &self.point_count())
            .field("bytes", &self.approximate_bytes())
            .field("min_ts", &self.min_ts())
            .field("max_ts", &self.max_ts())
            .finish_non_exhaustive()
    }
}

/// `(points, heap bytes)` of a series, to account a change.
fn stats(b: &SeriesBuf) -> (usize, usize) {
    (b.len(), b.heap_bytes())
}

/// What the appends of a batch added to a head's counters, applied once.
struct Tally {
    points: usize,
    bytes: usize,
    lo: i64,
    hi: i64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            points: 0,
            bytes: 0,
            lo: i64::MAX,
            hi: i64::MIN,
        }
    }
}

impl Tally {
    /// Appends equally long columns to series `s`, counting what they add.
    fn extend(&mut self, s: &Mutex<SeriesBuf>, ts: &[i64], vals: &[f64]) {
        let mut b = lock(s);
        let before = stats(&b);
        b.extend(ts, vals);
        let after = stats(&b);
        drop(b);
        // Appends only grow a series.
        self.points += after.0.wrapping_sub(before.0);
        self.bytes += after.1.wrapping_sub(before.1);
        for &t in ts {
            self.lo = self.lo.min(t);
            self.hi = self.hi.max(t);
        }
    }

    fn apply(self, head: &Head) {
        if self.bytes > 0 {
            head.bytes.fetch_add(self.bytes, Relaxed);
        }
        if self.points > 0 {
            head.points.fetch_add(self.points, Relaxed);
            head.widen(self.lo, self.hi);
        }
    }
}

impl Head {
    /// An empty head.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, id: u32) -> Option<Arc<Mutex<SeriesBuf>>> {
        read(&self.series).get(&id).cloned()
    }

    /// Applies the change of one series' stats to the counters. Called with the
    /// series locked, so its increments and decrements are applied in order and the
    /// totals never dip below zero.
    fn account(&self, before: (usize, usize), after: (usize, usize)) {
        // Wrapping adds of a two's-complement delta: exact for shrinking too.
        if before.0 != after.0 {
            self.points
                .fetch_add(after.0.wrapping_sub(before.0), Relaxed);
        }
        if before.1 != after.1 {
            self.bytes
                .fetch_add(after.1.wrapping_sub(before.1), Relaxed);
        }
    }

    fn widen(&self, lo: i64, hi: i64) {
        if lo < self.min_ts.load(Relaxed) {
            self.min_ts.fetch_min(lo, Relaxed);
        }
        if hi > self.max_ts.load(Relaxed) {
            self.max_ts.fetch_max(hi, Relaxed);
        }
    }

    /// Appends points of one series, given as columns: the fast path. In-order
    /// timestamps cost a copy and one pass to check the order.
    /// `Err(InvalidArgument)` (and nothing appended) if the lengths differ.
    pub fn append_many(&self, series_id: u32, ts: &[i64], values: &[f64]) -> Result<()> {
        self.append_columns(series_id, ts, values, true)
    }

    /// [`Head::append_many`] for a series the head likely does not have yet (WAL
    /// replay into a new head): the map's write lock at once, without looking the
    /// series up under its read lock first.
    pub(crate) fn append_likely_new(
        &self,
        series_id: u32,
        ts: &[i64],
        values: &[f64],
    ) -> Result<()> {
        self.append_columns(series_id, ts, values, false)
    }

    fn append_columns(
        &self,
        series_id: u32,
        ts: &[i64],
        values: &[f64],
        known_first: bool,
    ) -> Result<()> {
        if ts.len() != values.len() {
            return Err(Error::invalid(format!(
                "{} timestamps but {} values",
                ts.len(),
                values.len()
            )));
        }
        if ts.is_empty() {
            return Ok(());
        }
        let mut tally = Tally::default();
        // A series the head has: locked under the map's read lock, without taking a
        // reference to it (nobody takes the map's lock while holding a series').
        let known = known_first && {
            let map = read(&self.series);
            map.get(&series_id)
                .map(|s| tally.extend(s, ts, values))
                .is_some()
        };
        if !known {
            // One look-up under the write lock adds the series if it is still missing.
            let mut map = write(&self.series);
            let s = map.entry(series_id).or_insert_with(|| {
                tally.bytes += SERIES_OVERHEAD;
                Arc::default()
            });
            tally.extend(s, ts, values);
        }
        tally.apply(self);
        Ok(())
    }

    /// Appends the points of many series, each given as columns of equal length (the
    /// caller checked them; a series without points is skipped): [`Head::append_many`]
    /// for each, with the map's read lock taken once for all the series the head
    /// has, one lock per series, and the counters updated once for the batch.
    pub(crate) fn append_batch<'a>(
        &self,
        series: impl Iterator<Item = (u32, &'a [i64], &'a [f64])> + Clone,
    ) {
        let mut tally = Tally::default();
        // The places of the series the head does not have yet.
        let mut missing: Vec<usize> = Vec::new();
        {
            let map = read(&self.series);
            // First start loading where each series' points will go: its vector's end
            // was last written one batch ago and is out of the caches, and the
            // appends below each end with an unlock, which waits for the stores
            // before it; loaded together here, those misses overlap.
            for (id, ts, _) in series.clone() {
                if let Some(s) = map.get(&id) {
                    lock(s).prefetch_end(ts.len());
                }
            }
            for (i, (id, ts, vals)) in series.clone().enumerate() {
                if ts.is_empty() || ts.len() != vals.len() {
                    continue;
                }
                let Some(s) = map.get(&id) else {
                    missing.push(i);
                    continue;
                };
                tally.extend(s, ts, vals);
            }
        }
        tally.apply(self);
        if !missing.is_empty() {
            self.add_series(series, &missing);
        }
    }

    /// The part of [`Head::append_batch`] for the series at places `missing` (ascending)
    /// of `series`, which the head did not have: under one write lock of the map, in
    /// batch order, the counters updated once. A
    /// series may come more than once (the first time adds it). Replaying a WAL of a
    /// million series of one point each spent half its time adding them one by one.
    fn add_series<'a>(
        &self,
        series: impl Iterator<Item = (u32, &'a [i64], &'a [f64])>,
        missing: &[usize],
    ) {
        let mut tally = Tally::default();
        {
            let mut map = write(&self.series);
            let mut next = missing.iter().copied().peekable();
            for (i, (id, ts, vals)) in series.enumerate() {
                if next.next_if_eq(&i).is_none() {
                    continue;
                }
                let s = map.entry(id).or_insert_with(|| {
                    tally.bytes += SERIES_OVERHEAD;
                    Arc::default()
                });
                tally.extend(s, ts, vals);
            }
        }
        tally.apply(self);
    }

    /// Deletes series `series_id`'s points with `start <= ts <= end`: removes those in
    /// this head and records the tombstone for older data. Points appended afterwards
    /// are kept. An empty range (`start > end`) does nothing.
    pub fn delete_range(&self, series_id: u32, start: i64, end: i64) {
        if start > end {
            return;
        }
        {
            let mut t = lock(&self.tombstones);
            let cap = t.capacity();
            t.push((series_id, start, end));
            let grown = (t.capacity() - cap) * size_of::<Tombstone>();
            self.bytes.fetch_add(grown, Relaxed);
        }
        if let Some(s) = self.get(series_id) {
            let mut b = lock(&s);
            let before = stats(&b);
            b.delete(start, end);
            self.account(before, stats(&b));
        }
    }

    /// Approximate heap bytes held: column capacities, per-series overhead, tombstones.
    pub fn approximate_bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }

    /// Points stored. A timestamp rewritten out of order counts twice until the series
    /// is next read or frozen.
    pub fn point_count(&self) -> usize {
        self.points.load(Relaxed)
    }

    /// True when no point is stored.
    pub fn is_empty(&self) -> bool {
        self.point_count() == 0
    }

    /// The smallest timestamp ever appended (deletes do not raise it), `None` before
    /// the first point. Every stored point is within `min_ts..=max_ts`.
    pub fn min_ts(&self) -> Option<i64> {
        let (lo, hi) = (self.min_ts.load(Relaxed), self.max_ts.load(Relaxed));
        (lo != i64::MAX || hi != i64::MIN).then_some(lo)
    }

    /// The largest timestamp ever appended (deletes do not lower it), `None` before the
    /// first point.
    pub fn max_ts(&self) -> Option<i64> {
        let (lo, hi) = (self.min_ts.load(Relaxed), self.max_ts.load(Relaxed));
        (lo != i64::MAX || hi != i64::MIN).then_some(hi)
    }

    /// Clears `out`, then fills it with series `series_id`'s points with `start <= ts
    /// <= end`: sorted by timestamp, one value per timestamp (the last written). Sorts
    /// the series in place first if late points arrived.
    pub(crate) fn read_series(&self, series_id: u32, start: i64, end: i64, out: &mut Columns) {
        out.clear();
        let Some(s) = self.get(series_id) else {
            return;
        };
        let mut b = lock(&s);
        let before = stats(&b);
        b.normalize();
        self.account(before, stats(&b));
        let points = b.range(start, end);
        let (ts, vals) = out.spare(points.len());
        for ((t, v), &(pt, pv)) in ts.iter_mut().zip(vals.iter_mut()).zip(points) {
            *t = pt;
            *v = pv;
        }
        out.commit(points.len());
    }

    /// Every range delete made on this head, in order.
    pub fn tombstones(&self) -> Vec<Tombstone> {
        lock(&self.tombstones).clone()
    }

    fn all_series(&self) -> Vec<(u32, Arc<Mutex<SeriesBuf>>)> {
        let map = read(&self.series);
        let mut v: Vec<_> = map.iter().map(|(&id, s)| (id, Arc::clone(s))).collect();
        v.sort_unstable_by_key(|e| e.0);
        v
    }

    /// A sorted, deduplicated copy of everything, leaving the head readable (for a
    /// flush while readers still use the frozen head). Sorts series in parallel.
    pub fn to_sorted(&self) -> SortedHead {
        let series = self
            .all_series()
            .into_par_iter()
            .filter_map(|(id, s)| {
                let mut b = lock(&s);
                let before = stats(&b);
                let (timestamps, values) = b.sorted_copy();
                self.account(before, stats(&b));
                (!timestamps.is_empty()).then_some(SeriesColumns {
                    id,
                    timestamps,
                    values,
                })
            })
            .collect();
        SortedHead {
            series,
            tombstones: self.tombstones(),
        }
    }
}

#[cfg(test)]
mod tests;
