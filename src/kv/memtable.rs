//! The memtable: recent writes, in memory, sorted in internal-key order.
//!
//! # Design
//!
//! A `BTreeSet<Entry>` under a [`RwLock`], chosen over a lock-free skip list
//! (`crossbeam-skiplist`) to keep the dependency list lean, and because the workload fits
//! it well:
//!
//! - Writers are already serialized by the store, so a lock-free structure buys nothing
//!   on the write side; an uncontended write lock costs two atomic operations, small next
//!   to the cache misses of a B-tree insert (which beats a skip list's pointer chase).
//! - Readers never hold the lock for long. A point lookup is one B-tree descent. An
//!   iterator copies the entries it needs in batches ([`BATCH_ENTRIES`] entries or
//!   [`BATCH_BYTES`] bytes per read-lock acquisition) into its own buffer, then resumes
//!   *after the last entry it saw*. Because entries are never removed, resuming from a
//!   key is exact: nothing before it is missed, nothing after it is repeated.
//!
//! # Snapshot consistency
//!
//! A reader with snapshot sequence number `S` ignores entries whose sequence number is
//! greater than `S`. The store publishes `S` only after every entry with a sequence
//! number `<= S` has been inserted, so such entries are all present before the reader
//! starts, and a batch-wise scan sees every one of them (entries are never removed). Any
//! entry inserted while the scan runs has a sequence number `> S`, so whether the scan
//! sees it or not does not matter.
//!
//! # Memory layout
//!
//! Each entry is one heap allocation, `kind | user key | value`, plus a 32-byte node slot
//! holding the pointer, the key length and the sequence number. Lookups compare a
//! borrowed probe against stored entries (through the private `Probe` trait), so neither
//! `get` nor `seek` allocates, and a key can be given in two parts (a column-family
//! prefix and the user key) without being concatenated first.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as MemOrdering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::Result;
use crate::kv::core::iter::KvIterator;
use crate::kv::core::key::{ValueKind, compare};

/// Most entries an iterator copies per read-lock acquisition.
pub const BATCH_ENTRIES: usize = 128;

/// Once an iterator's batch holds this many key and value bytes it stops copying (it
/// always takes at least one entry, however large).
pub const BATCH_BYTES: usize = 64 * 1024;

/// Bytes charged per entry on top of its key and value: the 32-byte B-tree slot, the
/// kind byte, the allocator's header and the B-tree's unused slot space, estimated.
pub const ENTRY_OVERHEAD: usize = 64;

/// One internal entry. `data` is `kind | user key | value`.
struct Entry {
    data: Box<[u8]>,
    key_len: usize,
    seq: u64,
}

impl Entry {
    fn new(prefix: &[u8], key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) -> Self {
        let key_len = prefix.len().saturating_add(key.len());
        let mut data = Vec::with_capacity(key_len.saturating_add(value.len()).saturating_add(1));
        data.push(kind as u8);
        data.extend_from_slice(prefix);
        data.extend_from_slice(key);
        data.extend_from_slice(value);
        Entry {
            data: data.into_boxed_slice(),
            key_len,
            seq,
        }
    }

    #[inline]
    fn key(&self) -> &[u8] {
        self.data.get(1..1 + self.key_len).unwrap_or(&[])
    }

    #[inline]
    fn value(&self) -> &[u8] {
        self.data.get(1 + self.key_len..).unwrap_or(&[])
    }

    #[inline]
    fn kind(&self) -> ValueKind {
        // The first byte was written from a `ValueKind` in `Entry::new`.
        match self.data.first() {
            Some(&b) if b == ValueKind::Put as u8 => ValueKind::Put,
            _ => ValueKind::Delete,
        }
    }

    /// Bytes charged to the memtable for this entry.
    fn charge(&self) -> usize {
        self.data.len().saturating_add(ENTRY_OVERHEAD)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self.key(), self.seq, other.key(), other.seq)
    }
}

/// Something that orders like an entry: a user key given as `head ++ tail`, and a
/// sequence number. Stored entries and borrowed lookup probes both implement it, which
/// lets the B-tree be searched by a probe without building an `Entry`.
trait Probe {
    fn parts(&self) -> (&[u8], &[u8], u64);
}

impl Probe for Entry {
    #[inline]
    fn parts(&self) -> (&[u8], &[u8], u64) {
        (self.key(), &[], self.seq)
    }
}

/// A borrowed lookup key: `prefix ++ key` at sequence number `seq`.
struct Lookup<'a> {
    prefix: &'a [u8],
    key: &'a [u8],
    seq: u64,
}

impl Probe for Lookup<'_> {
    #[inline]
    fn parts(&self) -> (&[u8], &[u8], u64) {
        (self.prefix, self.key, self.seq)
    }
}

impl<'a> Borrow<dyn Probe + 'a> for Entry {
    fn borrow(&self) -> &(dyn Probe + 'a) {
        self
    }
}

impl PartialEq for dyn Probe + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for dyn Probe + '_ {}

impl PartialOrd for dyn Probe + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn Probe + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a_head, a_tail, a_seq) = self.parts();
        let (b_head, b_tail, b_seq) = other.parts();
        cmp_concat((a_head, a_tail), (b_head, b_tail)).then(b_seq.cmp(&a_seq))
    }
}

/// Compares `a.0 ++ a.1` with `b.0 ++ b.1` bytewise without concatenating them.
fn cmp_concat(a: (&[u8], &[u8]), b: (&[u8], &[u8])) -> Ordering {
    let ((mut a0, mut a1), (mut b0, mut b1)) = (a, b);
    // Each round empties at least one of `a0`, `b0`; there are four parts, so this loop
    // runs at most four times.
    loop {
        if a0.is_empty() {
            a0 = std::mem::take(&mut a1);
        }
        if b0.is_empty() {
            b0 = std::mem::take(&mut b1);
        }
        if a0.is_empty() || b0.is_empty() {
            // One side is exhausted (both parts empty): the shorter string sorts first.
            return a0.len().cmp(&b0.len());
        }
        let n = a0.len().min(b0.len());
        let (a_head, a_rest) = a0.split_at(n);
        let (b_head, b_rest) = b0.split_at(n);
        match a_head.cmp(b_head) {
            Ordering::Equal => (a0, b0) = (a_rest, b_rest),
            unequal => return unequal,
        }
    }
}

/// An in-memory sorted table of internal entries, safe to share between one writer and
/// many readers. See the [module documentation](self) for the design.
pub struct Memtable {
    entries: RwLock<BTreeSet<Entry>>,
    bytes: AtomicUsize,
    len: AtomicUsize,
    max_seq: AtomicU64,
}

impl Default for Memtable {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Memtable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memtable")
            .field("len", &self.len())
            .field("approximate_bytes", &self.approximate_bytes())
            .field("max_seq", &self.max_seq())
            .finish()
    }
}

impl Memtable {
    /// An empty memtable.
    pub fn new() -> Self {
        Memtable {
            entries: RwLock::new(BTreeSet::new()),
            bytes: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            max_seq: AtomicU64::new(0),
        }
    }

    /// Records that `prefix ++ key` got `value` (or, for [`ValueKind::Delete`], a
    /// tombstone) at sequence number `seq`; the key is built without an intermediate
    /// buffer (the store prefixes keys with their column family). Inserting the same
    /// `(key, seq)` twice keeps the later entry.
    ///
    /// Writers must be serialized by the caller; readers may run concurrently.
    pub fn insert_prefixed(
        &self,
        prefix: &[u8],
        key: &[u8],
        seq: u64,
        kind: ValueKind,
        value: &[u8],
    ) {
        // Allocate and copy before taking the lock, so readers wait as little as possible.
        let entry = Entry::new(prefix, key, seq, kind, value);
        let charge = entry.charge();
        let replaced = self.write().replace(entry);
        match replaced {
            Some(old) => {
                self.bytes.fetch_sub(old.charge(), MemOrdering::Relaxed);
            }
            None => {
                self.len.fetch_add(1, MemOrdering::Relaxed);
            }
        }
        self.bytes.fetch_add(charge, MemOrdering::Relaxed);
        self.max_seq.fetch_max(seq, MemOrdering::Relaxed);
    }

    /// The newest entry for `key` whose sequence number is `<= snapshot_seq`, as
    /// `(seq, kind, value)`; tombstones are returned too (with an empty value), so the
    /// caller knows not to look in older tables.
    pub fn get(&self, key: &[u8], snapshot_seq: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
        self.get_prefixed(&[], key, snapshot_seq)
    }

    /// Like [`Memtable::get`] for the user key `prefix ++ key`.
    pub fn get_prefixed(
        &self,
        prefix: &[u8],
        key: &[u8],
        snapshot_seq: u64,
    ) -> Option<(u64, ValueKind, Vec<u8>)> {
        let probe = Lookup {
            prefix,
            key,
            seq: snapshot_seq,
        };
        let entries = self.read();
        // In internal-key order, the first entry at or after `(key, snapshot_seq)` is the
        // newest version of `key` not newer than the snapshot, if `key` has one.
        let entry = entries
            .range::<dyn Probe, _>((Bound::Included(&probe as &dyn Probe), Bound::Unbounded))
            .next()?;
        if cmp_concat((entry.key(), &[]), (prefix, key)) != Ordering::Equal {
            return None;
        }
        Some((entry.seq, entry.kind(), entry.value().to_vec()))
    }

    /// Memory charged to this memtable: keys, values and [`ENTRY_OVERHEAD`] per entry.
    /// The store flushes the memtable once this passes its threshold.
    pub fn approximate_bytes(&self) -> usize {
        self.bytes.load(MemOrdering::Relaxed)
    }

    /// Number of entries (every version and tombstone counts).
    pub fn len(&self) -> usize {
        self.len.load(MemOrdering::Relaxed)
    }

    /// True if nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest sequence number inserted, 0 if none.
    pub fn max_seq(&self) -> u64 {
        self.max_seq.load(MemOrdering::Relaxed)
    }

    /// An iterator over every entry, in internal-key order. It starts unpositioned: call
    /// [`KvIterator::seek_to_first`] or [`KvIterator::seek`] first. It keeps the memtable
    /// alive and sees entries inserted after its creation (see the
    /// [module documentation](self) on snapshots).
    pub fn iter(self: &Arc<Self>) -> MemtableIter {
        MemtableIter {
            table: Arc::clone(self),
            buf: Vec::new(),
            slots: Vec::new(),
            pos: 0,
            more: false,
            resume_key: Vec::new(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeSet<Entry>> {
        // B-tree operations are panic-safe: a panic cannot leave the set half-modified.
        crate::engine::lock::read(&self.entries)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeSet<Entry>> {
        crate::engine::lock::write(&self.entries)
    }
}

/// Where one copied entry lives in a [`MemtableIter`]'s buffer.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: usize,
    key_end: usize,
    end: usize,
    seq: u64,
    kind: ValueKind,
}

/// A [`KvIterator`] over a [`Memtable`], reading it in batches (see the
/// [module documentation](self)).
pub struct MemtableIter {
    table: Arc<Memtable>,
    /// Keys and values of the current batch, back to back.
    buf: Vec<u8>,
    /// The current batch's entries.
    slots: Vec<Slot>,
    /// Index of the current entry in `slots`; `slots.len()` when invalid.
    pos: usize,
    /// True if the batch was cut short, so the memtable may hold entries after it.
    more: bool,
    /// Scratch copy of the last key of a batch, to resume after it.
    resume_key: Vec<u8>,
}

impl fmt::Debug for MemtableIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemtableIter")
            .field("valid", &self.valid())
            .field("batch_len", &self.slots.len())
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl MemtableIter {
    /// Replaces the batch with the entries after `from`.
    fn fill(&mut self, from: Bound<&dyn Probe>) {
        self.buf.clear();
        self.slots.clear();
        self.pos = 0;
        self.more = false;
        let entries = self.table.read();
        for entry in entries.range::<dyn Probe, _>((from, Bound::Unbounded)) {
            if self.slots.len() == BATCH_ENTRIES || self.buf.len() >= BATCH_BYTES {
                self.more = true;
                break;
            }
            let start = self.buf.len();
            self.buf.extend_from_slice(entry.key());
            let key_end = self.buf.len();
            self.buf.extend_from_slice(entry.value());
            self.slots.push(Slot {
                start,
                key_end,
                end: self.buf.len(),
                seq: entry.seq,
                kind: entry.kind(),
            });
        }
    }

    /// Loads the batch after the last entry of the current one.
    fn fill_after_batch(&mut self) {
        let Some(last) = self.slots.last().copied() else {
            return;
        };
        self.resume_key.clear();
        self.resume_key
            .extend_from_slice(self.buf.get(last.start..last.key_end).unwrap_or(&[]));
        let resume_key = std::mem::take(&mut self.resume_key);
        let probe = Lookup {
            prefix: &resume_key,
            key: &[],
            seq: last.seq,
        };
        self.fill(Bound::Excluded(&probe));
        self.resume_key = resume_key;
    }

    #[inline]
    fn slot(&self) -> Option<&Slot> {
        self.slots.get(self.pos)
    }
}

impl KvIterator for MemtableIter {
    #[inline]
    fn valid(&self) -> bool {
        self.pos < self.slots.len()
    }

    #[inline]
    fn key(&self) -> &[u8] {
        self.slot()
            .and_then(|s| self.buf.get(s.start..s.key_end))
            .unwrap_or(&[])
    }

    #[inline]
    fn seq(&self) -> u64 {
        self.slot().map_or(0, |s| s.seq)
    }

    #[inline]
    fn kind(&self) -> ValueKind {
        self.slot().map_or(ValueKind::Delete, |s| s.kind)
    }

    #[inline]
    fn value(&self) -> &[u8] {
        self.slot()
            .and_then(|s| self.buf.get(s.key_end..s.end))
            .unwrap_or(&[])
    }

    fn next(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        self.pos += 1;
        if self.pos == self.slots.len() && self.more {
            self.fill_after_batch();
        }
        Ok(())
    }

    fn seek(&mut self, key: &[u8]) -> Result<()> {
        // `u64::MAX` sorts before every sequence number of `key`: the newest comes first.
        let probe = Lookup {
            prefix: key,
            key: &[],
            seq: u64::MAX,
        };
        self.fill(Bound::Included(&probe));
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.fill(Bound::Unbounded);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Reverse;
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicBool;

    type Model = BTreeMap<(Vec<u8>, Reverse<u64>), (ValueKind, Vec<u8>)>;

    fn collect(it: &mut dyn KvIterator) -> Vec<(Vec<u8>, u64, ValueKind, Vec<u8>)> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
            it.next().unwrap();
        }
        out
    }

    fn model_entries<'a>(
        it: impl Iterator<Item = (&'a (Vec<u8>, Reverse<u64>), &'a (ValueKind, Vec<u8>))>,
    ) -> Vec<(Vec<u8>, u64, ValueKind, Vec<u8>)> {
        it.map(|((k, Reverse(s)), (kind, v))| (k.clone(), *s, *kind, v.clone()))
            .collect()
    }

    fn kind_strategy() -> impl Strategy<Value = ValueKind> {
        prop_oneof![Just(ValueKind::Put), Just(ValueKind::Delete)]
    }

    /// Short keys over a small alphabet, so keys repeat and prefix each other.
    fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(0u8..4, 0..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn matches_a_btreemap_model(
            ops in proptest::collection::vec(
                (key_strategy(), 0u64..64, kind_strategy(), proptest::collection::vec(any::<u8>(), 0..8)),
                0..200,
            ),
            probes in proptest::collection::vec((key_strategy(), 0u64..70), 1..20),
        ) {
            let table = Arc::new(Memtable::new());
            let mut model = Model::new();
            for (key, seq, kind, value) in &ops {
                let value = if *kind == ValueKind::Put { value.clone() } else { Vec::new() };
                table.insert_prefixed(&[], key, *seq, *kind, &value);
                model.insert((key.clone(), Reverse(*seq)), (*kind, value));
            }
            prop_assert_eq!(table.len(), model.len());
            prop_assert_eq!(table.is_empty(), model.is_empty());
            prop_assert_eq!(table.max_seq(), ops.iter().map(|o| o.1).max().unwrap_or(0));
            let bytes: usize = model.iter().map(|((k, _), (_, v))| k.len() + v.len() + 1 + ENTRY_OVERHEAD).sum();
            prop_assert_eq!(table.approximate_bytes(), bytes);

            let mut it = table.iter();
            prop_assert!(!it.valid());
            it.seek_to_first().unwrap();
            prop_assert_eq!(collect(&mut it), model_entries(model.iter()));

            for (key, snapshot) in &probes {
                let want = model
                    .range((key.clone(), Reverse(*snapshot))..)
                    .next()
                    .filter(|((k, _), _)| k == key)
                    .map(|((_, Reverse(s)), (kind, v))| (*s, *kind, v.clone()));
                prop_assert_eq!(table.get(key, *snapshot), want);

                it.seek(key).unwrap();
                let want = model_entries(model.range((key.clone(), Reverse(u64::MAX))..));
                prop_assert_eq!(collect(&mut it), want);
            }
        }

        #[test]
        fn prefixed_keys_equal_concatenated_keys(
            ops in proptest::collection::vec((key_strategy(), key_strategy(), 0u64..16), 0..60),
            probes in proptest::collection::vec((key_strategy(), key_strategy(), 0u64..20), 1..20),
        ) {
            let split = Memtable::new();
            let joined = Memtable::new();
            for (prefix, key, seq) in &ops {
                split.insert_prefixed(prefix, key, *seq, ValueKind::Put, key);
                joined.insert_prefixed(&[], &[prefix.as_slice(), key].concat(), *seq, ValueKind::Put, key);
            }
            for (prefix, key, snapshot) in &probes {
                prop_assert_eq!(
                    split.get_prefixed(prefix, key, *snapshot),
                    joined.get(&[prefix.as_slice(), key].concat(), *snapshot)
                );
            }
        }

        #[test]
        fn cmp_concat_matches_concatenation(
            a0 in key_strategy(), a1 in key_strategy(), b0 in key_strategy(), b1 in key_strategy(),
        ) {
            let want = [a0.as_slice(), &a1].concat().cmp(&[b0.as_slice(), &b1].concat());
            prop_assert_eq!(cmp_concat((&a0, &a1), (&b0, &b1)), want);
        }
    }

    #[test]
    fn iterates_across_many_batches() {
        let table = Arc::new(Memtable::new());
        let n = BATCH_ENTRIES as u64 * 3 + 7;
        for seq in 1..=n {
            // Three versions per key, so batch boundaries fall between versions.
            let key = (seq / 3).to_be_bytes();
            table.insert_prefixed(&[], &key, seq, ValueKind::Put, &seq.to_le_bytes());
        }
        let mut it = table.iter();
        it.seek_to_first().unwrap();
        let got = collect(&mut it);
        assert_eq!(got.len() as u64, n);
        assert!(
            got.windows(2)
                .all(|w| compare(&w[0].0, w[0].1, &w[1].0, w[1].1).is_lt())
        );
        assert!(got.iter().all(|(_, seq, _, v)| *v == seq.to_le_bytes()));
    }

    #[test]
    fn large_values_cut_batches_by_bytes() {
        let table = Arc::new(Memtable::new());
        let value = vec![7u8; BATCH_BYTES];
        for i in 0u8..5 {
            table.insert_prefixed(&[], &[i], 1, ValueKind::Put, &value);
        }
        let mut it = table.iter();
        it.seek_to_first().unwrap();
        assert_eq!(it.slots.len(), 1, "one oversized entry per batch");
        let got = collect(&mut it);
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|e| e.3 == value));
    }

    #[test]
    fn get_prefers_newest_visible_version_and_reports_tombstones() {
        let table = Memtable::new();
        table.insert_prefixed(&[], b"k", 1, ValueKind::Put, b"one");
        table.insert_prefixed(&[], b"k", 3, ValueKind::Delete, b"");
        table.insert_prefixed(&[], b"k", 5, ValueKind::Put, b"five");
        table.insert_prefixed(&[], b"ka", 2, ValueKind::Put, b"other");
        assert_eq!(table.get(b"k", 0), None);
        assert_eq!(
            table.get(b"k", 1),
            Some((1, ValueKind::Put, b"one".to_vec()))
        );
        assert_eq!(table.get(b"k", 4), Some((3, ValueKind::Delete, Vec::new())));
        assert_eq!(
            table.get(b"k", u64::MAX),
            Some((5, ValueKind::Put, b"five".to_vec()))
        );
        assert_eq!(table.get(b"", 9), None);
        assert_eq!(table.get(b"kb", 9), None);
    }

    /// A writer inserts while readers scan: every scan at snapshot `S` sees exactly the
    /// entries with sequence numbers `1..=S`, in order.
    #[test]
    fn concurrent_scans_see_consistent_snapshots() {
        const N: u64 = 20_000;
        let table = Arc::new(Memtable::new());
        let published = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        // Keys repeat (many versions per key) and arrive in scrambled order.
        let key_of = |seq: u64| ((seq % 4_999).wrapping_mul(0x9E37_79B9) as u32).to_be_bytes();

        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (table, published, done) = (table.clone(), published.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut scans = 0;
                    while !done.load(MemOrdering::Acquire) || scans == 0 {
                        let snapshot = published.load(MemOrdering::Acquire);
                        let mut it = table.iter();
                        it.seek_to_first().unwrap();
                        let mut seen = vec![false; snapshot as usize + 1];
                        let mut prev: Option<(Vec<u8>, u64)> = None;
                        while it.valid() {
                            if let Some((k, s)) = &prev {
                                assert!(compare(k, *s, it.key(), it.seq()).is_lt());
                            }
                            if it.seq() <= snapshot {
                                assert_eq!(it.key(), key_of(it.seq()));
                                assert_eq!(it.value(), it.seq().to_le_bytes());
                                assert!(!std::mem::replace(&mut seen[it.seq() as usize], true));
                                let got = table.get(it.key(), snapshot).unwrap();
                                assert!(got.0 >= it.seq() && got.0 <= snapshot);
                            }
                            prev = Some((it.key().to_vec(), it.seq()));
                            it.next().unwrap();
                        }
                        assert!(
                            seen[1..].iter().all(|&s| s),
                            "scan at {snapshot} missed entries"
                        );
                        scans += 1;
                    }
                    scans
                })
            })
            .collect();

        for seq in 1..=N {
            table.insert_prefixed(&[], &key_of(seq), seq, ValueKind::Put, &seq.to_le_bytes());
            published.store(seq, MemOrdering::Release);
        }
        done.store(true, MemOrdering::Release);
        for reader in readers {
            assert!(reader.join().unwrap() > 0);
        }
        assert_eq!(table.len() as u64, N);
    }
}
