//! [`Wal`]: the appender, with group commit, rotation, poisoning and the interval
//! syncer thread.
//!
//! # Group commit
//!
//! An appender compresses its record outside any lock, then, under the state lock,
//! appends it to `pending` and notes the logical end position of the log
//! (`appended`); a record written plain is framed straight into `pending` under the
//! lock (a copy and a checksum, no buffer of its own). It then waits until the log is
//! handed to the OS (`written`) or fsync'd (`durable`) up to that position. Whoever
//! finds no I/O in flight becomes the *leader*: it takes the whole `pending` batch and
//! the file, drops the lock, writes the batch with one call, flushes and (if asked)
//! fsyncs, then publishes the new positions and wakes the others, if any wait (they
//! are counted: a condition variable's wake-up is a system call even when nobody
//! waits, which was a tenth of a small append). Appenders that arrive meanwhile queue
//! their records in `pending`; the next leader writes them all at once and one fsync
//! covers them.
//!
//! Positions are logical (record bytes since the `Wal` was created, across segments),
//! so rotation does not disturb them.

use std::mem;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{SyncMode, list_segments, segment_file_name};
use crate::engine::lock::{lock, wait};
use crate::engine::poison::{PanicGuard, Poison};
use crate::engine::worker::{Wakeup, Worker};
use crate::error::{Error, Result};
use crate::io::fs::FileSystem;
use crate::io::log_header::{self, WAL_MAGIC};
use crate::io::record::{Compression, LogWriter, RecordBatch};

/// The write-ahead log appender. `Send + Sync`: share it (e.g. in an `Arc`) between
/// writer threads; every method takes `&self`.
///
/// If a write or fsync fails, the call that hit the failure returns it and the `Wal`
/// is poisoned: every later call returns [`Error::Poisoned`]. Records it accepted
/// before may or may not be durable; reopen and replay to find out.
pub struct Wal {
    shared: Arc<Shared>,
    /// The interval syncer (`SyncMode::Interval`), stopped and joined on drop.
    syncer: Option<Worker>,
}

struct Shared {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    mode: SyncMode,
    state: Mutex<State>,
    /// Signalled whenever a leader finishes.
    turn: Condvar,
    /// Set by the first failed write or fsync (under the `state` lock, followed by a
    /// `turn` wake-up, so waiters see it).
    poison: Poison,
}

struct State {
    /// The current segment; `None` while a leader holds it, or once poisoned.
    writer: Option<LogWriter>,
    segment_id: u64,
    /// Records appended but not yet handed to the writer.
    pending: RecordBatch,
    /// An empty batch whose allocation the next `pending` reuses.
    spare: RecordBatch,
    /// Logical end of every record appended.
    appended: u64,
    /// Logical position handed to the OS.
    written: u64,
    /// Logical position fsync'd.
    durable: u64,
    /// A leader is doing I/O outside the lock.
    leading: bool,
    /// Threads waiting on `turn`: a leader wakes them only when there are any (a
    /// condition variable's wake-up is a system call even when nobody waits).
    waiters: usize,
}

/// What a leader does with the file.
#[derive(Clone, Copy)]
enum Work {
    /// Write `pending` and flush it to the OS.
    Flush,
    /// Write, flush and fsync.
    Sync,
    /// Write, flush, fsync, then switch to a new segment.
    Rotate(u64),
}

/// How far a waiter needs the log to be.
#[derive(Clone, Copy)]
enum Level {
    Written,
    Durable,
}

/// Creates segment `id` in `dir`, writes and syncs its header, and makes its directory
/// entry durable, so that records fsync'd into it later survive a power cut.
fn open_segment(fs: &dyn FileSystem, dir: &Path, id: u64) -> Result<LogWriter> {
    let mut writer = LogWriter::new(fs.create(&dir.join(segment_file_name(id)))?);
    writer.write_batch(&log_header::encode(WAL_MAGIC, id)?)?;
    writer.sync()?;
    fs.sync_dir(dir)?;
    Ok(writer)
}

impl Wal {
    /// Starts a WAL in `dir` (which must exist) with a new segment `segment_id`, which
    /// must be higher than every segment already there
    /// ([`Error::InvalidArgument`] otherwise). Replay the old segments first.
    pub fn create(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        segment_id: u64,
        mode: SyncMode,
    ) -> Result<Wal> {
        if mode == SyncMode::Interval(std::time::Duration::ZERO) {
            return Err(Error::invalid("WAL sync interval must not be zero"));
        }
        if let Some(&last) = list_segments(fs.as_ref(), dir)?.last()
            && last >= segment_id
        {
            return Err(Error::invalid(format!(
                "WAL segment {segment_id} is not above existing segment {last}"
            )));
        }
        let writer = open_segment(fs.as_ref(), dir, segment_id)?;
        let shared = Arc::new(Shared {
            fs,
            dir: dir.to_path_buf(),
            mode,
            state: Mutex::new(State {
                writer: Some(writer),
                segment_id,
                pending: RecordBatch::new(),
                spare: RecordBatch::new(),
                appended: 0,
                written: 0,
                durable: 0,
                leading: false,
                waiters: 0,
            }),
            turn: Condvar::new(),
            poison: Poison::default(),
        });
        let syncer = match mode {
            // Every `every`, fsync when anything is new; stop once the log is
            // poisoned (no fsync can succeed any more).
            SyncMode::Interval(every) => {
                let syncing = Arc::clone(&shared);
                let panicked = Arc::clone(&shared);
                Some(Worker::spawn(
                    "tidestore-wal-sync",
                    &Wakeup::new(),
                    Some(every),
                    move || panicked.poison_after_panic("panic in the WAL syncer", false),
                    move || match syncing.sync() {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(_) => ControlFlow::Break(()),
                    },
                )?)
            }
            SyncMode::Always | SyncMode::Os => None,
        };
        Ok(Wal { shared, syncer })
    }

    /// Appends one record (snappy-compressed when that helps) and returns once the
    /// [`SyncMode`] promise holds for it. A payload over
    /// [`crate::io::record::MAX_PAYLOAD_LEN`] is rejected with
    /// [`Error::InvalidArgument`] and changes nothing.
    pub fn append(&self, payload: &[u8]) -> Result<()> {
        self.append_with(payload, Compression::Snappy)
    }

    /// [`Wal::append`], with the record's body compressed as `compression` says (a
    /// caller that knows its payload does not compress, or is too small to pay for
    /// it, saves the attempt).
    pub fn append_with(&self, payload: &[u8], compression: Compression) -> Result<()> {
        let mut st = if compression == Compression::None {
            // Framing a plain record is a copy and a checksum: done straight into
            // `pending` under the lock, with no buffer of its own.
            let mut st = lock(&self.shared.state);
            self.shared.poison.check()?;
            let before = st.pending.len();
            st.pending.push(payload, compression)?;
            st.appended += (st.pending.len() - before) as u64;
            st
        } else {
            // Compression runs outside the lock, so concurrent appenders overlap it.
            let mut record = RecordBatch::new();
            record.push(payload, compression)?;
            let mut st = lock(&self.shared.state);
            self.shared.poison.check()?;
            st.pending.append(&record);
            st.appended += record.len() as u64;
            st
        };
        let target = st.appended;
        let level = match self.shared.mode {
            SyncMode::Always => Level::Durable,
            SyncMode::Interval(_) | SyncMode::Os => Level::Written,
        };
        st = self.shared.wait_for(st, target, level)?;
        drop(st);
        Ok(())
    }

    /// Makes every record appended so far durable.
    pub fn sync(&self) -> Result<()> {
        self.shared.sync()
    }

    /// Seals the current segment (writes and fsyncs everything appended to it) and
    /// continues in a new segment `new_segment_id`, which must be higher than the
    /// current one and not exist yet ([`Error::InvalidArgument`] otherwise).
    pub fn rotate(&self, new_segment_id: u64) -> Result<()> {
        let shared = &self.shared;
        let mut st = lock(&shared.state);
        loop {
            shared.poison.check()?;
            if !st.leading {
                break;
            }
            st = shared.wait_turn(st);
        }
        if new_segment_id <= st.segment_id {
            return Err(Error::invalid(format!(
                "new WAL segment {new_segment_id} is not above current segment {}",
                st.segment_id
            )));
        }
        if shared
            .fs
            .exists(&shared.dir.join(segment_file_name(new_segment_id)))
        {
            return Err(Error::invalid(format!(
                "WAL segment {new_segment_id} already exists"
            )));
        }
        shared.lead(st, Work::Rotate(new_segment_id)).1
    }

    /// The id of the segment being appended to.
    pub fn segment_id(&self) -> u64 {
        lock(&self.shared.state).segment_id
    }

    /// The mode given to [`Wal::create`].
    pub fn mode(&self) -> SyncMode {
        self.shared.mode
    }
}

impl Shared {
    fn sync(&self) -> Result<()> {
        let st = lock(&self.state);
        let target = st.appended;
        self.wait_for(st, target, Level::Durable).map(drop)
    }

    /// Waits for the current leader to finish, counted in `waiters`.
    fn wait_turn<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        st.waiters += 1;
        let mut st = wait(&self.turn, st);
        st.waiters -= 1;
        st
    }

    /// Wakes every thread waiting on `turn`, if any (called with the state locked).
    fn wake_waiters(&self, st: &State) {
        if st.waiters > 0 {
            self.turn.notify_all();
        }
    }

    /// Returns (with the state still locked) once the log has reached `target` at
    /// `level`, leading the I/O itself when nobody else is.
    fn wait_for<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        target: u64,
        level: Level,
    ) -> Result<MutexGuard<'a, State>> {
        loop {
            let reached = match level {
                Level::Written => st.written,
                Level::Durable => st.durable,
            };
            if reached >= target {
                return Ok(st);
            }
            self.poison.check()?;
            if st.leading {
                st = self.wait_turn(st);
                continue;
            }
            let work = match level {
                Level::Written => Work::Flush,
                Level::Durable => Work::Sync,
            };
            let (guard, result) = self.lead(st, work);
            result?;
            st = guard;
        }
    }

    /// Does `work` as the leader: takes `pending` and the file, does the I/O without
    /// the lock, then publishes the outcome and wakes every waiter. The caller has
    /// checked that nobody leads and the log is not poisoned.
    fn lead<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        work: Work,
    ) -> (MutexGuard<'a, State>, Result<()>) {
        let Some(mut writer) = st.writer.take() else {
            // invariant: the writer is only absent while someone leads or once
            // poisoned, and the caller checked both.
            let why = "WAL writer missing".to_owned();
            self.poison.set(why.clone());
            return (st, Err(Error::Poisoned(why)));
        };
        st.leading = true;
        let spare = mem::take(&mut st.spare);
        let mut batch = mem::replace(&mut st.pending, spare);
        let end = st.appended;
        drop(st);

        // A panicking `FileSystem` must not leave waiters waiting for a leader that
        // is gone: poison the log, so they get an error.
        let panic_guard = PanicGuard::new(|| self.poison_after_panic("panic during WAL I/O", true));
        let result = self.do_io(&mut writer, &batch, work);
        drop(panic_guard);

        let mut st = lock(&self.state);
        st.leading = false;
        batch.clear();
        st.spare = batch;
        let result = match result {
            Ok(next) => {
                st.written = end;
                if !matches!(work, Work::Flush) {
                    st.durable = end;
                }
                if let (Work::Rotate(id), Some(next)) = (work, next) {
                    st.segment_id = id;
                    writer = next;
                }
                st.writer = Some(writer);
                Ok(())
            }
            Err(e) => {
                self.poison.set(e.to_string());
                Err(e)
            }
        };
        self.wake_waiters(&st);
        (st, result)
    }

    /// The leader's I/O. Returns the new segment's writer for [`Work::Rotate`].
    fn do_io(
        &self,
        writer: &mut LogWriter,
        batch: &RecordBatch,
        work: Work,
    ) -> Result<Option<LogWriter>> {
        writer.write_batch(batch)?;
        writer.flush()?;
        match work {
            Work::Flush => Ok(None),
            Work::Sync => writer.sync().map(|()| None),
            Work::Rotate(id) => {
                writer.sync()?;
                open_segment(self.fs.as_ref(), &self.dir, id).map(Some)
            }
        }
    }

    /// Poisons the log from a thread unwinding from a panic (its I/O is in an
    /// unknown state) and wakes every waiter; `leader`: the thread was the leader.
    fn poison_after_panic(&self, why: &str, leader: bool) {
        let mut st = lock(&self.state);
        if leader {
            st.leading = false;
        }
        self.poison.set(why);
        self.turn.notify_all();
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Some(syncer) = self.syncer.take() {
            drop(syncer);
            // Best effort: the promise of Interval mode ends with the handle; call
            // `sync` to see errors.
            let _ = self.shared.sync();
        }
    }
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = lock(&self.shared.state);
        f.debug_struct("Wal")
            .field("dir", &self.shared.dir)
            .field("mode", &self.shared.mode)
            .field("segment_id", &st.segment_id)
            .field("appended", &st.appended)
            .field("durable", &st.durable)
            .field("poisoned", &self.shared.poison)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::sim_fs::SimFs;
    use crate::io::wal::replay;

    fn setup() -> (SimFs, Arc<dyn FileSystem>, PathBuf) {
        let sim = SimFs::new();
        let dir = PathBuf::from("/db");
        sim.create_dir_all(&dir).unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(sim.clone());
        (sim, fs, dir)
    }

    fn replayed(fs: &dyn FileSystem, dir: &Path) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        replay(fs, dir, 0, |seg, p| {
            out.push((seg, p.to_vec()));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn wal_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Wal>();
    }

    #[test]
    fn append_rotate_replay() {
        let (sim, fs, dir) = setup();
        let wal = Wal::create(Arc::clone(&fs), &dir, 3, SyncMode::Always).unwrap();
        wal.append(b"a").unwrap();
        wal.rotate(5).unwrap();
        assert_eq!(wal.segment_id(), 5);
        wal.append(&[1u8; 500]).unwrap();
        drop(wal);
        sim.crash();
        assert_eq!(
            replayed(&sim, &dir),
            vec![(3, b"a".to_vec()), (5, vec![1u8; 500])]
        );
    }

    #[test]
    fn bad_ids_and_zero_interval_are_rejected_without_poisoning() {
        let (_sim, fs, dir) = setup();
        let zero = SyncMode::Interval(std::time::Duration::ZERO);
        assert!(matches!(
            Wal::create(Arc::clone(&fs), &dir, 1, zero),
            Err(Error::InvalidArgument(_))
        ));
        let wal = Wal::create(Arc::clone(&fs), &dir, 4, SyncMode::Os).unwrap();
        assert!(matches!(wal.rotate(4), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            Wal::create(Arc::clone(&fs), &dir, 4, SyncMode::Os),
            Err(Error::InvalidArgument(_))
        ));
        let huge = vec![0u8; crate::io::record::MAX_PAYLOAD_LEN + 1];
        assert!(matches!(wal.append(&huge), Err(Error::InvalidArgument(_))));
        wal.append(b"still fine").unwrap();
        wal.rotate(6).unwrap();
    }

    #[test]
    fn failed_write_poisons() {
        let (sim, fs, dir) = setup();
        let wal = Wal::create(Arc::clone(&fs), &dir, 1, SyncMode::Always).unwrap();
        sim.fail_after(0);
        assert!(matches!(wal.append(b"x"), Err(Error::Io(_))));
        sim.clear_faults();
        assert!(matches!(wal.append(b"y"), Err(Error::Poisoned(_))));
        assert!(matches!(wal.sync(), Err(Error::Poisoned(_))));
        assert!(matches!(wal.rotate(2), Err(Error::Poisoned(_))));
        assert!(format!("{wal:?}").contains("poisoned"));
    }
}
