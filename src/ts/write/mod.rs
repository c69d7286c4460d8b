//! The write path: validate and group outside any lock, then commit under the writer
//! lock (WAL record first, then catalog, then head), then freeze the head if it is full.
//!
//! [`prepare_points`] validates every point, resolves each distinct series once (a
//! catalog lookup that neither sorts nor allocates when the series is known; consecutive
//! points of one series skip even that), groups the points into one column pair per
//! series and encodes the WAL column bodies — all before the writer lock.
//! [`commit`] then gives new series their ids, appends the WAL record (which defines
//! them), and only once it succeeded inserts them into the catalog and the points into
//! the head. A failed WAL append poisons the database: nothing of the write is visible.

pub(crate) mod wal_batch;
mod wal_column;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Arc;

use crate::engine::lock::write;
use crate::error::{Error, Result};
use crate::io::record::{Compression, MAX_PAYLOAD_LEN};
use crate::io::wal::SyncMode;
use crate::ts::core::columns::Columns;
use crate::ts::core::inner::{Inner, WriterState};
use crate::ts::core::view::{FrozenHead, ReadView};
use crate::ts::head::Head;
use crate::ts::read::merge::{HeadSnapshot, SeriesReader};
use crate::ts::series::catalog::{Catalog, RESERVED_ID};
use crate::ts::series::key::{Point, SeriesKey};
use crate::ts::stats::Counters;
use crate::ts::{compaction, flush};
use wal_batch::{Density, MAX_BATCH_POINTS};

/// Which series a group of points belongs to.
#[derive(Debug)]
pub(crate) enum Target {
    Known(u32),
    New(SeriesKey),
}

/// The points of one series in a write: ranges of the write's flat columns.
#[derive(Debug)]
struct Group {
    target: Target,
    /// Its points in [`PreparedWrite::ts`] / [`PreparedWrite::vals`].
    points: Range<usize>,
    /// Its encoded WAL column body (`wal_batch::encode_column`) in
    /// [`PreparedWrite::bodies`].
    body: Range<usize>,
    /// When its points are the caller's columns instead: their place in
    /// [`PreparedWrite::borrowed`].
    borrowed: Option<usize>,
}

impl Group {
    fn new(target: Target) -> Self {
        Group {
            target,
            points: 0..0,
            body: 0..0,
            borrowed: None,
        }
    }
}

/// A validated write, ready for [`commit`]. The points of all groups live in two
/// flat columns (one allocation each, whatever the number of series), or stay in the
/// caller's columns ([`PreparedWrite::series`]).
#[derive(Debug, Default)]
pub(crate) struct PreparedWrite<'c> {
    groups: Vec<Group>,
    ts: Vec<i64>,
    vals: Vec<f64>,
    borrowed: Vec<(&'c [i64], &'c [f64])>,
    bodies: Vec<u8>,
    /// Whether some body holds what snappy may shorten (raw value bits).
    loose: bool,
    dels: Vec<(u32, i64, i64)>,
    points: usize,
    max_ts: Option<i64>,
}

impl<'c> PreparedWrite<'c> {
    /// A write that only defines series `key` (or does nothing if it exists).
    pub fn define(key: SeriesKey) -> Self {
        PreparedWrite {
            groups: vec![Group::new(Target::New(key))],
            ..Default::default()
        }
    }

    /// Points of many series, each given as its own columns (the engine's
    /// [`crate::ts::Writer`] batch): the write borrows the columns, and their WAL
    /// bodies are encoded straight from them.
    pub(crate) fn series(
        series: impl Iterator<Item = (Target, &'c [i64], &'c [f64])>,
        points: usize,
    ) -> Result<Self> {
        check_batch_size(points)?;
        let mut w = PreparedWrite::default();
        let mut max_ts = i64::MIN;
        for (target, ts, vals) in series {
            if ts.len() != vals.len() {
                return Err(Error::invalid("a series' columns differ in length"));
            }
            let mut g = Group::new(target);
            g.borrowed = Some(w.borrowed.len());
            w.borrowed.push((ts, vals));
            w.points += ts.len();
            max_ts = ts.iter().fold(max_ts, |m, &t| m.max(t));
            w.groups.push(g);
        }
        check_batch_size(w.points)?;
        w.max_ts = (w.points > 0).then_some(max_ts);
        w.encode();
        Ok(w)
    }

    /// Range deletes of existing series.
    pub fn deletes(ids: impl IntoIterator<Item = u32>, start: i64, end: i64) -> Self {
        PreparedWrite {
            dels: ids.into_iter().map(|id| (id, start, end)).collect(),
            ..Default::default()
        }
    }

    /// True when committing would write nothing.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.dels.is_empty()
    }

    fn encode(&mut self) {
        let mut bodies = std::mem::take(&mut self.bodies);
        bodies.reserve(self.points * 10 + self.groups.len() * 4);
        // Bodies are encoded in group order, the order `commit` assembles them in.
        let mut cx = wal_column::Context::default();
        let mut loose = false;
        for i in 0..self.groups.len() {
            let Some(g) = self.groups.get(i) else {
                continue;
            };
            let (ts, vals) = self.columns_of(g);
            let body = if ts.is_empty() {
                0..0
            } else {
                let start = bodies.len();
                let density = wal_batch::encode_column(ts, vals, &mut cx, &mut bodies);
                loose |= density == Density::Loose;
                start..bodies.len()
            };
            if let Some(g) = self.groups.get_mut(i) {
                g.body = body;
            }
        }
        self.bodies = bodies;
        self.loose = loose;
    }

    /// The points of group `g`.
    fn columns_of(&self, g: &Group) -> (&[i64], &[f64]) {
        if let Some(i) = g.borrowed {
            return self.borrowed.get(i).copied().unwrap_or_default();
        }
        (
            self.ts.get(g.points.clone()).unwrap_or_default(),
            self.vals.get(g.points.clone()).unwrap_or_default(),
        )
    }
}

fn check_batch_size(n: usize) -> Result<()> {
    if n > MAX_BATCH_POINTS {
        return Err(Error::invalid(format!(
            "a write holds {n} points; the limit is {MAX_BATCH_POINTS}"
        )));
    }
    Ok(())
}

/// Series resolved by earlier writes, by the hash [`prepare_points`] computes of a
/// point's metric and tags as given (order-sensitive), each with its metric and tags
/// stored contiguously to verify a hit. A batch's first point of a known series then
/// costs one probe and a comparison with bytes in one place, instead of a catalog
/// lookup that hashes the sorted key and compares strings spread over the heap. Ids
/// never change for a key, so entries stay valid; the cache is emptied when it holds
/// [`WriteCache::MAX_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct WriteCache {
    map: HashMap<u64, (u32, Range<usize>), BuildHasherDefault<IdHasher>>,
    bytes: Vec<u8>,
    scratch: Vec<u8>,
}

impl WriteCache {
    /// The most key bytes the cache holds before it starts over.
    const MAX_BYTES: usize = 16 << 20;

    /// The id of the series of `p`, if cached under `hash`.
    fn get(&mut self, hash: u64, p: &Point) -> Option<u32> {
        let (id, range) = self.map.get(&hash)?.clone();
        self.scratch.clear();
        encode_as_given(p, &mut self.scratch);
        (self.bytes.get(range) == Some(&self.scratch[..])).then_some(id)
    }

    /// Remembers that the series of `p` (hash `hash`) is `id`.
    fn insert(&mut self, hash: u64, id: u32, p: &Point) {
        if self.bytes.len() >= Self::MAX_BYTES {
            self.map.clear();
            self.bytes.clear();
        }
        let start = self.bytes.len();
        encode_as_given(p, &mut self.bytes);
        self.map.insert(hash, (id, start..self.bytes.len()));
    }
}

/// `p`'s metric and tags as given, each string length-prefixed: equal bytes mean an
/// equal metric and equal tags in the same order.
fn encode_as_given(p: &Point, out: &mut Vec<u8>) {
    let mut put = |s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    put(&p.metric);
    for (k, v) in &p.tags {
        put(k);
        put(v);
    }
}

/// Validates and groups `points` by series (see the module docs).
///
/// Two passes: the first finds each point's group through a [`BatchIndex`], the second
/// ([`PreparedWrite::fill_columns`]) fills columns allocated at their exact size.
///
/// `cache` (when the caller could take it) remembers series across writes.
pub(crate) fn prepare_points(
    catalog: &Catalog,
    mut cache: Option<&mut WriteCache>,
    points: &[Point],
) -> Result<PreparedWrite<'static>> {
    check_batch_size(points.len())?;
    let mut w = PreparedWrite::default();
    let mut index = BatchIndex::default();
    let mut group_of: Vec<u32> = Vec::with_capacity(points.len());
    for p in points {
        group_of.push(index.group(p, catalog, cache.as_deref_mut(), &mut w.groups)?);
    }
    w.fill_columns(points, &group_of, &index.counts)?;
    w.encode();
    Ok(w)
}

/// The batch-local index of [`prepare_points`]: which group each point goes to.
///
/// A point is matched to the group of an earlier point with the same metric and tags
/// (same order) through a cheap hash ([`tags_hash`], [`series_hash`]) and a string
/// comparison; only the first point of each series (or a point whose tags come in
/// another order) pays for the catalog lookup ([`BatchIndex::resolve`]). A hash
/// collision just takes that slower path, so crafted input cannot make the batch index
/// quadratic.
#[derive(Default)]
struct BatchIndex<'p> {
    /// Tag sets (as given, order-sensitive) seen in this batch: id -> representative.
    tagsets: Vec<&'p Tags>,
    /// Tag-set hash -> the first tag-set id seen with it.
    tagset_fast: HashMap<u64, u32, BuildHasherDefault<IdHasher>>,
    /// The previous point's tag set, its hash and id: points of one host typically
    /// share their tags with the previous point, so those are hashed only when they
    /// differ.
    last_tags: Option<(&'p Tags, u64, u32)>,
    /// For each group, a point that represents it (same metric and tags, same order)...
    reps: Vec<&'p Point>,
    /// ...and the tag-set id of that point.
    rep_tagset: Vec<u32>,
    /// Points per group.
    counts: Vec<usize>,
    /// Series hash -> the group of its representative.
    fast: HashMap<u64, u32, BuildHasherDefault<IdHasher>>,
    /// Groups of known series, by series id.
    by_id: HashMap<u32, u32, BuildHasherDefault<IdHasher>>,
    /// Groups of new series, by key.
    by_key: HashMap<SeriesKey, u32>,
    /// The previous point, its tag-set id and group.
    last: Option<(&'p Point, u32, u32)>,
    /// A point's tags as borrowed pairs, reused.
    scratch: Vec<(&'p str, &'p str)>,
}

impl<'p> BatchIndex<'p> {
    /// The group of `p`, adding one to `groups` for a series new to this batch.
    fn group(
        &mut self,
        p: &'p Point,
        catalog: &Catalog,
        cache: Option<&mut WriteCache>,
        groups: &mut Vec<Group>,
    ) -> Result<u32> {
        let (tags_hash, tagset) = self.tag_set(p)?;
        self.last_tags = Some((&p.tags, tags_hash, tagset));
        let g = match self.last {
            Some((q, t, g)) if t == tagset && str_eq(&q.metric, &p.metric) => g,
            _ => {
                let h = series_hash(tags_hash, &p.metric);
                match self.seen_group(h, tagset, p) {
                    Some(g) => g,
                    None => {
                        let target = self.resolve(p, h, catalog, cache)?;
                        let g = self.group_for(target, p, tagset, groups)?;
                        // Only cache `g` under this point's tag-set id if it is the
                        // group's own (tags in another order keep the slow path).
                        if self.rep_tagset.get(g as usize) == Some(&tagset) {
                            self.fast.entry(h).or_insert(g);
                        }
                        g
                    }
                }
            }
        };
        if let Some(c) = self.counts.get_mut(g as usize) {
            *c += 1;
        }
        self.last = Some((p, tagset, g));
        Ok(g)
    }

    /// The hash and batch-local id of `p`'s tag set (as given), adding a new one.
    fn tag_set(&mut self, p: &'p Point) -> Result<(u64, u32)> {
        if let Some((t, h, id)) = self.last_tags
            && tags_eq(t, &p.tags)
        {
            return Ok((h, id));
        }
        let h = tags_hash(&p.tags);
        let hit = self.tagset_fast.get(&h).copied().filter(|&id| {
            self.tagsets
                .get(id as usize)
                .is_some_and(|r| tags_eq(r, &p.tags))
        });
        if let Some(id) = hit {
            return Ok((h, id));
        }
        // A new tag set, or a hash collision: the latter only costs its points the
        // slower path, never a wrong group.
        let id = u32::try_from(self.tagsets.len())
            .map_err(|_| Error::invalid("too many tag sets in one write"))?;
        self.tagsets.push(&p.tags);
        self.tagset_fast.entry(h).or_insert(id);
        Ok((h, id))
    }

    /// The group of an earlier point of this batch with `p`'s series hash `h`, the same
    /// tag set and metric. Equal tag-set ids mean equal tags (verified by
    /// [`BatchIndex::tag_set`]): only the metric is left to compare.
    fn seen_group(&self, h: u64, tagset: u32, p: &Point) -> Option<u32> {
        self.fast.get(&h).copied().filter(|&g| {
            self.rep_tagset.get(g as usize) == Some(&tagset)
                && self
                    .reps
                    .get(g as usize)
                    .is_some_and(|r| str_eq(&r.metric, &p.metric))
        })
    }

    /// The series of `p`: known (through the cache or the catalog) or a new, validated
    /// key.
    fn resolve(
        &mut self,
        p: &'p Point,
        h: u64,
        catalog: &Catalog,
        mut cache: Option<&mut WriteCache>,
    ) -> Result<Target> {
        self.scratch.clear();
        self.scratch
            .extend(p.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let cached = cache.as_deref_mut().and_then(|c| c.get(h, p));
        let known = cached.or_else(|| {
            let id = catalog.lookup(&p.metric, &self.scratch)?;
            if let Some(c) = cache {
                c.insert(h, id, p);
            }
            Some(id)
        });
        Ok(match known {
            // A hit equals a stored, valid key: nothing left to check.
            Some(id) => Target::Known(id),
            None => Target::New(SeriesKey::new(&p.metric, &self.scratch)?),
        })
    }

    /// The group of `target` in this batch, adding it (represented by `p`) if new.
    fn group_for(
        &mut self,
        target: Target,
        p: &'p Point,
        tagset: u32,
        groups: &mut Vec<Group>,
    ) -> Result<u32> {
        let slot = match &target {
            Target::Known(id) => self.by_id.get(id),
            Target::New(key) => self.by_key.get(key),
        };
        if let Some(&g) = slot {
            return Ok(g);
        }
        let g = u32::try_from(groups.len())
            .map_err(|_| Error::invalid("too many series in one write"))?;
        match &target {
            Target::Known(id) => self.by_id.insert(*id, g),
            Target::New(key) => self.by_key.insert(key.clone(), g),
        };
        groups.push(Group::new(target));
        self.reps.push(p);
        self.rep_tagset.push(tagset);
        self.counts.push(0);
        Ok(g)
    }
}

impl PreparedWrite<'_> {
    /// A counting sort of `points` by group (`group_of`, with `counts` points per
    /// group) into the flat columns, keeping each series' points in write order (last
    /// write wins).
    fn fill_columns(&mut self, points: &[Point], group_of: &[u32], counts: &[usize]) -> Result<()> {
        let mut cursor = Vec::with_capacity(counts.len());
        let mut at = 0usize;
        for (group, &n) in self.groups.iter_mut().zip(counts) {
            group.points = at..at + n;
            cursor.push(at);
            at += n;
        }
        self.ts = vec![0; points.len()];
        self.vals = vec![0.0; points.len()];
        let mut max_ts = i64::MIN;
        for (p, &g) in points.iter().zip(group_of) {
            let slot = cursor.get_mut(g as usize).and_then(|c| {
                let at = *c;
                *c += 1;
                Some((self.ts.get_mut(at)?, self.vals.get_mut(at)?))
            });
            // The counts were taken from `group_of` itself: a point without its slot is
            // a bug, reported rather than dropped.
            let Some((t, v)) = slot else {
                return Err(Error::internal(format!(
                    "write batch: point of group {g} has no slot in the columns"
                )));
            };
            *t = p.timestamp;
            *v = p.value;
            max_ts = max_ts.max(p.timestamp);
        }
        self.points = points.len();
        self.max_ts = (!points.is_empty()).then_some(max_ts);
        Ok(())
    }
}

/// A point's tag list.
type Tags = [(String, String)];

/// A cheap hash of a tag list as given (order-sensitive), for the batch-local index
/// of [`prepare_points`]. Not collision-resistant: callers verify.
fn tags_hash(tags: &[(String, String)]) -> u64 {
    let mut h = IdHasher::default();
    for (k, v) in tags {
        h.write_u8(0xff);
        h.write(k.as_bytes());
        h.write_u8(0xfe);
        h.write(v.as_bytes());
    }
    h.finish()
}

/// A cheap hash of a metric under a tag list of hash `tags_hash`.
fn series_hash(tags_hash: u64, metric: &str) -> u64 {
    let mut h = IdHasher(tags_hash);
    h.write_u8(0xfd);
    h.write(metric.as_bytes());
    h.finish()
}

/// Tag-list equality (same order), faster than `==` for the short strings tags are
/// made of: no call to `memcmp` for strings up to 16 bytes.
#[inline]
fn tags_eq(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ak, av), (bk, bv))| str_eq(ak, bk) && str_eq(av, bv))
}

/// String equality through at most two overlapping loads per side for strings up to
/// 32 bytes (the first and the last 16, 8, 4 or 1 bytes cover the whole string): tag
/// names such as `service_environment` pass 16 bytes, and a call to `memcmp` for them
/// cost a fifth of comparing a point's tags.
#[inline]
pub(crate) fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let ends = |s: &[u8]| -> Option<(u64, u64)> {
        let n = s.len();
        Some(if n >= 8 {
            (
                u64::from_le_bytes(*s.first_chunk::<8>()?),
                u64::from_le_bytes(*s.last_chunk::<8>()?),
            )
        } else if n >= 4 {
            (
                u64::from(u32::from_le_bytes(*s.first_chunk::<4>()?)),
                u64::from(u32::from_le_bytes(*s.last_chunk::<4>()?)),
            )
        } else if n > 0 {
            let mid = s.get(n / 2).copied().unwrap_or(0);
            let first = s.first().copied().unwrap_or(0);
            let last = s.last().copied().unwrap_or(0);
            (u64::from(first) | u64::from(mid) << 8, u64::from(last))
        } else {
            (0, 0)
        })
    };
    if a.len() <= 16 {
        return ends(a) == ends(b);
    }
    let halves = |s: &[u8]| -> Option<(u128, u128)> {
        Some((
            u128::from_le_bytes(*s.first_chunk::<16>()?),
            u128::from_le_bytes(*s.last_chunk::<16>()?),
        ))
    };
    if a.len() <= 32 {
        return halves(a) == halves(b);
    }
    a == b
}

/// A fast multiplicative hasher for batch-local maps keyed by series ids or by
/// already-mixed hashes (FxHash-style: one rotate, xor and multiply per word).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // up to 16 bytes (most names): two overlapping loads and the length
        if let (8..=16, Some(first), Some(last)) = (
            bytes.len(),
            bytes.first_chunk::<8>(),
            bytes.last_chunk::<8>(),
        ) {
            self.add(u64::from_le_bytes(*first));
            self.add(u64::from_le_bytes(*last) ^ ((bytes.len() as u64) << 56));
            return;
        }
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            if let Some(dst) = w.get_mut(..rest.len()) {
                dst.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
}

/// Validates one point of series `metric` + `tags`.
pub(crate) fn prepare_one(
    catalog: &Catalog,
    metric: &str,
    tags: &[(&str, &str)],
    ts: i64,
    value: f64,
) -> Result<PreparedWrite<'static>> {
    let target = match catalog.lookup(metric, tags) {
        Some(id) => Target::Known(id),
        None => Target::New(SeriesKey::new(metric, tags)?),
    };
    let mut g = Group::new(target);
    g.points = 0..1;
    let mut w = PreparedWrite {
        groups: vec![g],
        ts: vec![ts],
        vals: vec![value],
        points: 1,
        max_ts: Some(ts),
        ..Default::default()
    };
    w.encode();
    Ok(w)
}

/// Commits a prepared write under the writer lock `w`: WAL, catalog, head; then
/// freezes the head if it is full. Returns the ids of the write's series, in group
/// order.
pub(crate) fn commit(
    inner: &Inner,
    w: &mut WriterState,
    prep: PreparedWrite<'_>,
) -> Result<Vec<u32>> {
    inner.poison.check()?;
    // Give new series their ids. Under the writer lock nobody else adds series.
    let mut defs: Vec<(u32, usize)> = Vec::new();
    let mut ids = Vec::with_capacity(prep.groups.len());
    {
        let catalog = inner.catalog();
        let mut next = catalog.next_id();
        for (i, g) in prep.groups.iter().enumerate() {
            let id = match &g.target {
                Target::Known(id) => *id,
                Target::New(key) => match catalog.lookup_key(key) {
                    Some(id) => id,
                    None => {
                        if next == RESERVED_ID {
                            return Err(Error::invalid("the series id space is exhausted"));
                        }
                        defs.push((next, i));
                        next += 1;
                        next - 1
                    }
                },
            };
            ids.push(id);
        }
    }
    let nothing_new = defs.is_empty() && prep.points == 0 && prep.dels.is_empty();
    if nothing_new {
        return Ok(ids);
    }

    // The WAL record first.
    {
        let def_refs: Vec<(u32, &SeriesKey)> = defs
            .iter()
            .filter_map(|&(id, i)| match prep.groups.get(i).map(|g| &g.target) {
                Some(Target::New(key)) => Some((id, key)),
                _ => None,
            })
            .collect();
        let cols: Vec<(u32, &[u8])> = prep
            .groups
            .iter()
            .zip(&ids)
            .filter(|(g, _)| !g.body.is_empty())
            .map(|(g, &id)| (id, prep.bodies.get(g.body.clone()).unwrap_or_default()))
            .collect();
        wal_batch::assemble(&def_refs, &cols, &prep.dels, &mut w.payload);
    }
    // Series definitions (names and tags) are what snappy shortens best.
    let density = if defs.is_empty() && !prep.loose {
        Density::Dense
    } else {
        Density::Loose
    };
    append_wal(inner, &w.payload, density)?;

    // In the OS (and fsync'd already, except under `SyncMode::Always`, whose fsync runs
    // after the writer lock is released so writers share it: readers may see the write
    // a moment before it is durable, the writer's acknowledgement never is). Now make it
    // visible, as one step for readers.
    let gate = write(&inner.head_gate);
    if !defs.is_empty() {
        let mut catalog = write(&inner.catalog);
        for &(id, i) in &defs {
            if let Some(Target::New(key)) = prep.groups.get(i).map(|g| &g.target)
                && let Err(e) = catalog.insert_with_id(id, key.clone())
            {
                let why = format!("catalog rejected a series the WAL already holds: {e}");
                inner.poison.set(why.clone());
                return Err(Error::Poisoned(why));
            }
        }
    }
    w.head
        .append_batch(prep.groups.iter().zip(&ids).map(|(g, &id)| {
            let (ts, vals) = prep.columns_of(g);
            (id, ts, vals)
        }));
    for &(id, start, end) in &prep.dels {
        w.head.delete_range(id, start, end);
    }
    drop(gate);
    committed(inner, w, prep.points, prep.max_ts);
    Ok(ids)
}

/// [`commit`] of points of one existing series given as columns (`Db::append`), for
/// the callers that write a few points per call: the WAL record is encoded straight
/// from the caller's columns into the writer's payload buffer, and nothing is
/// allocated. Called with the writer lock `w` held.
pub(crate) fn commit_columns(
    inner: &Inner,
    w: &mut WriterState,
    id: u32,
    ts: &[i64],
    vals: &[f64],
) -> Result<()> {
    if ts.len() != vals.len() {
        return Err(Error::invalid(format!(
            "{} timestamps but {} values",
            ts.len(),
            vals.len()
        )));
    }
    check_batch_size(ts.len())?;
    let Some(max_ts) = ts.iter().copied().max() else {
        return Ok(());
    };
    inner.poison.check()?;
    let density = wal_batch::assemble_one(id, ts, vals, &mut w.payload);
    append_wal(inner, &w.payload, density)?;
    let gate = write(&inner.head_gate);
    w.head.append_many(id, ts, vals)?;
    drop(gate);
    committed(inner, w, ts.len(), Some(max_ts));
    Ok(())
}

/// Payloads shorter than this are written to the WAL uncompressed: a write of a few
/// points is mostly float bits, which snappy rarely shortens by the eighth it asks,
/// and trying costs more than encoding the write did.
const WAL_COMPRESS_MIN: usize = 1024;

/// Appends a write's WAL record; a failure poisons the database. A record of at least
/// [`WAL_COMPRESS_MIN`] bytes is snappy-compressed when `density` says it holds what
/// snappy shortens; a dense one (compact or codec columns) is written as it is, as
/// snappy would take a tenth of the write's time to find little.
fn append_wal(inner: &Inner, payload: &[u8], density: Density) -> Result<()> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::invalid(format!(
            "the write encodes to {} bytes; one write may take at most {MAX_PAYLOAD_LEN}",
            payload.len()
        )));
    }
    let compression = if payload.len() >= WAL_COMPRESS_MIN && density == Density::Loose {
        Compression::Snappy
    } else {
        Compression::None
    };
    inner
        .poison
        .on_err(inner.wal.append_with(payload, compression))
}

/// After a write is visible: the newest timestamp, the counters, and a freeze when
/// the head is full.
fn committed(inner: &Inner, w: &mut WriterState, points: usize, max_ts: Option<i64>) {
    if let Some(t) = max_ts {
        inner.note_max_ts(t);
    }
    Counters::add(&inner.counters.points_written, points as u64);
    Counters::add(&inner.counters.write_batches, 1);

    if w.head.approximate_bytes() >= inner.opts.head_bytes {
        // The write is committed whatever happens here. Every failure below poisons
        // the handle, so the next call reports it; this one must not look failed.
        let _ = make_room(inner, w);
    }
}

/// After a commit in [`SyncMode::Always`]: waits until the WAL is durable. Called
/// without the writer lock, so concurrent writers share one fsync (group commit).
pub(crate) fn sync_if_always(inner: &Inner) -> Result<()> {
    if inner.opts.shared.sync_mode == SyncMode::Always {
        inner.poison.on_err(inner.wal.sync())?;
    }
    Ok(())
}

/// The WAL mode the engine opens its WAL with: `Always` becomes `Os` plus an explicit
/// [`sync_if_always`] after the writer lock is released, so that concurrent writers'
/// fsyncs are shared instead of serialized behind the lock.
pub(crate) fn wal_mode(mode: SyncMode) -> SyncMode {
    match mode {
        SyncMode::Always => SyncMode::Os,
        other => other,
    }
}

/// Freezes the full head, first stalling this writer while too many frozen heads wait
/// for their flush. Without background work, flushes inline.
///
/// A stalled writer flushes the oldest frozen head itself rather than waiting for the
/// background thread: that thread also runs compactions, and a writer that waited for
/// it waited for the compaction in progress too (with tiny heads and an eager
/// compaction trigger, every stall did). A stall now lasts one flush, or the end of
/// the flush another thread is running.
fn make_room(inner: &Inner, w: &mut WriterState) -> Result<()> {
    if !inner.opts.shared.background_work {
        freeze(inner, w)?;
        flush::flush_all(inner)?;
        return compaction::compact_auto(inner).map(|_| ());
    }
    let mut stalled = false;
    while inner.current_view().frozen.len() >= inner.opts.max_frozen_heads {
        inner.poison.check()?;
        if !stalled {
            stalled = true;
            Counters::add(&inner.counters.write_stalls, 1);
        }
        flush::flush_one(inner)?;
    }
    freeze(inner, w)?;
    inner.wakeup.wake();
    Ok(())
}

/// Turns the head into a frozen head (if it holds anything) and starts a new head and
/// a new WAL segment. Called with the writer lock held.
pub(crate) fn freeze(inner: &Inner, w: &mut WriterState) -> Result<bool> {
    inner.poison.check()?;
    let view = inner.current_view();
    if view.head.is_empty() && view.head.tombstones().is_empty() {
        return Ok(false);
    }
    let next_wal = inner.new_file_number();
    inner.poison.on_err(inner.wal.rotate(next_wal))?;
    let head = Arc::new(Head::new());
    inner.update_view(|v| {
        let mut frozen = Vec::with_capacity(v.frozen.len() + 1);
        frozen.push(Arc::new(FrozenHead::new(Arc::clone(&v.head), next_wal)));
        frozen.extend(v.frozen.iter().cloned());
        ReadView {
            head: Arc::clone(&head),
            frozen,
            version: Arc::clone(&v.version),
        }
    });
    w.head = head;
    Ok(true)
}

/// Whether series `id` has a visible point at `ts` in the current view.
pub(crate) fn point_exists(inner: &Inner, id: u32, ts: i64) -> Result<bool> {
    if inner.retention_cutoff().is_some_and(|c| ts < c) {
        return Ok(false);
    }
    // Called under the writer lock: nothing changes the head meanwhile.
    let view = inner.current_view();
    let head = HeadSnapshot::capture(&view.head, [id], ts, ts);
    let mut reader = SeriesReader::new(view, Arc::new(head), ts, ts);
    let mut points = Columns::new();
    reader.read(id, &mut points)?;
    Ok(!points.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn inline_equality_is_equality(a in "[ab\\x00]{0,40}", b in "[ab\\x00]{0,40}") {
            prop_assert_eq!(str_eq(&a, &b), a == b);
            let (ta, tb) = (vec![(a.clone(), b.clone())], vec![(a.clone(), a.clone())]);
            prop_assert_eq!(tags_eq(&ta, &tb), ta == tb);
        }

        /// Equal lengths differing in one byte, wherever it is: every byte is
        /// compared, in each length class of the inline comparison.
        #[test]
        fn inline_equality_sees_every_byte(a in "[ab]{0,40}", at in any::<prop::sample::Index>()) {
            prop_assert!(str_eq(&a, &a.clone()));
            if !a.is_empty() {
                let i = at.index(a.len());
                let mut b = a.clone().into_bytes();
                b[i] = if b[i] == b'a' { b'b' } else { b'a' };
                let b = String::from_utf8(b).unwrap();
                prop_assert!(!str_eq(&a, &b));
            }
        }

        #[test]
        fn equal_strings_hash_alike(s in "[a-z]{0,40}") {
            let hash = |s: &str| {
                let mut h = IdHasher::default();
                h.write(s.as_bytes());
                h.finish()
            };
            prop_assert_eq!(hash(&s), hash(&s.clone()));
        }
    }

    /// The writer's head is the view's head after the open and after every freeze, so
    /// every write lands in the head readers see (and the next flush writes).
    #[test]
    fn writes_land_in_the_current_head_across_freezes() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::ts::Db::open(dir.path()).unwrap();
        let h = db.series("m", &[("k", "v")]).unwrap();
        let same = || {
            let w = crate::engine::lock::lock(&db.inner.writer);
            Arc::ptr_eq(&w.head, &db.inner.current_view().head)
        };
        assert!(same());
        for round in 0..3i64 {
            db.append(&h, &[round * 10, round * 10 + 1], &[1.0, 2.0])
                .unwrap();
            db.insert_batch(&[Point::new("m", round * 10 + 2, 3.0, &[("k", "v")])])
                .unwrap();
            assert_eq!(db.inner.current_view().head.point_count(), 3);
            db.flush().unwrap();
            assert!(same());
            assert_eq!(db.inner.current_view().head.point_count(), 0);
        }
        assert_eq!(db.query_metric("m").unwrap().len(), 9);
    }

    #[test]
    fn the_write_cache_verifies_what_it_returns() {
        let mut cache = WriteCache::default();
        let p = Point::new("cpu", 1, 1.0, &[("host", "a"), ("dc", "x")]);
        assert_eq!(cache.get(7, &p), None);
        cache.insert(7, 42, &p);
        assert_eq!(cache.get(7, &p), Some(42));
        // the same hash for another series (a collision) is not taken
        let q = Point::new("cpu", 1, 1.0, &[("host", "b"), ("dc", "x")]);
        assert_eq!(cache.get(7, &q), None);
        // nor tags in another order, which hash differently in the batch index
        let r = Point::new("cpu", 1, 1.0, &[("dc", "x"), ("host", "a")]);
        assert_eq!(cache.get(7, &r), None);
        // nor a metric and tag split differently
        let s = Point::new("cp", 1, 1.0, &[("uhost", "a"), ("dc", "x")]);
        assert_eq!(cache.get(7, &s), None);
    }
}
