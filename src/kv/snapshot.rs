//! Snapshots: a consistent, read-only view of the store at one sequence number.
//!
//! A snapshot is just a sequence number registered in a multiset; compaction asks for
//! the oldest registered one and keeps every version a live snapshot can still see.
//! Dropping the [`Snapshot`] unregisters it.

use crate::Result;
use crate::kv::core::inner::Inner;
use crate::kv::read::range::{KeyRange, RangeIter, ReadAt};

/// A consistent, read-only view of a [`crate::kv::Store`] as of the moment
/// [`crate::kv::Store::snapshot`] was called: later writes, flushes and compactions do
/// not change what it reads. Release it (drop it) when done: while it lives, compaction
/// keeps the versions it can see.
///
/// ```
/// # use std::sync::Arc;
/// # use tidestore::io::sim_fs::SimFs;
/// use tidestore::kv::{Options, Store};
/// # fn main() -> tidestore::Result<()> {
/// # let store = Store::open_with("/kv", Options::default().fs(Arc::new(SimFs::new())))?;
/// store.put("cfg", "mode", "old")?;
/// let snap = store.snapshot();
/// store.put("cfg", "mode", "new")?;
/// assert_eq!(snap.get("cfg", "mode")?, Some(b"old".to_vec()));
/// assert_eq!(store.get("cfg", "mode")?, Some(b"new".to_vec()));
/// drop(snap); // lets compaction drop the old version
/// # Ok(())
/// # }
/// ```
pub struct Snapshot<'a> {
    inner: &'a Inner,
    seq: u64,
}

impl<'a> Snapshot<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        let seq = inner.snapshots.register(&inner.visible_seq);
        Snapshot { inner, seq }
    }

    /// The sequence number the snapshot reads at.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// The value of `key` in column family `cf` as of the snapshot.
    pub fn get(&self, cf: &str, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.inner
            .get_at(cf, key.as_ref(), ReadAt::Snapshot(self.seq))
    }

    /// The keys of `cf` in `range` and their values as of the snapshot, in key order.
    pub fn range(&self, cf: &str, range: impl KeyRange) -> Result<RangeIter> {
        self.inner.range_at(cf, range, ReadAt::Snapshot(self.seq))
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        self.inner.snapshots.release(self.seq);
    }
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}
