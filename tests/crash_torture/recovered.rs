//! Minimal reproducers of what the harness found: writes recovered by an open that a
//! later power cut loses. Ignored until the fixes land (they fail today); the lead
//! removes the `#[ignore]`s after merging the fixes.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::ThreadId;

use tidestore::io::fs::{DirLockGuard, FileBytes, FileSystem, WritableFile};
use tidestore::io::sim_fs::SimFs;
use tidestore::io::wal::SyncMode;
use tidestore::{Db, Result};

use crate::gate_fs::GateFs;

/// Ends a process's life: the handle dies behind a closed gate, then the power goes
/// (or only the process).
fn end<T>(fs: &SimFs, gate: &GateFs, handle: T, power_cut: bool) {
    gate.close();
    if power_cut {
        fs.crash();
    } else {
        fs.kill_process();
    }
    drop(handle);
}

/// A file system on which, while it is held, every `create` called by another thread
/// than the test's waits: it stops a background flush before it writes its table.
#[derive(Debug, Clone)]
struct HoldFs {
    fs: GateFs,
    held: Arc<(Mutex<bool>, Condvar)>,
    test_thread: ThreadId,
}

impl HoldFs {
    fn set(&self, on: bool) {
        let (lock, cv) = &*self.held;
        *lock.lock().expect("lock") = on;
        cv.notify_all();
    }
}

impl FileSystem for HoldFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.fs.create_dir_all(dir)
    }
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let (lock, cv) = &*self.held;
        let background = std::thread::current().id() != self.test_thread;
        let mut held = lock.lock().expect("lock");
        while background && *held {
            held = cv.wait(held).expect("lock");
        }
        drop(held);
        self.fs.create(path)
    }
    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        self.fs.read(path)
    }
    fn map(&self, path: &Path) -> Result<FileBytes> {
        self.fs.map(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.fs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        self.fs.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.fs.sync_dir(dir)
    }
    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        self.fs.list(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        self.fs.exists(path)
    }
    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn DirLockGuard>> {
        self.fs.lock_dir(dir)
    }
}

/// Opens the store; `held`: background threads create no file until
/// [`HoldFs::set`]`(false)`.
fn kv_open(
    fs: &SimFs,
    sync: SyncMode,
    background: bool,
    held: bool,
) -> (HoldFs, tidestore::kv::Store) {
    let hold = HoldFs {
        fs: GateFs::new(fs),
        held: Arc::new((Mutex::new(held), Condvar::new())),
        test_thread: std::thread::current().id(),
    };
    let opts = tidestore::kv::Options::default()
        .fs(Arc::new(hold.clone()))
        .sync_mode(sync)
        .background_work(background);
    let store = tidestore::kv::Store::open_with(Path::new("/kv"), opts).expect("open");
    (hold, store)
}

/// `kv::Store` with background work: the memtables recovered at open are flushed by
/// the background thread after `open` returns; until that flush is done they live only
/// in the replayed WAL segment, which is never synced, so a power cut in between loses
/// them, even under `SyncMode::Always` and while a later write survives. (Without
/// background work the flush runs inside `open`.) The test holds the background flush
/// back until the power cut, as a slow disk or a busy machine would.
#[test]
#[ignore = "kv: memtables recovered at open are flushed asynchronously with background work"]
fn kv_writes_recovered_at_open_survive_a_power_cut() {
    for background in [false, true] {
        let fs = SimFs::new();
        let (hold, store) = kv_open(&fs, SyncMode::Os, background, false);
        store.put("cf", b"k1", b"v1").expect("put");
        end(&fs, &hold.fs, store, false);
        // The background flush of what this open recovers waits for the power cut.
        let (hold, store) = kv_open(&fs, SyncMode::Always, background, true);
        assert_eq!(
            store.get("cf", b"k1").expect("get").as_deref(),
            Some(&b"v1"[..])
        );
        store.put("cf", b"k2", b"v2").expect("put"); // fsync'd before it returns
        hold.fs.close();
        fs.crash();
        hold.set(false); // the dead process goes on, against a closed gate
        drop(store);
        let (_hold, store) = kv_open(&fs, SyncMode::Always, background, false);
        let keys: Vec<Vec<u8>> = store
            .range("cf", ..)
            .expect("range")
            .map(|r| r.expect("row").0)
            .collect();
        assert_eq!(
            keys,
            [b"k1".to_vec(), b"k2".to_vec()],
            "background work {background}: the put recovered at the last open was lost"
        );
    }
}

fn ts_open(fs: &SimFs, sync: SyncMode) -> (GateFs, Db) {
    let gate = GateFs::new(fs);
    let opts = tidestore::ts::Options::default()
        .fs(gate.shared())
        .sync_mode(sync)
        .background_work(false);
    (gate, Db::open_with(Path::new("/ts"), opts).expect("open"))
}

/// Issue 8 defect 1 under `SyncMode::Always` (which the issue calls unaffected): a
/// point written under `Os` and recovered after a kill by an open in `Always` mode is
/// lost by a power cut, while a point written after it survives.
#[test]
#[ignore = "issue 8 defect 1: the WAL segment replayed at open is never synced"]
fn ts_points_recovered_at_open_survive_a_power_cut_in_always_mode() {
    let fs = SimFs::new();
    let (gate, db) = ts_open(&fs, SyncMode::Os);
    db.insert("m", 1, 1.0, &[]).expect("insert");
    end(&fs, &gate, db, false);
    let (gate, db) = ts_open(&fs, SyncMode::Always);
    assert_eq!(db.query_metric("m").expect("query").len(), 1, "recovered");
    db.insert("m", 2, 2.0, &[]).expect("insert"); // fsync'd before it returns
    end(&fs, &gate, db, true);
    let (_gate, db) = ts_open(&fs, SyncMode::Always);
    let times: Vec<i64> = db
        .query_metric("m")
        .expect("query")
        .iter()
        .map(|p| p.timestamp)
        .collect();
    assert_eq!(
        times,
        [1, 2],
        "the point recovered at the last open was lost"
    );
}
