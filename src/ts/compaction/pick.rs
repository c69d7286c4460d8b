//! Which compaction to run next: pure decisions over the live segments' metadata (no
//! file is opened or read), so they are unit-tested on hand-made [`SegmentMeta`]s.
//!
//! - [`pick`]: the busiest partition, once it reaches the trigger, closed under "older
//!   and overlapping" ([`close_over_older`]);
//! - [`expired`]: segments wholly before the retention cutoff;
//! - [`already_compacted`]: whether a full compaction would change nothing;
//! - [`output_width`] and [`partition_bounds`]: the partitions one compaction writes.
//!
//! The reasons the picked set is safe to merge are in the module docs of
//! [`crate::ts::compaction`].

use crate::ts::version::{SegmentMeta, partition_of};

/// The most partitions (so output files) one compaction writes; see [`output_width`].
pub(crate) const MAX_OUTPUTS: i64 = 256;

/// The segments (indices into `segs`) to compact next, if some partition is overlapped
/// by at least `trigger` segments: those, closed under "older and overlapping".
pub(crate) fn pick(segs: &[SegmentMeta], width: i64, trigger: usize) -> Option<Vec<usize>> {
    // Sweep over partition spans; i128 so `last + 1` cannot overflow.
    let mut events: Vec<(i128, i32)> = Vec::with_capacity(segs.len() * 2);
    for s in segs {
        events.push((i128::from(partition_of(s.ext_min, width)), 1));
        events.push((i128::from(partition_of(s.ext_max, width)) + 1, -1));
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
    let seed: Vec<usize> = (0..segs.len())
        .filter(|&i| {
            segs.get(i).is_some_and(|s| {
                let lo = i128::from(partition_of(s.ext_min, width));
                let hi = i128::from(partition_of(s.ext_max, width));
                lo <= best_at && best_at <= hi
            })
        })
        .collect();
    Some(close_over_older(seed, segs))
}

/// Adds to `set` (indices into `all`) every segment of `all` that is older than the
/// set's newest member and overlaps a member's extent, until nothing changes.
pub(crate) fn close_over_older(mut set: Vec<usize>, all: &[SegmentMeta]) -> Vec<usize> {
    let members = |set: &[usize]| -> Vec<SegmentMeta> {
        set.iter().filter_map(|&i| all.get(i).copied()).collect()
    };
    loop {
        let inside = members(&set);
        let newest = inside.iter().map(|m| m.generation).max().unwrap_or(0);
        let joining: Vec<usize> = (0..all.len())
            .filter(|i| !set.contains(i))
            .filter(|&i| {
                all.get(i).is_some_and(|t| {
                    t.generation < newest
                        && inside
                            .iter()
                            .any(|m| t.extent_overlaps(m.ext_min, m.ext_max))
                })
            })
            .collect();
        if joining.is_empty() {
            return set;
        }
        set.extend(joining);
    }
}

/// The segments (indices into `segs`) whose points and tombstones all lie before the
/// retention `cutoff`: they can be dropped whole.
pub(crate) fn expired(segs: &[SegmentMeta], cutoff: i64) -> Vec<usize> {
    (0..segs.len())
        .filter(|&i| segs.get(i).is_some_and(|s| s.ext_max < cutoff))
        .collect()
}

/// Whether a full compaction would change nothing: there is no segment, or exactly
/// one, without tombstones (`tombstones[i]` counts segment `i`'s), holding nothing
/// before the retention `cutoff` and lying in one partition.
pub(crate) fn already_compacted(
    segs: &[SegmentMeta],
    tombstones: &[u64],
    cutoff: i64,
    width: i64,
) -> bool {
    match (segs, tombstones) {
        ([], _) => true,
        ([only], [0]) => {
            only.min_ts >= cutoff
                && partition_of(only.min_ts, width) == partition_of(only.max_ts, width)
        }
        _ => false,
    }
}

/// The partition width one compaction writes with: the configured width, widened to a
/// multiple of it when the inputs' points span more than [`MAX_OUTPUTS`] partitions,
/// so a width too fine for the timestamp unit (say, seconds' width with nanosecond
/// timestamps) cannot turn one compaction into millions of files.
pub(crate) fn output_width(inputs: &[SegmentMeta], width: i64) -> i64 {
    let with_points = inputs.iter().filter(|s| s.points > 0);
    let lo = with_points.clone().map(|s| s.min_ts).min();
    let hi = with_points.map(|s| s.max_ts).max();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return width;
    };
    let span = i128::from(hi) - i128::from(lo) + 1;
    let per_output = i128::from(MAX_OUTPUTS) * i128::from(width);
    let factor = ((span + per_output - 1) / per_output).max(1);
    i64::try_from(factor.saturating_mul(i128::from(width))).unwrap_or(i64::MAX)
}

/// `[p * width, (p + 1) * width - 1]`, clamped to the `i64` range.
pub(crate) fn partition_bounds(p: i64, width: i64) -> (i64, i64) {
    let lo = i128::from(p) * i128::from(width);
    let hi = lo + i128::from(width) - 1;
    let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    (clamp(lo), clamp(hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segment metadata by `(generation, extent start, extent end)`; points and
    /// tombstones span the whole extent.
    fn segments(specs: &[(u64, i64, i64)]) -> Vec<SegmentMeta> {
        specs
            .iter()
            .zip(1u64..)
            .map(|(&(generation, lo, hi), n)| SegmentMeta {
                file_number: n,
                generation,
                min_ts: lo,
                max_ts: hi,
                ext_min: lo,
                ext_max: hi,
                points: 1,
                series: 1,
                file_size: 0,
            })
            .collect()
    }

    /// A (gen 1, 0..=10), B (gen 2, 20..=30), C (gen 3, 5..=25), D (gen 4,
    /// 100..=110), E (gen 0, 40..=50).
    fn five() -> Vec<SegmentMeta> {
        segments(&[
            (1, 0, 10),
            (2, 20, 30),
            (3, 5, 25),
            (4, 100, 110),
            (0, 40, 50),
        ])
    }

    fn gens(all: &[SegmentMeta], set: &[usize]) -> Vec<u64> {
        let mut g: Vec<u64> = set.iter().map(|&i| all[i].generation).collect();
        g.sort_unstable();
        g
    }

    #[test]
    fn closure_adds_older_overlapping_segments_only() {
        let all = five();
        let by_gen = |g: u64| all.iter().position(|s| s.generation == g).unwrap();
        // C (3) pulls in A (1) and B (2): older and overlapping. D is newer; E
        // overlaps nothing in the set.
        assert_eq!(
            gens(&all, &close_over_older(vec![by_gen(3)], &all)),
            vec![1, 2, 3]
        );
        // B alone: A does not overlap it and C is newer.
        assert_eq!(
            gens(&all, &close_over_older(vec![by_gen(2)], &all)),
            vec![2]
        );
        // Transitive: E (0) overlaps F (5) only through G (2).
        let chain = segments(&[(5, 0, 10), (2, 10, 20), (0, 20, 30)]);
        assert_eq!(
            gens(&chain, &close_over_older(vec![0], &chain)),
            vec![0, 2, 5]
        );
    }

    #[test]
    fn pick_waits_for_the_trigger_and_takes_the_busiest_partition() {
        let all = five();
        assert!(pick(&all, 10, 3).is_none(), "no partition has 3 segments");
        let picked = pick(&all, 10, 2).unwrap();
        assert_eq!(gens(&all, &picked), vec![1, 2, 3]);
        assert!(pick(&all[3..], 10, 2).is_none());
        // Extreme extents do not overflow the sweep.
        let wide = segments(&[(1, i64::MIN, i64::MAX), (2, i64::MAX - 1, i64::MAX)]);
        assert_eq!(gens(&wide, &pick(&wide, 1, 2).unwrap()), vec![1, 2]);
    }

    #[test]
    fn expired_takes_segments_wholly_before_the_cutoff() {
        let all = segments(&[(1, 0, 9), (2, 5, 10), (3, 10, 20), (4, i64::MIN, -1)]);
        assert_eq!(expired(&all, 10), vec![0, 3]);
        assert_eq!(expired(&all, i64::MIN), Vec::<usize>::new());
        assert_eq!(expired(&all, i64::MAX), vec![0, 1, 2, 3]);
    }

    #[test]
    fn already_compacted_only_for_one_clean_segment_in_one_partition() {
        let none: Vec<SegmentMeta> = Vec::new();
        assert!(already_compacted(&none, &[], i64::MIN, 10));
        let one = segments(&[(1, 10, 19)]);
        assert!(already_compacted(&one, &[0], i64::MIN, 10));
        assert!(
            !already_compacted(&one, &[1], i64::MIN, 10),
            "a tombstone to drop"
        );
        assert!(
            !already_compacted(&one, &[0], 11, 10),
            "expired points to drop"
        );
        assert!(
            !already_compacted(&one, &[0], i64::MIN, 5),
            "spans two partitions"
        );
        let two = segments(&[(1, 10, 11), (2, 12, 13)]);
        assert!(!already_compacted(&two, &[0, 0], i64::MIN, 10));
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
