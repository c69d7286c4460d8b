//! Inspection of a key-value (`kv::Store`) directory: its MANIFEST, tables and WAL,
//! read through the store's own readers.

use std::collections::BTreeSet;

use super::dir::Dir;
use super::report::{Checked, FileKind, Problem};
use super::stats::{KvStats, LevelSummary, TableSummary};
use crate::error::{Error, Result};
use crate::io::dir::check_manifest_complete;
use crate::io::file_number::TABLE;
use crate::kv::batch;
use crate::kv::core::cf::CfRegistry;
use crate::kv::open::decode_edit;
use crate::kv::sstable::Table;
use crate::kv::version::edit::FileMeta;
use crate::kv::version::set::Recovered;

/// The MANIFEST's state and the name of the file it came from.
fn read_state(dir: &Dir<'_>) -> Result<(Recovered, String)> {
    let mut rec = Recovered::default();
    let name = dir.read_manifest(|bytes| rec.apply(decode_edit(bytes, &dir.path)?, &dir.path))?;
    Ok((rec, name))
}

/// Operations of one WAL batch payload, checking their column families.
fn wal_record(payload: &[u8], cfs: Option<&CfRegistry>) -> std::result::Result<u64, String> {
    let decoded = batch::decode(payload).map_err(|e| format!("undecodable batch: {}", e.0))?;
    if let Some(cfs) = cfs
        && let Some(op) = decoded.ops.iter().find(|op| !cfs.contains_id(op.cf))
    {
        return Err(format!("batch names unknown column family id {}", op.cf));
    }
    Ok(decoded.ops.len() as u64)
}

/// Checks one live table against what the MANIFEST says of it, then every block.
fn verify_table(dir: &Dir<'_>, name: &str, meta: Option<&FileMeta>, problems: &mut Vec<Problem>) {
    let path = dir.file(name);
    let table = match Table::open(dir.fs, &path) {
        Ok(t) => t,
        Err(e) => return problems.push(Problem::from_error(e, path)),
    };
    let info = table.info();
    if let Some(m) = meta {
        let agrees = info.file_size == m.size
            && info.entries == m.entries
            && info.tombstones == m.tombstones
            && (info.min_seq, info.max_seq) == (m.min_seq, m.max_seq)
            && info.smallest == m.smallest
            && info.largest == m.largest;
        if !agrees {
            problems.push(Problem::from_error(
                Error::corruption(
                    &path,
                    0,
                    format!(
                        "the MANIFEST lists {} bytes and {} entries; the file holds {} bytes \
                         and {} entries (or their keys or sequence numbers differ)",
                        m.size, m.entries, info.file_size, info.entries
                    ),
                ),
                path.clone(),
            ));
        }
    }
    if let Err(e) = table.layout() {
        problems.push(Problem::from_error(e, path));
    }
}

/// Reads and checks every file of the key-value directory `dir`.
pub(crate) fn verify(dir: &Dir<'_>) -> Checked {
    let mut problems: Vec<Problem> = dir.identity_problem.iter().cloned().collect();
    let mut read: BTreeSet<String> = BTreeSet::new();
    read.insert("CURRENT".to_owned());
    let manifest = match read_state(dir) {
        Ok((rec, name)) => {
            let path = dir.file(&name);
            read.insert(name);
            if let Err(e) = check_manifest_complete(rec.log_number, &dir.names, TABLE, &path) {
                problems.push(Problem::from_error(e, path.clone()));
            }
            Some(rec)
        }
        Err(e) => {
            problems.push(Problem::from_error(e, dir.file("CURRENT")));
            None
        }
    };
    let listed = manifest.as_ref().map(|rec| {
        rec.files
            .iter()
            .flat_map(|level| level.values())
            .map(|m| (TABLE.name(m.number), m))
            .collect()
    });
    let mut checked = Checked { read, problems };
    dir.check_files(
        FileKind::Table,
        listed,
        &mut checked,
        |name, meta, problems| verify_table(dir, name, meta.copied(), problems),
    );
    let Checked {
        mut read,
        mut problems,
    } = checked;
    let min_wal = manifest.as_ref().map_or(0, |r| r.log_number);
    let cfs = manifest.as_ref().map(|r| &r.cfs);
    let (wal_read, _) = dir.read_wal(min_wal, &mut problems, |_, payload| {
        wal_record(payload, cfs)
    });
    read.extend(wal_read);
    Checked { read, problems }
}

/// The statistics of the key-value directory `dir`, from its MANIFEST (which records
/// each table's counts) and WAL.
pub(crate) fn stats(dir: &Dir<'_>) -> Result<KvStats> {
    let (rec, _) = read_state(dir)?;
    let mut tables = Vec::new();
    let mut levels = Vec::new();
    for (level, files) in rec.files.iter().enumerate() {
        if files.is_empty() {
            continue;
        }
        let mut summary = LevelSummary {
            level,
            tables: 0,
            entries: 0,
            bytes: 0,
        };
        for m in files.values() {
            summary.tables += 1;
            summary.entries += m.entries;
            summary.bytes += m.size;
            tables.push(TableSummary {
                file: TABLE.name(m.number),
                level,
                entries: m.entries,
                tombstones: m.tombstones,
                seqs: (m.min_seq, m.max_seq),
                bytes: m.size,
            });
        }
        levels.push(summary);
    }
    let mut ignored = Vec::new();
    let (_, wal) = dir.read_wal(rec.log_number, &mut ignored, |_, payload| {
        wal_record(payload, None)
    });
    Ok(KvStats {
        column_families: rec.cfs.iter().map(|(id, n)| (id, n.to_owned())).collect(),
        levels,
        entries: tables.iter().map(|t| t.entries).sum(),
        tombstones: tables.iter().map(|t| t.tombstones).sum(),
        tables,
        last_flushed_seq: rec.last_seq,
        files: dir.kind_bytes(),
        wal,
    })
}
