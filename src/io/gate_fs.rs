//! [`GateFs`]: a file system seen through a gate that a simulated process death closes.
//!
//! Crash tests on [`SimFs`](super::sim_fs::SimFs) kill a "process" (`kill_process`,
//! `crash`) while its `Store` or `Db` value still exists in the test: dropping it runs
//! its destructor, and its background threads may still be running, both reaching the
//! file system through calls that take a path (`create`, `rename`, `remove_file`,
//! `sync_dir`, ...). A real dead process does nothing of the kind. Each simulated
//! process opens its handle on its own `GateFs`; closing the gate when it dies makes
//! every later call fail with an I/O error (and `exists` say false), so whatever the
//! dead handle still does changes no file.
//!
//! A hook run before every `create` (before the gate is checked: it may block until
//! the process dies) lets a test hold back a background job at the file it makes.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::fs::{DirLockGuard, FileBytes, FileSystem, WritableFile};
use crate::error::{Error, Result};

/// Called with the path of every `create`, before the gate is checked.
type CreateHook = Arc<dyn Fn(&Path) + Send + Sync>;

/// A view of a file system that [`GateFs::close`] turns into a wall of I/O errors.
/// Clones share the gate and the hook.
#[derive(Clone)]
pub struct GateFs {
    fs: Arc<dyn FileSystem>,
    closed: Arc<AtomicBool>,
    before_create: Option<CreateHook>,
}

impl fmt::Debug for GateFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateFs")
            .field("closed", &self.is_closed())
            .field("before_create", &self.before_create.is_some())
            .finish_non_exhaustive()
    }
}

impl GateFs {
    /// An open gate onto `fs`.
    pub fn new(fs: Arc<dyn FileSystem>) -> Self {
        GateFs {
            fs,
            closed: Arc::new(AtomicBool::new(false)),
            before_create: None,
        }
    }

    /// Runs `hook` with the path of every `create` first (before the gate is checked).
    pub fn before_create(mut self, hook: impl Fn(&Path) + Send + Sync + 'static) -> Self {
        self.before_create = Some(Arc::new(hook));
        self
    }

    /// Closes the gate for good: every later call fails (`exists` says false).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The gate as an `Arc<dyn FileSystem>`, for the options of a store or database.
    pub fn shared(&self) -> Arc<dyn FileSystem> {
        Arc::new(self.clone())
    }

    fn check(&self) -> Result<()> {
        if self.is_closed() {
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
        if let Some(hook) = &self.before_create {
            hook(path);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::sim_fs::SimFs;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_closed_gate_refuses_every_call_and_changes_nothing() {
        let sim = SimFs::new();
        let creates = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&creates);
        let gate = GateFs::new(Arc::new(sim.clone())).before_create(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let dir = Path::new("/db");
        gate.create_dir_all(dir).unwrap();
        let mut f = gate.create(&dir.join("a")).unwrap();
        f.write_all(b"x").unwrap();
        f.flush().unwrap();
        drop(f);
        assert!(gate.exists(&dir.join("a")));
        gate.close();
        assert!(gate.is_closed());
        assert!(gate.create(&dir.join("b")).is_err());
        assert!(gate.rename(&dir.join("a"), &dir.join("c")).is_err());
        assert!(gate.remove_file(&dir.join("a")).is_err());
        assert!(gate.read(&dir.join("a")).is_err());
        assert!(!gate.exists(&dir.join("a")));
        // the file system behind it is untouched, and the hook saw both creates
        assert_eq!(sim.read(&dir.join("a")).unwrap(), b"x");
        assert!(!sim.exists(&dir.join("b")) && !sim.exists(&dir.join("c")));
        assert_eq!(creates.load(Ordering::SeqCst), 2);
    }
}
