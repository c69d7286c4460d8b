//! The WAL through the public API: replay across rotations, group commit, what each
//! sync mode keeps after a process crash or a power cut, fault injection at every
//! operation, and damaged segments.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tidestore::Error;
use tidestore::io::fs::{FileSystem, StdFs};
use tidestore::io::sim_fs::SimFs;
use tidestore::io::wal::{
    ReplayStats, SyncMode, Wal, list_segments, remove_segments_below, replay, segment_file_name,
};

fn sim() -> (SimFs, Arc<dyn FileSystem>, PathBuf) {
    let sim = SimFs::new();
    let dir = PathBuf::from("/db/wal");
    sim.create_dir_all(&dir).unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(sim.clone());
    (sim, fs, dir)
}

fn replay_all(fs: &dyn FileSystem, dir: &Path, min: u64) -> (Vec<(u64, Vec<u8>)>, ReplayStats) {
    let mut out = Vec::new();
    let stats = replay(fs, dir, min, |seg, p| {
        out.push((seg, p.to_vec()));
        Ok(())
    })
    .unwrap();
    (out, stats)
}

fn payload(i: usize) -> Vec<u8> {
    // Mixes compressible and incompressible records.
    if i.is_multiple_of(3) {
        vec![(i % 251) as u8; 50 + i % 700]
    } else {
        format!("record {i}").into_bytes()
    }
}

#[test]
fn replay_across_rotations_in_every_mode() {
    for mode in [
        SyncMode::Always,
        SyncMode::Os,
        SyncMode::Interval(Duration::from_secs(3600)),
    ] {
        let (sim, fs, dir) = sim();
        let wal = Wal::create(Arc::clone(&fs), &dir, 10, mode).unwrap();
        let mut want = Vec::new();
        for i in 0..60 {
            if i % 20 == 19 {
                wal.rotate(wal.segment_id() + 1 + i as u64).unwrap();
            }
            wal.append(&payload(i)).unwrap();
            want.push((wal.segment_id(), payload(i)));
        }
        wal.sync().unwrap();
        assert_eq!(wal.mode(), mode);
        let segments = list_segments(&sim, &dir).unwrap();
        assert_eq!(segments, vec![10, 30, 70, 130]);
        let (got, stats) = replay_all(&sim, &dir, 0);
        assert_eq!(got, want, "{mode:?}");
        assert_eq!(stats.segments, 4);
        assert_eq!(stats.records, 60);
        assert_eq!(stats.torn_tails, 0);
        assert_eq!(stats.last_segment, Some(130));
        assert_eq!(
            stats.bytes,
            want.iter().map(|(_, p)| p.len() as u64).sum::<u64>()
        );
        // Replay from a later segment skips the earlier ones.
        let (later, _) = replay_all(&sim, &dir, 30);
        assert_eq!(later, want[19..].to_vec());
        drop(wal);
    }
}

#[test]
fn group_commit_makes_every_acknowledged_record_durable() {
    let (sim, fs, dir) = sim();
    let wal = Arc::new(Wal::create(Arc::clone(&fs), &dir, 1, SyncMode::Always).unwrap());
    let threads = 4;
    let per_thread = 100;
    std::thread::scope(|s| {
        for t in 0..threads {
            let wal = Arc::clone(&wal);
            s.spawn(move || {
                for i in 0..per_thread {
                    wal.append(format!("{t}:{i}").as_bytes()).unwrap();
                }
            });
        }
    });
    // A power cut right after the last acknowledgement, before the Wal is dropped.
    sim.crash();
    let (got, stats) = replay_all(&sim, &dir, 0);
    assert_eq!(stats.torn_tails, 0);
    assert_eq!(got.len(), threads * per_thread);
    // Each thread's records are all there, in its order.
    for t in 0..threads {
        let mine: Vec<String> = got
            .iter()
            .map(|(_, p)| String::from_utf8(p.clone()).unwrap())
            .filter(|p| p.starts_with(&format!("{t}:")))
            .collect();
        let want: Vec<String> = (0..per_thread).map(|i| format!("{t}:{i}")).collect();
        assert_eq!(mine, want);
    }
    // The dead handle now fails, which poisons the log.
    assert!(wal.append(b"after the crash").is_err());
    assert!(matches!(wal.append(b"again"), Err(Error::Poisoned(_))));
}

#[test]
fn os_mode_survives_a_process_crash_but_not_a_power_cut() {
    let (sim, fs, dir) = sim();
    let wal = Wal::create(Arc::clone(&fs), &dir, 1, SyncMode::Os).unwrap();
    for i in 0..10 {
        wal.append(&payload(i)).unwrap();
    }
    sim.kill_process();
    drop(wal);
    let (got, _) = replay_all(&sim, &dir, 0);
    assert_eq!(got.len(), 10, "every append reached the OS");
    sim.crash();
    let (got, stats) = replay_all(&sim, &dir, 0);
    assert!(got.is_empty(), "nothing was fsync'd");
    assert_eq!((stats.segments, stats.torn_tails), (1, 0));
}

#[test]
fn os_mode_sync_and_rotate_make_records_durable() {
    let (sim, fs, dir) = sim();
    let wal = Wal::create(Arc::clone(&fs), &dir, 1, SyncMode::Os).unwrap();
    wal.append(b"a").unwrap();
    wal.rotate(2).unwrap();
    wal.append(b"b").unwrap();
    wal.sync().unwrap();
    wal.append(b"lost").unwrap();
    sim.crash();
    let (got, _) = replay_all(&sim, &dir, 0);
    assert_eq!(got, vec![(1, b"a".to_vec()), (2, b"b".to_vec())]);
}

#[test]
fn interval_mode_syncs_in_the_background() {
    let (sim, fs, dir) = sim();
    let wal = Wal::create(
        Arc::clone(&fs),
        &dir,
        1,
        SyncMode::Interval(Duration::from_millis(2)),
    )
    .unwrap();
    for i in 0..5 {
        wal.append(&payload(i)).unwrap();
    }
    let path = dir.join(segment_file_name(1));
    let flushed = sim.read(&path).unwrap().len() as u64;
    // Wait (without a timed assertion) for the syncer to catch up.
    let mut waited = 0;
    while sim.durable_len(&path) != Some(flushed) {
        assert!(waited < 10_000, "the syncer never synced");
        std::thread::sleep(Duration::from_millis(1));
        waited += 1;
    }
    sim.crash();
    let (got, _) = replay_all(&sim, &dir, 0);
    assert_eq!(got.len(), 5);
    drop(wal);
}

#[test]
fn interval_mode_drop_is_prompt_stops_the_thread_and_syncs() {
    let (sim, fs, dir) = sim();
    let wal = Wal::create(
        Arc::clone(&fs),
        &dir,
        1,
        SyncMode::Interval(Duration::from_secs(3600)),
    )
    .unwrap();
    wal.append(b"kept by the final sync").unwrap();
    assert_eq!(Arc::strong_count(&fs), 2, "the Wal holds one reference");
    // With an hour-long interval this would hang if drop waited for the timer.
    drop(wal);
    assert_eq!(Arc::strong_count(&fs), 1, "the syncer thread has exited");
    sim.crash();
    let (got, _) = replay_all(&sim, &dir, 0);
    assert_eq!(got, vec![(1, b"kept by the final sync".to_vec())]);
}

/// Runs a workload of appends and rotations on a fresh SimFs, failing every operation
/// from the `k`th on, and checks what a power cut (or a process crash) keeps.
fn fail_at(k: u64, power_cut: bool) -> bool {
    let (sim, fs, dir) = sim();
    sim.fail_after(k);
    let mut acked: Vec<Vec<u8>> = Vec::new();
    let mut attempted: Vec<Vec<u8>> = Vec::new();
    let mut next_segment = 1;
    let reached_end = (|| -> Result<(), Error> {
        let wal = Wal::create(Arc::clone(&fs), &dir, next_segment, SyncMode::Always)?;
        for i in 0..12 {
            if i % 5 == 4 {
                next_segment += 10;
                wal.rotate(next_segment)?;
            }
            attempted.push(payload(i));
            wal.append(&payload(i))?;
            acked.push(payload(i));
        }
        Ok(())
    })()
    .is_ok();
    if power_cut {
        sim.crash();
    } else {
        sim.kill_process();
    }
    sim.clear_faults();
    let got: Vec<Vec<u8>> = replay_all(&sim, &dir, 0)
        .0
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    // Everything acknowledged is there, in order; at most the one in flight follows.
    assert!(got.len() >= acked.len(), "k={k}: lost acknowledged records");
    assert_eq!(&got[..acked.len()], &acked[..], "k={k}");
    assert!(
        got.len() <= attempted.len(),
        "k={k}: records out of thin air"
    );
    assert_eq!(&got[..], &attempted[..got.len()], "k={k}");
    reached_end
}

#[test]
fn failure_at_every_operation_keeps_every_acknowledged_record() {
    for power_cut in [true, false] {
        let mut k = 0;
        while !fail_at(k, power_cut) {
            k += 1;
        }
        assert!(k > 20, "the workload performs many operations");
    }
}

#[test]
fn a_torn_segment_does_not_stop_replay_of_later_ones() {
    let (sim, fs, dir) = sim();
    let wal = Wal::create(Arc::clone(&fs), &dir, 1, SyncMode::Always).unwrap();
    wal.append(b"one").unwrap();
    sim.fail_after(0);
    assert!(wal.append(b"half-written record").is_err());
    sim.clear_faults();
    drop(wal);
    // The reopened owner continues in a new segment.
    let (got, stats) = replay_all(&sim, &dir, 0);
    assert_eq!(got, vec![(1, b"one".to_vec())]);
    assert_eq!(stats.torn_tails, 1);
    assert!(stats.dropped_bytes > 0);
    let next = stats.last_segment.unwrap() + 1;
    let wal = Wal::create(Arc::clone(&fs), &dir, next, SyncMode::Always).unwrap();
    wal.append(b"two").unwrap();
    let (got, stats) = replay_all(&sim, &dir, 0);
    assert_eq!(got, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
    assert_eq!(stats.torn_tails, 1);
}

#[test]
fn damage_is_dropped_in_the_last_segment_and_corruption_in_a_sealed_one() {
    let (sim, fs, dir) = sim();
    let wal = Wal::create(Arc::clone(&fs), &dir, 1, SyncMode::Always).unwrap();
    wal.append(b"first record").unwrap();
    wal.append(b"second record").unwrap();
    let path = dir.join(segment_file_name(1));
    let mut data = sim.read(&path).unwrap();
    // The header record is 29 bytes; damage the first payload.
    data[29 + 9 + 2] ^= 0x40;
    let overwrite = |data: &[u8]| {
        let mut f = sim.create(&path).unwrap();
        f.write_all(data).unwrap();
        f.sync().unwrap();
    };
    overwrite(&data);
    // In the last segment: the longest intact prefix, and a flag for the owner.
    let (got, stats) = replay_all(&sim, &dir, 0);
    assert!(got.is_empty());
    assert!(stats.damaged_tail);
    assert_eq!(stats.dropped_bytes, data.len() as u64 - 29);
    // Once segment 1 is sealed and another follows, the same damage is corruption.
    wal.rotate(2).unwrap();
    wal.append(b"third record").unwrap();
    match replay(&sim, &dir, 0, |_, _| Ok(())) {
        Err(Error::Corruption { file, offset, .. }) => {
            assert_eq!(file, path);
            assert_eq!(offset, 29);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    // A damaged header is corruption wherever it is.
    let seg2 = dir.join(segment_file_name(2));
    let mut data = sim.read(&seg2).unwrap();
    data[3] ^= 1;
    let mut f = sim.create(&seg2).unwrap();
    f.write_all(&data).unwrap();
    f.sync().unwrap();
    assert!(matches!(
        replay(&sim, &dir, 2, |_, _| Ok(())),
        Err(Error::Corruption { .. })
    ));
}

#[test]
fn segment_housekeeping() {
    let (sim, fs, dir) = sim();
    let wal = Wal::create(Arc::clone(&fs), &dir, 5, SyncMode::Os).unwrap();
    for id in [6, 9, 12] {
        wal.rotate(id).unwrap();
    }
    // A smaller or existing id is refused and does not poison.
    assert!(matches!(wal.rotate(12), Err(Error::InvalidArgument(_))));
    wal.append(b"x").unwrap();
    for junk in ["5.wal", "00000000000000000007.wal.tmp", "notes"] {
        drop(sim.create(&dir.join(junk)).unwrap());
    }
    assert_eq!(list_segments(&sim, &dir).unwrap(), vec![5, 6, 9, 12]);
    remove_segments_below(&sim, &dir, 9).unwrap();
    assert_eq!(list_segments(&sim, &dir).unwrap(), vec![9, 12]);
    sim.crash();
    assert_eq!(list_segments(&sim, &dir).unwrap(), vec![9, 12]);
    assert!(matches!(
        Wal::create(Arc::clone(&fs), &dir, 12, SyncMode::Os),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn works_on_the_real_file_system() {
    let tmp = tempfile::tempdir().unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(StdFs);
    let wal = Arc::new(Wal::create(Arc::clone(&fs), tmp.path(), 1, SyncMode::Always).unwrap());
    std::thread::scope(|s| {
        for t in 0..2 {
            let wal = Arc::clone(&wal);
            s.spawn(move || {
                for i in 0..20 {
                    wal.append(&payload(t * 100 + i)).unwrap();
                }
            });
        }
    });
    wal.rotate(2).unwrap();
    wal.append(b"last").unwrap();
    drop(wal);
    let (got, stats) = replay_all(fs.as_ref(), tmp.path(), 0);
    assert_eq!(got.len(), 41);
    assert_eq!(stats.segments, 2);
    assert_eq!(got.last().unwrap(), &(2, b"last".to_vec()));
}

/// A file system over [`SimFs`] that counts fsyncs and, once armed, holds the next
/// one at a gate until the test releases it (with success or failure). It makes group
/// commit observable without timing assumptions.
#[derive(Debug, Clone)]
struct GatedFs {
    inner: SimFs,
    gate: Arc<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    state: std::sync::Mutex<GateState>,
    changed: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    armed: bool,
    held: usize,
    release: Option<bool>,
    syncs: usize,
}

impl Gate {
    fn arm(&self) {
        self.state.lock().unwrap().armed = true;
    }
    fn wait_until_held(&self) {
        let mut st = self.state.lock().unwrap();
        while st.held == 0 {
            st = self.changed.wait(st).unwrap();
        }
    }
    fn release(&self, succeed: bool) {
        self.state.lock().unwrap().release = Some(succeed);
        self.changed.notify_all();
    }
    fn syncs(&self) -> usize {
        self.state.lock().unwrap().syncs
    }
    /// Called by every fsync: counts it and holds it if the gate is armed.
    fn pass(&self) -> tidestore::Result<()> {
        let mut st = self.state.lock().unwrap();
        st.syncs += 1;
        if !st.armed {
            return Ok(());
        }
        st.armed = false;
        st.held += 1;
        self.changed.notify_all();
        while st.release.is_none() {
            st = self.changed.wait(st).unwrap();
        }
        st.held -= 1;
        match st.release {
            Some(false) => Err(std::io::Error::other("gated fsync failed").into()),
            _ => Ok(()),
        }
    }
}

struct GatedFile {
    inner: Box<dyn tidestore::io::fs::WritableFile>,
    gate: Arc<Gate>,
}

impl tidestore::io::fs::WritableFile for GatedFile {
    fn write_all(&mut self, buf: &[u8]) -> tidestore::Result<()> {
        self.inner.write_all(buf)
    }
    fn flush(&mut self) -> tidestore::Result<()> {
        self.inner.flush()
    }
    fn sync(&mut self) -> tidestore::Result<()> {
        self.gate.pass()?;
        self.inner.sync()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

impl FileSystem for GatedFs {
    fn create_dir_all(&self, dir: &Path) -> tidestore::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn create(&self, path: &Path) -> tidestore::Result<Box<dyn tidestore::io::fs::WritableFile>> {
        Ok(Box::new(GatedFile {
            inner: self.inner.create(path)?,
            gate: Arc::clone(&self.gate),
        }))
    }
    fn read(&self, path: &Path) -> tidestore::Result<Vec<u8>> {
        self.inner.read(path)
    }
    fn map(&self, path: &Path) -> tidestore::Result<tidestore::io::fs::FileBytes> {
        self.inner.map(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> tidestore::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> tidestore::Result<()> {
        self.inner.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> tidestore::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn sync_file(&self, path: &Path) -> tidestore::Result<()> {
        self.gate.pass()?;
        self.inner.sync_file(path)
    }
    fn list(&self, dir: &Path) -> tidestore::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn lock_dir(&self, dir: &Path) -> tidestore::Result<Box<dyn tidestore::io::fs::DirLockGuard>> {
        self.inner.lock_dir(dir)
    }
}

/// What [`gated_group`] observed.
struct GroupOutcome {
    sim: SimFs,
    /// Fsyncs after the segment header's.
    syncs: usize,
    leader: tidestore::Result<()>,
    waiters: Vec<tidestore::Result<()>>,
}

/// Starts a leader whose fsync is held at the gate, then `waiters` appenders that
/// queue behind it, waits until all of their records are in the pending batch, and
/// opens the gate with `succeed`.
fn gated_group(waiters: usize, succeed: bool) -> GroupOutcome {
    let (sim, _, dir) = sim();
    let gate = Arc::new(Gate::default());
    let fs: Arc<dyn FileSystem> = Arc::new(GatedFs {
        inner: sim.clone(),
        gate: Arc::clone(&gate),
    });
    let wal = Wal::create(fs, &dir, 1, SyncMode::Always).unwrap();
    let before = gate.syncs();
    gate.arm();
    let wal = &wal;
    let (leader, results) = std::thread::scope(|s| {
        let leader = s.spawn(move || wal.append(b"leader"));
        gate.wait_until_held();
        let handles: Vec<_> = (0..waiters)
            .map(|i| s.spawn(move || wal.append(format!("waiter {i}").as_bytes())))
            .collect();
        // Every record here is plain: 9 header bytes + payload.
        let marker = format!("appended: {},", (9 + 6) + waiters * (9 + 8));
        let mut polls = 0;
        while !format!("{wal:?}").contains(&marker) {
            assert!(polls < 100_000, "the waiters never queued");
            std::thread::sleep(Duration::from_micros(100));
            polls += 1;
        }
        gate.release(succeed);
        let leader = leader.join().unwrap();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (leader, results)
    });
    GroupOutcome {
        sim,
        syncs: gate.syncs() - before,
        leader,
        waiters: results,
    }
}

#[test]
fn one_fsync_covers_every_appender_that_queued_during_the_previous_one() {
    let out = gated_group(7, true);
    out.leader.unwrap();
    for w in out.waiters {
        w.unwrap();
    }
    // The leader's fsync, and one for all seven waiters.
    assert_eq!(out.syncs, 2);
    let sim = out.sim;
    sim.crash();
    let (got, _) = replay_all(&sim, Path::new("/db/wal"), 0);
    assert_eq!(got.len(), 8);
    assert_eq!(got[0].1, b"leader");
}

#[test]
fn a_failed_group_fsync_poisons_every_waiter() {
    let out = gated_group(3, false);
    assert!(matches!(out.leader, Err(Error::Io(_))));
    for w in out.waiters {
        assert!(matches!(w, Err(Error::Poisoned(_))));
    }
    assert_eq!(out.syncs, 1, "nobody retried the fsync");
    let sim = out.sim;
    sim.crash();
    let (got, _) = replay_all(&sim, Path::new("/db/wal"), 0);
    assert!(got.is_empty(), "nothing was made durable");
}
