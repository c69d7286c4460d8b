//! Writes sorted internal entries into one or more new table files, the way flush and
//! compaction both need it.
//!
//! Each output is written under `NNNNNN.sst.tmp`, fsync'd by the table builder, then
//! renamed to `NNNNNN.sst`; [`TableWriter::finish`] syncs the directory once for all of
//! them, so the files are durable before any MANIFEST edit names them. An output is
//! closed once it reaches the target size, but only between two different user keys, so
//! every version of a key lands in the same file. Until [`TableWriter::commit`] the
//! writer owns its files: dropping it deletes them (a failed or aborted job leaves
//! nothing behind).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Result;
use crate::io::file_number::TABLE;
use crate::io::fs::FileSystem;
use crate::kv::core::key::ValueKind;
use crate::kv::sstable::{TableBuilder, TableOptions};
use crate::kv::version::edit::FileMeta;

struct Output {
    number: u64,
    tmp: PathBuf,
    builder: TableBuilder,
}

/// Writes entries into new table files.
pub(crate) struct TableWriter<'a> {
    fs: &'a Arc<dyn FileSystem>,
    dir: &'a Path,
    opts: TableOptions,
    target_bytes: u64,
    next_number: &'a (dyn Fn() -> u64 + Sync),
    current: Option<Output>,
    last_key: Vec<u8>,
    outputs: Vec<FileMeta>,
    /// Every file created (temporary or final); deleted on drop unless committed.
    created: Vec<PathBuf>,
    committed: bool,
}

impl<'a> TableWriter<'a> {
    /// A writer into `dir` cutting outputs at `target_bytes`, numbering them with
    /// `next_number`.
    pub(crate) fn new(
        fs: &'a Arc<dyn FileSystem>,
        dir: &'a Path,
        opts: TableOptions,
        target_bytes: u64,
        next_number: &'a (dyn Fn() -> u64 + Sync),
    ) -> Self {
        TableWriter {
            fs,
            dir,
            opts,
            target_bytes,
            next_number,
            current: None,
            last_key: Vec::new(),
            outputs: Vec::new(),
            created: Vec::new(),
            committed: false,
        }
    }

    /// Appends an entry; entries must come in [`crate::kv::core::key::compare`] order.
    pub(crate) fn add(
        &mut self,
        key: &[u8],
        seq: u64,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        let cut = self.current.as_ref().is_some_and(|o| {
            o.builder.estimated_size() >= self.target_bytes && key != self.last_key.as_slice()
        });
        if cut {
            self.close_current()?;
        }
        if self.current.is_none() {
            let number = (self.next_number)();
            let tmp = self.dir.join(TABLE.tmp_name(number));
            self.created.push(tmp.clone());
            let builder = TableBuilder::new(self.fs.as_ref(), &tmp, self.opts)?;
            self.current = Some(Output {
                number,
                tmp,
                builder,
            });
        }
        if let Some(o) = self.current.as_mut() {
            o.builder.add(key, seq, kind, value)?;
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        Ok(())
    }

    /// Finishes the open output: fsync, rename into place.
    fn close_current(&mut self) -> Result<()> {
        let Some(o) = self.current.take() else {
            return Ok(());
        };
        let info = o.builder.finish()?;
        let path = self.dir.join(TABLE.name(o.number));
        self.fs.rename(&o.tmp, &path)?;
        if let Some(slot) = self.created.iter_mut().find(|p| **p == o.tmp) {
            *slot = path;
        }
        self.outputs.push(FileMeta {
            number: o.number,
            size: info.file_size,
            smallest: info.smallest,
            largest: info.largest,
            min_seq: info.min_seq,
            max_seq: info.max_seq,
            entries: info.entries,
            tombstones: info.tombstones,
        });
        Ok(())
    }

    /// Closes the last output and makes the renames durable. Returns the metadata of
    /// every output, in key order.
    pub(crate) fn finish(&mut self) -> Result<Vec<FileMeta>> {
        self.close_current()?;
        if !self.outputs.is_empty() {
            self.fs.sync_dir(self.dir)?;
        }
        Ok(self.outputs.clone())
    }

    /// The outputs now belong to the version: keep them.
    pub(crate) fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for TableWriter<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // Close the builder before unlinking its file.
        self.current = None;
        for path in &self.created {
            let _ = self.fs.remove_file(path);
        }
    }
}
