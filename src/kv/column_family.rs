//! [`ColumnFamily`]: a handle on one column family of a `Store`, for code that reads
//! and writes one family often. The family is looked up (or created) once, when the
//! handle is made; its operations then go straight to the family's id, skipping the
//! name check and the registry lock that `Store::get` and `Store::put` take on
//! every call.

use std::sync::Arc;

use crate::Result;
use crate::kv::core::inner::Inner;
use crate::kv::read::range::{KeyRange, RangeIter, ReadAt};
use crate::kv::write::batch::WriteBatch;
use crate::kv::write::queue::WriteQueue;

/// One column family of a [`crate::kv::Store`], from [`crate::kv::Store::cf`]. Cheap to
/// clone; it borrows the store. Reads and writes behave exactly as the `Store` methods
/// of the same names with this family's name.
///
/// ```
/// # use std::sync::Arc;
/// # use tidestore::io::sim_fs::SimFs;
/// use tidestore::kv::{Options, Store};
/// # fn main() -> tidestore::Result<()> {
/// # let store = Store::open_with("/kv", Options::default().fs(Arc::new(SimFs::new())))?;
/// let users = store.cf("users")?;
/// users.put("alice", "admin")?;
/// users.put("bob", "guest")?;
/// assert_eq!(users.get("alice")?, Some(b"admin".to_vec()));
/// assert_eq!(store.get("users", "bob")?, Some(b"guest".to_vec()));
/// let names: Vec<Vec<u8>> = users.range(..)?.map(|e| e.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(names, [b"alice".to_vec(), b"bob".to_vec()]);
/// # Ok(())
/// # }
/// ```
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
        self.inner.get_in(self.id, key.as_ref(), ReadAt::Latest)
    }

    /// The keys in `range` with their values, in key order (see `Store::range`).
    pub fn range(&self, range: impl KeyRange) -> Result<RangeIter> {
        self.inner.range_in(self.id, range, ReadAt::Latest)
    }

    fn write_one(&self, batch: WriteBatch) -> Result<()> {
        self.inner.write_batch_in(self.writers, self.id, batch)
    }
}
