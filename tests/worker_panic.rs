//! A background worker that panics poisons its handle: later writes return
//! `Error::Poisoned` naming the worker, instead of going on as if their data would
//! ever be flushed (or, in the key-value store, waiting forever for the flush that
//! unblocks them). Reads keep working, and a reopen recovers every acknowledged write.
//!
//! The panic comes from the file system: `PanickingFs` panics when the engine starts
//! writing a table or segment file, which only a flush or a compaction does; with
//! background work on, that is the background worker.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tidestore::io::fs::{DirLockGuard, FileBytes, FileSystem, WritableFile};
use tidestore::io::sim_fs::SimFs;
use tidestore::{Db, Error, Point, Result, SyncMode, kv, ts};

/// `SimFs`, but `create` of a `.sst.tmp` or `.seg.tmp` file panics while armed.
#[derive(Debug, Clone)]
struct PanickingFs {
    fs: SimFs,
    armed: Arc<AtomicBool>,
}

impl PanickingFs {
    fn new(fs: &SimFs) -> Self {
        PanickingFs {
            fs: fs.clone(),
            armed: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl FileSystem for PanickingFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.fs.create_dir_all(dir)
    }
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let name = path.file_name().unwrap().to_string_lossy();
        let table = name.ends_with(".sst.tmp") || name.ends_with(".seg.tmp");
        if table && self.armed.load(Ordering::SeqCst) {
            panic!("PanickingFs: create {name}");
        }
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
    fn sync_file(&self, path: &Path) -> Result<()> {
        self.fs.sync_file(path)
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

/// Calls `write(i)` for i = 0, 1, ... until it fails, and returns that error. Every
/// write before it was acknowledged.
fn write_until_error(mut write: impl FnMut(u64) -> Result<()>) -> (u64, Error) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0.. {
        if let Err(e) = write(i) {
            return (i, e);
        }
        if i % 64 == 0 {
            assert!(Instant::now() < deadline, "no error after {i} writes");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    unreachable!()
}

fn assert_poisoned_by_a_panic(e: &Error) {
    match e {
        Error::Poisoned(why) => assert!(why.contains("panicked"), "{why}"),
        other => panic!("expected Poisoned, got {other:?}"),
    }
}

#[test]
fn a_panicking_flush_worker_poisons_the_store() {
    let sim = SimFs::new();
    let fs = PanickingFs::new(&sim);
    let dir = Path::new("/kv");
    let opts = |fs: Arc<dyn FileSystem>| {
        kv::Options::default()
            .fs(fs)
            .sync_mode(SyncMode::Always)
            .memtable_bytes(4096)
    };
    let store = kv::Store::open_with(dir, opts(Arc::new(fs.clone()))).unwrap();
    let value = vec![7u8; 100];
    let (acked, err) = write_until_error(|i| store.put("cf", i.to_be_bytes(), &value));
    assert_poisoned_by_a_panic(&err);
    // Reads go on; every later write, flush and close is refused.
    assert_eq!(
        store.get("cf", 0u64.to_be_bytes()).unwrap(),
        Some(value.clone())
    );
    assert!(matches!(
        store.put("cf", b"x", b"y"),
        Err(Error::Poisoned(_))
    ));
    assert!(matches!(store.flush(), Err(Error::Poisoned(_))));
    assert!(matches!(store.close(), Err(Error::Poisoned(_))));

    fs.armed.store(false, Ordering::SeqCst);
    let store = kv::Store::open_with(dir, opts(Arc::new(fs))).unwrap();
    for i in 0..acked {
        assert_eq!(
            store.get("cf", i.to_be_bytes()).unwrap(),
            Some(value.clone())
        );
    }
    store.close().unwrap();
}

#[test]
fn a_panicking_background_worker_poisons_the_db() {
    let sim = SimFs::new();
    let fs = PanickingFs::new(&sim);
    let dir = Path::new("/ts");
    let opts = |fs: Arc<dyn FileSystem>| {
        ts::Options::default()
            .fs(fs)
            .sync_mode(SyncMode::Always)
            .head_bytes(4096)
            // Writers never flush inline (they would when too many heads wait):
            // only the background worker meets the panic.
            .max_frozen_heads(1 << 20)
    };
    let db = Db::open_with(dir, opts(Arc::new(fs.clone()))).unwrap();
    let tags = [("host", "a")];
    let (acked, err) = write_until_error(|i| db.insert("cpu", i as i64, i as f64, &tags));
    assert_poisoned_by_a_panic(&err);
    assert_eq!(
        db.get("cpu", 0).unwrap(),
        vec![Point::new("cpu", 0, 0.0, &tags)]
    );
    assert!(matches!(
        db.insert("cpu", -1, 0.0, &tags),
        Err(Error::Poisoned(_))
    ));
    assert!(matches!(db.flush(), Err(Error::Poisoned(_))));
    assert!(matches!(db.close(), Err(Error::Poisoned(_))));

    fs.armed.store(false, Ordering::SeqCst);
    let db = Db::open_with(dir, opts(Arc::new(fs))).unwrap();
    let points = db.query_metric("cpu").unwrap();
    assert_eq!(points.len() as u64, acked);
    db.close().unwrap();
}
