//! Which compaction to run next: leveled, by score.
//!
//! Level 0 scores `files / l0_compaction_trigger`; level `n >= 1` scores
//! `bytes / target(n)` with `target(1) = level1_bytes` and each deeper level
//! `level_size_multiplier` times larger. The highest score >= 1 wins (the last level
//! never compacts further). A level-0 compaction takes every L0 file (they overlap, and
//! taking all of them means no older L0 data is left above the output); a deeper level
//! gives one file, chosen round-robin (the first file after the compaction pointer, the
//! largest key of the last file compacted there), so every part of the key space is
//! rewritten in turn. The files of the next level overlapping the inputs join them.

use crate::kv::compaction::Compaction;
use crate::kv::options::Options;
use crate::kv::version::Version;
use crate::kv::version::edit::NUM_LEVELS;

/// Target size of level `level >= 1`.
pub(crate) fn level_target(opts: &Options, level: usize) -> u64 {
    let mut target = opts.level1_bytes;
    for _ in 1..level {
        target = target.saturating_mul(opts.level_size_multiplier);
    }
    target
}

/// The score of `level`: >= 1 means it needs a compaction.
pub(crate) fn score(version: &Version, opts: &Options, level: usize) -> f64 {
    if level == 0 {
        version.files(0).len() as f64 / opts.l0_compaction_trigger.max(1) as f64
    } else {
        version.level_bytes(level) as f64 / level_target(opts, level).max(1) as f64
    }
}

/// The compaction to run now, if any level needs one.
pub(crate) fn pick<'p>(
    version: &Version,
    opts: &Options,
    compact_pointer: impl Fn(usize) -> &'p [u8],
) -> Option<Compaction> {
    let (level, best) = (0..NUM_LEVELS - 1)
        .map(|l| (l, score(version, opts, l)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if best < 1.0 {
        return None;
    }
    let inputs = if level == 0 {
        version.files(0).to_vec()
    } else {
        let files = version.files(level);
        let pointer = compact_pointer(level);
        let i = if pointer.is_empty() {
            0
        } else {
            files.partition_point(|f| f.meta().smallest.as_slice() <= pointer)
        };
        let f = files.get(i).or_else(|| files.first())?;
        vec![f.clone()]
    };
    Some(Compaction::new(version, level, level + 1, inputs, true))
}

/// The (lo, hi) key bounds of an input set, for overlap queries.
pub(crate) fn key_range(
    files: &[std::sync::Arc<crate::kv::version::table_file::TableFile>],
) -> Option<(Vec<u8>, Vec<u8>)> {
    let lo = files.iter().map(|f| &f.meta().smallest).min()?.clone();
    let hi = files.iter().map(|f| &f.meta().largest).max()?.clone();
    Some((lo, hi))
}

/// Bounds borrowing an inclusive `(lo, hi)` range.
pub(crate) fn inclusive(
    range: &(Vec<u8>, Vec<u8>),
) -> (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>) {
    (
        std::ops::Bound::Included(range.0.as_slice()),
        std::ops::Bound::Included(range.1.as_slice()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::test_util::{puts, sim_dir};

    fn opts() -> Options {
        Options::default()
            .l0_compaction_trigger(2)
            .level1_bytes(4096)
            .level_size_multiplier(10)
    }

    #[test]
    fn targets_grow_by_the_multiplier() {
        let o = opts();
        assert_eq!(level_target(&o, 1), 4096);
        assert_eq!(level_target(&o, 3), 409_600);
        let huge = Options::default().level1_bytes(u64::MAX / 2);
        assert_eq!(level_target(&huge, 6), u64::MAX);
    }

    #[test]
    fn l0_compacts_every_file_once_the_trigger_is_reached() {
        let (fs, dir) = sim_dir();
        let a = puts(&fs, &dir, 1, 1, &["a", "c"]);
        let v = Version::default().apply(&[], &[(0, a)]).unwrap();
        assert!(pick(&v, &opts(), |_| &[]).is_none());
        assert!(pick(&v, &opts(), |_| &[]).is_none());
        let b = puts(&fs, &dir, 2, 2, &["b", "d"]);
        let under = puts(&fs, &dir, 3, 0, &["c", "cc"]);
        let away = puts(&fs, &dir, 4, 0, &["x", "y"]);
        let v = v.apply(&[], &[(0, b), (1, under), (1, away)]).unwrap();
        let c = pick(&v, &opts(), |_| &[]).unwrap();
        assert_eq!((c.level, c.output_level), (0, 1));
        assert_eq!(c.inputs.len(), 2);
        let next: Vec<u64> = c.next_inputs.iter().map(|f| f.number()).collect();
        assert_eq!(next, [3]);
        assert!(!c.is_trivial_move());
    }

    #[test]
    fn deeper_levels_pick_round_robin() {
        let (fs, dir) = sim_dir();
        let keys: Vec<String> = (0..400).map(|i| format!("k{i:04}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let f1 = puts(&fs, &dir, 1, 1, &refs[..200]);
        let f2 = puts(&fs, &dir, 2, 1, &refs[200..]);
        let v = Version::default().apply(&[], &[(1, f1), (1, f2)]).unwrap();
        let o = opts().level1_bytes(100);
        assert!(score(&v, &o, 1) >= 1.0);
        let first = pick(&v, &o, |_| &[]).unwrap();
        assert_eq!(first.inputs[0].number(), 1);
        assert!(first.is_trivial_move(), "nothing below: move it");
        let pointer = first.inputs[0].meta().largest.clone();
        let second = pick(&v, &o, |_| pointer.as_slice()).unwrap();
        assert_eq!(second.inputs[0].number(), 2);
        let last = b"k9999".to_vec();
        let wrapped = pick(&v, &o, |_| last.as_slice()).unwrap();
        assert_eq!(wrapped.inputs[0].number(), 1, "wraps around");
    }
}
