//! Running one compaction: a trivial move, or a parallel merge split by key range.
//!
//! The merge work is cut into sub-compactions at input-file boundaries (user keys, so
//! every version of a key falls in one of them), balanced by input bytes; rayon runs them
//! in parallel. Each one merges the inputs overlapping its range (one cursor per L0
//! file, one concatenating cursor per level otherwise), drops what no reader can see
//! (the version garbage collector: versions shadowed below the oldest snapshot; tombstones when
//! no deeper level overlaps its range) and writes outputs cut at `target_file_bytes`.
//! When all succeed, one MANIFEST edit swaps inputs for outputs; inputs are deleted once
//! no reader holds them. On error or shutdown the outputs are deleted and the version is
//! untouched.

use std::ops::Bound;
use std::sync::Arc;

use rayon::prelude::*;

use crate::Result;
use crate::engine::lock::lock;
use crate::kv::compaction::Compaction;
use crate::kv::compaction::gc::VersionGc;
use crate::kv::core::inner::Inner;
use crate::kv::core::iter::KvIterator;
use crate::kv::read::level_iter::LevelIter;
use crate::kv::read::merge::MergingIterator;
use crate::kv::stats;
use crate::kv::version::Version;
use crate::kv::version::edit::{FileMeta, VersionEdit};
use crate::kv::version::table_file::TableFile;
use crate::kv::version::table_writer::TableWriter;

/// A finished sub-compaction: its writer (which deletes the files unless committed)
/// and the outputs' metadata, in key order.
type Output<'a> = (TableWriter<'a>, Vec<FileMeta>);

/// A sub-compaction's key range: `[start, end)`, `None` meaning unbounded.
#[derive(Debug, Clone)]
struct SubRange {
    start: Option<Vec<u8>>,
    end: Option<Vec<u8>>,
}

impl SubRange {
    fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (
            self.start
                .as_deref()
                .map_or(Bound::Unbounded, Bound::Included),
            self.end
                .as_deref()
                .map_or(Bound::Unbounded, Bound::Excluded),
        )
    }
}

impl Inner {
    /// Runs `c` and installs its result.
    pub(crate) fn run_compaction(&self, c: Compaction) -> Result<()> {
        if c.is_trivial_move() {
            return self.trivial_move(c);
        }
        let version = Arc::clone(lock(&self.state).versions.current());
        let oldest_snapshot = self.snapshots.oldest(&self.visible_seq);
        let ranges = split(&c, self.max_subcompactions(&c));
        let next_number = || self.new_file_number();

        let results: Vec<Result<Option<Output<'_>>>> = ranges
            .par_iter()
            .map(|r| self.sub_compaction(&c, &version, r, oldest_snapshot, &next_number))
            .collect();
        let mut writers = Vec::with_capacity(results.len());
        let mut outputs = Vec::new();
        for r in results {
            match r? {
                Some((w, metas)) => {
                    writers.push(w);
                    outputs.extend(metas);
                }
                None => return Ok(()), // shutting down; outputs are deleted on drop
            }
        }
        let mut added = Vec::with_capacity(outputs.len());
        for meta in &outputs {
            let file = TableFile::open(self.fs.clone(), &self.dir, meta.clone())?;
            added.push((c.output_level, file));
        }
        let edit = VersionEdit {
            deleted_files: c
                .inputs
                .iter()
                .map(|f| (c.level, f.number()))
                .chain(c.next_inputs.iter().map(|f| (c.output_level, f.number())))
                .collect(),
            new_files: outputs
                .iter()
                .map(|m| (c.output_level, m.clone()))
                .collect(),
            compact_pointers: compact_pointer(&c),
            ..Default::default()
        };
        let mut st = lock(&self.state);
        let logged = st
            .versions
            .log_and_apply(edit, &added, self.file_number_watermark());
        // Once the edit may have reached the MANIFEST the outputs must stay; if it did
        // not, they are orphans removed at the next open.
        for w in writers {
            w.commit();
        }
        logged?;
        self.install_view(&st);
        stats::add(&self.counters.compactions, 1);
        stats::add(&self.counters.compaction_bytes_read, c.input_bytes());
        stats::add(
            &self.counters.compaction_bytes_written,
            outputs.iter().map(|m| m.size).sum(),
        );
        self.wake_waiters();
        Ok(())
    }

    fn trivial_move(&self, c: Compaction) -> Result<()> {
        let mut st = lock(&self.state);
        let added: Vec<_> = c
            .inputs
            .iter()
            .map(|f| (c.output_level, Arc::clone(f)))
            .collect();
        let edit = VersionEdit {
            deleted_files: c.inputs.iter().map(|f| (c.level, f.number())).collect(),
            new_files: c
                .inputs
                .iter()
                .map(|f| (c.output_level, f.meta().clone()))
                .collect(),
            compact_pointers: compact_pointer(&c),
            ..Default::default()
        };
        st.versions
            .log_and_apply(edit, &added, self.file_number_watermark())?;
        self.install_view(&st);
        stats::add(&self.counters.compactions, 1);
        stats::add(&self.counters.trivial_moves, 1);
        self.wake_waiters();
        Ok(())
    }

    /// How many pieces to cut `c` into: about one per output file, at most
    /// `max_subcompactions`.
    fn max_subcompactions(&self, c: &Compaction) -> usize {
        let by_size = c.input_bytes() / self.opts.target_file_bytes.max(1);
        usize::try_from(by_size)
            .unwrap_or(usize::MAX)
            .clamp(1, self.opts.max_subcompactions.max(1))
    }

    /// Merges the inputs of `c` within `range` into new tables. `None` when the store
    /// started shutting down.
    fn sub_compaction<'a>(
        &'a self,
        c: &Compaction,
        version: &Version,
        range: &SubRange,
        oldest_snapshot: u64,
        next_number: &'a (dyn Fn() -> u64 + Sync),
    ) -> Result<Option<Output<'a>>> {
        let (lo, hi) = range.bounds();
        let mut children: Vec<Box<dyn KvIterator>> = Vec::new();
        if c.level == 0 {
            for f in c.inputs.iter().filter(|f| f.overlaps(lo, hi)) {
                children.push(Box::new(f.table().iter()));
            }
        } else {
            let files: Vec<_> = c
                .inputs
                .iter()
                .filter(|f| f.overlaps(lo, hi))
                .cloned()
                .collect();
            children.push(Box::new(LevelIter::new(files)));
        }
        let next: Vec<_> = c
            .next_inputs
            .iter()
            .filter(|f| f.overlaps(lo, hi))
            .cloned()
            .collect();
        if !next.is_empty() {
            children.push(Box::new(LevelIter::new(next)));
        }
        let bottommost = !version.overlaps_below(c.output_level, lo, hi);
        let merged = MergingIterator::new(children);
        let mut it = VersionGc::new(merged, oldest_snapshot, bottommost);
        match &range.start {
            Some(k) => it.seek(k)?,
            None => it.seek_to_first()?,
        }
        let mut writer = TableWriter::new(
            &self.fs,
            &self.dir,
            self.opts.table,
            self.opts.target_file_bytes,
            next_number,
        );
        while it.valid() {
            if range.end.as_deref().is_some_and(|end| it.key() >= end) {
                break;
            }
            if self.is_shutting_down() {
                return Ok(None);
            }
            writer.add(it.key(), it.seq(), it.kind(), it.value())?;
            it.next()?;
        }
        let metas = writer.finish()?;
        Ok(Some((writer, metas)))
    }
}

/// The compaction pointer to record: the largest key compacted out of `c.level`.
fn compact_pointer(c: &Compaction) -> Vec<(usize, Vec<u8>)> {
    if c.level == 0 || c.level == c.output_level {
        return Vec::new();
    }
    c.inputs
        .iter()
        .map(|f| &f.meta().largest)
        .max()
        .map(|k| vec![(c.level, k.clone())])
        .unwrap_or_default()
}

/// Cuts the key space of `c` into at most `parts` ranges of similar input size, at
/// input files' smallest keys.
fn split(c: &Compaction, parts: usize) -> Vec<SubRange> {
    let whole = vec![SubRange {
        start: None,
        end: None,
    }];
    if parts <= 1 {
        return whole;
    }
    let mut files: Vec<&Arc<TableFile>> = c.all_inputs().collect();
    files.sort_by(|a, b| a.meta().smallest.cmp(&b.meta().smallest));
    let total: u64 = files.iter().map(|f| f.meta().size).sum();
    let share = (total / parts as u64).max(1);
    let Some(first) = files.first().map(|f| f.meta().smallest.clone()) else {
        return whole;
    };
    let mut points: Vec<Vec<u8>> = Vec::new();
    let mut seen = 0u64;
    for f in &files {
        let key = &f.meta().smallest;
        let wanted = share.saturating_mul(points.len() as u64 + 1);
        if seen >= wanted
            && *key > first
            && points.last().is_none_or(|p| key > p)
            && points.len() + 1 < parts
        {
            points.push(key.clone());
        }
        seen += f.meta().size;
    }
    let mut ranges = Vec::with_capacity(points.len() + 1);
    let mut start = None;
    for p in points {
        ranges.push(SubRange {
            start,
            end: Some(p.clone()),
        });
        start = Some(p);
    }
    ranges.push(SubRange { start, end: None });
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::test_util::{puts, sim_dir};

    #[test]
    fn split_cuts_at_file_boundaries_by_size() {
        let (fs, dir) = sim_dir();
        let keys: Vec<String> = (0..400).map(|i| format!("k{i:04}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let files: Vec<_> = (0..4)
            .map(|i| {
                puts(
                    &fs,
                    &dir,
                    i + 1,
                    1,
                    &refs[i as usize * 100..(i as usize + 1) * 100],
                )
            })
            .collect();
        let added: Vec<_> = files.iter().map(|f| (1, Arc::clone(f))).collect();
        let v = Version::default().apply(&[], &added).unwrap();
        let c = Compaction::new(&v, 1, 2, files.clone(), false);

        let one = split(&c, 1);
        assert_eq!(one.len(), 1);
        assert!(one[0].start.is_none() && one[0].end.is_none());

        let two = split(&c, 2);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].end.as_deref(), Some(b"k0200".as_slice()));
        assert_eq!(two[1].start.as_deref(), Some(b"k0200".as_slice()));
        assert!(two[0].start.is_none() && two[1].end.is_none());

        let many = split(&c, 16);
        assert_eq!(many.len(), 4, "no more pieces than file boundaries");
        for w in many.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
    }
}
