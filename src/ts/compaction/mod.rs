//! Compaction: merges overlapping segments into one segment per time partition,
//! applying updates (newest wins) and deletes, and dropping expired data.
//!
//! The decisions are in `pick.rs` (pure, over the segments' metadata), the execution
//! (merge, write, install) in `run.rs`; this module holds the two drivers, the automatic
//! one ([`compact_auto`], from the background worker or inline after a write) and the
//! full one ([`compact_all`], from [`crate::ts::Db::compact`]).
//!
//! # Picking
//! Time is cut into partitions `[k * width, (k + 1) * width)` ([`Options::partition_width`]).
//! The automatic picker finds the partition overlapped by the most segments (a sweep
//! over the segments' extents); once that count reaches
//! [`Options::compaction_trigger`], the segments overlapping it are the seed.
//! [`crate::ts::Db::compact`] seeds with every segment.
//!
//! # Why the outputs may take the inputs' largest generation
//! The seed is closed under "older and overlapping": while some segment `T` outside
//! the set has a generation below the set's largest and an extent (points and
//! tombstones) overlapping a member's, `T` joins. Outputs get the set's largest
//! generation `G`. For any segment `T` left outside: if its generation is above `G` it
//! was newer than every input and is newer than every output; if below, its extent
//! touches no input's, so no output point or tombstone shares a timestamp range with
//! it and their relative order cannot matter. Inside the set the merge applies the
//! true order. So every read gives the same answer before and after.
//!
//! # Why every tombstone can be dropped
//! A tombstone hides points of older segments only. Every older segment that a
//! member's tombstone could touch overlaps that member's extent, so it is in the set
//! and the merge already removed the points. Frozen heads and the head are newer than
//! every segment.
//!
//! A compaction whose inputs span more than 256 partitions widens its partitions to a
//! multiple of the configured width (`output_width`), bounding the files it writes.
//!
//! # Memory
//! Two passes over the inputs: the first finds which partitions hold points (one
//! series at a time), the second builds and writes one partition's output at a time,
//! so memory is bounded by the largest partition, not by the inputs. Both passes run
//! across series on the rayon pool.
//!
//! [`Options::partition_width`]: crate::ts::Options::partition_width
//! [`Options::compaction_trigger`]: crate::ts::Options::compaction_trigger

mod pick;
mod run;

use std::sync::Arc;

use crate::engine::lock::lock;
use crate::error::Result;
use crate::ts::core::inner::Inner;
use crate::ts::stats::Counters;
use crate::ts::version::{SegmentFile, SegmentMeta};

/// Drops expired segments, then runs one compaction if a partition has reached the
/// trigger. Returns whether anything changed.
pub(crate) fn compact_auto(inner: &Inner) -> Result<bool> {
    let _serial = lock(&inner.compaction_lock);
    inner.poison.check()?;
    let expired = inner.poison.on_err(drop_expired(inner))?;
    let segs = inner.current_view().version.segments.clone();
    let Some(picked) = pick::pick(
        &metas(&segs),
        inner.opts.partition_width,
        inner.opts.compaction_trigger,
    ) else {
        return Ok(expired);
    };
    inner
        .poison
        .on_err(run::run(inner, select(&segs, &picked)))?;
    Ok(true)
}

/// Compacts every segment together (if there is anything to gain).
pub(crate) fn compact_all(inner: &Inner) -> Result<()> {
    let _serial = lock(&inner.compaction_lock);
    inner.poison.check()?;
    inner.poison.on_err(drop_expired(inner))?;
    let segs = inner.current_view().version.segments.clone();
    let tombstones: Vec<u64> = segs.iter().map(|s| s.seg.info().tombstones).collect();
    let cutoff = inner.durable_retention_cutoff().unwrap_or(i64::MIN);
    if pick::already_compacted(
        &metas(&segs),
        &tombstones,
        cutoff,
        inner.opts.partition_width,
    ) {
        return Ok(());
    }
    inner.poison.on_err(run::run(inner, segs))
}

/// Removes whole segments whose points and tombstones all lie before the retention
/// cutoff.
fn drop_expired(inner: &Inner) -> Result<bool> {
    let Some(cutoff) = inner.durable_retention_cutoff() else {
        return Ok(false);
    };
    let segs = inner.current_view().version.segments.clone();
    let expired = select(&segs, &pick::expired(&metas(&segs), cutoff));
    if expired.is_empty() {
        return Ok(false);
    }
    run::install(inner, Vec::new(), &expired)?;
    Counters::add(&inner.counters.segments_expired, expired.len() as u64);
    Ok(true)
}

/// The metadata of `segs`, which is all the picker looks at.
fn metas(segs: &[Arc<SegmentFile>]) -> Vec<SegmentMeta> {
    segs.iter().map(|s| s.meta).collect()
}

/// The segments at `picked` (indices into `segs`).
fn select(segs: &[Arc<SegmentFile>], picked: &[usize]) -> Vec<Arc<SegmentFile>> {
    picked
        .iter()
        .filter_map(|&i| segs.get(i).cloned())
        .collect()
}
