//! The one iterator trait that memtables, SSTables and the merging iterator implement.
//!
//! An iterator walks *internal entries* in [`crate::kv::core::key::compare`] order (user key
//! ascending, newest version first), including tombstones and shadowed versions. Hiding
//! those is the job of the user-facing iterator on top.

use crate::Result;
use crate::kv::core::key::ValueKind;

/// A cursor over internal entries. Positioned on an entry while [`KvIterator::valid`].
///
/// A new iterator is unpositioned (not valid) until the first [`KvIterator::seek`] or
/// [`KvIterator::seek_to_first`].
pub trait KvIterator: Send {
    /// True while the iterator is positioned on an entry.
    fn valid(&self) -> bool;
    /// The current entry's user key. Only meaningful while valid.
    fn key(&self) -> &[u8];
    /// The current entry's sequence number. Only meaningful while valid.
    fn seq(&self) -> u64;
    /// The current entry's kind. Only meaningful while valid.
    fn kind(&self) -> ValueKind;
    /// The current entry's value (empty for tombstones). Only meaningful while valid.
    fn value(&self) -> &[u8];
    /// Moves to the next entry; past the last one the iterator becomes invalid.
    fn next(&mut self) -> Result<()>;
    /// Positions on the first entry whose user key is `>= key` (its newest version).
    fn seek(&mut self, key: &[u8]) -> Result<()>;
    /// Positions on the first entry.
    fn seek_to_first(&mut self) -> Result<()>;
}

impl<I: KvIterator + ?Sized> KvIterator for Box<I> {
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn key(&self) -> &[u8] {
        (**self).key()
    }
    fn seq(&self) -> u64 {
        (**self).seq()
    }
    fn kind(&self) -> ValueKind {
        (**self).kind()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
    fn next(&mut self) -> Result<()> {
        (**self).next()
    }
    fn seek(&mut self, key: &[u8]) -> Result<()> {
        (**self).seek(key)
    }
    fn seek_to_first(&mut self) -> Result<()> {
        (**self).seek_to_first()
    }
}
