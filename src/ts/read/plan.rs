//! The read plan of one query: the live segments that may hold points or tombstones in
//! the query's range, grouped, once per query, into runs that are disjoint in time.
//!
//! A segment's point or tombstone can change what an older segment contributes only at
//! a timestamp both of them cover. So the segments are cut into *groups*: the connected
//! components of "their extents (points and tombstones, from the validated file) overlap
//! within the range", sorted by time. Groups are disjoint in time, so a series' points
//! are the concatenation of what each group gives, in group order; only the segments of
//! one group are ever merged. After compaction (one segment per time partition) every
//! group is a single segment, read with no merge at all, however many segments a series
//! spans.

use std::sync::Arc;

use crate::ts::version::{SegmentFile, Version};

/// Segments that overlap one another in time (within the range), newest first; every
/// point and tombstone they hold in the range lies in `[lo, hi]`.
#[derive(Debug)]
pub(crate) struct Group {
    /// First timestamp of the group's span (clipped to the range).
    pub lo: i64,
    /// Last timestamp of the group's span (clipped to the range).
    pub hi: i64,
    /// The members, newest first (the [`Version`] order).
    pub segments: Vec<Arc<SegmentFile>>,
}

/// The groups of the segments of a [`Version`] that touch `[start, end]`.
#[derive(Debug)]
pub(crate) struct ReadPlan {
    start: i64,
    end: i64,
    groups: Vec<Group>,
}

impl ReadPlan {
    /// Groups the segments of `version` whose points or tombstones touch `[start, end]`
    /// (inclusive). A group none of whose members has points in the range is left out:
    /// its tombstones could only hide points of its own members. `O(s log s)` for `s`
    /// segments.
    pub fn new(version: &Version, start: i64, end: i64) -> ReadPlan {
        let mut spans: Vec<(i64, i64, usize)> = Vec::new();
        if start <= end {
            for (i, s) in version.segments.iter().enumerate() {
                if let Some((lo, hi)) = s.seg.extent().filter(|e| e.0 <= end && start <= e.1) {
                    spans.push((lo.max(start), hi.min(end), i));
                }
            }
        }
        spans.sort_unstable();
        let mut groups = Vec::new();
        let mut members: Vec<usize> = Vec::new();
        let (mut lo, mut hi) = (0, 0);
        for (s_lo, s_hi, i) in spans {
            if !members.is_empty() && s_lo > hi {
                groups.extend(group(version, lo, hi, &mut members, start, end));
            }
            if members.is_empty() {
                (lo, hi) = (s_lo, s_hi);
            }
            hi = hi.max(s_hi);
            members.push(i);
        }
        groups.extend(group(version, lo, hi, &mut members, start, end));
        ReadPlan { start, end, groups }
    }

    /// First timestamp of the range.
    pub fn start(&self) -> i64 {
        self.start
    }

    /// Last timestamp of the range.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// The groups, in time order: every timestamp of a group is below every timestamp
    /// of the next.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }
}

/// The group of the segments at indexes `members` of `version` (then cleared), unless
/// none of them has points in `[start, end]`.
fn group(
    version: &Version,
    lo: i64,
    hi: i64,
    members: &mut Vec<usize>,
    start: i64,
    end: i64,
) -> Option<Group> {
    members.sort_unstable();
    let segments: Vec<Arc<SegmentFile>> = members
        .drain(..)
        .filter_map(|i| version.segments.get(i).cloned())
        .collect();
    let has_points = segments.iter().any(|s| {
        let info = s.seg.info();
        info.points > 0 && info.min_ts <= end && start <= info.max_ts
    });
    has_points.then_some(Group { lo, hi, segments })
}
