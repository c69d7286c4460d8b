//! [`Writer`]: the engine's write batch for borrowed input, from [`Db::writer`].
//!
//! A writer owns one column pair per series it has points of, and a cache from the
//! series it has seen (by metric and tags as borrowed, in any tag order) to those
//! columns (`series_cache`). [`Writer::add`] validates the point at once; a series
//! seen before costs a hash of the borrowed names (of the metric alone when the tags
//! are the previous add's) and a comparison with the cached key, and no allocation. [`Writer::commit`] hands the columns to the engine's write path as one
//! write (one WAL record, WAL column bodies encoded from the columns, one head lock
//! per series) and empties them; the writer stays usable. A writer dropped without a
//! commit writes nothing: the engine sees nothing of a batch before its commit.
//!
//! The cache outlives commits, so a long-lived writer resolves each series once. It
//! is emptied after a commit when it holds more than [`MAX_CACHED_SERIES`] series,
//! which bounds its memory with high cardinality.

use crate::engine::lock::lock;
use crate::error::{Error, Result};
use crate::ts::db::Db;
use crate::ts::handle::SeriesHandle;
use crate::ts::ingest::point::{PointRef, PointSink};
use crate::ts::ingest::series_cache::SeriesCache;
use crate::ts::write::wal_batch::MAX_BATCH_POINTS;
use crate::ts::write::{self, PreparedWrite, Target};

/// The most series a writer's cache keeps past a commit.
pub const MAX_CACHED_SERIES: usize = 1 << 16;

/// The points a series' columns keep room for past a commit.
const KEPT_POINTS: usize = 64;

/// A write batch that borrows nothing past each call: points are added with borrowed
/// names ([`Writer::add`]) or a [`SeriesHandle`] ([`Writer::add_series`]) and written
/// atomically by [`Writer::commit`], as one `insert_batch` would write them.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use tidestore::Db;
/// let db = Db::open(dir.path())?;
/// let mut w = db.writer();
/// w.add("cpu_usage_user", &[("hostname", "host_1"), ("region", "eu-west-1")], 10, 58.0)?;
/// // the same series, tags in another order: found in the writer's cache
/// w.add("cpu_usage_user", &[("region", "eu-west-1"), ("hostname", "host_1")], 20, 59.0)?;
/// assert!(w.add("", &[], 30, 1.0).is_err()); // refused at once; the batch is unchanged
/// assert_eq!(w.len(), 2);
/// w.commit()?; // one atomic write; `w` is empty and reusable
/// assert_eq!(db.query_metric("cpu_usage_user")?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Writer<'db> {
    db: &'db Db,
    cache: SeriesCache,
    /// Slots with points in the batch, in the order they got their first one.
    active: Vec<u32>,
    points: usize,
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("points", &self.points)
            .field("series", &self.active.len())
            .field("cached_series", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl<'db> Writer<'db> {
    pub(crate) fn new(db: &'db Db) -> Self {
        Writer {
            db,
            cache: db.writer_caches.take(),
            active: Vec::new(),
            points: 0,
        }
    }

    /// Adds a point of series `metric` + `tags` (tags in any order). Validated at once
    /// with the rules of [`Db::insert`]: a refused point is [`Error::InvalidArgument`]
    /// and leaves the batch as it was. So is a point past the most one write may hold
    /// (4 Mi points; commit before).
    pub fn add(&mut self, metric: &str, tags: &[(&str, &str)], ts: i64, value: f64) -> Result<()> {
        self.check_room()?;
        let inner = &self.db.inner;
        let slot = self.cache.resolve(|| inner.catalog(), metric, tags)?;
        self.push(slot, ts, value);
        Ok(())
    }

    /// Adds a point of the series of `handle`. [`Error::InvalidArgument`] if the
    /// handle belongs to another database.
    pub fn add_series(&mut self, handle: &SeriesHandle, ts: i64, value: f64) -> Result<()> {
        self.check_room()?;
        if handle.instance != self.db.inner.instance {
            return Err(Error::invalid(format!(
                "the handle of {} belongs to another database",
                handle.key
            )));
        }
        let slot = match self.cache.by_id(handle.id) {
            Some(s) => s,
            None => self.cache.resolve_key(&handle.key, handle.id)?,
        };
        self.push(slot, ts, value);
        Ok(())
    }

    /// Writes the batch atomically (one WAL record; after a crash all of it or none
    /// is there) and empties it; the writer is reusable. The batch is emptied even
    /// when the write fails (nothing of it is written then). Nothing to write is not
    /// an error.
    pub fn commit(&mut self) -> Result<()> {
        if self.active.is_empty() {
            return Ok(());
        }
        let result = self.write();
        self.clear();
        if self.cache.len() > MAX_CACHED_SERIES {
            self.cache.forget();
        }
        result
    }

    /// Points in the batch.
    pub fn len(&self) -> usize {
        self.points
    }

    /// True when the batch holds no point.
    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    /// Drops the batch's points without writing them; the cache of series stays.
    pub fn clear(&mut self) {
        for &s in &self.active {
            if let Some(slot) = self.cache.slot_mut(s) {
                slot.ts.clear();
                slot.vals.clear();
                // Room for a few points per series stays (the next batch likely has as
                // many); more is given back, so a cache kept after one large batch
                // does not hold its memory.
                if slot.ts.capacity() > KEPT_POINTS {
                    slot.ts = Vec::new();
                    slot.vals = Vec::new();
                }
            }
        }
        self.active.clear();
        self.points = 0;
    }

    /// Ends the writer, dropping its points unwritten, and gives its cache of series
    /// back to the database for the next writer ([`Db::write_lines`] makes one per
    /// call). A writer merely dropped takes its cache with it: a `Drop` here would
    /// keep the database borrowed to the end of the caller's scope.
    pub(crate) fn recycle(mut self) {
        self.clear();
        self.db.writer_caches.give(std::mem::take(&mut self.cache));
    }

    fn check_room(&self) -> Result<()> {
        if self.points >= MAX_BATCH_POINTS {
            return Err(Error::invalid(format!(
                "the batch holds {MAX_BATCH_POINTS} points, the most one write may hold; \
                 commit it first"
            )));
        }
        Ok(())
    }

    fn push(&mut self, slot: u32, ts: i64, value: f64) {
        let Some(s) = self.cache.slot_mut(slot) else {
            return;
        };
        if s.ts.is_empty() {
            self.active.push(slot);
        }
        s.ts.push(ts);
        s.vals.push(value);
        self.points += 1;
    }

    fn write(&mut self) -> Result<()> {
        let cache = &self.cache;
        let series = self.active.iter().filter_map(|&s| {
            let slot = cache.slot(s)?;
            let target = match slot.id {
                Some(id) => Target::Known(id),
                None => Target::New(slot.key.clone()),
            };
            Some((target, &slot.ts[..], &slot.vals[..]))
        });
        let prep = PreparedWrite::series(series, self.points)?;
        let inner = &self.db.inner;
        let ids = {
            let mut w = lock(&inner.writer);
            write::commit(inner, &mut w, prep)?
        };
        // New series have their ids now.
        for (&s, &id) in self.active.iter().zip(&ids) {
            self.cache.learn_id(s, id);
        }
        write::sync_if_always(inner)
    }
}

/// The import's sink: points go into the batch, `commit` writes it.
impl PointSink for Writer<'_> {
    fn add(&mut self, point: PointRef<'_>) -> Result<()> {
        Writer::add(self, point.metric, point.tags, point.timestamp, point.value)
    }

    fn commit(&mut self) -> Result<()> {
        Writer::commit(self)
    }
}
