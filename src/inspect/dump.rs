//! What [`super::dump`] shows: the layout of one segment or SSTable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::dir::Dir;
use super::report::FileKind;
use crate::error::{Error, Result};
use crate::kv::sstable::{Table, TableLayout};
use crate::ts::SeriesKey;
use crate::ts::open::apply_manifest_record;
use crate::ts::segment::{Segment, SegmentLayout, Tombstone};
use crate::ts::series::catalog_log::CatalogLog;
use crate::ts::version::ManifestState;

/// The layout of one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileDump {
    /// A time-series segment.
    Segment {
        /// The file.
        file: PathBuf,
        /// Its sections and chunks.
        layout: SegmentLayout,
        /// The keys of its series (from the directory's catalog; empty when that
        /// cannot be read).
        series: BTreeMap<u32, SeriesKey>,
        /// Its tombstones.
        tombstones: Vec<Tombstone>,
    },
    /// A key-value SSTable.
    Table {
        /// The file.
        file: PathBuf,
        /// Its blocks.
        layout: TableLayout,
    },
}

/// The series keys of a time-series directory's catalog, if it can be read.
fn catalog_keys(dir: &Dir<'_>, ids: impl Iterator<Item = u32>) -> BTreeMap<u32, SeriesKey> {
    let mut state = ManifestState::default();
    let placeholder = dir.file("MANIFEST");
    let read = dir.read_manifest(|p| apply_manifest_record(&mut state, p, &placeholder));
    let catalog = read
        .ok()
        .and(state.catalog_file)
        .and_then(|n| CatalogLog::load(dir.fs, &dir.path, n).ok());
    let Some(catalog) = catalog else {
        return BTreeMap::new();
    };
    ids.filter_map(|id| Some((id, catalog.key(id)?.clone())))
        .collect()
}

/// The path of `file` in `dir`: a bare name is looked up in the directory.
pub(crate) fn resolve(dir: &Path, file: &Path) -> PathBuf {
    if file.components().count() == 1 {
        dir.join(file)
    } else {
        file.to_path_buf()
    }
}

/// The layout of `file` (a segment or table) of `dir`.
pub(crate) fn dump(dir: &Dir<'_>, file: &Path) -> Result<FileDump> {
    let path = resolve(&dir.path, file);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let kind = FileKind::of(name);
    if matches!(kind, FileKind::Segment | FileKind::Table) && !dir.fs.exists(&path) {
        return Err(Error::invalid(format!("{}: no such file", path.display())));
    }
    match kind {
        FileKind::Segment => {
            let seg = Segment::open(dir.fs, &path)?;
            let layout = seg.layout()?;
            let series = catalog_keys(dir, seg.series_ids().iter());
            let tombstones = seg.tombstones().iter().map(|t| t.tombstone()).collect();
            Ok(FileDump::Segment {
                file: path,
                layout,
                series,
                tombstones,
            })
        }
        FileKind::Table => {
            let table = Table::open(dir.fs, &path)?;
            let layout = table.layout()?;
            Ok(FileDump::Table { file: path, layout })
        }
        other => Err(Error::invalid(format!(
            "{}: dump shows segments (NNNNNN.seg) and SSTables (NNNNNN.sst), not a {} file",
            path.display(),
            other.name()
        ))),
    }
}
