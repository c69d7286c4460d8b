//! A concatenating iterator over the sorted, disjoint files of one level >= 1.
//!
//! Only the file under the cursor has a table iterator; the next one is created when the
//! cursor runs off the end of the current file, and `seek` binary-searches the file
//! whose key range can hold the target. A range scan therefore touches one file per
//! level at a time, however many the level holds.

use std::sync::Arc;

use crate::Result;
use crate::kv::core::iter::KvIterator;
use crate::kv::core::key::ValueKind;
use crate::kv::sstable::TableIter;
use crate::kv::version::table_file::TableFile;

/// Iterates the files of one level as if they were one table.
pub(crate) struct LevelIter {
    files: Vec<Arc<TableFile>>,
    /// Index in `files` of the file `current` reads.
    index: usize,
    current: Option<TableIter>,
}

impl LevelIter {
    /// An iterator over `files`, which must be sorted by key and disjoint. It is not
    /// positioned until a seek.
    pub(crate) fn new(files: Vec<Arc<TableFile>>) -> Self {
        LevelIter {
            files,
            index: 0,
            current: None,
        }
    }

    /// Starts reading file `index` (or stops past the last file).
    fn open(&mut self, index: usize) {
        self.index = index;
        self.current = self.files.get(index).map(|f| f.table().iter());
    }

    /// While the current file is exhausted, moves to the start of the next one.
    fn skip_exhausted_files(&mut self) -> Result<()> {
        while self.current.as_ref().is_some_and(|c| !c.valid()) {
            self.open(self.index + 1);
            if let Some(c) = self.current.as_mut() {
                c.seek_to_first()?;
            }
        }
        Ok(())
    }
}

impl KvIterator for LevelIter {
    fn valid(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.valid())
    }

    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| c.key())
    }

    fn seq(&self) -> u64 {
        self.current.as_ref().map_or(0, |c| c.seq())
    }

    fn kind(&self) -> ValueKind {
        self.current
            .as_ref()
            .map_or(ValueKind::Delete, |c| c.kind())
    }

    fn value(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| c.value())
    }

    fn next(&mut self) -> Result<()> {
        if let Some(c) = self.current.as_mut() {
            c.next()?;
        }
        self.skip_exhausted_files()
    }

    fn seek(&mut self, key: &[u8]) -> Result<()> {
        let i = self
            .files
            .partition_point(|f| f.meta().largest.as_slice() < key);
        self.open(i);
        if let Some(c) = self.current.as_mut() {
            c.seek(key)?;
        }
        self.skip_exhausted_files()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.open(0);
        if let Some(c) = self.current.as_mut() {
            c.seek_to_first()?;
        }
        self.skip_exhausted_files()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::test_util::{puts, sim_dir};

    fn drain(it: &mut LevelIter) -> Vec<String> {
        let mut out = Vec::new();
        while it.valid() {
            out.push(String::from_utf8(it.key().to_vec()).unwrap());
            it.next().unwrap();
        }
        out
    }

    #[test]
    fn walks_and_seeks_across_files() {
        let (fs, dir) = sim_dir();
        let files = vec![
            puts(&fs, &dir, 1, 1, &["a", "b"]),
            puts(&fs, &dir, 2, 1, &["d", "e"]),
            puts(&fs, &dir, 3, 1, &["g"]),
        ];
        let mut it = LevelIter::new(files);
        assert!(!it.valid());
        it.seek_to_first().unwrap();
        assert_eq!(drain(&mut it), ["a", "b", "d", "e", "g"]);
        it.seek(b"c").unwrap();
        assert_eq!(drain(&mut it), ["d", "e", "g"]);
        it.seek(b"b").unwrap();
        assert_eq!(it.key(), b"b");
        assert_eq!(it.seq(), 1);
        assert_eq!(it.value(), b"v1");
        it.seek(b"f").unwrap();
        assert_eq!(drain(&mut it), ["g"]);
        it.seek(b"h").unwrap();
        assert!(!it.valid());
        assert_eq!(it.key(), b"");

        let mut empty = LevelIter::new(Vec::new());
        empty.seek_to_first().unwrap();
        assert!(!empty.valid());
    }
}
