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

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

use roaring::RoaringBitmap;

use super::key::{self, SeriesKey};
use super::key_index::KeyIndex;
use super::packed::{KeyRef, PackedKeys};
use super::postings::MemPostings;
use crate::codec::DecodeError;
use crate::codec::varint::{self, Reader};
use crate::engine::lock::{read, write};
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
///
/// Keys are stored packed (`PackedKeys`: each name once, a series as a few symbol
/// ids); an owned [`SeriesKey`] is built only when a caller asks for one.
#[derive(Default)]
pub struct Catalog {
    keys: PackedKeys,
    /// Defined series (ids minus holes).
    count: usize,
    index: KeyIndex,
    postings: MemPostings,
    /// The owned keys built for readers ([`Catalog::shared_key`]), by id, kept: every
    /// query and scan hands its series' keys out, and building one costs an allocation
    /// per name. Only series that were read take room here (none after an open).
    built: RwLock<Vec<Option<Arc<SeriesKey>>>>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("series", &self.count)
            .field("next_id", &self.keys.id_bound())
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
        self.find(hash, metric, tags)
    }

    fn find(&self, hash: u64, metric: &str, tags: &[(&str, &str)]) -> Option<u32> {
        self.index.find(hash, |id| {
            self.key_ref(id).is_some_and(|k| k.matches(metric, tags))
        })
    }

    /// The id of a canonical key, if known.
    pub fn lookup_key(&self, key: &SeriesKey) -> Option<u32> {
        let hash = self.index.hash(&key.metric, key.tag_refs());
        self.index
            .find(hash, |id| self.key_ref(id).is_some_and(|k| k.is(key)))
    }

    /// The id of series `metric` + `tags`, defining it if new; the flag says whether it
    /// was. A new series is validated first ([`crate::ts::series::key::validate_parts`]) and
    /// gets [`Catalog::next_id`]. A hit neither validates nor allocates (a stored key
    /// is valid, so an invalid input never hits).
    pub fn get_or_insert(&mut self, metric: &str, tags: &[(&str, &str)]) -> Result<(u32, bool)> {
        let hash = self.index.hash(metric, tags.iter().copied());
        if let Some(id) = self.find(hash, metric, tags) {
            return Ok((id, false));
        }
        key::validate_parts(metric, tags)?;
        let id = self.fresh_id()?;
        self.place(id, metric, tags.iter().copied(), hash)?;
        Ok((id, true))
    }

    /// [`Catalog::get_or_insert`] for a canonical key.
    pub fn get_or_insert_key(&mut self, key: SeriesKey) -> Result<(u32, bool)> {
        if let Some(id) = self.lookup_key(&key) {
            return Ok((id, false));
        }
        key.validate()?;
        let id = self.fresh_id()?;
        let hash = self.index.hash(&key.metric, key.tag_refs());
        self.place(id, &key.metric, key.tag_refs(), hash)?;
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
        self.insert_canonical(id, &key.metric, key.tag_refs())
    }

    /// [`Catalog::insert_with_id`] of a key given as validated canonical parts.
    fn insert_canonical<'a>(
        &mut self,
        id: u32,
        metric: &str,
        tags: impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<()> {
        if id == RESERVED_ID {
            return Err(Error::invalid(format!("series id {id} is reserved")));
        }
        let same = |k: KeyRef<'_>| k.is_canonical(metric, tags.clone());
        let owned = || SeriesKey::from_canonical(metric, tags.clone());
        if let Some(existing) = self.key_ref(id) {
            if same(existing) {
                return Ok(());
            }
            return Err(Error::invalid(format!(
                "series id {id} is already {}, cannot also be {}",
                existing.to_key(),
                owned()
            )));
        }
        let hash = self.index.hash(metric, tags.clone());
        if let Some(other) = self
            .index
            .find(hash, |i| self.key_ref(i).is_some_and(&same))
        {
            return Err(Error::invalid(format!(
                "series {} already has id {other}, cannot also have id {id}",
                owned()
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
        self.place(id, metric, tags, hash)
    }

    fn fresh_id(&self) -> Result<u32> {
        let id = self.next_id();
        if id == RESERVED_ID {
            return Err(Error::invalid("the series id space is exhausted"));
        }
        Ok(id)
    }

    /// Stores a validated key (tags in any order) that is not present yet at a free
    /// `id < RESERVED_ID`, with its postings and its `hash` in the index. On error (the
    /// symbol table or the packed keys are full) the series is not defined.
    fn place<'a>(
        &mut self,
        id: u32,
        metric: &str,
        tags: impl Iterator<Item = (&'a str, &'a str)>,
        hash: u64,
    ) -> Result<()> {
        self.keys.store(id, metric, tags)?;
        if let Some(k) = self.keys.get(id) {
            self.postings.insert(id, k.metric_symbol(), k.tag_symbols());
        }
        self.index.insert(hash, id);
        self.count += 1;
        Ok(())
    }

    /// Builds the key index and the postings of the stored keys with ids `from..`, for
    /// a bulk load that only stored those keys: the two side by side, each reading the
    /// packed keys. A key stored twice (among them or with an indexed one) is an error.
    fn index_stored(&mut self, from: u32) -> Result<(), DecodeError> {
        let Catalog {
            keys,
            count,
            index,
            postings,
            ..
        } = self;
        let keys = &*keys;
        let ids = from..u32::try_from(keys.id_bound()).unwrap_or(RESERVED_ID);
        if ids.is_empty() {
            return Ok(());
        }
        // The postings (many small allocations) on this thread, the index (one table)
        // on another.
        let ((), indexed) = rayon::join(
            || {
                for id in ids.clone() {
                    if let Some(k) = keys.get(id) {
                        postings.insert(id, k.metric_symbol(), k.tag_symbols());
                    }
                }
            },
            || {
                index.reserve(ids.len().min(*count));
                for id in ids.clone() {
                    let Some(k) = keys.get(id) else {
                        continue;
                    };
                    let hash = index.hash(k.metric(), k.tag_refs());
                    let twice = |other: u32| keys.get(other).is_some_and(|o| o.same_as(&k));
                    if !index.insert_new(hash, id, twice) {
                        return Err(DecodeError("catalog snapshot entry conflicts"));
                    }
                }
                Ok(())
            },
        );
        indexed
    }

    /// The stored key of series `id`, read in place.
    pub(crate) fn key_ref(&self, id: u32) -> Option<KeyRef<'_>> {
        self.keys.get(id)
    }

    /// The key of series `id` (built: the catalog stores keys packed).
    pub fn key(&self, id: u32) -> Option<SeriesKey> {
        self.key_ref(id).map(|k| k.to_key())
    }

    /// The key of series `id`, shared: built on the first call for `id`, then kept.
    pub fn shared_key(&self, id: u32) -> Option<Arc<SeriesKey>> {
        let slot = id as usize;
        if let Some(Some(k)) = read(&self.built).get(slot) {
            return Some(Arc::clone(k));
        }
        let key = Arc::new(self.key(id)?);
        let mut built = write(&self.built);
        if built.len() <= slot {
            built.resize(slot + 1, None);
        }
        if let Some(s) = built.get_mut(slot) {
            *s = Some(Arc::clone(&key));
        }
        Some(key)
    }

    /// True when series `id` is defined.
    pub fn contains(&self, id: u32) -> bool {
        self.keys.contains(id)
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
        u32::try_from(self.keys.id_bound()).unwrap_or(RESERVED_ID)
    }

    /// Every defined series, by ascending id, read in place.
    pub(crate) fn iter_refs(&self) -> impl Iterator<Item = (u32, KeyRef<'_>)> + '_ {
        (0..self.next_id()).filter_map(|id| self.key_ref(id).map(|k| (id, k)))
    }

    /// Every defined series, by ascending id (keys built).
    pub fn iter(&self) -> impl Iterator<Item = (u32, SeriesKey)> + '_ {
        self.iter_refs().map(|(id, k)| (id, k.to_key()))
    }

    /// Every defined series, sorted by key (metric, then tags).
    pub fn keys_sorted(&self) -> Vec<(u32, SeriesKey)> {
        let mut v: Vec<(u32, SeriesKey)> = self.iter().collect();
        key::sort_by_key(&mut v, |s| &s.1);
        v
    }

    /// The series of `metric`.
    pub fn series_of_metric(&self, metric: &str) -> RoaringBitmap {
        self.metric_postings(metric).cloned().unwrap_or_default()
    }

    /// The series of `metric`, borrowed (`None` if there is none).
    pub fn metric_postings(&self, metric: &str) -> Option<&RoaringBitmap> {
        self.postings.metric(self.keys.symbol(metric)?)
    }

    /// The series having tag `key=value` (`None` if there is none); borrowed when more
    /// than one series has it.
    pub fn tag_postings(&self, key: &str, value: &str) -> Option<Cow<'_, RoaringBitmap>> {
        self.postings
            .tag(self.keys.symbol(key)?, self.keys.symbol(value)?)
    }

    /// The series having tag `key=value`, whatever their metric.
    pub fn series_with_tag(&self, key: &str, value: &str) -> RoaringBitmap {
        self.tag_postings(key, value)
            .map(Cow::into_owned)
            .unwrap_or_default()
    }

    /// The series of `metric` that have every `key=value` pair of `filter` (they may
    /// have more tags). An intersection of posting bitmaps, smallest first.
    pub fn matching(&self, metric: &str, filter: &[(&str, &str)]) -> RoaringBitmap {
        let Some(metric) = self.keys.symbol(metric) else {
            return RoaringBitmap::new();
        };
        let pairs: Vec<Option<(u32, u32)>> = filter
            .iter()
            .map(|&(k, v)| Some((self.keys.symbol(k)?, self.keys.symbol(v)?)))
            .collect();
        self.postings.matching(metric, &pairs)
    }

    fn sorted_names(&self, symbols: impl Iterator<Item = u32>) -> Vec<&str> {
        let mut v: Vec<&str> = symbols.map(|s| self.keys.name(s)).collect();
        v.sort_unstable();
        v
    }

    /// Every metric name, sorted.
    pub fn metrics(&self) -> Vec<&str> {
        self.sorted_names(self.postings.metric_symbols())
    }

    /// Every tag key, sorted.
    pub fn tag_keys(&self) -> Vec<&str> {
        self.sorted_names(self.postings.tag_key_symbols())
    }

    /// Every value of tag `key`, sorted.
    pub fn tag_values(&self, key: &str) -> Vec<&str> {
        match self.keys.symbol(key) {
            Some(k) => self.sorted_names(self.postings.tag_value_symbols(k)),
            None => Vec::new(),
        }
    }

    /// Approximate heap bytes held.
    pub fn approximate_bytes(&self) -> usize {
        self.keys.heap_bytes() + self.index.heap_bytes() + self.postings.heap_bytes()
    }

    /// Appends the entry payload defining series `id` as `key`:
    /// `kind = 1 | id (varint) | key`. Entries concatenate: a WAL batch can carry
    /// several, read back with [`Catalog::read_entry`].
    pub fn encode_entry(id: u32, key: &SeriesKey, out: &mut Vec<u8>) {
        Self::encode_entry_parts(id, &key.metric, key.tag_refs(), out);
    }

    /// [`Catalog::encode_entry`] of a key given as canonical parts.
    pub(crate) fn encode_entry_parts<'a>(
        id: u32,
        metric: &str,
        tags: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
        out: &mut Vec<u8>,
    ) {
        out.push(ENTRY_DEFINE_SERIES);
        varint::put_u32(out, id);
        key::encode_parts(out, metric, tags);
    }

    /// Appends the entry payload of stored series `id` (nothing if it is a hole).
    pub(crate) fn encode_stored_entry(&self, id: u32, out: &mut Vec<u8>) {
        if let Some(k) = self.key_ref(id) {
            Self::encode_entry_parts(id, k.metric(), k.tag_refs(), out);
        }
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
        let id = read_entry_id(r)?;
        Ok((id, SeriesKey::read_from(r)?))
    }

    /// [`Catalog::read_entry`] as borrowed parts: the id and metric are returned, the
    /// tags replace the content of `tags`.
    pub(crate) fn read_entry_parts<'a>(
        r: &mut Reader<'a>,
        tags: &mut Vec<(&'a str, &'a str)>,
    ) -> Result<(u32, &'a str), DecodeError> {
        let id = read_entry_id(r)?;
        Ok((id, key::read_parts(r, tags)?))
    }

    /// [`Catalog::insert_with_id`] of a key as decoded by
    /// [`Catalog::read_entry_parts`] (valid and canonical), without building it.
    pub(crate) fn insert_parts(
        &mut self,
        id: u32,
        metric: &str,
        tags: &[(&str, &str)],
    ) -> Result<()> {
        self.insert_canonical(id, metric, tags.iter().copied())
    }

    /// Appends a snapshot of the whole catalog:
    /// `version = 1 | next_id (varint) | count (varint) | count entries by ascending id`.
    pub fn encode_snapshot(&self, out: &mut Vec<u8>) {
        out.push(SNAPSHOT_VERSION);
        varint::put_u32(out, self.next_id());
        varint::put_u64(out, self.count as u64);
        for id in 0..self.next_id() {
            self.encode_stored_entry(id, out);
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
        // Room for what the entries can hold at most (each takes at least 5 bytes),
        // so a damaged count cannot make this allocate more than the input is worth.
        let entries = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(bytes.len() / 5);
        cat.keys.reserve(entries, bytes.len() / 2);
        // A bulk load: the keys first, then the index and the postings of all of them
        // side by side (`index_stored`).
        let conflict = DecodeError("catalog snapshot entry conflicts");
        let mut prev: Option<u32> = None;
        let mut tags = Vec::new();
        for _ in 0..count {
            let (id, metric) = Self::read_entry_parts(&mut r, &mut tags)?;
            if prev.is_some_and(|p| p >= id) {
                return Err(DecodeError("catalog snapshot ids not ascending"));
            }
            if id >= next_id {
                return Err(DecodeError("catalog snapshot id not below next_id"));
            }
            // As `insert_with_id` bounds it: damaged ids cannot grow the id table.
            if u64::from(id) > cat.count as u64 + u64::from(MAX_ID_GAP) {
                return Err(conflict);
            }
            // Ascending ids: `id` is free.
            cat.keys
                .store(id, metric, tags.iter().copied())
                .map_err(|_| conflict)?;
            cat.count += 1;
            prev = Some(id);
        }
        if !r.is_empty() {
            return Err(DecodeError("trailing bytes after catalog snapshot"));
        }
        if next_id > cat.next_id() {
            if u64::from(next_id) > cat.len() as u64 + u64::from(MAX_ID_GAP) {
                return Err(DecodeError("catalog snapshot next_id too far past its ids"));
            }
            cat.keys.extend_ids(next_id as usize);
        }
        cat.keys.shrink_to_fit();
        cat.index_stored(0)?;
        Ok(cat)
    }
}

/// Defines many series at once (the entries of a catalog file, the definitions of a
/// replayed WAL) with the outcome of [`Catalog::insert_parts`] for each, but faster:
/// while ids ascend past every id stored (as they do in those logs), a definition only
/// stores its key; the key index and the postings of the stored keys are then built in
/// one pass each, side by side ([`BulkDefine::finish`]). A definition whose id is not
/// past every stored one (a repeat, or an id a hole left) first indexes what is
/// pending, then takes the checked path.
///
/// Until `finish`, the keys stored in bulk are not found by look-ups (only `contains`
/// and `key_ref` see them); a key defined twice under two ids is reported by `finish`.
/// A catalog whose bulk definition failed must be discarded.
pub(crate) struct BulkDefine<'c> {
    catalog: &'c mut Catalog,
    /// The first id not indexed yet: every id below it is indexed.
    pending_from: u32,
}

impl<'c> BulkDefine<'c> {
    pub(crate) fn new(catalog: &'c mut Catalog) -> Self {
        let pending_from = catalog.next_id();
        BulkDefine {
            catalog,
            pending_from,
        }
    }

    /// The catalog, with keys stored in bulk not yet indexed.
    pub(crate) fn catalog(&self) -> &Catalog {
        self.catalog
    }

    /// Defines series `id` as a key decoded by [`Catalog::read_entry_parts`] (valid and
    /// canonical). Errors as [`Catalog::insert_parts`], except that a key already
    /// defined under another id may only be reported by [`BulkDefine::finish`].
    pub(crate) fn define(&mut self, id: u32, metric: &str, tags: &[(&str, &str)]) -> Result<()> {
        let cat = &mut *self.catalog;
        if id < cat.next_id() || id == RESERVED_ID {
            self.index_pending()?;
            return self.catalog.insert_parts(id, metric, tags);
        }
        // As `insert_canonical` bounds it.
        let limit = u64::try_from(cat.len()).unwrap_or(u64::MAX) + u64::from(MAX_ID_GAP);
        if u64::from(id) > limit {
            return Err(Error::invalid(format!(
                "series id {id} is more than {MAX_ID_GAP} past the {} series defined",
                cat.len()
            )));
        }
        // Past every stored id: free.
        cat.keys.store(id, metric, tags.iter().copied())?;
        cat.count += 1;
        Ok(())
    }

    /// Decodes entries from the front of `r` until it is empty, defining each series
    /// (replay of a catalog record). `Err` names what was wrong.
    pub(crate) fn replay_entries(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let mut tags = Vec::new();
        while !r.is_empty() {
            let (id, metric) =
                Catalog::read_entry_parts(r, &mut tags).map_err(|e| Error::invalid(e.0))?;
            self.define(id, metric, &tags)?;
        }
        Ok(())
    }

    /// Indexes the keys stored in bulk.
    fn index_pending(&mut self) -> Result<()> {
        let from = self.pending_from;
        self.pending_from = self.catalog.next_id();
        self.catalog
            .index_stored(from)
            .map_err(|_| Error::invalid("a series is defined twice, under two ids"))
    }

    /// Indexes every key stored in bulk: the catalog is whole again.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.index_pending()
    }
}

/// Reads the kind byte and the id of a catalog entry.
fn read_entry_id(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    if r.u8()? != ENTRY_DEFINE_SERIES {
        return Err(DecodeError("unknown catalog entry kind"));
    }
    let id = minimal_u32(r)?;
    if id == RESERVED_ID {
        return Err(DecodeError("reserved series id in catalog entry"));
    }
    Ok(id)
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
