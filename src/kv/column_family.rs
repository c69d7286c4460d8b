//! [`ColumnFamily`]: a handle on one column family of a `Store`, for code that reads
//! and writes one family often. The family is looked up (or created) once, when the
//! handle is made; its operations then go straight to the family's id, skipping the
//! name check and the registry lock that `Store::get` and `Store::put` take on
//! every call.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Result;
use crate::kv::core::inner::Inner;
use crate::kv::read::range::{KeyRange, RangeIter};
use crate::kv::write::batch::WriteBatch;
use crate::kv::write::queue::WriteQueue;

/// One column family of a [`crate::kv::Store`], from [`crate::kv::Store::cf`]. Cheap to
/// clone; it borrows the store. Reads and writes behave exactly as the `Store` methods
/// of the same names with this family's name.
#[derive(Clone)]
pub struct ColumnFamily<'a> {
    inner: &'a Inner,
    writers: &'a WriteQueue,
    name: Arc<str>,
    id: u32,
}

impl std::fmt::Debug for ColumnFamily<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnFamily")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish()
    }
}

impl<'a> ColumnFamily<'a> {
    pub(crate) fn new(inner: &'a Inner, writers: &'a WriteQueue, name: &str, id: u32) -> Self {
        ColumnFamily {
            inner,
            writers,
            name: Arc::from(name),
            id,
        }
    }

    /// The family's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets `key` to `value` (see `Store::put`).
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(&self.name, key, value);
        self.write_one(batch)
    }

    /// Deletes `key` (see `Store::delete`).
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(&self.name, key);
        self.write_one(batch)
    }

    /// The value of `key`, or `None` (see `Store::get`).
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let inner = self.inner;
        let seq = inner.visible_seq.load(Ordering::Acquire);
        inner.get_in(self.id, key.as_ref(), seq)
    }

    /// The keys in `range` with their values, in key order (see `Store::range`).
    pub fn range(&self, range: impl KeyRange) -> Result<RangeIter> {
        let inner = self.inner;
        let seq = inner.visible_seq.load(Ordering::Acquire);
        inner.range_in(self.id, range, seq)
    }

    fn write_one(&self, batch: WriteBatch) -> Result<()> {
        self.inner.write_batch_in(self.writers, self.id, batch)
    }
}
