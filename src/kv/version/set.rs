//! The persistent state of the store and the one way to change it: write a
//! [`VersionEdit`] to the MANIFEST, then apply it in memory.
//!
//! [`VersionSet`] owns the MANIFEST, the current [`Version`], the column-family registry
//! as persisted, and the counters recovery needs. It lives under the store's state
//! mutex, so edits are written and applied in one order. [`Recovered`] is the same
//! state rebuilt from the MANIFEST at open, before the tables are opened.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::io::manifest::Manifest;
use crate::kv::core::cf::CfRegistry;
use crate::kv::version::Version;
use crate::kv::version::edit::{FileMeta, NUM_LEVELS, VersionEdit};
use crate::kv::version::table_file::TableFile;
use crate::{Error, Result};

/// The state the MANIFEST's edits describe, rebuilt at open.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Column families.
    pub cfs: CfRegistry,
    /// Live files per level, by number.
    pub files: [BTreeMap<u64, FileMeta>; NUM_LEVELS],
    /// Oldest WAL segment still needed.
    pub log_number: u64,
    /// Every file number in use is below this.
    pub next_file_number: u64,
    /// Every entry up to this sequence number is in a table.
    pub last_seq: u64,
    /// Round-robin compaction cursors.
    pub compact_pointers: [Vec<u8>; NUM_LEVELS],
}

impl Recovered {
    /// Applies one edit read from the MANIFEST. A contradiction (a file deleted twice, a
    /// column-family id reused) is corruption of `manifest_dir`'s MANIFEST.
    pub(crate) fn apply(&mut self, edit: VersionEdit, manifest_dir: &Path) -> Result<()> {
        let bad = |what: &str| Error::corruption(manifest_dir.join("MANIFEST"), 0, what);
        if let Some(n) = edit.log_number {
            self.log_number = self.log_number.max(n);
        }
        if let Some(n) = edit.next_file_number {
            self.next_file_number = self.next_file_number.max(n);
        }
        if let Some(n) = edit.last_seq {
            self.last_seq = self.last_seq.max(n);
        }
        for (id, name) in &edit.new_cfs {
            self.cfs
                .insert(*id, name)
                .map_err(|_| bad("column family name or id registered twice"))?;
        }
        for &(level, number) in &edit.deleted_files {
            let files = self.files.get_mut(level).ok_or_else(|| bad("bad level"))?;
            if files.remove(&number).is_none() {
                return Err(bad("edit deletes a file that is not live"));
            }
        }
        for (level, meta) in edit.new_files {
            if self.files.iter().any(|l| l.contains_key(&meta.number)) {
                return Err(bad("edit adds a file that is already live"));
            }
            let files = self.files.get_mut(level).ok_or_else(|| bad("bad level"))?;
            files.insert(meta.number, meta);
        }
        for (level, key) in edit.compact_pointers {
            if let Some(p) = self.compact_pointers.get_mut(level) {
                *p = key;
            }
        }
        Ok(())
    }
}

/// The MANIFEST plus the state it describes.
pub(crate) struct VersionSet {
    manifest: Manifest,
    /// The MANIFEST is rewritten as one snapshot edit once it grows past this size.
    rewrite_bytes: u64,
    manifest_path: PathBuf,
    current: Arc<Version>,
    cfs: CfRegistry,
    log_number: u64,
    last_seq: u64,
    compact_pointers: [Vec<u8>; NUM_LEVELS],
}

impl VersionSet {
    /// Wraps an opened MANIFEST and the state recovered from it, with its tables opened.
    pub(crate) fn new(
        manifest: Manifest,
        rewrite_bytes: u64,
        dir: &Path,
        recovered: &Recovered,
        version: Version,
    ) -> Self {
        VersionSet {
            manifest,
            rewrite_bytes,
            manifest_path: dir.join("MANIFEST"),
            current: Arc::new(version),
            cfs: recovered.cfs.clone(),
            log_number: recovered.log_number,
            last_seq: recovered.last_seq,
            compact_pointers: recovered.compact_pointers.clone(),
        }
    }

    /// The current version.
    pub(crate) fn current(&self) -> &Arc<Version> {
        &self.current
    }

    /// Oldest WAL segment still needed.
    pub(crate) fn log_number(&self) -> u64 {
        self.log_number
    }

    /// Every entry up to this sequence number is in a table.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Where the next round-robin compaction of `level` starts.
    pub(crate) fn compact_pointer(&self, level: usize) -> &[u8] {
        self.compact_pointers.get(level).map_or(&[], Vec::as_slice)
    }

    /// Makes `edit` durable in the MANIFEST, then applies it: the version gets
    /// `added` (whose metadata must be in `edit.new_files`) and loses
    /// `edit.deleted_files`, which are marked obsolete unless re-added (a trivial move).
    /// `next_file_number` is recorded in the edit. On error nothing changed in memory;
    /// the caller must treat a MANIFEST failure as fatal for writes.
    pub(crate) fn log_and_apply(
        &mut self,
        mut edit: VersionEdit,
        added: &[(usize, Arc<TableFile>)],
        next_file_number: u64,
    ) -> Result<()> {
        edit.next_file_number = Some(next_file_number);
        let version = self
            .current
            .apply(&edit.deleted_files, added)
            .map_err(|what| Error::corruption(&self.manifest_path, 0, what))?;
        for (id, name) in &edit.new_cfs {
            // Checked before the edit is written, so memory never disagrees with disk.
            let mut probe = self.cfs.clone();
            probe
                .insert(*id, name)
                .map_err(|_| Error::internal(format!("column family id {id} registered twice")))?;
        }
        self.manifest.append(&edit.encode())?;

        for (id, name) in &edit.new_cfs {
            // invariant: the same insert succeeded on a clone just above.
            let _ = self.cfs.insert(*id, name);
        }
        if let Some(n) = edit.log_number {
            self.log_number = self.log_number.max(n);
        }
        if let Some(n) = edit.last_seq {
            self.last_seq = self.last_seq.max(n);
        }
        for (level, key) in edit.compact_pointers {
            if let Some(p) = self.compact_pointers.get_mut(level) {
                *p = key;
            }
        }
        for (_, number) in &edit.deleted_files {
            if !added.iter().any(|(_, f)| f.number() == *number)
                && let Some((_, f)) = self
                    .current
                    .all_files()
                    .find(|(_, f)| f.number() == *number)
            {
                f.mark_obsolete();
            }
        }
        self.current = Arc::new(version);

        // The edit is committed: a rewrite cannot fail it (see `rewrite_if_due`).
        let (current, cfs, pointers) = (&self.current, &self.cfs, &self.compact_pointers);
        let (log_number, last_seq) = (self.log_number, self.last_seq);
        self.manifest.rewrite_if_due(self.rewrite_bytes, || {
            snapshot_edit(
                current,
                cfs,
                log_number,
                last_seq,
                pointers,
                next_file_number,
            )
            .encode()
        });
        Ok(())
    }
}

/// The whole state as one edit (the first record of a rewritten MANIFEST).
fn snapshot_edit(
    current: &Version,
    cfs: &CfRegistry,
    log_number: u64,
    last_seq: u64,
    compact_pointers: &[Vec<u8>; NUM_LEVELS],
    next_file_number: u64,
) -> VersionEdit {
    VersionEdit {
        log_number: Some(log_number),
        next_file_number: Some(next_file_number),
        last_seq: Some(last_seq),
        new_cfs: cfs.iter().map(|(id, n)| (id, n.to_owned())).collect(),
        deleted_files: Vec::new(),
        new_files: current
            .all_files()
            .map(|(l, f)| (l, f.meta().clone()))
            .collect(),
        compact_pointers: compact_pointers
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.is_empty())
            .map(|(l, k)| (l, k.clone()))
            .collect(),
    }
}
