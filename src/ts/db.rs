//! [`Db`]: the time-series database's public face.
//!
//! ```no_run
//! use tidestore::{Db, Point};
//! # fn main() -> tidestore::Result<()> {
//! let db = Db::open("./metrics")?;
//! let tags = [("location", "office")];
//! db.insert("temperature", 1_627_588_732, 23.5, &tags)?;
//! db.insert_batch(&[Point::new("humidity", 1_627_588_732, 55.0, &tags)])?;
//! let points = db.query_range("temperature", 1_627_588_700, 1_627_588_800, &tags)?;
//! let mut scan = db.scan("temperature", i64::MIN, i64::MAX, &[])?;
//! // A series comes as one view, or as several in time order when it is long.
//! while let Some(view) = scan.next()? {
//!     let sum: f64 = view.values().iter().sum();
//!     println!("{}: {} points, sum {sum}", view.key(), view.len());
//! }
//! db.close()?;
//! # Ok(()) }
//! ```
//!
//! Semantics, for every call:
//! - a series is a metric plus a set of tags (given in any order); a tag *filter*
//!   matches the series of the metric that have every given pair (extra tags allowed),
//!   and an empty filter matches every series of the metric;
//! - ranges are inclusive at both ends; every `i64` is a valid timestamp;
//! - writing a series and timestamp again replaces the value (last write wins); values
//!   are stored bit for bit as given, NaN and infinities included;
//! - results are sorted by series key, then timestamp;
//! - bad input (an empty or over-long metric, tag key or value, a control character,
//!   a tag key twice, more than 64 tags, a reversed range) is
//!   [`Error::InvalidArgument`] and writes nothing; a batch is all or nothing.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::engine::lock::lock;
use crate::engine::worker::Workers;
use crate::error::{Error, Result};
use crate::ts::core::inner::Inner;
use crate::ts::handle::SeriesHandle;
use crate::ts::ingest::series_cache::CachePool;
use crate::ts::options::Options;
use crate::ts::read::merge::HeadSnapshot;
use crate::ts::read::scan::Scan;
use crate::ts::series::key::{Point, SeriesKey, validate_parts};
use crate::ts::stats::Stats;
use crate::ts::write::{self, PreparedWrite, WriteCache};
use crate::ts::{background, compaction, flush, open};

/// An embedded time-series database in one directory. `Send + Sync`: share it between
/// threads by reference or in an `Arc`. Dropping it stops background work and syncs
/// the WAL, ignoring errors; [`Db::close`] does the same and reports them.
pub struct Db {
    pub(crate) inner: Arc<Inner>,
    /// Series resolved by earlier `insert_batch` calls (see [`WriteCache`]).
    write_cache: Mutex<WriteCache>,
    /// Series caches of dropped [`crate::ts::Writer`]s, for the next ones.
    pub(crate) writer_caches: CachePool,
    workers: Workers,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens the database in `path` with default [`Options`], creating it if needed.
    /// [`Error::Locked`] if another handle has it open.
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_with(path, Options::default())
    }

    /// Opens the database in `path` with `opts`, creating it if needed.
    pub fn open_with(path: impl AsRef<Path>, opts: Options) -> Result<Db> {
        let inner = Arc::new(open::open(path.as_ref(), opts)?);
        let db = Db {
            inner,
            write_cache: Mutex::new(WriteCache::default()),
            writer_caches: CachePool::default(),
            workers: Workers::default(),
        };
        if db.inner.opts.shared.background_work {
            db.workers.push(background::spawn(&db.inner)?);
            // A first round at once: segments left by the last run may want compacting.
            db.inner.wakeup.wake();
        }
        if db.inner.wal_replay.cut_tail() {
            // Replay cut a torn or damaged WAL tail. Flushing now moves the recovered
            // points into a segment and retires that WAL segment, so the next open does
            // not meet the damage again in a segment that is no longer the last.
            db.flush()?;
        }
        Ok(db)
    }

    /// The database's directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Adds one point (the seed's `add_data_point`); replaces the value if the series
    /// already has a point at `timestamp`.
    pub fn insert(
        &self,
        metric: &str,
        timestamp: i64,
        value: f64,
        tags: &[(&str, &str)],
    ) -> Result<()> {
        let prep = write::prepare_one(&self.inner.catalog(), metric, tags, timestamp, value)?;
        self.commit(prep)
    }

    /// Replaces the value of an existing point. [`Error::NotFound`] if the series has
    /// no point at `timestamp` (nothing is written then).
    pub fn update(
        &self,
        metric: &str,
        timestamp: i64,
        value: f64,
        tags: &[(&str, &str)],
    ) -> Result<()> {
        validate_parts(metric, tags)?;
        let not_found = || {
            let key = SeriesKey::new(metric, tags).map(|k| k.to_string());
            Error::NotFound(format!(
                "no point of {} at {timestamp}",
                key.unwrap_or_else(|_| metric.to_owned())
            ))
        };
        let Some(id) = self.inner.catalog().lookup(metric, tags) else {
            return Err(not_found());
        };
        {
            let mut w = lock(&self.inner.writer);
            // Checked under the writer lock, so no delete can slip in between.
            if !write::point_exists(&self.inner, id, timestamp)? {
                return Err(not_found());
            }
            write::commit_columns(&self.inner, &mut w, id, &[timestamp], &[value])?;
        }
        write::sync_if_always(&self.inner)
    }

    /// Every series of `metric` with a point at `timestamp`, one point each.
    pub fn get(&self, metric: &str, timestamp: i64) -> Result<Vec<Point>> {
        self.query_range(metric, timestamp, timestamp, &[])
    }

    /// Adds many points atomically: after a crash either all of them are there or
    /// none. Validates every point before writing anything.
    pub fn insert_batch(&self, points: &[Point]) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        // The cache of known series, unless another writer is using it right now.
        let mut cache = self.write_cache.try_lock().ok();
        // An `Error::Internal` from it (a broken invariant) poisons; bad input does not.
        let prep = self.inner.poison.on_err(write::prepare_points(
            &self.inner.catalog(),
            cache.as_deref_mut(),
            points,
        ))?;
        drop(cache);
        self.commit(prep)
    }

    /// The points of the series of `metric` matching the tag filter `tags`, with
    /// `start <= timestamp <= end`.
    pub fn query_range(
        &self,
        metric: &str,
        start: i64,
        end: i64,
        tags: &[(&str, &str)],
    ) -> Result<Vec<Point>> {
        let mut scan = self.scan(metric, start, end, tags)?;
        let mut out = Vec::new();
        while let Some(s) = scan.next()? {
            let key = s.key();
            out.reserve(s.len());
            for (&timestamp, &value) in s.timestamps().iter().zip(s.values()) {
                out.push(Point {
                    metric: key.metric.clone(),
                    tags: key.tags.clone(),
                    timestamp,
                    value,
                });
            }
        }
        Ok(out)
    }

    /// Every point of the series of `metric` matching the tag filter `tags`.
    pub fn query_by_tags(&self, metric: &str, tags: &[(&str, &str)]) -> Result<Vec<Point>> {
        self.query_range(metric, i64::MIN, i64::MAX, tags)
    }

    /// Every point of `metric`.
    pub fn query_metric(&self, metric: &str) -> Result<Vec<Point>> {
        self.query_range(metric, i64::MIN, i64::MAX, &[])
    }

    /// Every series ever written (including those whose points were all deleted),
    /// sorted.
    pub fn list_keys(&self) -> Result<Vec<SeriesKey>> {
        let catalog = self.inner.catalog();
        Ok(catalog
            .keys_sorted()
            .into_iter()
            .map(|(_, k)| k.clone())
            .collect())
    }

    /// Every metric name, sorted.
    pub fn metrics(&self) -> Vec<String> {
        self.inner
            .catalog()
            .metrics()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Deletes the points with `start <= timestamp <= end` of the series of `metric`
    /// matching the tag filter `tags`. Points written afterwards are kept. Compaction
    /// reclaims the space.
    pub fn delete_range(
        &self,
        metric: &str,
        start: i64,
        end: i64,
        tags: &[(&str, &str)],
    ) -> Result<()> {
        validate_parts(metric, tags)?;
        check_range(start, end)?;
        let ids = self.inner.catalog().matching(metric, tags);
        if ids.is_empty() {
            return Ok(());
        }
        self.commit(PreparedWrite::deletes(ids.iter(), start, end))
    }

    /// A columnar scan of the series of `metric` matching the tag filter `tags` over
    /// `[start, end]`: see [`Scan`]. It reads a consistent snapshot taken now.
    pub fn scan(&self, metric: &str, start: i64, end: i64, tags: &[(&str, &str)]) -> Result<Scan> {
        validate_parts(metric, tags)?;
        check_range(start, end)?;
        let start = match self.inner.retention_cutoff() {
            Some(cutoff) => start.max(cutoff),
            None => start,
        };
        // Under the head gate, writers cannot apply a write to the head: the view, the
        // series list and the head's copy all show the same writes.
        let gate = self.inner.head_gate();
        let view = self.inner.current_view();
        let series: Vec<(u32, Arc<SeriesKey>)> = {
            let catalog = self.inner.catalog();
            let ids = catalog.matching(metric, tags);
            self.inner
                .series_order
                .sorted(&catalog, metric, &ids, |_| true)
        };
        let head = HeadSnapshot::capture(&view.head, series.iter().map(|s| s.0), start, end);
        drop(gate);
        Ok(Scan::new(view, Arc::new(head), series, start, end))
    }

    /// The handle of series `metric` + `tags`, defining the series if it is new.
    pub fn series(&self, metric: &str, tags: &[(&str, &str)]) -> Result<SeriesHandle> {
        if let Some(id) = self.inner.catalog().lookup(metric, tags) {
            return self.handle(id);
        }
        let key = SeriesKey::new(metric, tags)?;
        let ids = {
            let mut w = lock(&self.inner.writer);
            write::commit(&self.inner, &mut w, PreparedWrite::define(key))?
        };
        write::sync_if_always(&self.inner)?;
        let id = self.inner.poison.on_err(
            ids.first()
                .copied()
                .ok_or_else(|| Error::internal("series definition produced no id")),
        )?;
        self.handle(id)
    }

    fn handle(&self, id: u32) -> Result<SeriesHandle> {
        let key = self.inner.catalog().key(id);
        let key = key.ok_or_else(|| Error::NotFound(format!("series id {id}")))?;
        Ok(SeriesHandle {
            id,
            instance: self.inner.instance,
            key,
        })
    }

    /// Appends points to a series given as columns (`timestamps[i]` has
    /// `values[i]`): the fast write path, with no tag hashing. Any order; last write
    /// wins. [`Error::InvalidArgument`] if the lengths differ or the handle belongs to
    /// another database.
    pub fn append(&self, series: &SeriesHandle, timestamps: &[i64], values: &[f64]) -> Result<()> {
        if series.instance != self.inner.instance {
            return Err(Error::invalid(format!(
                "the handle of {} belongs to another database",
                series.key
            )));
        }
        if timestamps.is_empty() && values.is_empty() {
            return Ok(());
        }
        {
            let mut w = lock(&self.inner.writer);
            write::commit_columns(&self.inner, &mut w, series.id, timestamps, values)?;
        }
        write::sync_if_always(&self.inner)
    }

    fn commit(&self, prep: PreparedWrite<'_>) -> Result<()> {
        if prep.is_empty() {
            return Ok(());
        }
        {
            let mut w = lock(&self.inner.writer);
            write::commit(&self.inner, &mut w, prep)?;
        }
        write::sync_if_always(&self.inner)
    }

    /// Writes the head (and every frozen head) to segments and waits for it. Useful
    /// before a backup, or to bound the WAL replayed at the next open.
    ///
    /// Everything written before the call is durable when it returns, in every
    /// [`crate::io::wal::SyncMode`]: points and deletes are in segments, and series
    /// defined without points ([`Db::series`]) are in the WAL, fsync'd.
    pub fn flush(&self) -> Result<()> {
        let froze = {
            let mut w = lock(&self.inner.writer);
            write::freeze(&self.inner, &mut w)?
        };
        flush::flush_all(&self.inner)?;
        if !froze {
            // An empty head: the current WAL segment can only hold series definitions
            // (a point or a delete would be in the head), which no rotation froze.
            self.inner.poison.on_err(self.inner.wal.sync())?;
        }
        Ok(())
    }

    /// Flushes, then compacts every segment into one per time partition, applying
    /// deletes and retention, and waits for it.
    pub fn compact(&self) -> Result<()> {
        self.flush()?;
        compaction::compact_all(&self.inner)
    }

    /// Sizes and counters.
    pub fn stats(&self) -> Stats {
        open::sizes(&self.inner)
    }

    /// Stops background work and makes every acknowledged write durable. Reports what
    /// dropping the handle would ignore.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    /// The engine, for the query paths that live in their own modules (analytics).
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    fn shutdown(&self) -> Result<()> {
        self.inner.wakeup.stop();
        self.workers.stop();
        self.inner.poison.check()?;
        self.inner.wal.sync()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn check_range(start: i64, end: i64) -> Result<()> {
    if start > end {
        return Err(Error::invalid(format!(
            "range start {start} is after its end {end}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Db>();
        check::<Scan>();
    }
}
