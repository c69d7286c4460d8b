//! The catalog file: the durable copy of the series catalog.
//!
//! A catalog file `CATALOG-<n>` is a log in the shared record framing
//! (`crate::io::record`). Its first record is a snapshot of the whole catalog; every
//! later record defines the series created since the previous record:
//!
//! ```text
//! file     := record(b"TIDE-CAT" snapshot)  record(entry+)*
//! snapshot := Catalog::encode_snapshot       (docs/format.md (part 6))
//! entry    := Catalog::encode_entry          (docs/format.md (part 6))
//! ```
//! The manifest names the live catalog file; a new one (written whole, fsynced, its
//! directory fsynced) replaces it through a manifest edit, and the old one is removed
//! afterwards. Appends only ever go to a file this process made: an open keeps the file
//! it loaded as the live one without writing to it ([`CatalogLog::inherit`]; a torn
//! tail may end it), and the first persist after the open rewrites it as a snapshot
//! file of this process (`rewrite_due` says so).
//!
//! Durability argument: a segment is added to the manifest only after every series it
//! references was appended here and fsynced, so a torn tail (a crash mid-append) only
//! loses definitions that no segment uses yet; those are still in the WAL segments the
//! manifest keeps, and WAL replay defines them again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::varint::Reader;
use crate::error::{Error, Result};
use crate::io::file_number::CATALOG;
use crate::io::fs::FileSystem;
use crate::io::record::{Compression, LogEnd, LogReader, LogWriter};
use crate::ts::series::catalog::{BulkDefine, Catalog};

const MAGIC: &[u8; 8] = b"TIDE-CAT";

/// An open catalog file that new definitions are appended to.
#[derive(Debug)]
pub(crate) struct CatalogLog {
    path: PathBuf,
    /// `None` for a file an earlier process wrote (never appended to).
    writer: Option<LogWriter>,
    /// Every id below this is durable in this file.
    persisted_next: u32,
    /// Bytes of the snapshot the file starts with.
    snapshot_size: u64,
}

impl CatalogLog {
    /// Reads catalog file `n` in `dir`. A torn tail is ignored (see the module docs);
    /// any other damage, and a missing file (the manifest names it), is
    /// [`Error::Corruption`] naming the file.
    pub fn load(fs: &dyn FileSystem, dir: &Path, n: u64) -> Result<Catalog> {
        let path = dir.join(CATALOG.name(n));
        if !fs.exists(&path) {
            return Err(Error::corruption(
                &path,
                0,
                "catalog file named by the MANIFEST is missing",
            ));
        }
        let bytes = fs.read(&path)?;
        let mut reader = LogReader::new(&bytes);
        let first = reader
            .next_record()
            .ok_or_else(|| Error::corruption(&path, 0, "catalog file has no snapshot record"))?;
        let snap = first
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| Error::corruption(&path, 0, "bad catalog file magic"))?;
        let mut catalog = Catalog::decode_snapshot(snap)
            .map_err(|e| Error::corruption(&path, 0, format!("catalog snapshot: {e}")))?;
        // The appended entries in bulk: their ids ascend past the snapshot's.
        let mut bulk = BulkDefine::new(&mut catalog);
        loop {
            let offset = reader.position();
            let Some(rec) = reader.next_record() else {
                break;
            };
            bulk.replay_entries(&mut Reader::new(&rec))
                .map_err(|e| Error::corruption(&path, offset, format!("catalog entry: {e}")))?;
        }
        bulk.finish()
            .map_err(|e| Error::corruption(&path, 0, format!("catalog entries: {e}")))?;
        match reader.end() {
            Some(LogEnd::Corrupt { offset, what }) => Err(Error::corruption(&path, offset, what)),
            _ => Ok(catalog),
        }
    }

    /// Writes catalog file `n` in `dir` holding a snapshot of `catalog`, and makes it
    /// and its directory entry durable. The caller then names it in the manifest.
    pub fn create(
        fs: &Arc<dyn FileSystem>,
        dir: &Path,
        n: u64,
        catalog: &Catalog,
    ) -> Result<CatalogLog> {
        let path = dir.join(CATALOG.name(n));
        let mut payload = Vec::with_capacity(catalog.len() * 48 + 16);
        payload.extend_from_slice(MAGIC);
        catalog.encode_snapshot(&mut payload);
        let mut writer = LogWriter::new(fs.create(&path)?);
        writer.add_record(&payload, Compression::Snappy)?;
        writer.sync()?;
        fs.sync_dir(dir)?;
        Ok(CatalogLog {
            path,
            snapshot_size: writer.len(),
            writer: Some(writer),
            persisted_next: catalog.next_id(),
        })
    }

    /// Catalog file `n` in `dir`, loaded by [`CatalogLog::load`], kept as the live file
    /// without writing to it: the next persist must rewrite it ([`CatalogLog::rewrite_due`]
    /// is true), so its tail is never appended to.
    pub fn inherit(dir: &Path, n: u64) -> CatalogLog {
        CatalogLog {
            path: dir.join(CATALOG.name(n)),
            writer: None,
            persisted_next: 0,
            snapshot_size: 0,
        }
    }

    /// Appends (and fsyncs) the definitions of every series `catalog` has gained since
    /// the last call. A no-op when there are none.
    pub fn persist(&mut self, catalog: &Catalog) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(Error::internal(format!(
                "{} was written by an earlier process and is only rewritten, never \
                 appended to",
                self.path.display()
            )));
        };
        let next = catalog.next_id();
        if next <= self.persisted_next {
            return Ok(());
        }
        let mut payload = Vec::new();
        for id in self.persisted_next..next {
            catalog.encode_stored_entry(id, &mut payload);
        }
        if !payload.is_empty() {
            writer.add_record(&payload, Compression::Snappy)?;
            writer.sync()?;
        }
        self.persisted_next = next;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes this process wrote to the file (0 for an inherited one).
    pub fn size(&self) -> u64 {
        self.writer.as_ref().map_or(0, LogWriter::len)
    }

    /// Whether the file should be rewritten as a new snapshot, for a rewrite
    /// threshold of `threshold` bytes: past it, and at least half appended entries
    /// (`crate::io::manifest::rewrite_due`), so a catalog whose snapshot alone passes
    /// the threshold is not rewritten at every flush.
    /// An inherited file ([`CatalogLog::inherit`]) is always due.
    pub fn rewrite_due(&self, threshold: u64) -> bool {
        self.writer.is_none()
            || crate::io::manifest::rewrite_due(self.size(), self.snapshot_size, threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::sim_fs::SimFs;

    fn fs() -> Arc<dyn FileSystem> {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        Arc::new(fs)
    }

    #[test]
    fn snapshot_then_appends_reload() {
        let fs = fs();
        let dir = Path::new("/db");
        let mut cat = Catalog::new();
        cat.get_or_insert("cpu", &[("host", "a")]).unwrap();
        let mut log = CatalogLog::create(&fs, dir, 3, &cat).unwrap();
        cat.get_or_insert("cpu", &[("host", "b")]).unwrap();
        cat.get_or_insert("mem", &[]).unwrap();
        log.persist(&cat).unwrap();
        log.persist(&cat).unwrap();
        cat.get_or_insert("disk", &[]).unwrap();
        log.persist(&cat).unwrap();
        let back = CatalogLog::load(fs.as_ref(), dir, 3).unwrap();
        assert_eq!(back.len(), 4);
        for (id, key) in cat.iter() {
            assert_eq!(back.key(id), Some(key));
        }
    }

    #[test]
    fn torn_tail_is_ignored_and_damage_is_corruption() {
        let fs = fs();
        let dir = Path::new("/db");
        let mut cat = Catalog::new();
        cat.get_or_insert("cpu", &[]).unwrap();
        let mut log = CatalogLog::create(&fs, dir, 1, &cat).unwrap();
        cat.get_or_insert("mem", &[]).unwrap();
        log.persist(&cat).unwrap();
        let path = dir.join(CATALOG.name(1));
        let bytes = fs.read(&path).unwrap();
        let snapshot_end = {
            let mut r = LogReader::new(&bytes);
            r.next_record().unwrap();
            r.position() as usize
        };
        // Every truncation inside the second record: a torn tail.
        for cut in snapshot_end..bytes.len() {
            let mut f = fs.create(&path).unwrap();
            f.write_all(&bytes[..cut]).unwrap();
            f.sync().unwrap();
            drop(f);
            let back = CatalogLog::load(fs.as_ref(), dir, 1).unwrap();
            assert_eq!(back.len(), 1);
        }
        // A damaged snapshot record followed by more data: corruption naming the file.
        let mut damaged = bytes.clone();
        damaged[12] ^= 0xff;
        let mut f = fs.create(&path).unwrap();
        f.write_all(&damaged).unwrap();
        f.sync().unwrap();
        drop(f);
        match CatalogLog::load(fs.as_ref(), dir, 1) {
            Err(Error::Corruption { file, .. }) => assert_eq!(file, path),
            other => panic!("expected corruption, got {other:?}"),
        }
    }
}
