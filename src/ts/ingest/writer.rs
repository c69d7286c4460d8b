//! [`Writer`]: the engine's write batch for borrowed input, from [`Db::writer`].
//!
//! A writer owns one column pair per series it has points of, and a cache from the
//! series it has seen (by metric and tags as borrowed, in any tag order) to those
//! columns. [`Writer::add`] validates the point at once; a series seen before costs
//! one hash of the borrowed names and one comparison with the cached key, and no
//! allocation. [`Writer::commit`] hands the columns to the engine's write path as one
//! write (one WAL record, WAL column bodies encoded from the columns, one head lock
//! per series) and empties them; the writer stays usable. A writer dropped without a
//! commit writes nothing: the engine sees nothing of a batch before its commit.
//!
//! The cache outlives commits, so a long-lived writer resolves each series once. It
//! is emptied after a commit when it holds more than [`MAX_CACHED_SERIES`] series,
//! which bounds its memory with high cardinality.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::error::{Error, Result};
use crate::ts::db::Db;
use crate::ts::engine::lock;
use crate::ts::handle::SeriesHandle;
use crate::ts::ingest::point::{PointRef, PointSink};
use crate::ts::key_index::KeyIndex;
use crate::ts::series::SeriesKey;
use crate::ts::wal_batch::MAX_BATCH_POINTS;
use crate::ts::write::{self, IdHasher, PreparedWrite, Target, str_eq};

/// The most series a writer's cache keeps past a commit.
pub const MAX_CACHED_SERIES: usize = 1 << 16;

/// A series the writer has seen, with the batch's points of it.
#[derive(Debug)]
struct Slot {
    key: SeriesKey,
    /// The tag order last given: given tag `i` is `key.tags[order[i]]`. Lets a hit
    /// be verified pair by pair instead of searching the key's tags.
    order: Vec<u8>,
    /// Its id, once the catalog has it.
    id: Option<u32>,
    ts: Vec<i64>,
    vals: Vec<f64>,
}

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
    /// Order-independent hash of metric and tags -> slot.
    index: KeyIndex,
    /// Series id -> slot, for handles and for series met under both forms.
    by_id: HashMap<u32, u32, BuildHasherDefault<IdHasher>>,
    slots: Vec<Slot>,
    /// Slots with points in the batch, in the order they got their first one.
    active: Vec<u32>,
    points: usize,
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("points", &self.points)
            .field("series", &self.active.len())
            .field("cached_series", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl<'db> Writer<'db> {
    pub(crate) fn new(db: &'db Db) -> Self {
        Writer {
            db,
            index: KeyIndex::default(),
            by_id: HashMap::default(),
            slots: Vec::new(),
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
        let slot = self.resolve(metric, tags)?;
        self.push(slot, ts, value);
        Ok(())
    }

    /// Adds a point of the series of `handle`. [`Error::InvalidArgument`] if the
    /// handle belongs to another database.
    pub fn add_series(&mut self, handle: &SeriesHandle, ts: i64, value: f64) -> Result<()> {
        self.check_room()?;
        let slot = match self.by_id.get(&handle.id) {
            Some(&s) => s,
            None => self.resolve_handle(handle)?,
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
        for &s in &self.active {
            if let Some(slot) = self.slots.get_mut(s as usize) {
                slot.ts.clear();
                slot.vals.clear();
            }
        }
        self.active.clear();
        self.points = 0;
        if self.slots.len() > MAX_CACHED_SERIES {
            self.forget();
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
            if let Some(slot) = self.slots.get_mut(s as usize) {
                slot.ts.clear();
                slot.vals.clear();
            }
        }
        self.active.clear();
        self.points = 0;
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
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return;
        };
        if s.ts.is_empty() {
            self.active.push(slot);
        }
        s.ts.push(ts);
        s.vals.push(value);
        self.points += 1;
    }

    /// The slot of `metric` + `tags`: from the cache, or made (validating the key).
    fn resolve(&mut self, metric: &str, tags: &[(&str, &str)]) -> Result<u32> {
        let hash = self.index.hash(metric, tags.iter().copied());
        let slots = &mut self.slots;
        if let Some(s) = self.index.find(hash, |s| {
            slots
                .get_mut(s as usize)
                .is_some_and(|slot| slot.matches(metric, tags))
        }) {
            return Ok(s);
        }
        let (key, id) = {
            let catalog = self.db.inner.catalog();
            match catalog.lookup(metric, tags) {
                Some(id) => match catalog.key(id) {
                    Some(key) => (key.clone(), Some(id)),
                    None => (SeriesKey::new(metric, tags)?, None),
                },
                None => (SeriesKey::new(metric, tags)?, None),
            }
        };
        // A handle may have brought this series in already.
        if let Some(&s) = id.and_then(|id| self.by_id.get(&id)) {
            self.index.insert(hash, s);
            return Ok(s);
        }
        let s = self.new_slot(key, id)?;
        self.index.insert(hash, s);
        Ok(s)
    }

    /// The slot of a handle not seen by id yet.
    fn resolve_handle(&mut self, handle: &SeriesHandle) -> Result<u32> {
        if handle.instance != self.db.inner.instance {
            return Err(Error::invalid(format!(
                "the handle of {} belongs to another database",
                handle.key
            )));
        }
        let key = &handle.key;
        let hash = self.index.hash(&key.metric, key.tag_refs());
        let slots = &self.slots;
        let named = self.index.find(hash, |s| {
            slots.get(s as usize).is_some_and(|slot| slot.key == *key)
        });
        let s = match named {
            // Added by name before the catalog had it: the same series.
            Some(s) => {
                if let Some(slot) = self.slots.get_mut(s as usize) {
                    slot.id = Some(handle.id);
                }
                s
            }
            None => {
                let s = self.new_slot(key.clone(), Some(handle.id))?;
                self.index.insert(hash, s);
                s
            }
        };
        self.by_id.insert(handle.id, s);
        Ok(s)
    }

    fn new_slot(&mut self, key: SeriesKey, id: Option<u32>) -> Result<u32> {
        let s = u32::try_from(self.slots.len())
            .map_err(|_| Error::invalid("too many series in one writer"))?;
        self.slots.push(Slot {
            key,
            order: Vec::new(),
            id,
            ts: Vec::new(),
            vals: Vec::new(),
        });
        if let Some(id) = id {
            self.by_id.insert(id, s);
        }
        Ok(s)
    }

    /// Empties the cache (the batch must be empty).
    fn forget(&mut self) {
        self.index = KeyIndex::default();
        self.by_id.clear();
        self.slots.clear();
        self.slots.shrink_to_fit();
    }

    fn write(&mut self) -> Result<()> {
        let slots = &self.slots;
        let series = self.active.iter().filter_map(|&s| {
            let slot = slots.get(s as usize)?;
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
            if let Some(slot) = self.slots.get_mut(s as usize)
                && slot.id.is_none()
            {
                slot.id = Some(id);
                self.by_id.insert(id, s);
            }
        }
        write::sync_if_always(inner)
    }
}

impl Slot {
    /// True when this slot's series is `metric` + `tags` (tags in any order). Checks
    /// the pairs in the order the tags came last time first (equal names, no search);
    /// only another order pays for [`SeriesKey::matches`], and is remembered.
    fn matches(&mut self, metric: &str, tags: &[(&str, &str)]) -> bool {
        let key = &self.key;
        if !str_eq(&key.metric, metric) || key.tags.len() != tags.len() {
            return false;
        }
        // `order` is a permutation of the key's tags (made only after a full match),
        // so pairwise equality through it is set equality.
        let same_order = self.order.len() == tags.len()
            && self.order.iter().zip(tags).all(|(&i, &(k, v))| {
                key.tags
                    .get(usize::from(i))
                    .is_some_and(|(sk, sv)| str_eq(sk, k) && str_eq(sv, v))
            });
        if same_order {
            return true;
        }
        if !key.matches(metric, tags) {
            return false;
        }
        self.order.clear();
        for &(k, _) in tags {
            let i = key.tags.iter().position(|(sk, _)| sk == k).unwrap_or(0);
            self.order.push(u8::try_from(i).unwrap_or(0));
        }
        true
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
