//! Leveled compaction: what a compaction is, and the drivers that run them — the
//! automatic loop (background thread or inline) and the full manual compaction.
//!
//! Why leveled: the store serves read-heavy analytics. Leveled compaction keeps every
//! level below L0 a sorted run of disjoint files, so a point read touches at most the
//! L0 files plus one file per level (and Bloom filters skip most of those), and a range
//! scan merges one cursor per level; with a growth factor of 10 the last level holds
//! ~90 % of the data, so space amplification stays near 1.1x. The price is write
//! amplification (a byte is rewritten about `multiplier` times per level); a tiered
//! scheme would write less but leave several overlapping runs per level for every read.
//! See `docs/design-kv.md`.

pub(crate) mod gc;
mod pick;
mod run;

use std::sync::Arc;

use crate::Result;
use crate::engine::lock::lock;
use crate::kv::core::inner::Inner;
use crate::kv::version::Version;
use crate::kv::version::table_file::TableFile;

/// One compaction: input files of `level` (plus the overlapping files of
/// `output_level`) merged into new files of `output_level`.
#[derive(Debug, Clone)]
pub(crate) struct Compaction {
    /// The level the inputs come from.
    pub level: usize,
    /// Where the outputs go: `level + 1`, or `level` itself for an in-place rewrite of
    /// the last level by a manual compaction.
    pub output_level: usize,
    /// Input files of `level` (L0: newest first).
    pub inputs: Vec<Arc<TableFile>>,
    /// Files of `output_level` overlapping the inputs (empty for an in-place rewrite).
    pub next_inputs: Vec<Arc<TableFile>>,
    /// Whether a lone input with nothing under it may just move down a level.
    pub allow_trivial_move: bool,
}

impl Compaction {
    /// A compaction of `inputs` from `level` into `output_level`, with the overlapping
    /// files of `output_level` (found in `version`) added when the levels differ.
    pub(crate) fn new(
        version: &Version,
        level: usize,
        output_level: usize,
        inputs: Vec<Arc<TableFile>>,
        allow_trivial_move: bool,
    ) -> Self {
        let next_inputs = match (output_level != level)
            .then(|| pick::key_range(&inputs))
            .flatten()
        {
            Some(range) => {
                let (lo, hi) = pick::inclusive(&range);
                version.overlapping(output_level, lo, hi)
            }
            None => Vec::new(),
        };
        Compaction {
            level,
            output_level,
            inputs,
            next_inputs,
            allow_trivial_move,
        }
    }

    /// Whether the compaction is a move of one file one level down.
    pub(crate) fn is_trivial_move(&self) -> bool {
        self.allow_trivial_move
            && self.output_level == self.level + 1
            && self.inputs.len() == 1
            && self.next_inputs.is_empty()
    }

    /// Every input file, newest data first.
    pub(crate) fn all_inputs(&self) -> impl Iterator<Item = &Arc<TableFile>> {
        self.inputs.iter().chain(self.next_inputs.iter())
    }

    /// Total bytes of the inputs.
    pub(crate) fn input_bytes(&self) -> u64 {
        self.all_inputs().map(|f| f.meta().size).sum()
    }
}

impl Inner {
    /// The compaction the current version needs most, if any.
    pub(crate) fn pick_compaction(&self) -> Option<Compaction> {
        let st = lock(&self.state);
        let versions = &st.versions;
        pick::pick(versions.current(), &self.opts, |l| {
            versions.compact_pointer(l)
        })
    }

    /// Runs compactions until no level needs one (or the store shuts down).
    pub(crate) fn compact_while_needed(&self) -> Result<()> {
        let _one_at_a_time = lock(&self.compaction_lock);
        while !self.is_shutting_down() {
            let Some(c) = self.pick_compaction() else {
                break;
            };
            self.run_compaction(c)?;
        }
        Ok(())
    }

    /// Full manual compaction: every level is merged into the next, down to the deepest
    /// level holding data (at least L1), whose files are then rewritten in place if they
    /// still hold tombstones. Afterwards the data lives in one sorted run without
    /// shadowed versions or tombstones (except what live snapshots still need).
    pub(crate) fn compact_all(&self) -> Result<()> {
        let _one_at_a_time = lock(&self.compaction_lock);
        let current = || Arc::clone(lock(&self.state).versions.current());
        let Some(deepest) = current().deepest_nonempty_level() else {
            return Ok(());
        };
        let target = deepest.max(1);
        let mut target_rewritten = false;
        for level in 0..target {
            if self.is_shutting_down() {
                return Ok(());
            }
            let v = current();
            if v.files(level).is_empty() {
                continue;
            }
            let c = Compaction::new(&v, level, level + 1, v.files(level).to_vec(), false);
            self.run_compaction(c)?;
            target_rewritten |= level + 1 == target;
        }
        let v = current();
        let files = v.files(target);
        if !target_rewritten && files.iter().any(|f| f.meta().tombstones > 0) {
            let c = Compaction::new(&v, target, target, files.to_vec(), false);
            self.run_compaction(c)?;
        }
        Ok(())
    }
}
