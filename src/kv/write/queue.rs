//! The write path: a queue of writers, one of which (the front) commits a whole group.
//!
//! A writer enqueues its request and waits. The writer at the front becomes the
//! *leader*: it takes the requests queued behind it (up to [`MAX_GROUP_BYTES`]), makes
//! room (freezing the memtable or stalling if flushes and compactions lag), assigns the
//! group consecutive sequence numbers, appends the group to the WAL as **one** record
//! (one fsync for all of them under `SyncMode::Always`), inserts it into the active
//! memtable, publishes the new visible sequence number and hands every follower its
//! result. Readers therefore never see a write before it is durable as promised, and
//! concurrent writers share fsyncs (group commit).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crate::engine::lock::{lock, read, wait, write};
use crate::io::record::MAX_PAYLOAD_LEN;
use crate::kv::core::cf;
use crate::kv::core::inner::{FrozenMemtable, Inner};
use crate::kv::core::key::{MAX_SEQ, ValueKind};
use crate::kv::memtable::Memtable;
use crate::kv::stats;
use crate::kv::write::batch::{self, ResolvedOp, WriteBatch};
use crate::{Error, Result};

/// A group stops growing once its WAL record could exceed this many bytes (a larger
/// single request is still committed alone, up to the WAL's record limit).
const MAX_GROUP_BYTES: usize = 1 << 20;

enum Work {
    /// A batch to commit atomically, with the id of each of its column families
    /// (`None`: a family only deleted from that does not exist; those ops are skipped).
    Batch {
        batch: WriteBatch,
        ids: Vec<Option<u32>>,
    },
    /// Freeze the active memtable (if not empty) so that a flush picks it up.
    Freeze,
}

impl Work {
    /// The batch's operations that apply, with their column family ids.
    fn ops(&self) -> impl Iterator<Item = ResolvedOp<'_>> {
        let (batch, ids) = match self {
            Work::Batch { batch, ids } => (Some(batch), ids.as_slice()),
            Work::Freeze => (None, &[][..]),
        };
        batch
            .into_iter()
            .flat_map(|b| b.iter())
            .filter_map(move |op| {
                let cf = ids.get(op.cf_index).copied().flatten()?;
                Some(ResolvedOp {
                    cf,
                    kind: op.kind,
                    key: op.key,
                    value: op.value,
                })
            })
    }
}

/// Validates `batch` and checks that it fits one WAL record: which of its column
/// families it puts into, and an upper bound of its encoded size. Checked before a
/// column family is created, so a batch that cannot be logged changes nothing.
fn checked_size(batch: &WriteBatch) -> Result<(Vec<bool>, usize)> {
    batch.validate()?;
    let mut puts_into = vec![false; batch.cf_names().len()];
    let mut encoded = batch::HEADER_LEN;
    for op in batch.iter() {
        if op.kind == ValueKind::Put
            && let Some(p) = puts_into.get_mut(op.cf_index)
        {
            *p = true;
        }
        encoded = encoded.saturating_add(encoded_op_bound(op.key.len(), op.value.len()));
    }
    if encoded > MAX_PAYLOAD_LEN {
        return Err(Error::invalid(format!(
            "the batch needs up to {encoded} bytes, over the {MAX_PAYLOAD_LEN}-byte WAL record limit"
        )));
    }
    Ok((puts_into, encoded))
}

/// An upper bound of the encoded size of one operation in a WAL payload
/// (`docs/format.md (part 2)`): kind byte, column-family id varint (at most 5 bytes), key
/// length varint, key, value length varint, value.
fn encoded_op_bound(key_len: usize, value_len: usize) -> usize {
    let varint = |n: usize| (usize::BITS - n.leading_zeros()).div_ceil(7).max(1) as usize;
    (1 + 5 + varint(key_len) + varint(value_len))
        .saturating_add(key_len)
        .saturating_add(value_len)
}

struct Request {
    work: Work,
    /// Upper bound of the request's encoded size in a WAL record.
    bytes: usize,
    result: Mutex<Option<Result<()>>>,
}

/// Writers waiting for their turn: the group-commit queue of one store, owned by its
/// handle and passed to [`Inner::write_batch`] and [`Inner::freeze_active`].
#[derive(Default)]
pub(crate) struct WriteQueue {
    pending: Mutex<VecDeque<Arc<Request>>>,
    cv: Condvar,
}

impl Inner {
    /// Validates `batch`, creates the column families it puts into, and commits it
    /// atomically: all of its operations or none are applied and logged.
    pub(crate) fn write_batch(&self, queue: &WriteQueue, batch: WriteBatch) -> Result<()> {
        let (puts_into, encoded) = checked_size(&batch)?;
        let names = batch.cf_names();
        let mut ids = Vec::with_capacity(names.len());
        for (name, &create) in names.iter().zip(&puts_into) {
            ids.push(self.resolve_cf(name, create)?);
        }
        if ids.iter().all(Option::is_none) {
            return Ok(());
        }
        self.commit(queue, Work::Batch { batch, ids }, encoded)
    }

    /// [`Inner::write_batch`] for a batch whose only column family is the existing
    /// family `id` (a [`crate::kv::ColumnFamily`]'s writes): no name lookup.
    pub(crate) fn write_batch_in(
        &self,
        queue: &WriteQueue,
        id: u32,
        batch: WriteBatch,
    ) -> Result<()> {
        let (_, encoded) = checked_size(&batch)?;
        if batch.cf_names().len() != 1 {
            return Err(Error::internal(
                "a column family's batch names other families",
            ));
        }
        self.commit(
            queue,
            Work::Batch {
                batch,
                ids: vec![Some(id)],
            },
            encoded,
        )
    }

    /// Freezes the active memtable (unless empty), in write order.
    pub(crate) fn freeze_active(&self, queue: &WriteQueue) -> Result<()> {
        self.commit(queue, Work::Freeze, 0)
    }

    fn commit(&self, writers: &WriteQueue, work: Work, bytes: usize) -> Result<()> {
        self.poison.check()?;
        let me = Arc::new(Request {
            work,
            bytes,
            result: Mutex::new(None),
        });
        let mut queue = lock(&writers.pending);
        queue.push_back(Arc::clone(&me));
        loop {
            if let Some(result) = lock(&me.result).take() {
                return result;
            }
            if queue.front().is_some_and(|f| Arc::ptr_eq(f, &me)) {
                break;
            }
            queue = wait(&writers.cv, queue);
        }

        // Leader: take a group from the front.
        let mut group = vec![Arc::clone(&me)];
        if matches!(me.work, Work::Batch { .. }) {
            let mut bytes = me.bytes;
            for r in queue.iter().skip(1) {
                if !matches!(r.work, Work::Batch { .. }) || bytes + r.bytes > MAX_GROUP_BYTES {
                    break;
                }
                bytes += r.bytes;
                group.push(Arc::clone(r));
            }
        }
        drop(queue);

        let result = self.commit_group(&group);

        let mut queue = lock(&writers.pending);
        for r in group.iter().skip(1) {
            *lock(&r.result) = Some(result.clone());
        }
        for _ in 0..group.len() {
            queue.pop_front();
        }
        // Wake the followers just served and the next leader; skip the (futex) wake-up
        // when nobody waits, the common case of a lone writer.
        if group.len() > 1 || !queue.is_empty() {
            writers.cv.notify_all();
        }
        result
    }

    fn commit_group(&self, group: &[Arc<Request>]) -> Result<()> {
        self.poison.check()?;
        let force = group.iter().any(|r| matches!(r.work, Work::Freeze));
        self.make_room(force)?;
        let count: u64 = group.iter().map(|r| r.work.ops().count() as u64).sum();
        if count == 0 {
            return Ok(());
        }
        let last_visible = self.visible_seq.load(Ordering::Acquire);
        let first = last_visible + 1;
        let last = last_visible + count;
        if last > MAX_SEQ {
            return Err(Error::invalid("sequence numbers exhausted"));
        }
        let payload = batch::encode(first, group.iter().flat_map(|r| r.work.ops()))?;
        if let Err(e) = self.wal.append(&payload) {
            if !matches!(e, Error::InvalidArgument(_)) {
                self.poison_with(&e);
            }
            return Err(e);
        }

        let mem = Arc::clone(&self.current_view().active);
        let mut user_bytes = 0u64;
        for (seq, op) in (first..).zip(group.iter().flat_map(|r| r.work.ops())) {
            mem.insert_prefixed(&cf::prefix(op.cf), op.key, seq, op.kind, op.value);
            user_bytes += (op.key.len() + op.value.len()) as u64;
        }
        self.visible_seq.store(last, Ordering::Release);
        stats::add(&self.counters.writes, group.len() as u64);
        stats::add(&self.counters.user_bytes_written, user_bytes);
        Ok(())
    }

    /// Whether the active memtable reached a flush threshold.
    fn memtable_full(&self, mem: &Memtable) -> bool {
        mem.approximate_bytes() >= self.opts.memtable_bytes
            || self.opts.memtable_entries.is_some_and(|n| mem.len() >= n)
    }

    /// Before a group is written: freezes the active memtable when it is full (or when
    /// `force`d and not empty), and stalls while too many frozen memtables or level-0
    /// files wait for background work. Only the leader calls it.
    fn make_room(&self, force: bool) -> Result<()> {
        let background = self.opts.shared.background_work;
        let mut stall_start: Option<Instant> = None;
        let mut froze = false;
        let mut st = lock(&self.state);
        loop {
            self.poison.check()?;
            let l0 = st.versions.current().files(0).len();
            let must_wait_l0 = background && l0 >= self.opts.l0_stall_trigger;
            let wants_freeze = !st.active.is_empty() && (force || self.memtable_full(&st.active));
            let must_wait_frozen =
                background && wants_freeze && st.frozen.len() >= self.opts.max_frozen_memtables;
            if must_wait_l0 || must_wait_frozen {
                if stall_start.is_none() {
                    stall_start = Some(Instant::now());
                    stats::add(&self.counters.stalls, 1);
                }
                self.wakeup.wake();
                st = wait(&self.progress_cv, st);
                continue;
            }
            if wants_freeze {
                let segment = self.new_file_number();
                if let Err(e) = self.wal.rotate(segment) {
                    self.poison_with_locked(&e);
                    return Err(e);
                }
                let old = std::mem::replace(&mut st.active, Arc::new(Memtable::new()));
                let frozen = FrozenMemtable {
                    mem: old,
                    first_segment: st.active_first_segment,
                    generation: st.active_generation,
                };
                st.frozen.push_back(frozen);
                st.active_first_segment = segment;
                st.active_generation += 1;
                self.install_view(&st);
                self.wakeup.wake();
                froze = true;
            }
            break;
        }
        drop(st);
        if let Some(start) = stall_start {
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            stats::add(&self.counters.stall_nanos, nanos);
        }
        if froze && !background {
            self.run_inline_work()?;
        }
        Ok(())
    }

    /// With background work off: flushes every frozen memtable, then compacts until no
    /// level needs it.
    pub(crate) fn run_inline_work(&self) -> Result<()> {
        let result = (|| {
            while self.flush_oldest()? {}
            self.compact_while_needed()
        })();
        if let Err(e) = &result {
            self.poison_with(e);
        }
        result
    }

    /// Waits until every memtable frozen so far is flushed.
    pub(crate) fn wait_for_flushes(&self) -> Result<()> {
        let mut st = lock(&self.state);
        let target = st.active_generation.saturating_sub(1);
        while st.flushed_generation < target {
            self.poison.check()?;
            self.wakeup.wake();
            st = wait(&self.progress_cv, st);
        }
        Ok(())
    }

    /// Looks up (and with `create`, creates durably) the id of column family `name`.
    pub(crate) fn resolve_cf(&self, name: &str, create: bool) -> Result<Option<u32>> {
        if let Some(id) = read(&self.cfs).id(name) {
            return Ok(Some(id));
        }
        if !create {
            return Ok(None);
        }
        self.poison.check()?;
        let mut st = lock(&self.state);
        if let Some(id) = read(&self.cfs).id(name) {
            return Ok(Some(id));
        }
        let id = read(&self.cfs)
            .next_id()
            .ok_or_else(|| Error::invalid("too many column families"))?;
        let edit = crate::kv::version::edit::VersionEdit {
            new_cfs: vec![(id, name.to_owned())],
            ..Default::default()
        };
        if let Err(e) = st
            .versions
            .log_and_apply(edit, &[], self.file_number_watermark())
        {
            drop(st);
            self.poison_with(&e);
            return Err(e);
        }
        // The manifest has the family durably: an id the registry already holds is a
        // broken invariant (the probe in `log_and_apply` checked it), not bad input.
        if write(&self.cfs).insert(id, name).is_err() {
            let e = Error::internal(format!("column family {name:?} registered twice"));
            self.poison_with(&e);
            return Err(e);
        }
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::write::batch::{ResolvedOp, encode};

    #[test]
    fn op_bound_covers_the_real_encoding() {
        for (k, v) in [
            (0, 0),
            (1, 0),
            (127, 128),
            (128, 16_383),
            (16_384, 3),
            (60_000, 2_000_000),
        ] {
            let key = vec![1u8; k];
            let value = vec![2u8; v];
            let op = ResolvedOp {
                cf: u32::MAX,
                kind: ValueKind::Put,
                key: &key,
                value: &value,
            };
            let real = encode(1, [op]).unwrap().len() - batch::HEADER_LEN;
            let bound = encoded_op_bound(k, v);
            assert!(bound >= real, "{k} {v}: {bound} < {real}");
            assert!(bound <= real + 2, "{k} {v}: bound too loose");
        }
    }
}
