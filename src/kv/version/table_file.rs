//! A live table file: its MANIFEST metadata, the opened (memory-mapped) table, and the
//! rule that deletes it.
//!
//! A [`TableFile`] is shared (`Arc`) by every version that lists it and by every
//! iterator or compaction reading it. When an edit removes the file from the current
//! version it is marked obsolete; the file is deleted by `Drop`, i.e. only once the last
//! version, snapshot read or iterator that could still read it lets go.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::io::file_number::TABLE;
use crate::io::fs::FileSystem;
use crate::kv::sstable::Table;
use crate::kv::version::edit::FileMeta;
use crate::{Error, Result};

/// One table file of the current (or an older, still referenced) version.
pub(crate) struct TableFile {
    meta: FileMeta,
    table: Arc<Table>,
    path: PathBuf,
    fs: Arc<dyn FileSystem>,
    obsolete: AtomicBool,
}

impl std::fmt::Debug for TableFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableFile")
            .field("number", &self.meta.number)
            .field("size", &self.meta.size)
            .finish_non_exhaustive()
    }
}

impl TableFile {
    /// Opens the table `meta` describes in `dir`, checking that the file on disk is the
    /// one the MANIFEST names (same size). A missing or damaged file is
    /// [`Error::Corruption`] naming it.
    pub(crate) fn open(fs: Arc<dyn FileSystem>, dir: &Path, meta: FileMeta) -> Result<Arc<Self>> {
        let path = dir.join(TABLE.name(meta.number));
        if !fs.exists(&path) {
            return Err(Error::corruption(
                &path,
                0,
                "table file listed in the MANIFEST is missing",
            ));
        }
        let table = Table::open(fs.as_ref(), &path)?;
        let size = table.info().file_size;
        if size != meta.size {
            return Err(Error::corruption(
                &path,
                0,
                format!("table is {size} bytes, the MANIFEST says {}", meta.size),
            ));
        }
        Ok(Arc::new(TableFile {
            meta,
            table,
            path,
            fs,
            obsolete: AtomicBool::new(false),
        }))
    }

    /// The MANIFEST metadata.
    pub(crate) fn meta(&self) -> &FileMeta {
        &self.meta
    }

    /// The file number.
    pub(crate) fn number(&self) -> u64 {
        self.meta.number
    }

    /// The opened table.
    pub(crate) fn table(&self) -> &Arc<Table> {
        &self.table
    }

    /// Marks the file as no longer part of the current version: it is deleted when the
    /// last reference goes away.
    pub(crate) fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    /// Whether the file's key range `[smallest, largest]` meets `(lo, hi)`.
    pub(crate) fn overlaps(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
        overlaps(&self.meta.smallest, &self.meta.largest, lo, hi)
    }
}

/// Whether the inclusive key range `[smallest, largest]` meets `(lo, hi)`.
pub(crate) fn overlaps(
    smallest: &[u8],
    largest: &[u8],
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
) -> bool {
    let above_lo = match lo {
        Bound::Included(k) => largest >= k,
        Bound::Excluded(k) => largest > k,
        Bound::Unbounded => true,
    };
    let below_hi = match hi {
        Bound::Included(k) => smallest <= k,
        Bound::Excluded(k) => smallest < k,
        Bound::Unbounded => true,
    };
    above_lo && below_hi
}

impl Drop for TableFile {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire) {
            // Best effort: a file that cannot be removed now is an orphan, removed at
            // the next open.
            let _ = self.fs.remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_respects_bound_kinds() {
        let (s, l) = (&b"c"[..], &b"f"[..]);
        assert!(overlaps(s, l, Bound::Unbounded, Bound::Unbounded));
        assert!(overlaps(s, l, Bound::Included(b"f"), Bound::Unbounded));
        assert!(!overlaps(s, l, Bound::Excluded(b"f"), Bound::Unbounded));
        assert!(overlaps(s, l, Bound::Unbounded, Bound::Included(b"c")));
        assert!(!overlaps(s, l, Bound::Unbounded, Bound::Excluded(b"c")));
        assert!(overlaps(s, l, Bound::Included(b"d"), Bound::Excluded(b"e")));
        assert!(!overlaps(s, l, Bound::Included(b"g"), Bound::Unbounded));
    }
}
