//! Compaction: merges overlapping segments into one segment per time partition,
//! applying updates (newest wins) and deletes, and dropping expired data.
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

use std::collections::BTreeSet;
use std::sync::Arc;

use rayon::prelude::*;
use roaring::RoaringBitmap;

use crate::engine::lock::lock;
use crate::error::Result;
use crate::ts::core::columns::Columns;
use crate::ts::core::inner::Inner;
use crate::ts::core::view::ReadView;
use crate::ts::head::{Head, SeriesColumns};
use crate::ts::read::merge::{HeadSnapshot, SeriesReader};
use crate::ts::stats::Counters;
use crate::ts::version::{Edit, SegmentFile, Version, partition_of};

/// Series per rayon task.
const SERIES_PER_TASK: usize = 256;

/// The most partitions (so output files) one compaction writes; see [`output_width`].
const MAX_OUTPUTS: i64 = 256;

/// Drops expired segments, then runs one compaction if a partition has reached the
/// trigger. Returns whether anything changed.
pub(crate) fn compact_auto(inner: &Inner) -> Result<bool> {
    let _serial = lock(&inner.compaction_lock);
    inner.poison.check()?;
    let expired = inner.poison.on_err(drop_expired(inner))?;
    let segs = inner.current_view().version.segments.clone();
    let Some(inputs) = pick(
        &segs,
        inner.opts.partition_width,
        inner.opts.compaction_trigger,
    ) else {
        return Ok(expired);
    };
    inner.poison.on_err(run(inner, inputs))?;
    Ok(true)
}

/// Compacts every segment together (if there is anything to gain).
pub(crate) fn compact_all(inner: &Inner) -> Result<()> {
    let _serial = lock(&inner.compaction_lock);
    inner.poison.check()?;
    inner.poison.on_err(drop_expired(inner))?;
    let segs = inner.current_view().version.segments.clone();
    let clean_single = match segs.as_slice() {
        [] => true,
        [only] => {
            let m = &only.meta;
            let cutoff = inner.durable_retention_cutoff().unwrap_or(i64::MIN);
            only.seg.info().tombstones == 0
                && m.min_ts >= cutoff
                && partition_of(m.min_ts, inner.opts.partition_width)
                    == partition_of(m.max_ts, inner.opts.partition_width)
        }
        _ => false,
    };
    if clean_single {
        return Ok(());
    }
    inner.poison.on_err(run(inner, segs))
}

/// Removes whole segments whose points and tombstones all lie before the retention
/// cutoff.
fn drop_expired(inner: &Inner) -> Result<bool> {
    let Some(cutoff) = inner.durable_retention_cutoff() else {
        return Ok(false);
    };
    let segs = inner.current_view().version.segments.clone();
    let expired: Vec<Arc<SegmentFile>> = segs
        .into_iter()
        .filter(|s| s.meta.ext_max < cutoff)
        .collect();
    if expired.is_empty() {
        return Ok(false);
    }
    install(inner, Vec::new(), &expired)?;
    Counters::add(&inner.counters.segments_expired, expired.len() as u64);
    Ok(true)
}

/// The segments to compact next, if some partition is overlapped by at least
/// `trigger` segments: those, closed under "older and overlapping".
pub(crate) fn pick(
    segs: &[Arc<SegmentFile>],
    width: i64,
    trigger: usize,
) -> Option<Vec<Arc<SegmentFile>>> {
    // Sweep over partition spans; i128 so `last + 1` cannot overflow.
    let mut events: Vec<(i128, i32)> = Vec::with_capacity(segs.len() * 2);
    for s in segs {
        events.push((i128::from(partition_of(s.meta.ext_min, width)), 1));
        events.push((i128::from(partition_of(s.meta.ext_max, width)) + 1, -1));
    }
    events.sort_unstable();
    let (mut count, mut best, mut best_at) = (0i32, 0i32, 0i128);
    for (at, delta) in events {
        count += delta;
        if count > best {
            best = count;
            best_at = at;
        }
    }
    if usize::try_from(best).ok()? < trigger {
        return None;
    }
    let seed: Vec<Arc<SegmentFile>> = segs
        .iter()
        .filter(|s| {
            let lo = i128::from(partition_of(s.meta.ext_min, width));
            let hi = i128::from(partition_of(s.meta.ext_max, width));
            lo <= best_at && best_at <= hi
        })
        .cloned()
        .collect();
    Some(close_over_older(seed, segs))
}

/// Adds to `set` every segment of `all` that is older than the set's newest member
/// and overlaps a member's extent, until nothing changes.
pub(crate) fn close_over_older(
    mut set: Vec<Arc<SegmentFile>>,
    all: &[Arc<SegmentFile>],
) -> Vec<Arc<SegmentFile>> {
    loop {
        let newest = set.iter().map(|s| s.meta.generation).max().unwrap_or(0);
        let joining: Vec<Arc<SegmentFile>> = all
            .iter()
            .filter(|t| !set.iter().any(|m| Arc::ptr_eq(m, t)))
            .filter(|t| t.meta.generation < newest)
            .filter(|t| {
                set.iter()
                    .any(|m| t.meta.extent_overlaps(m.meta.ext_min, m.meta.ext_max))
            })
            .cloned()
            .collect();
        if joining.is_empty() {
            return set;
        }
        set.extend(joining);
    }
}

/// Merges `inputs` into one segment per occupied partition and installs the result.
fn run(inner: &Inner, inputs: Vec<Arc<SegmentFile>>) -> Result<()> {
    let width = output_width(&inputs, inner.opts.partition_width);
    let generation = inputs.iter().map(|s| s.meta.generation).max().unwrap_or(0);
    let view = Arc::new(ReadView {
        head: Arc::new(Head::new()),
        sealed: Vec::new(),
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

/// The partition width one compaction writes with: the configured width, widened to a
/// multiple of it when the inputs' points span more than [`MAX_OUTPUTS`] partitions,
/// so a width too fine for the timestamp unit (say, seconds' width with nanosecond
/// timestamps) cannot turn one compaction into millions of files.
fn output_width(inputs: &[Arc<SegmentFile>], width: i64) -> i64 {
    let with_points = inputs.iter().filter(|s| s.meta.points > 0);
    let lo = with_points.clone().map(|s| s.meta.min_ts).min();
    let hi = with_points.map(|s| s.meta.max_ts).max();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return width;
    };
    let span = i128::from(hi) - i128::from(lo) + 1;
    let per_output = i128::from(MAX_OUTPUTS) * i128::from(width);
    let factor = ((span + per_output - 1) / per_output).max(1);
    i64::try_from(factor.saturating_mul(i128::from(width))).unwrap_or(i64::MAX)
}

/// `[p * width, (p + 1) * width - 1]`, clamped to the `i64` range.
fn partition_bounds(p: i64, width: i64) -> (i64, i64) {
    let lo = i128::from(p) * i128::from(width);
    let hi = lo + i128::from(width) - 1;
    let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    (clamp(lo), clamp(hi))
}

/// One manifest edit replacing `removed` by `added`, then the new version, then the
/// removed files are marked for deletion once no reader holds them.
fn install(
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
        sealed: v.sealed.clone(),
        version: Arc::new(v.version.apply(added, &removed_numbers)),
    });
    drop(files);
    for s in removed {
        s.mark_obsolete();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::file_number::SEGMENT;
    use crate::io::fs::FileSystem;
    use crate::io::sim_fs::SimFs;
    use crate::ts::segment::{SegmentOptions, write_segment};
    use crate::ts::version::SegmentMeta;
    use std::path::Path;

    /// Live segments with hand-made metadata (generation, extent); the files behind
    /// them are tiny empty segments, which `pick` never reads.
    fn segments(specs: &[(u64, i64, i64)]) -> Vec<Arc<SegmentFile>> {
        let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
        let dir = Path::new("/c");
        fs.create_dir_all(dir).unwrap();
        specs
            .iter()
            .zip(1u64..)
            .map(|(&(generation, lo, hi), n)| {
                let path = dir.join(SEGMENT.name(n));
                write_segment(fs.as_ref(), &path, &[], &[], &SegmentOptions::default()).unwrap();
                let meta = SegmentMeta {
                    file_number: n,
                    generation,
                    min_ts: lo,
                    max_ts: hi,
                    ext_min: lo,
                    ext_max: hi,
                    points: 1,
                    series: 1,
                    file_size: 0,
                };
                Arc::new(SegmentFile::open(&fs, dir, meta).unwrap())
            })
            .collect()
    }

    fn gens(set: &[Arc<SegmentFile>]) -> Vec<u64> {
        let mut g: Vec<u64> = set.iter().map(|s| s.meta.generation).collect();
        g.sort_unstable();
        g
    }

    #[test]
    fn closure_adds_older_overlapping_segments_only() {
        // (generation, extent)
        let all = segments(&[
            (1, 0, 10),
            (2, 20, 30),
            (3, 5, 25),
            (4, 100, 110),
            (0, 40, 50),
        ]);
        let by_gen = |g: u64| {
            all.iter()
                .find(|s| s.meta.generation == g)
                .cloned()
                .unwrap()
        };
        // C (3) pulls in A (1) and B (2): older and overlapping. D is newer; E
        // overlaps nothing in the set.
        assert_eq!(
            gens(&close_over_older(vec![by_gen(3)], &all)),
            vec![1, 2, 3]
        );
        // B alone: A does not overlap it and C is newer.
        assert_eq!(gens(&close_over_older(vec![by_gen(2)], &all)), vec![2]);
        // Transitive: E (0) overlaps F (5) only through G (2).
        let chain = segments(&[(5, 0, 10), (2, 10, 20), (0, 20, 30)]);
        assert_eq!(
            gens(&close_over_older(vec![chain[0].clone()], &chain)),
            vec![0, 2, 5]
        );
    }

    #[test]
    fn pick_waits_for_the_trigger_and_takes_the_busiest_partition() {
        let all = segments(&[
            (1, 0, 10),
            (2, 20, 30),
            (3, 5, 25),
            (4, 100, 110),
            (0, 40, 50),
        ]);
        assert!(pick(&all, 10, 3).is_none(), "no partition has 3 segments");
        let picked = pick(&all, 10, 2).unwrap();
        assert_eq!(gens(&picked), vec![1, 2, 3]);
        assert!(pick(&all[3..], 10, 2).is_none());
        // Extreme extents do not overflow the sweep.
        let wide = segments(&[(1, i64::MIN, i64::MAX), (2, i64::MAX - 1, i64::MAX)]);
        assert_eq!(gens(&pick(&wide, 1, 2).unwrap()), vec![1, 2]);
    }

    #[test]
    fn output_width_bounds_the_number_of_outputs() {
        let narrow = segments(&[(1, 0, 999), (2, 500, 2_000)]);
        assert_eq!(output_width(&narrow, 10), 10);
        let wide = segments(&[(1, 0, 1_000_000), (2, -5, 7)]);
        let w = output_width(&wide, 10);
        assert_eq!(w % 10, 0);
        assert!((1_000_006 / w) < MAX_OUTPUTS, "{w}");
        let extreme = segments(&[(1, i64::MIN, i64::MAX)]);
        let w = output_width(&extreme, 1);
        assert!(w > 0 && i128::from(i64::MAX) * 2 / i128::from(w) <= i128::from(MAX_OUTPUTS) + 1);
    }

    #[test]
    fn partition_bounds_cover_the_partition() {
        assert_eq!(partition_bounds(0, 10), (0, 9));
        assert_eq!(partition_bounds(-1, 10), (-10, -1));
        let p = partition_of(i64::MIN, 7);
        let (lo, hi) = partition_bounds(p, 7);
        assert_eq!(lo, i64::MIN);
        assert_eq!(partition_of(hi, 7), p);
        let p = partition_of(i64::MAX, 7);
        assert_eq!(partition_bounds(p, 7).1, i64::MAX);
    }
}
