//! The series catalog: series key <-> dense `u32` id, and the tag postings over them.
//!
//! Ids are assigned densely: a new series gets [`Catalog::next_id`], which is one past
//! the largest id ever seen, so an id is never reused. Replay
//! ([`Catalog::insert_with_id`]) may leave holes (ids handed out before a crash whose
//! definitions never became durable); holes are never filled by new series.
//!
//! The catalog is a plain in-memory structure (`&mut self` to insert); the engine wraps
//! it in a lock. It also defines the payloads that make it durable: one *entry* per
//! series definition (for the catalog log and for WAL batches) and a *snapshot* of all
//! entries (for rewriting the catalog file). Both are specified byte by byte in
//! `docs/format.md (part 6)`.

use std::fmt;

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::key::SeriesKey;
use super::key_index::KeyIndex;
use super::postings::MemPostings;
use crate::codec::DecodeError;
use crate::codec::varint::{self, Reader};
use crate::error::{Error, Result};

/// The id that is never assigned, so that [`Catalog::next_id`] always fits a `u32`.
pub const RESERVED_ID: u32 = u32::MAX;

/// The farthest an id may lie past [`Catalog::next_id`] when inserted by replay; a
/// larger jump is refused (it could only come from damaged input, and would make the
/// id table allocate for nothing).
pub const MAX_ID_GAP: u32 = 1 << 20;

/// Kind byte of a catalog entry that defines a series.
pub const ENTRY_DEFINE_SERIES: u8 = 1;

/// Version byte that starts a snapshot payload.
pub const SNAPSHOT_VERSION: u8 = 1;

/// The series index: key <-> id, plus metric and tag postings.
#[derive(Default)]
pub struct Catalog {
    /// `keys[id]`; `None` for a hole. `keys.len()` is the next id. Shared, so readers
    /// take a key with a reference count, not a copy of its strings.
    keys: Vec<Option<Arc<SeriesKey>>>,
    /// Defined series (`keys` minus holes).
    count: usize,
    index: KeyIndex,
    postings: MemPostings,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("series", &self.count)
            .field("next_id", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of the series `metric` + `tags` (tags in any order), if known.
    /// Allocation-free.
    pub fn lookup(&self, metric: &str, tags: &[(&str, &str)]) -> Option<u32> {
        let hash = self.index.hash(metric, tags.iter().copied());
        self.index.find(hash, |id| {
            self.key(id).is_some_and(|k| k.matches(metric, tags))
        })
    }

    /// The id of a canonical key, if known.
    pub fn lookup_key(&self, key: &SeriesKey) -> Option<u32> {
        let hash = self.index.hash(&key.metric, key.tag_refs());
        self.index.find(hash, |id| self.key(id) == Some(key))
    }

    /// The id of series `metric` + `tags`, defining it if new; the flag says whether it
    /// was. A new series is validated first ([`crate::ts::series::key::validate_parts`]) and
    /// gets [`Catalog::next_id`]. A hit neither validates nor allocates (a stored key
    /// is valid, so an invalid input never hits).
    pub fn get_or_insert(&mut self, metric: &str, tags: &[(&str, &str)]) -> Result<(u32, bool)> {
        let hash = self.index.hash(metric, tags.iter().copied());
        if let Some(id) = self.index.find(hash, |id| {
            self.key(id).is_some_and(|k| k.matches(metric, tags))
        }) {
            return Ok((id, false));
        }
        let key = SeriesKey::new(metric, tags)?;
        let id = self.fresh_id()?;
        self.place(id, key, hash);
        Ok((id, true))
    }

    /// [`Catalog::get_or_insert`] for an owned key, which is stored without copying.
    pub fn get_or_insert_key(&mut self, key: SeriesKey) -> Result<(u32, bool)> {
        let hash = self.index.hash(&key.metric, key.tag_refs());
        if let Some(id) = self.index.find(hash, |id| self.key(id) == Some(&key)) {
            return Ok((id, false));
        }
        key.validate()?;
        let id = self.fresh_id()?;
        self.place(id, key, hash);
        Ok((id, true))
    }

    /// Defines series `id` as `key` (replay of the catalog log or the WAL).
    ///
    /// Idempotent: the same definition again is `Ok`. `Err(InvalidArgument)` when the
    /// key is not canonical, `id` is [`RESERVED_ID`], `id` is already another series,
    /// `key` already has another id, or `id` lies more than [`MAX_ID_GAP`] past the
    /// number of series defined. On error nothing changes.
    pub fn insert_with_id(&mut self, id: u32, key: SeriesKey) -> Result<()> {
        key.validate()?;
        if id == RESERVED_ID {
            return Err(Error::invalid(format!("series id {id} is reserved")));
        }
        if let Some(existing) = self.key(id) {
            if *existing == key {
                return Ok(());
            }
            return Err(Error::invalid(format!(
                "series id {id} is already {existing}, cannot also be {key}"
            )));
        }
        let hash = self.index.hash(&key.metric, key.tag_refs());
        if let Some(other) = self.index.find(hash, |i| self.key(i) == Some(&key)) {
            return Err(Error::invalid(format!(
                "series {key} already has id {other}, cannot also have id {id}"
            )));
        }
        // Bound the id by the number of series defined, not by `next_id` (which every
        // accepted id raises): otherwise a damaged file with ids 1M, 2M, 3M, ... could
        // grow the id table without limit in a few bytes per entry.
        let limit = u64::try_from(self.len()).unwrap_or(u64::MAX) + u64::from(MAX_ID_GAP);
        if u64::from(id) > limit {
            return Err(Error::invalid(format!(
                "series id {id} is more than {MAX_ID_GAP} past the {} series defined",
                self.len()
            )));
        }
        self.place(id, key, hash);
        Ok(())
    }

    fn fresh_id(&self) -> Result<u32> {
        let id = self.next_id();
        if id == RESERVED_ID {
            return Err(Error::invalid("the series id space is exhausted"));
        }
        Ok(id)
    }

    /// Stores a validated key that is not present yet at a free `id < RESERVED_ID`.
    fn place(&mut self, id: u32, key: SeriesKey, hash: u64) {
        let slot = id as usize;
        if slot >= self.keys.len() {
            self.keys.resize_with(slot + 1, || None);
        }
        self.postings.insert(id, &key);
        self.index.insert(hash, id);
        if let Some(s) = self.keys.get_mut(slot) {
            *s = Some(Arc::new(key));
            self.count += 1;
        }
    }

    /// The key of series `id`.
    pub fn key(&self, id: u32) -> Option<&SeriesKey> {
        self.keys.get(id as usize)?.as_deref()
    }

    /// The key of series `id`, shared.
    pub fn shared_key(&self, id: u32) -> Option<Arc<SeriesKey>> {
        self.keys.get(id as usize)?.clone()
    }

    /// Number of series defined.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no series is defined.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The id the next new series will get: one past the largest id ever defined.
    pub fn next_id(&self) -> u32 {
        // invariant: place() only stores ids < RESERVED_ID, so len <= u32::MAX.
        u32::try_from(self.keys.len()).unwrap_or(RESERVED_ID)
    }

    /// Every defined series, by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &SeriesKey)> + '_ {
        self.keys
            .iter()
            .zip(0u32..)
            .filter_map(|(k, id)| k.as_deref().map(|k| (id, k)))
    }

    /// Every defined series, sorted by key (metric, then tags).
    pub fn keys_sorted(&self) -> Vec<(u32, &SeriesKey)> {
        let mut v: Vec<(u32, &SeriesKey)> = self.iter().collect();
        super::key::sort_by_key(&mut v, |s| s.1);
        v
    }

    /// The series of `metric`.
    pub fn series_of_metric(&self, metric: &str) -> RoaringBitmap {
        self.postings.metric(metric).cloned().unwrap_or_default()
    }

    /// The series of `metric`, borrowed (`None` if there is none).
    pub fn metric_postings(&self, metric: &str) -> Option<&RoaringBitmap> {
        self.postings.metric(metric)
    }

    /// The series having tag `key=value`, borrowed (`None` if there is none).
    pub fn tag_postings(&self, key: &str, value: &str) -> Option<&RoaringBitmap> {
        self.postings.tag(key, value)
    }

    /// The series having tag `key=value`, whatever their metric.
    pub fn series_with_tag(&self, key: &str, value: &str) -> RoaringBitmap {
        self.postings.tag(key, value).cloned().unwrap_or_default()
    }

    /// The series of `metric` that have every `key=value` pair of `filter` (they may
    /// have more tags). An intersection of posting bitmaps, smallest first.
    pub fn matching(&self, metric: &str, filter: &[(&str, &str)]) -> RoaringBitmap {
        self.postings.matching(metric, filter)
    }

    /// Every metric name, sorted.
    pub fn metrics(&self) -> Vec<&str> {
        self.postings.metric_names()
    }

    /// Every tag key, sorted.
    pub fn tag_keys(&self) -> Vec<&str> {
        self.postings.tag_keys()
    }

    /// Every value of tag `key`, sorted.
    pub fn tag_values(&self, key: &str) -> Vec<&str> {
        self.postings.tag_values(key)
    }

    /// Approximate heap bytes held by the catalog.
    pub fn approximate_bytes(&self) -> usize {
        let keys: usize = self
            .iter()
            .map(|(_, k)| {
                k.metric.capacity()
                    + k.tags.capacity() * size_of::<(String, String)>()
                    + k.tags
                        .iter()
                        .map(|(a, b)| a.capacity() + b.capacity())
                        .sum::<usize>()
            })
            .sum();
        self.keys.capacity() * size_of::<Option<Arc<SeriesKey>>>()
            + self.count * size_of::<SeriesKey>()
            + keys
            + self.index.heap_bytes()
            + self.postings.heap_bytes()
    }

    /// Appends the entry payload defining series `id` as `key`:
    /// `kind = 1 | id (varint) | key`. Entries concatenate: a WAL batch can carry
    /// several, read back with [`Catalog::read_entry`].
    pub fn encode_entry(id: u32, key: &SeriesKey, out: &mut Vec<u8>) {
        out.push(ENTRY_DEFINE_SERIES);
        varint::put_u32(out, id);
        key.encode(out);
    }

    /// Decodes an entry payload that fills all of `bytes`.
    pub fn decode_entry(bytes: &[u8]) -> Result<(u32, SeriesKey), DecodeError> {
        let mut r = Reader::new(bytes);
        let entry = Self::read_entry(&mut r)?;
        if !r.is_empty() {
            return Err(DecodeError("trailing bytes after catalog entry"));
        }
        Ok(entry)
    }

    /// Decodes one entry from the front of `r`, leaving `r` just past it.
    pub fn read_entry(r: &mut Reader<'_>) -> Result<(u32, SeriesKey), DecodeError> {
        if r.u8()? != ENTRY_DEFINE_SERIES {
            return Err(DecodeError("unknown catalog entry kind"));
        }
        let id = minimal_u32(r)?;
        if id == RESERVED_ID {
            return Err(DecodeError("reserved series id in catalog entry"));
        }
        Ok((id, SeriesKey::read_from(r)?))
    }

    /// Appends a snapshot of the whole catalog:
    /// `version = 1 | next_id (varint) | count (varint) | count entries by ascending id`.
    pub fn encode_snapshot(&self, out: &mut Vec<u8>) {
        out.push(SNAPSHOT_VERSION);
        varint::put_u32(out, self.next_id());
        varint::put_u64(out, self.count as u64);
        for (id, key) in self.iter() {
            Self::encode_entry(id, key, out);
        }
    }

    /// Rebuilds a catalog from a snapshot that fills all of `bytes`. Checks the version,
    /// that ids strictly ascend and stay below `next_id`, that no key appears twice, and
    /// that the entry count is exact.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<Catalog, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != SNAPSHOT_VERSION {
            return Err(DecodeError("unknown catalog snapshot version"));
        }
        let next_id = minimal_u32(&mut r)?;
        let count = minimal_u64(&mut r)?;
        if count > u64::from(next_id) {
            return Err(DecodeError("catalog snapshot counts more series than ids"));
        }
        let mut cat = Catalog::new();
        let mut prev: Option<u32> = None;
        for _ in 0..count {
            let (id, key) = Self::read_entry(&mut r)?;
            if prev.is_some_and(|p| p >= id) {
                return Err(DecodeError("catalog snapshot ids not ascending"));
            }
            if id >= next_id {
                return Err(DecodeError("catalog snapshot id not below next_id"));
            }
            cat.insert_with_id(id, key)
                .map_err(|_| DecodeError("catalog snapshot entry conflicts"))?;
            prev = Some(id);
        }
        if !r.is_empty() {
            return Err(DecodeError("trailing bytes after catalog snapshot"));
        }
        if next_id > cat.next_id() {
            if u64::from(next_id) > cat.len() as u64 + u64::from(MAX_ID_GAP) {
                return Err(DecodeError("catalog snapshot next_id too far past its ids"));
            }
            cat.keys.resize_with(next_id as usize, || None);
        }
        Ok(cat)
    }
}

/// Bytes taken by the LEB128 encoding of `v`.
fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads a varint that must be minimal, as every varint of these payloads is, so that
/// each payload has one encoding (docs/format.md, part 6).
fn minimal_u64(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let start = r.position();
    let v = r.u64()?;
    if r.position() - start != varint_len(v) {
        return Err(DecodeError("non-minimal varint in catalog payload"));
    }
    Ok(v)
}

/// [`minimal_u64`] of a value that must fit a `u32`.
fn minimal_u32(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    u32::try_from(minimal_u64(r)?).map_err(|_| DecodeError("varint overflows 32 bits"))
}

#[cfg(test)]
mod tests;
