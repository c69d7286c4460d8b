//! A [`crate::ts::Writer`]'s cache: the series it has seen, each with the batch's
//! column pair, found from borrowed names without allocating.
//!
//! Series are found through the catalog's order-independent hash of metric and tags
//! (`KeyIndex`). Their tag sets are interned: series that share their tags (the ten
//! metrics of one host) share one [`TagSet`], which remembers the order the caller gave
//! the tags in last. Data arrives host by host, so an add whose tags equal the previous
//! add's, pair by pair in that order, reuses the tags' hash and is verified by comparing
//! the metric and the tag set's number only. Tags in another order fall back to
//! [`SeriesKey::matches`], and the new order is remembered. A refused name never
//! enters the cache: a new series is validated (`SeriesKey::new`) before it is added.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Mutex;

use crate::engine::lock::lock;
use crate::error::{Error, Result};
use crate::ts::catalog::Catalog;
use crate::ts::series::key::SeriesKey;
use crate::ts::series::key_index::KeyIndex;
use crate::ts::write::{IdHasher, str_eq};

/// A series seen, with the batch's points of it.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) key: SeriesKey,
    /// Its tag set in [`SeriesCache::tagsets`].
    tagset: u32,
    /// Its place in that tag set's `members`.
    member: u32,
    /// Its id, once the catalog has it.
    pub(crate) id: Option<u32>,
    pub(crate) ts: Vec<i64>,
    pub(crate) vals: Vec<f64>,
}

/// A tag set some cached series have (sorted, as in their keys).
#[derive(Debug)]
struct TagSet {
    tags: Vec<(String, String)>,
    /// The order the tags came in last: given tag `i` is `tags[order[i]]`; always a
    /// permutation, so pairwise equality through it is set equality.
    order: Vec<u8>,
    /// `KeyIndex::tags_hash` of the tags.
    hash: u64,
    /// The slots of the series with these tags, in the order they were cached.
    members: Vec<u32>,
    /// The tag set added after this one last time (data arrives host after host, in
    /// the same order at every step).
    next: Option<u32>,
}

impl TagSet {
    /// True when `tags` are these, given in the order remembered.
    fn same_as_given(&self, tags: &[(&str, &str)]) -> bool {
        self.order.len() == tags.len()
            && self.order.iter().zip(tags).all(|(&i, &(k, v))| {
                self.tags
                    .get(usize::from(i))
                    .is_some_and(|(sk, sv)| str_eq(sk, k) && str_eq(sv, v))
            })
    }

    /// Remembers the order of `tags`, which are these tags (checked by the caller).
    fn remember(&mut self, tags: &[(&str, &str)]) {
        if self.same_as_given(tags) {
            return;
        }
        self.order.clear();
        for &(k, _) in tags {
            let i = self.tags.iter().position(|(sk, _)| sk == k).unwrap_or(0);
            self.order.push(u8::try_from(i).unwrap_or(0));
        }
    }
}

/// The series a writer has seen; see the module docs.
#[derive(Default)]
pub(crate) struct SeriesCache {
    /// Hash of metric and tags -> slot.
    index: KeyIndex,
    /// Series id -> slot, for handles and series met under both forms.
    by_id: HashMap<u32, u32, BuildHasherDefault<IdHasher>>,
    slots: Vec<Slot>,
    tagsets: Vec<TagSet>,
    /// Tags' hash -> tag set.
    tagset_index: KeyIndex,
    /// The tag set of the previous add.
    last: Option<u32>,
    /// The member of that tag set to try first for the next add: the one after the
    /// previous add's (data arrives series after series, in the same order each time).
    next_member: usize,
}

impl SeriesCache {
    /// Series cached.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn slot(&self, s: u32) -> Option<&Slot> {
        self.slots.get(s as usize)
    }

    pub(crate) fn slot_mut(&mut self, s: u32) -> Option<&mut Slot> {
        self.slots.get_mut(s as usize)
    }

    /// The slot of `metric` + `tags` (any order): cached, or made after a look-up in
    /// the catalog `catalog` gives (a new series is validated first).
    pub(crate) fn resolve<'c>(
        &mut self,
        catalog: impl FnOnce() -> std::sync::RwLockReadGuard<'c, Catalog>,
        metric: &str,
        tags: &[(&str, &str)],
    ) -> Result<u32> {
        let given = |t: &u32| {
            self.tagsets
                .get(*t as usize)
                .is_some_and(|ts| ts.same_as_given(tags))
        };
        let prev = self.last;
        let mut at = self.next_member;
        let mut last = prev.filter(given);
        if last.is_none() {
            // Other tags: those that came after the previous add's last time, in the
            // order given then, are the likely ones (no hash of the tags needed).
            last = prev
                .and_then(|p| self.tagsets.get(p as usize)?.next)
                .filter(given);
            at = 0;
        }
        let tagset = last.and_then(|t| self.tagsets.get(t as usize));
        // Tags known in the order given (the previous add's, or the ones after them):
        // the series that came next last time is the likely one; only its metric is
        // left to compare, and the tags' order does not change.
        if let Some(ts) = tagset {
            if at >= ts.members.len() {
                at = 0;
            }
            if let Some(&s) = ts.members.get(at)
                && self
                    .slots
                    .get(s as usize)
                    .is_some_and(|slot| str_eq(&slot.key.metric, metric))
            {
                self.next_member = at + 1;
                self.last = last;
                return Ok(s);
            }
        }
        let tags_hash = match tagset {
            Some(ts) => ts.hash,
            None => self.index.tags_hash(tags.iter().copied()),
        };
        let hash = self.index.hash_with_tags(metric, tags_hash, tags.len());
        let (slots, tagsets) = (&self.slots, &self.tagsets);
        // whether the slot found has the tags in the order given (no need to remember it)
        let in_order = std::cell::Cell::new(last.is_some());
        let found = self.index.find(hash, |s| {
            slots.get(s as usize).is_some_and(|slot| {
                str_eq(&slot.key.metric, metric)
                    && match last {
                        Some(t) => slot.tagset == t,
                        None => {
                            let given = tagsets
                                .get(slot.tagset as usize)
                                .is_some_and(|ts| ts.same_as_given(tags));
                            in_order.set(given);
                            given || slot.key.matches(metric, tags)
                        }
                    }
            })
        });
        if let Some(s) = found {
            self.seen(s, tags, in_order.get());
            return Ok(s);
        }
        let (key, id) = {
            let catalog = catalog();
            match catalog.lookup(metric, tags) {
                Some(id) => match catalog.key(id) {
                    Some(key) => (key.clone(), Some(id)),
                    None => (SeriesKey::new(metric, tags)?, None),
                },
                None => (SeriesKey::new(metric, tags)?, None),
            }
        };
        // A handle may have brought this series in already.
        let s = match id.and_then(|id| self.by_id.get(&id)) {
            Some(&s) => s,
            None => self.new_slot(key, id, tags_hash)?,
        };
        self.index.insert(hash, s);
        self.seen(s, tags, false);
        Ok(s)
    }

    /// The slot of series `id`, if cached.
    pub(crate) fn by_id(&self, id: u32) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    /// The slot of series `key` whose id is `id` (from a handle), cached or made.
    pub(crate) fn resolve_key(&mut self, key: &SeriesKey, id: u32) -> Result<u32> {
        let tags_hash = self.index.tags_hash(key.tag_refs());
        let hash = self
            .index
            .hash_with_tags(&key.metric, tags_hash, key.tags.len());
        let slots = &self.slots;
        let named = self.index.find(hash, |s| {
            slots.get(s as usize).is_some_and(|slot| slot.key == *key)
        });
        let s = match named {
            // Added by name before the catalog had it: the same series.
            Some(s) => s,
            None => {
                let s = self.new_slot(key.clone(), Some(id), tags_hash)?;
                self.index.insert(hash, s);
                s
            }
        };
        if let Some(slot) = self.slots.get_mut(s as usize) {
            slot.id = Some(id);
        }
        self.by_id.insert(id, s);
        Ok(s)
    }

    /// Records that slot `s` (a new series when the write was made) is `id`.
    pub(crate) fn learn_id(&mut self, s: u32, id: u32) {
        if let Some(slot) = self.slots.get_mut(s as usize)
            && slot.id.is_none()
        {
            slot.id = Some(id);
            self.by_id.insert(id, s);
        }
    }

    /// Empties the cache (no slot may hold points).
    pub(crate) fn forget(&mut self) {
        *self = SeriesCache::default();
    }

    /// Slot `s` was found for `tags`, which are its tags (`in_order`: in the order its
    /// tag set remembers): remember their order, and that its tag set came after the
    /// previous add's.
    fn seen(&mut self, s: u32, tags: &[(&str, &str)], in_order: bool) {
        let Some((t, member)) = self
            .slots
            .get(s as usize)
            .map(|slot| (slot.tagset, slot.member))
        else {
            return;
        };
        self.next_member = member as usize + 1;
        if !in_order && let Some(ts) = self.tagsets.get_mut(t as usize) {
            ts.remember(tags);
        }
        if let Some(p) = self.last.filter(|&p| p != t)
            && let Some(prev) = self.tagsets.get_mut(p as usize)
        {
            prev.next = Some(t);
        }
        self.last = Some(t);
    }

    fn new_slot(&mut self, key: SeriesKey, id: Option<u32>, tags_hash: u64) -> Result<u32> {
        let s = u32::try_from(self.slots.len())
            .map_err(|_| Error::invalid("too many series in one writer"))?;
        let tagset = self.intern(&key.tags, tags_hash)?;
        let members = self
            .tagsets
            .get_mut(tagset as usize)
            .map(|ts| &mut ts.members)
            .ok_or_else(|| Error::internal("writer cache: a tag set just made is missing"))?;
        let member = u32::try_from(members.len())
            .map_err(|_| Error::invalid("too many series in one writer"))?;
        members.push(s);
        self.slots.push(Slot {
            key,
            tagset,
            member,
            id,
            ts: Vec::new(),
            vals: Vec::new(),
        });
        if let Some(id) = id {
            self.by_id.insert(id, s);
        }
        Ok(s)
    }

    /// The tag set of sorted `tags`, made if new (in sorted order).
    fn intern(&mut self, tags: &[(String, String)], hash: u64) -> Result<u32> {
        let tagsets = &self.tagsets;
        if let Some(t) = self.tagset_index.find(hash, |t| {
            tagsets.get(t as usize).is_some_and(|ts| ts.tags == tags)
        }) {
            return Ok(t);
        }
        let t = u32::try_from(self.tagsets.len())
            .map_err(|_| Error::invalid("too many tag sets in one writer"))?;
        self.tagsets.push(TagSet {
            tags: tags.to_vec(),
            order: (0..tags.len())
                .filter_map(|i| u8::try_from(i).ok())
                .collect(),
            hash,
            members: Vec::new(),
            next: None,
        });
        self.tagset_index.insert(hash, t);
        Ok(t)
    }
}

/// The series caches of dropped writers, kept by the database for the next writers:
/// `Db::write_lines` makes a writer per call, and each would otherwise resolve every
/// series of the call in the catalog again. At most [`CachePool::KEPT`] caches of at
/// most [`CachePool::MAX_SERIES`] series are kept; their slots hold no points.
#[derive(Default)]
pub(crate) struct CachePool(Mutex<Vec<SeriesCache>>);

impl CachePool {
    /// Caches kept at most (one per writer that may run at the same time).
    const KEPT: usize = 4;
    /// The most series a kept cache may hold.
    const MAX_SERIES: usize = 1 << 14;

    /// A kept cache, or a new one.
    pub(crate) fn take(&self) -> SeriesCache {
        lock(&self.0).pop().unwrap_or_default()
    }

    /// Keeps `cache` (emptied of points by the caller) if there is room.
    pub(crate) fn give(&self, cache: SeriesCache) {
        if cache.len() == 0 || cache.len() > Self::MAX_SERIES {
            return;
        }
        let mut kept = lock(&self.0);
        if kept.len() < Self::KEPT {
            kept.push(cache);
        }
    }
}
