//! Flush: the oldest frozen memtable becomes a level-0 table.
//!
//! Steps: write the memtable (shadowed versions no snapshot can see are dropped; every
//! tombstone is kept, deeper levels may hold what it deletes) to `NNNNNN.sst.tmp`,
//! fsync, rename, sync the directory; open the table; then one MANIFEST edit adds the
//! file to L0 and advances the log number to the oldest WAL segment still needed and
//! the last flushed sequence number. Only then does the new read view drop the
//! memtable, and are the WAL segments below the log number deleted. A crash anywhere
//! before the edit leaves an orphan table (deleted at the next open) and the data still
//! in the WAL.

use crate::Result;
use crate::engine::lock::lock;
use crate::io::wal;
use crate::kv::compaction::gc::VersionGc;
use crate::kv::core::inner::Inner;
use crate::kv::core::iter::KvIterator;
use crate::kv::stats;
use crate::kv::version::edit::VersionEdit;
use crate::kv::version::table_file::TableFile;
use crate::kv::version::table_writer::TableWriter;

impl Inner {
    /// Flushes the oldest frozen memtable. Returns `false` when there was none.
    pub(crate) fn flush_oldest(&self) -> Result<bool> {
        let _one_at_a_time = lock(&self.flush_lock);
        let Some(frozen) = lock(&self.state).frozen.front().cloned() else {
            return Ok(false);
        };

        let oldest_snapshot = self.snapshots.oldest(&self.visible_seq);
        let next_number = || self.new_file_number();
        let mut writer =
            TableWriter::new(&self.fs, &self.dir, self.opts.table, u64::MAX, &next_number);
        let mut it = VersionGc::new(frozen.mem.iter(), oldest_snapshot, false);
        it.seek_to_first()?;
        while it.valid() {
            if self.is_shutting_down() {
                return Ok(false);
            }
            writer.add(it.key(), it.seq(), it.kind(), it.value())?;
            it.next()?;
        }
        let outputs = writer.finish()?;
        let mut added = Vec::with_capacity(outputs.len());
        for meta in &outputs {
            added.push((
                0,
                TableFile::open(self.fs.clone(), &self.dir, meta.clone())?,
            ));
        }

        let mut st = lock(&self.state);
        let log_number = st
            .frozen
            .get(1)
            .map_or(st.active_first_segment, |f| f.first_segment);
        let edit = VersionEdit {
            log_number: Some(log_number),
            last_seq: Some(frozen.mem.max_seq()),
            new_files: outputs.iter().map(|m| (0, m.clone())).collect(),
            ..Default::default()
        };
        let logged = st
            .versions
            .log_and_apply(edit, &added, self.file_number_watermark());
        // Once the edit may have reached the MANIFEST the table must stay; if it did
        // not, it is an orphan removed at the next open.
        writer.commit();
        logged?;
        st.frozen.pop_front();
        st.flushed_generation = frozen.generation;
        self.install_view(&st);
        stats::add(&self.counters.flushes, 1);
        stats::add(
            &self.counters.flush_bytes,
            outputs.iter().map(|m| m.size).sum(),
        );
        self.wake_waiters();
        drop(st);

        // Best effort: a segment left behind is deleted at the next open.
        let _ = wal::remove_segments_below(self.fs.as_ref(), &self.dir, log_number);
        Ok(true)
    }
}
