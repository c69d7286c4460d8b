//! [`GateFs`]: a `SimFs` seen through a gate that a simulated crash closes.
//!
//! After `SimFs::crash` or `SimFs::kill_process` the process that held the old handle
//! is dead in the story, but in the fuzzer its `Store` / `Db` value still exists and
//! must be dropped (leaking it would trip LeakSanitizer, and keep its memory across
//! runs). Its destructor would still reach the file system through calls that take a
//! path (`create`, `rename`, `remove_file`, `sync_dir`, ...). Each session opens its
//! handle on a fresh `GateFs`; closing the gate right after the crash makes every later
//! call of the dead handle fail with an I/O error, so dropping it changes nothing, as
//! with a real dead process.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tidestore::io::fs::{DirLockGuard, FileBytes, FileSystem, WritableFile};
use tidestore::io::sim_fs::SimFs;
use tidestore::{Error, Result};

/// A view of a [`SimFs`] that [`GateFs::close`] turns into a wall of I/O errors.
/// Clones share the gate.
#[derive(Debug, Clone)]
pub struct GateFs {
    fs: SimFs,
    closed: Arc<AtomicBool>,
}

impl GateFs {
    /// An open gate onto `fs`.
    pub fn new(fs: &SimFs) -> Self {
        GateFs {
            fs: fs.clone(),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Closes the gate for good: every later call fails (`exists` says false).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// The gate as an `Arc<dyn FileSystem>` for the options of a store or database.
    pub fn shared(&self) -> Arc<dyn FileSystem> {
        Arc::new(self.clone())
    }

    fn check(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::from(std::io::Error::other(
                "gate_fs: the process that opened this handle is dead",
            )));
        }
        Ok(())
    }
}

impl FileSystem for GateFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.check()?;
        self.fs.create_dir_all(dir)
    }
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.check()?;
        self.fs.create(path)
    }
    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        self.check()?;
        self.fs.read(path)
    }
    fn map(&self, path: &Path) -> Result<FileBytes> {
        self.check()?;
        self.fs.map(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.check()?;
        self.fs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        self.check()?;
        self.fs.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.check()?;
        self.fs.sync_dir(dir)
    }
    fn sync_file(&self, path: &Path) -> Result<()> {
        self.check()?;
        self.fs.sync_file(path)
    }
    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        self.check()?;
        self.fs.list(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        self.check().is_ok() && self.fs.exists(path)
    }
    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn DirLockGuard>> {
        self.check()?;
        self.fs.lock_dir(dir)
    }
}
