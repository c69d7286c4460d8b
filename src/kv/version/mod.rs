//! A version: the set of live table files, level by level, at one moment.
//!
//! Versions are immutable and shared (`Arc`); an edit produces a new version. Level 0
//! holds flush outputs, which may overlap; they are kept newest first (their sequence
//! ranges are disjoint, so the first hit of a lookup is the newest). Levels 1 and deeper
//! hold files with disjoint key ranges, sorted by key, and a user key lives in at most
//! one file per level; for any user key, data in level `n` is newer than data in level
//! `n + 1`.
//!
//! [`edit`] is the change from one version to the next and its encoding; [`set`] the
//! current version and the manifest that records the edits; [`table_file`] and
//! [`table_writer`] the live and the new table files a version names.

pub(crate) mod edit;
pub(crate) mod set;
pub(crate) mod table_file;
pub(crate) mod table_writer;

use std::ops::Bound;
use std::sync::Arc;

use crate::Result;
use crate::kv::core::key::ValueKind;
use crate::kv::stats::{self, Counters, LevelStats};
use crate::kv::version::edit::NUM_LEVELS;
use crate::kv::version::table_file::TableFile;

/// The newest version of a key found by a lookup: `(seq, kind, value)`.
pub(crate) type Found = (u64, ValueKind, Vec<u8>);

/// The live files of every level.
#[derive(Debug, Clone, Default)]
pub(crate) struct Version {
    levels: [Vec<Arc<TableFile>>; NUM_LEVELS],
}

impl Version {
    /// The files of `level`: newest first for L0, by key for deeper levels.
    pub(crate) fn files(&self, level: usize) -> &[Arc<TableFile>] {
        self.levels.get(level).map_or(&[], Vec::as_slice)
    }

    /// Total bytes of the files of `level`.
    pub(crate) fn level_bytes(&self, level: usize) -> u64 {
        self.files(level).iter().map(|f| f.meta().size).sum()
    }

    /// Files and bytes of every level.
    pub(crate) fn level_stats(&self) -> Vec<LevelStats> {
        (0..NUM_LEVELS)
            .map(|l| LevelStats {
                files: self.files(l).len(),
                bytes: self.level_bytes(l),
            })
            .collect()
    }

    /// Every live file, all levels.
    pub(crate) fn all_files(&self) -> impl Iterator<Item = (usize, &Arc<TableFile>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(l, files)| files.iter().map(move |f| (l, f)))
    }

    /// The deepest level holding a file, if any.
    pub(crate) fn deepest_nonempty_level(&self) -> Option<usize> {
        (0..NUM_LEVELS).rev().find(|&l| !self.files(l).is_empty())
    }

    /// The files of `level` whose key range meets `(lo, hi)`, in the level's order.
    pub(crate) fn overlapping(
        &self,
        level: usize,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
    ) -> Vec<Arc<TableFile>> {
        let files = self.files(level);
        if level == 0 {
            return files
                .iter()
                .filter(|f| f.overlaps(lo, hi))
                .cloned()
                .collect();
        }
        // Sorted and disjoint: skip the files entirely below `lo`, stop past `hi`.
        let first = match lo {
            Bound::Included(k) => files.partition_point(|f| f.meta().largest.as_slice() < k),
            Bound::Excluded(k) => files.partition_point(|f| f.meta().largest.as_slice() <= k),
            Bound::Unbounded => 0,
        };
        files
            .get(first..)
            .unwrap_or(&[])
            .iter()
            .take_while(|f| f.overlaps(lo, hi))
            .cloned()
            .collect()
    }

    /// Whether any level deeper than `level` holds a file meeting `(lo, hi)`.
    pub(crate) fn overlaps_below(&self, level: usize, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
        (level + 1..NUM_LEVELS).any(|l| !self.overlapping(l, lo, hi).is_empty())
    }

    /// The newest version of internal user key `key` with sequence number <= `seq` in
    /// the tables, Bloom filters first.
    pub(crate) fn get(&self, key: &[u8], seq: u64, counters: &Counters) -> Result<Option<Found>> {
        let probe = |f: &Arc<TableFile>| -> Result<Option<Found>> {
            if !f.table().may_contain(key) {
                stats::add(&counters.bloom_negatives, 1);
                return Ok(None);
            }
            f.table().get(key, seq)
        };
        for f in self.files(0).iter().filter(|f| in_range(f, key)) {
            if let Some(found) = probe(f)? {
                return Ok(Some(found));
            }
        }
        for level in 1..NUM_LEVELS {
            let files = self.files(level);
            let i = files.partition_point(|f| f.meta().largest.as_slice() < key);
            if let Some(f) = files.get(i).filter(|f| in_range(f, key))
                && let Some(found) = probe(f)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The version after removing `deleted` (`(level, number)`) and adding `added`.
    /// Fails if a deleted file is not there, an added file is already there, or a level
    /// >= 1 would hold overlapping files: the edit contradicts the current state.
    pub(crate) fn apply(
        &self,
        deleted: &[(usize, u64)],
        added: &[(usize, Arc<TableFile>)],
    ) -> std::result::Result<Version, &'static str> {
        let mut levels = self.levels.clone();
        for &(level, number) in deleted {
            let files = levels.get_mut(level).ok_or("level out of range")?;
            let i = files
                .iter()
                .position(|f| f.number() == number)
                .ok_or("edit deletes a file that is not in the version")?;
            files.remove(i);
        }
        for (level, file) in added {
            if levels.iter().flatten().any(|f| f.number() == file.number()) {
                return Err("edit adds a file that is already in the version");
            }
            levels
                .get_mut(*level)
                .ok_or("level out of range")?
                .push(Arc::clone(file));
        }
        for (level, files) in levels.iter_mut().enumerate() {
            if level == 0 {
                files.sort_by(|a, b| {
                    (b.meta().max_seq, b.number()).cmp(&(a.meta().max_seq, a.number()))
                });
            } else {
                files.sort_by(|a, b| a.meta().smallest.cmp(&b.meta().smallest));
                if files
                    .windows(2)
                    .any(|w| matches!(w, [a, b] if a.meta().largest >= b.meta().smallest))
                {
                    return Err("files of a level >= 1 overlap");
                }
            }
        }
        Ok(Version { levels })
    }
}

fn in_range(f: &TableFile, key: &[u8]) -> bool {
    f.meta().smallest.as_slice() <= key && key <= f.meta().largest.as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::test_util::{puts, sim_dir, table};

    fn incl<'a>(a: &'a str, b: &'a str) -> (Bound<&'a [u8]>, Bound<&'a [u8]>) {
        (Bound::Included(a.as_bytes()), Bound::Included(b.as_bytes()))
    }

    #[test]
    fn apply_orders_levels_and_rejects_contradictions() {
        let (fs, dir) = sim_dir();
        let old = puts(&fs, &dir, 1, 5, &["a", "m"]);
        let new = puts(&fs, &dir, 2, 9, &["c", "z"]);
        let l1a = puts(&fs, &dir, 3, 1, &["a", "f"]);
        let l1b = puts(&fs, &dir, 4, 1, &["g", "k"]);
        let v = Version::default()
            .apply(
                &[],
                &[(0, old.clone()), (0, new.clone()), (1, l1b), (1, l1a)],
            )
            .unwrap();
        let l0: Vec<u64> = v.files(0).iter().map(|f| f.number()).collect();
        assert_eq!(l0, [2, 1], "L0 newest first");
        let l1: Vec<u64> = v.files(1).iter().map(|f| f.number()).collect();
        assert_eq!(l1, [3, 4], "L1 by key");
        assert_eq!(v.deepest_nonempty_level(), Some(1));

        assert!(v.apply(&[(0, 99)], &[]).is_err(), "deleting a missing file");
        assert!(
            v.apply(&[], &[(2, old.clone())]).is_err(),
            "adding a live file"
        );
        let overlapping = puts(&fs, &dir, 5, 1, &["e", "h"]);
        assert!(v.apply(&[], &[(1, overlapping)]).is_err(), "overlap in L1");
        // A trivial move: delete from L0, add the same file to L2.
        let moved = v.apply(&[(0, 1)], &[(2, old)]).unwrap();
        assert_eq!(moved.files(0).len(), 1);
        assert_eq!(moved.files(2)[0].number(), 1);
    }

    #[test]
    fn overlapping_uses_key_ranges() {
        let (fs, dir) = sim_dir();
        let a = puts(&fs, &dir, 1, 1, &["a", "c"]);
        let b = puts(&fs, &dir, 2, 1, &["e", "g"]);
        let c = puts(&fs, &dir, 3, 1, &["i", "k"]);
        let v = Version::default()
            .apply(&[], &[(1, a), (1, b), (1, c)])
            .unwrap();
        let nums =
            |files: Vec<Arc<TableFile>>| files.iter().map(|f| f.number()).collect::<Vec<_>>();
        let (lo, hi) = incl("b", "f");
        assert_eq!(nums(v.overlapping(1, lo, hi)), [1, 2]);
        let (lo, hi) = incl("d", "d");
        assert!(v.overlapping(1, lo, hi).is_empty());
        assert_eq!(
            nums(v.overlapping(1, Bound::Excluded(b"g"), Bound::Unbounded)),
            [3]
        );
        assert_eq!(
            nums(v.overlapping(1, Bound::Unbounded, Bound::Excluded(b"e"))),
            [1]
        );
        assert!(v.overlaps_below(0, Bound::Included(b"j"), Bound::Unbounded));
        assert!(!v.overlaps_below(1, Bound::Unbounded, Bound::Unbounded));
    }

    #[test]
    fn get_returns_the_newest_version_visible_at_the_snapshot() {
        let (fs, dir) = sim_dir();
        let l1 = table(
            &fs,
            &dir,
            1,
            &[
                ("k", 2, ValueKind::Put, "v2"),
                ("x", 1, ValueKind::Put, "x1"),
            ],
        );
        let l0_old = table(&fs, &dir, 2, &[("k", 5, ValueKind::Delete, "")]);
        let l0_new = table(&fs, &dir, 3, &[("k", 8, ValueKind::Put, "v8")]);
        let v = Version::default()
            .apply(&[], &[(1, l1), (0, l0_old), (0, l0_new)])
            .unwrap();
        let c = Counters::default();
        let get = |seq| v.get(b"k", seq, &c).unwrap().map(|(s, k, _)| (s, k));
        assert_eq!(get(100), Some((8, ValueKind::Put)));
        assert_eq!(get(7), Some((5, ValueKind::Delete)));
        assert_eq!(get(4), Some((2, ValueKind::Put)));
        assert_eq!(get(1), None);
        assert_eq!(
            v.get(b"x", 100, &c).unwrap().map(|f| f.2),
            Some(b"x1".to_vec())
        );
        assert_eq!(v.get(b"q", 100, &c).unwrap(), None);
        assert_eq!(v.level_stats()[0].files, 2);
    }
}
