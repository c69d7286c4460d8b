//! Helpers for the store's unit tests: real tables on a simulated file system.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::io::file_number::TABLE;
use crate::io::fs::FileSystem;
use crate::io::sim_fs::SimFs;
use crate::kv::core::key::ValueKind;
use crate::kv::sstable::{TableBuilder, TableOptions};
use crate::kv::version::edit::FileMeta;
use crate::kv::version::table_file::TableFile;

/// A simulated file system and a directory in it.
pub(crate) fn sim_dir() -> (Arc<dyn FileSystem>, PathBuf) {
    let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
    let dir = PathBuf::from("/t");
    fs.create_dir_all(&dir).unwrap();
    (fs, dir)
}

/// Writes table `number` holding `entries` (sorted by key, then seq descending) and
/// opens it.
pub(crate) fn table(
    fs: &Arc<dyn FileSystem>,
    dir: &Path,
    number: u64,
    entries: &[(&str, u64, ValueKind, &str)],
) -> Arc<TableFile> {
    let path = dir.join(TABLE.name(number));
    let mut b = TableBuilder::new(fs.as_ref(), &path, TableOptions::default()).unwrap();
    for (k, seq, kind, v) in entries {
        b.add(k.as_bytes(), *seq, *kind, v.as_bytes()).unwrap();
    }
    let info = b.finish().unwrap();
    let meta = FileMeta {
        number,
        size: info.file_size,
        smallest: info.smallest,
        largest: info.largest,
        min_seq: info.min_seq,
        max_seq: info.max_seq,
        entries: info.entries,
        tombstones: info.tombstones,
    };
    TableFile::open(Arc::clone(fs), dir, meta).unwrap()
}

/// A table of puts `key -> "v{seq}"` for `keys`, all at sequence number `seq`.
pub(crate) fn puts(
    fs: &Arc<dyn FileSystem>,
    dir: &Path,
    number: u64,
    seq: u64,
    keys: &[&str],
) -> Arc<TableFile> {
    let value = format!("v{seq}");
    let entries: Vec<_> = keys
        .iter()
        .map(|k| (*k, seq, ValueKind::Put, value.as_str()))
        .collect();
    table(fs, dir, number, &entries)
}
