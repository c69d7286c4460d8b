//! [`TableIter`]: a cursor over every entry of a table, block by block, implementing
//! [`KvIterator`]. Seeks binary-search the in-memory index, then the restart points of
//! one block.

use std::sync::Arc;

use super::block::BlockIter;
use super::frame::BlockHandle;
use super::table::Table;
use crate::Result;
use crate::kv::core::iter::KvIterator;
use crate::kv::core::key::ValueKind;

/// A cursor over the internal entries of one [`Table`], in
/// [`crate::kv::core::key::compare`] order, tombstones and shadowed versions included. It
/// holds the table (and so its mapped file) alive.
///
/// After an error the cursor is invalid; a later seek may reposition it.
#[derive(Debug)]
pub struct TableIter {
    table: Arc<Table>,
    /// Index of the current data block.
    block_idx: usize,
    /// The current block, while positioned.
    block: Option<(BlockHandle, BlockIter)>,
}

impl Table {
    /// A cursor over every entry of the table, unpositioned: call `seek_to_first` or
    /// `seek` first.
    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter::new(Arc::clone(self))
    }
}

impl TableIter {
    pub(crate) fn new(table: Arc<Table>) -> Self {
        TableIter {
            table,
            block_idx: 0,
            block: None,
        }
    }

    /// The table this cursor walks.
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    /// Positions on the first entry `>= (key, seq)` in internal-key order: with
    /// `seq = u64::MAX`, the newest version of the first user key `>= key`.
    pub fn seek_internal(&mut self, key: &[u8], seq: u64) -> Result<()> {
        self.block = None;
        self.block_idx = self.table.find_block(key, seq);
        let Some((h, mut it)) = self.table.data_block(self.block_idx)? else {
            return Ok(());
        };
        it.seek(key, seq)
            .map_err(|e| self.table.data_corruption(h, e))?;
        if it.valid() {
            self.block = Some((h, it));
            Ok(())
        } else {
            self.open_block_from(self.block_idx + 1)
        }
    }

    /// Positions on the first entry of the first block from `i` on that has one.
    fn open_block_from(&mut self, mut i: usize) -> Result<()> {
        self.block = None;
        while let Some((h, mut it)) = self.table.data_block(i)? {
            self.block_idx = i;
            it.seek_to_first()
                .map_err(|e| self.table.data_corruption(h, e))?;
            if it.valid() {
                self.block = Some((h, it));
                return Ok(());
            }
            i += 1;
        }
        self.block_idx = self.table.block_count();
        Ok(())
    }

    fn current(&self) -> Option<&BlockIter> {
        self.block
            .as_ref()
            .map(|(_, it)| it)
            .filter(|it| it.valid())
    }
}

impl KvIterator for TableIter {
    fn valid(&self) -> bool {
        self.current().is_some()
    }

    fn key(&self) -> &[u8] {
        self.current().map_or(&[], |it| it.key())
    }

    fn seq(&self) -> u64 {
        self.current().map_or(0, |it| it.seq())
    }

    fn kind(&self) -> ValueKind {
        self.current().map_or(ValueKind::Delete, |it| it.kind())
    }

    fn value(&self) -> &[u8] {
        self.current().map_or(&[], |it| it.value())
    }

    fn next(&mut self) -> Result<()> {
        let Some((h, it)) = self.block.as_mut() else {
            return Ok(());
        };
        if let Err(e) = it.next() {
            let err = self.table.data_corruption(*h, e);
            self.block = None;
            return Err(err);
        }
        if it.valid() {
            return Ok(());
        }
        let next = self.block_idx + 1;
        let r = self.open_block_from(next);
        if r.is_err() {
            self.block = None;
        }
        r
    }

    fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.seek_internal(key, u64::MAX)
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.open_block_from(0)
    }
}
