//! Running a compaction: merge the picked segments one partition at a time into new
//! segment files, then install them with one manifest edit.

use std::collections::BTreeSet;
use std::sync::Arc;

use rayon::prelude::*;
use roaring::RoaringBitmap;

use crate::engine::lock::lock;
use crate::error::Result;
use crate::ts::compaction::pick::{output_width, partition_bounds};
use crate::ts::core::columns::Columns;
use crate::ts::core::inner::Inner;
use crate::ts::core::view::ReadView;
use crate::ts::head::{Head, SeriesColumns};
use crate::ts::read::merge::{HeadSnapshot, SeriesReader};
use crate::ts::stats::Counters;
use crate::ts::version::{Edit, SegmentFile, SegmentMeta, Version, partition_of};

/// Series per rayon task.
const SERIES_PER_TASK: usize = 256;

/// Merges `inputs` into one segment per occupied partition and installs the result.
pub(crate) fn run(inner: &Inner, inputs: Vec<Arc<SegmentFile>>) -> Result<()> {
    let metas: Vec<SegmentMeta> = inputs.iter().map(|s| s.meta).collect();
    let width = output_width(&metas, inner.opts.partition_width);
    let generation = inputs.iter().map(|s| s.meta.generation).max().unwrap_or(0);
    let view = Arc::new(ReadView {
        head: Arc::new(Head::new()),
        frozen: Vec::new(),
        version: Arc::new(Version::new(inputs.clone())),
    });
    let no_head = Arc::new(HeadSnapshot::default());
    let mut all = RoaringBitmap::new();
    for s in &inputs {
        all |= s.seg.series_ids();
    }
    let ids: Vec<u32> = all.iter().collect();
    let lo = inner.durable_retention_cutoff().unwrap_or(i64::MIN);

    // Pass 1: the partitions that hold points.
    let parts: BTreeSet<i64> = ids
        .par_chunks(SERIES_PER_TASK)
        .map(|chunk| -> Result<BTreeSet<i64>> {
            let mut reader =
                SeriesReader::new(Arc::clone(&view), Arc::clone(&no_head), lo, i64::MAX);
            let mut points = Columns::new();
            let mut parts = BTreeSet::new();
            for &id in chunk {
                reader.read(id, &mut points)?;
                let mut last = None;
                for &t in points.ts() {
                    let p = partition_of(t, width);
                    if last != Some(p) {
                        parts.insert(p);
                        last = Some(p);
                    }
                }
            }
            Ok(parts)
        })
        .try_reduce(BTreeSet::new, |mut a, b| {
            a.extend(b);
            Ok(a)
        })?;

    // Pass 2: one output per partition.
    let mut outputs = Vec::with_capacity(parts.len());
    for p in parts {
        let (start, end) = partition_bounds(p, width);
        let start = start.max(lo);
        let cols: Vec<SeriesColumns> = ids
            .par_chunks(SERIES_PER_TASK)
            .map(|chunk| -> Result<Vec<SeriesColumns>> {
                let mut reader =
                    SeriesReader::new(Arc::clone(&view), Arc::clone(&no_head), start, end);
                let mut out = Vec::new();
                let mut points = Columns::new();
                for &id in chunk {
                    reader.read(id, &mut points)?;
                    if !points.is_empty() {
                        out.push(SeriesColumns {
                            id,
                            timestamps: points.ts().to_vec(),
                            values: points.vals().to_vec(),
                        });
                    }
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if cols.is_empty() {
            continue;
        }
        let keys = crate::ts::flush::series_keys(inner, &cols)?;
        let n = inner.new_file_number();
        let meta = crate::ts::flush::write_segment_file(inner, n, generation, &cols, &keys, &[])?;
        Counters::add(&inner.counters.compaction_bytes, meta.file_size);
        outputs.push(Arc::new(SegmentFile::open(&inner.fs, &inner.dir, meta)?));
    }
    install(inner, outputs, &inputs)?;
    Counters::add(&inner.counters.compactions, 1);
    Ok(())
}

/// One manifest edit replacing `removed` by `added`, then the new version, then the
/// removed files are marked for deletion once no reader holds them.
pub(crate) fn install(
    inner: &Inner,
    added: Vec<Arc<SegmentFile>>,
    removed: &[Arc<SegmentFile>],
) -> Result<()> {
    let removed_numbers: Vec<u64> = removed.iter().map(|s| s.meta.file_number).collect();
    let mut files = lock(&inner.files);
    let edit = Edit {
        added: added.iter().map(|s| s.meta).collect(),
        removed: removed_numbers.clone(),
        ..Edit::default()
    };
    inner.log_edit(&mut files, edit)?;
    inner.update_view(|v| ReadView {
        head: Arc::clone(&v.head),
        frozen: v.frozen.clone(),
        version: Arc::new(v.version.apply(added, &removed_numbers)),
    });
    drop(files);
    for s in removed {
        s.mark_obsolete();
    }
    Ok(())
}
