//! The read path: point lookups and range scans at a sequence number.
//!
//! A read takes the sequence number first, then the current [`ReadView`]: every
//! entry at or below that number is in that read view (a flush removes a memtable
//! only in the same swap that adds its table). `get` looks in the active memtable, the
//! frozen ones newest first, L0 newest first, then one file per level (Bloom filter
//! first). `range` merges one iterator per memtable, per L0 table and per level and
//! hides shadowed versions, tombstones and the column-family prefix.

use std::ops::{Bound, Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Result;
use crate::engine::lock::read;
use crate::kv::core::cf;
use crate::kv::core::inner::Inner;
use crate::kv::core::iter::KvIterator;
use crate::kv::core::key::ValueKind;
use crate::kv::core::view::ReadView;
use crate::kv::read::level_iter::LevelIter;
use crate::kv::read::merge::MergingIterator;
use crate::kv::read::visible::VisibleIter;
use crate::kv::version::edit::NUM_LEVELS;
use crate::kv::write::batch;

/// A range of keys: any of Rust's range forms (`..`, `a..`, `..b`, `a..b`, `..=b`,
/// `a..=b`) or a pair of [`Bound`]s, over anything that is bytes (`&str`, `&[u8]`,
/// `Vec<u8>`, `String`, ...).
pub trait KeyRange {
    /// The lower and upper bound, as owned bytes.
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>);
}

fn owned<K: AsRef<[u8]>>(b: Bound<K>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl KeyRange for RangeFull {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (Bound::Unbounded, Bound::Unbounded)
    }
}

impl<K: AsRef<[u8]>> KeyRange for Range<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (
            owned(Bound::Included(self.start)),
            owned(Bound::Excluded(self.end)),
        )
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeInclusive<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let (start, end) = self.into_inner();
        (owned(Bound::Included(start)), owned(Bound::Included(end)))
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeFrom<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (owned(Bound::Included(self.start)), Bound::Unbounded)
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeTo<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (Bound::Unbounded, owned(Bound::Excluded(self.end)))
    }
}

impl<K: AsRef<[u8]>> KeyRange for RangeToInclusive<K> {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (Bound::Unbounded, owned(Bound::Included(self.end)))
    }
}

impl<K: AsRef<[u8]>> KeyRange for (Bound<K>, Bound<K>) {
    fn into_bounds(self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (owned(self.0), owned(self.1))
    }
}

/// The keys and values of one column family in a key range, in key order, from
/// [`crate::kv::Store::range`] or [`crate::kv::Snapshot::range`].
///
/// Reads a consistent view (the moment the range was created, or the snapshot's) and
/// keeps the memtables and table files it reads alive until dropped; it never blocks
/// writers, flushes or compactions. After an error it yields that error once, then
/// ends.
pub struct RangeIter {
    inner: Option<VisibleIter>,
}

impl RangeIter {
    fn empty() -> Self {
        RangeIter { inner: None }
    }
}

impl Iterator for RangeIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.as_mut()?.next()
    }
}

impl std::iter::FusedIterator for RangeIter {}

impl std::fmt::Debug for RangeIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeIter")
            .field("empty", &self.inner.is_none())
            .finish()
    }
}

/// Builds the merged iterator over every source of `view` that can hold keys in
/// `(lo, hi)` (internal user keys), newest source first.
pub(crate) fn merged_sources(
    view: &ReadView,
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
) -> MergingIterator {
    let mut children: Vec<Box<dyn KvIterator>> = Vec::new();
    children.push(Box::new(view.active.iter()));
    for mem in &view.frozen {
        children.push(Box::new(mem.iter()));
    }
    for f in view.version.overlapping(0, lo, hi) {
        children.push(Box::new(f.table().iter()));
    }
    for level in 1..NUM_LEVELS {
        let files = view.version.overlapping(level, lo, hi);
        if !files.is_empty() {
            children.push(Box::new(LevelIter::new(files)));
        }
    }
    MergingIterator::new(children)
}

/// The sequence number a read sees.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReadAt {
    /// The newest acknowledged write, read after the view is taken (see
    /// [`Inner::read_view_at`]).
    Latest,
    /// A registered snapshot's sequence number: compaction keeps what it can see.
    Snapshot(u64),
}

impl Inner {
    /// The current view and the sequence number to read it at.
    ///
    /// For [`ReadAt::Latest`] the order matters: the view first, then the visible
    /// sequence number. A flush or compaction drops the versions shadowed at or below
    /// the visible sequence number of *its* start, and installs its view after that;
    /// so a view taken after the install is read at a sequence number at least as new
    /// as that cutoff, and a view taken before it still holds the sources with every
    /// version. The other order could read a new view at an older sequence number and
    /// miss a version the flush dropped: an acknowledged write would vanish from the
    /// read.
    fn read_view_at(&self, at: ReadAt) -> (Arc<ReadView>, u64) {
        let view = self.current_view();
        #[cfg(test)]
        tests::between_view_and_seq();
        let seq = match at {
            ReadAt::Latest => self.visible_seq.load(Ordering::Acquire),
            ReadAt::Snapshot(seq) => seq,
        };
        (view, seq)
    }

    /// The value of `key` in `cf` as of `at`.
    pub(crate) fn get_at(&self, cf: &str, key: &[u8], at: ReadAt) -> Result<Option<Vec<u8>>> {
        batch::validate_cf_name(cf)?;
        let Some(id) = read(&self.cfs).id(cf) else {
            batch::validate_key(key)?;
            return Ok(None);
        };
        self.get_in(id, key, at)
    }

    /// [`Inner::get_at`] in the family of id `id` (no name lookup).
    pub(crate) fn get_in(&self, id: u32, key: &[u8], at: ReadAt) -> Result<Option<Vec<u8>>> {
        batch::validate_key(key)?;
        let (view, seq) = self.read_view_at(at);
        let ikey = cf::internal_key(id, key);
        Ok(match view.get(&ikey, seq, &self.counters)? {
            Some((_, ValueKind::Put, value)) => Some(value),
            Some((_, ValueKind::Delete, _)) | None => None,
        })
    }

    /// The keys of `cf` in `range` as of `at`.
    pub(crate) fn range_at(&self, cf: &str, range: impl KeyRange, at: ReadAt) -> Result<RangeIter> {
        batch::validate_cf_name(cf)?;
        let Some(id) = read(&self.cfs).id(cf) else {
            return Ok(RangeIter::empty());
        };
        self.range_in(id, range, at)
    }

    /// [`Inner::range_at`] in the family of id `id` (no name lookup).
    pub(crate) fn range_in(&self, id: u32, range: impl KeyRange, at: ReadAt) -> Result<RangeIter> {
        let (start, end) = range.into_bounds();
        let (view, seq) = self.read_view_at(at);
        let (lo, hi) = cf::internal_span(id, &start, &end);
        let merged = merged_sources(&view, bound_ref(&lo), bound_ref(&hi));
        let visible = VisibleIter::new(merged, seq, cf::prefix(id).to_vec(), start, end)
            .keep_alive(Box::new(view));
        Ok(RangeIter {
            inner: Some(visible),
        })
    }
}

/// Borrows a bound.
pub(crate) fn bound_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    //! The order of a latest read: a flush landing between the view and the sequence
    //! number must not hide an acknowledged write.

    use std::cell::RefCell;
    use std::sync::Arc;

    use crate::kv::{Options, Store};

    type Hook = Box<dyn FnOnce()>;

    thread_local! {
        /// Runs once, between taking the view and reading the sequence number.
        static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    pub(super) fn between_view_and_seq() {
        if let Some(hook) = HOOK.with(|h| h.borrow_mut().take()) {
            hook();
        }
    }

    #[test]
    fn a_flush_between_view_and_sequence_number_hides_no_write() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default().background_work(false);
        let store = Arc::new(Store::open_with(dir.path(), opts).unwrap());
        store.put("c", "k", "v1").unwrap();
        // While the read is in flight, a newer version is written and flushed: the
        // flush drops v1 (shadowed by v2, no snapshot holds it).
        let writer = Arc::clone(&store);
        HOOK.with(|h| {
            *h.borrow_mut() = Some(Box::new(move || {
                writer.put("c", "k", "v2").unwrap();
                writer.flush().unwrap();
            }))
        });
        let got = store.get("c", "k").unwrap();
        assert!(
            matches!(got.as_deref(), Some(b"v1" | b"v2")),
            "an acknowledged write vanished: {got:?}"
        );
        let writer = Arc::clone(&store);
        HOOK.with(|h| {
            *h.borrow_mut() = Some(Box::new(move || {
                writer.put("c", "k", "v3").unwrap();
                writer.flush().unwrap();
            }))
        });
        let got: Vec<_> = store
            .range("c", ..)
            .unwrap()
            .map(|e| e.unwrap().1)
            .collect();
        assert!(
            got == [b"v2".to_vec()] || got == [b"v3".to_vec()],
            "an acknowledged write vanished from a range: {got:?}"
        );
    }
}
