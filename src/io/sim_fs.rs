//! `SimFs`: an in-memory [`FileSystem`] for fault-injection and power-cut tests.
//!
//! # Durability model
//!
//! SimFs keeps three layers of state, mirroring a real kernel and disk:
//!
//! 1. **The handle's buffer.** [`WritableFile::write_all`] appends to a buffer private
//!    to the handle, like a user-space `BufWriter`. [`WritableFile::flush`] hands it to
//!    "the OS"; dropping a live handle flushes too (as `BufWriter` does).
//! 2. **The OS view** (page cache and directory cache): what `read`, `map`, `list` and
//!    `exists` see. It survives a process crash ([`SimFs::kill_process`]).
//! 3. **The disk**: what a power cut ([`SimFs::crash`]) keeps.
//!    - A file's data is durable up to its length at its last successful
//!      [`WritableFile::sync`] or [`FileSystem::sync_file`]. Bytes flushed after that
//!      are lost by a power cut (all of them: SimFs never keeps a random prefix of
//!      unsynced data).
//!    - Directory entries (a create, rename or remove) are durable once
//!      [`FileSystem::sync_dir`] of their directory succeeds; a power cut restores
//!      every directory to its entries at its last `sync_dir`. A rename between two
//!      directories is a remove in one and an add in the other, each made durable by
//!      its own directory's `sync_dir`. A file whose data was synced but whose entry
//!      never was disappears; a renamed file whose directory was not synced comes back
//!      under its old name.
//!    - Files are inodes: names point at them, so a rename keeps the synced data.
//!    - `create` of an existing name truncates that inode in place, and the
//!      truncation is durable at once (pessimistic for code that would rely on old
//!      contents surviving a re-create).
//!    - Directories (`create_dir_all`) and the `LOCK` file made by `lock_dir` are
//!      durable at once.
//!
//! Both kinds of crash invalidate every open handle (the process that held it is
//! gone): its unflushed bytes are lost and every later call on it fails with an I/O
//! error. Directory locks are released.
//!
//! # Fault injection
//!
//! Mutating operations are counted ([`SimFs::op_count`]): `create_dir_all`, `create`,
//! `write_all`, `sync`, `sync_file`, `rename`, `remove_file` and `sync_dir`; a call rejected before
//! it starts (its file or directory is missing) is not counted. After
//! [`SimFs::fail_after`]`(n)`, the next `n` succeed and every later one fails with an
//! [`Error::Io`] until [`SimFs::clear_faults`]. A failing operation changes nothing,
//! except a failing `write_all`, which keeps the first half of its bytes (a short
//! write), so a later flush can leave a torn record behind.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::fs::{DirLockGuard, FileBytes, FileSystem, WritableFile};
use crate::error::{Error, Result};

/// An in-memory file system with a power-cut model and fault injection (see the
/// module documentation for the exact model). Clones share the same state.
///
/// ```
/// use std::sync::Arc;
/// use tidestore::io::sim_fs::SimFs;
/// use tidestore::kv::{Options, Store, SyncMode};
/// # fn main() -> tidestore::Result<()> {
/// let fs = SimFs::new();
/// let opts = Options::default().fs(Arc::new(fs.clone())).sync_mode(SyncMode::Always);
/// let store = Store::open_with("/kv", opts.clone())?;
/// store.put("cf", "k", "v")?; // acknowledged after the WAL's fsync
/// drop(store);
/// fs.crash(); // a power cut: only what was synced survives
/// let store = Store::open_with("/kv", opts)?;
/// assert_eq!(store.get("cf", "k")?, Some(b"v".to_vec()));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct SimFs {
    inner: Arc<Mutex<State>>,
}

type InodeId = u64;

#[derive(Default)]
struct Inode {
    /// What the OS holds (flushed bytes).
    data: Vec<u8>,
    /// Length at the last successful sync: what a power cut keeps.
    synced_len: usize,
}

#[derive(Default, Clone)]
struct Dir {
    /// Entries as the OS sees them now.
    live: BTreeMap<String, InodeId>,
    /// Entries as of the last `sync_dir`: what a power cut keeps.
    durable: BTreeMap<String, InodeId>,
}

struct State {
    inodes: HashMap<InodeId, Inode>,
    next_inode: InodeId,
    dirs: HashMap<PathBuf, Dir>,
    /// Bumped by every simulated crash; handles from an older epoch are dead.
    epoch: u64,
    locks: HashMap<PathBuf, u64>,
    next_lock: u64,
    ops: u64,
    fail_at: Option<u64>,
}

impl Default for State {
    fn default() -> Self {
        let mut dirs = HashMap::new();
        // The roots of relative and absolute paths always exist.
        dirs.insert(PathBuf::new(), Dir::default());
        dirs.insert(PathBuf::from("/"), Dir::default());
        State {
            inodes: HashMap::new(),
            next_inode: 1,
            dirs,
            epoch: 0,
            locks: HashMap::new(),
            next_lock: 1,
            ops: 0,
            fail_at: None,
        }
    }
}

fn not_found(what: &str, path: &Path) -> Error {
    Error::from(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("simfs: {what} {} not found", path.display()),
    ))
}

fn stale_handle() -> Error {
    Error::from(std::io::Error::other(
        "simfs: file handle from before a simulated crash",
    ))
}

/// Splits a file path into its directory and its (UTF-8) name.
fn split(path: &Path) -> Result<(&Path, &str)> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid(format!("simfs: bad file path {}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    Ok((dir, name))
}

impl State {
    /// Counts one mutating operation and fails it if a fault is armed for it.
    fn count_op(&mut self, what: &str) -> Result<()> {
        let index = self.ops;
        self.ops += 1;
        match self.fail_at {
            Some(at) if index >= at => Err(Error::from(std::io::Error::other(format!(
                "simfs: injected fault at operation {index} ({what})"
            )))),
            _ => Ok(()),
        }
    }

    fn dir(&self, dir: &Path) -> Result<&Dir> {
        self.dirs
            .get(dir)
            .ok_or_else(|| not_found("directory", dir))
    }

    fn dir_mut(&mut self, dir: &Path) -> Result<&mut Dir> {
        self.dirs
            .get_mut(dir)
            .ok_or_else(|| not_found("directory", dir))
    }

    fn lookup(&self, path: &Path) -> Result<InodeId> {
        let (dir, name) = split(path)?;
        self.dir(dir)?
            .live
            .get(name)
            .copied()
            .ok_or_else(|| not_found("file", path))
    }

    fn contents(&self, path: &Path) -> Result<Vec<u8>> {
        let id = self.lookup(path)?;
        Ok(self
            .inodes
            .get(&id)
            .map(|inode| inode.data.clone())
            .unwrap_or_default())
    }

    fn new_inode(&mut self) -> InodeId {
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::default());
        id
    }

    /// A power cut: every directory and file goes back to its durable state.
    fn power_cut(&mut self) {
        let mut referenced = HashSet::new();
        for dir in self.dirs.values_mut() {
            dir.live = dir.durable.clone();
            referenced.extend(dir.live.values().copied());
        }
        self.inodes.retain(|id, _| referenced.contains(id));
        for inode in self.inodes.values_mut() {
            inode.data.truncate(inode.synced_len);
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every critical section either completes its mutation or returns before making
    // one (see `crate::engine::lock`).
    crate::engine::lock::lock(state)
}

impl SimFs {
    /// An empty file system with no faults armed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates a power cut: every file keeps only the bytes it had at its last
    /// sync, every directory only the entries it had at its last `sync_dir`, every
    /// open handle dies and every directory lock is released. Armed faults stay armed.
    pub fn crash(&self) {
        let mut st = lock(&self.inner);
        st.epoch += 1;
        st.locks.clear();
        st.power_cut();
    }

    /// Simulates the process dying (kill -9): every open handle dies with its
    /// unflushed bytes and every directory lock is released, but everything handed to
    /// the OS stays visible, as on a real machine that keeps running.
    pub fn kill_process(&self) {
        let mut st = lock(&self.inner);
        st.epoch += 1;
        st.locks.clear();
    }

    /// Lets the next `n` mutating operations succeed, then fails that one and every
    /// later one with an I/O error until [`SimFs::clear_faults`].
    pub fn fail_after(&self, n: u64) {
        let mut st = lock(&self.inner);
        st.fail_at = Some(st.ops.saturating_add(n));
    }

    /// Disarms [`SimFs::fail_after`].
    pub fn clear_faults(&self) {
        lock(&self.inner).fail_at = None;
    }

    /// Mutating operations attempted so far (failed ones included).
    pub fn op_count(&self) -> u64 {
        lock(&self.inner).ops
    }

    /// The length of `path` that would survive a power cut now, or `None` if its
    /// directory entry would not (it is missing from the durable directory).
    pub fn durable_len(&self, path: &Path) -> Option<u64> {
        let st = lock(&self.inner);
        let (dir, name) = split(path).ok()?;
        let id = *st.dirs.get(dir)?.durable.get(name)?;
        st.inodes.get(&id).map(|inode| inode.synced_len as u64)
    }
}

impl fmt::Debug for SimFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // try_lock: Debug must not deadlock when called while the state is held.
        match self.inner.try_lock() {
            Ok(st) => f
                .debug_struct("SimFs")
                .field("dirs", &st.dirs.len())
                .field("inodes", &st.inodes.len())
                .field("ops", &st.ops)
                .field("fail_at", &st.fail_at)
                .field("epoch", &st.epoch)
                .finish(),
            Err(_) => f.write_str("SimFs { <busy> }"),
        }
    }
}

/// An open SimFs file: a user-space buffer in front of an inode.
struct SimFile {
    fs: Arc<Mutex<State>>,
    inode: InodeId,
    epoch: u64,
    pending: Vec<u8>,
    len: u64,
}

impl SimFile {
    /// Moves the handle's buffer into the inode (the "OS").
    fn flush_locked(&mut self, st: &mut State) {
        if let Some(inode) = st.inodes.get_mut(&self.inode) {
            inode.data.append(&mut self.pending);
        } else {
            // The inode is gone (only after a crash, which also kills this handle).
            self.pending.clear();
        }
    }
}

impl WritableFile for SimFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        let mut st = lock(&self.fs);
        if st.epoch != self.epoch {
            return Err(stale_handle());
        }
        if let Err(e) = st.count_op("write") {
            let kept = buf.get(..buf.len() / 2).unwrap_or_default();
            self.pending.extend_from_slice(kept);
            self.len += kept.len() as u64;
            return Err(e);
        }
        self.pending.extend_from_slice(buf);
        self.len += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let fs = Arc::clone(&self.fs);
        let mut st = lock(&fs);
        if st.epoch != self.epoch {
            return Err(stale_handle());
        }
        self.flush_locked(&mut st);
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        let fs = Arc::clone(&self.fs);
        let mut st = lock(&fs);
        if st.epoch != self.epoch {
            return Err(stale_handle());
        }
        st.count_op("sync")?;
        self.flush_locked(&mut st);
        if let Some(inode) = st.inodes.get_mut(&self.inode) {
            inode.synced_len = inode.data.len();
        }
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let fs = Arc::clone(&self.fs);
        let mut st = lock(&fs);
        if st.epoch == self.epoch {
            self.flush_locked(&mut st);
        }
    }
}

struct SimLock {
    fs: Arc<Mutex<State>>,
    dir: PathBuf,
    token: u64,
}

impl DirLockGuard for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut st = lock(&self.fs);
        // A crash may have released this lock and someone else may hold it now.
        if st.locks.get(&self.dir) == Some(&self.token) {
            st.locks.remove(&self.dir);
        }
    }
}

impl FileSystem for SimFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        let mut st = lock(&self.inner);
        st.count_op("create_dir_all")?;
        for ancestor in dir.ancestors() {
            st.dirs.entry(ancestor.to_path_buf()).or_default();
        }
        Ok(())
    }

    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let mut st = lock(&self.inner);
        let (dir, name) = split(path)?;
        st.dir(dir)?;
        st.count_op("create")?;
        let existing = st.dir(dir)?.live.get(name).copied();
        let id = match existing.filter(|id| st.inodes.contains_key(id)) {
            Some(id) => {
                if let Some(inode) = st.inodes.get_mut(&id) {
                    inode.data.clear();
                    inode.synced_len = 0;
                }
                id
            }
            None => {
                let id = st.new_inode();
                st.dir_mut(dir)?.live.insert(name.to_owned(), id);
                id
            }
        };
        Ok(Box::new(SimFile {
            fs: Arc::clone(&self.inner),
            inode: id,
            epoch: st.epoch,
            pending: Vec::new(),
            len: 0,
        }))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        lock(&self.inner).contents(path)
    }

    fn map(&self, path: &Path) -> Result<FileBytes> {
        Ok(FileBytes::from_vec(lock(&self.inner).contents(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut st = lock(&self.inner);
        let (from_dir, from_name) = split(from)?;
        let (to_dir, to_name) = split(to)?;
        let id = st.lookup(from)?;
        st.dir(to_dir)?;
        st.count_op("rename")?;
        st.dir_mut(from_dir)?.live.remove(from_name);
        st.dir_mut(to_dir)?.live.insert(to_name.to_owned(), id);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        let mut st = lock(&self.inner);
        let (dir, name) = split(path)?;
        st.lookup(path)?;
        st.count_op("remove_file")?;
        st.dir_mut(dir)?.live.remove(name);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        let mut st = lock(&self.inner);
        st.dir(dir)?;
        st.count_op("sync_dir")?;
        let d = st.dir_mut(dir)?;
        d.durable = d.live.clone();
        Ok(())
    }

    fn sync_file(&self, path: &Path) -> Result<()> {
        let mut st = lock(&self.inner);
        let id = st.lookup(path)?;
        st.count_op("sync")?;
        if let Some(inode) = st.inodes.get_mut(&id) {
            inode.synced_len = inode.data.len();
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        // BTreeMap keys are already sorted.
        Ok(lock(&self.inner).dir(dir)?.live.keys().cloned().collect())
    }

    fn exists(&self, path: &Path) -> bool {
        let st = lock(&self.inner);
        st.dirs.contains_key(path) || st.lookup(path).is_ok()
    }

    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn DirLockGuard>> {
        let mut st = lock(&self.inner);
        st.dir(dir)?;
        if !st.dir(dir)?.live.contains_key("LOCK") {
            let id = st.new_inode();
            let d = st.dir_mut(dir)?;
            d.live.insert("LOCK".to_owned(), id);
            d.durable.insert("LOCK".to_owned(), id);
        }
        if st.locks.contains_key(dir) {
            return Err(Error::Locked(dir.to_path_buf()));
        }
        let token = st.next_lock;
        st.next_lock += 1;
        st.locks.insert(dir.to_path_buf(), token);
        Ok(Box::new(SimLock {
            fs: Arc::clone(&self.inner),
            dir: dir.to_path_buf(),
            token,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fs: &SimFs, path: &str, data: &[u8], sync: bool) -> Box<dyn WritableFile> {
        let mut f = fs.create(Path::new(path)).unwrap();
        f.write_all(data).unwrap();
        f.flush().unwrap();
        if sync {
            f.sync().unwrap();
        }
        f
    }

    #[test]
    fn unflushed_bytes_are_invisible_until_flush() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let mut f = fs.create(Path::new("/d/a")).unwrap();
        f.write_all(b"abc").unwrap();
        assert_eq!(fs.read(Path::new("/d/a")).unwrap(), b"");
        assert_eq!(f.len(), 3);
        f.flush().unwrap();
        assert_eq!(fs.read(Path::new("/d/a")).unwrap(), b"abc");
    }

    #[test]
    fn power_cut_keeps_synced_data_of_synced_entries_only() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let mut f = write(&fs, "/d/a", b"durable", true);
        f.write_all(b"-lost").unwrap();
        f.flush().unwrap();
        drop(write(&fs, "/d/b", b"synced data, entry not", true));
        // `b` was created after the last sync_dir of /d, and `a` before it.
        fs.sync_dir(Path::new("/d")).unwrap();
        drop(write(&fs, "/d/c", b"never synced", true));
        fs.crash();
        assert_eq!(fs.read(Path::new("/d/a")).unwrap(), b"durable");
        assert_eq!(
            fs.read(Path::new("/d/b")).unwrap(),
            b"synced data, entry not"
        );
        assert!(!fs.exists(Path::new("/d/c")));
        // The old handle is dead.
        assert!(f.write_all(b"x").is_err());
    }

    #[test]
    fn sync_file_makes_what_the_os_holds_durable() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        drop(write(&fs, "/d/a", b"written before a crash", false));
        fs.sync_dir(Path::new("/d")).unwrap();
        fs.kill_process();
        let ops = fs.op_count();
        fs.sync_file(Path::new("/d/a")).unwrap();
        assert_eq!(fs.op_count(), ops + 1);
        fs.crash();
        assert_eq!(
            fs.read(Path::new("/d/a")).unwrap(),
            b"written before a crash"
        );
        assert!(fs.sync_file(Path::new("/d/missing")).is_err());
        fs.fail_after(0);
        assert!(fs.sync_file(Path::new("/d/a")).is_err());
    }

    #[test]
    fn unsynced_rename_reverts() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        drop(write(&fs, "/d/tmp", b"new", true));
        drop(write(&fs, "/d/cur", b"old", true));
        fs.sync_dir(Path::new("/d")).unwrap();
        fs.rename(Path::new("/d/tmp"), Path::new("/d/cur")).unwrap();
        assert_eq!(fs.read(Path::new("/d/cur")).unwrap(), b"new");
        assert!(!fs.exists(Path::new("/d/tmp")));
        fs.crash();
        assert_eq!(fs.read(Path::new("/d/cur")).unwrap(), b"old");
        assert_eq!(fs.read(Path::new("/d/tmp")).unwrap(), b"new");
        fs.rename(Path::new("/d/tmp"), Path::new("/d/cur")).unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        fs.crash();
        assert_eq!(fs.read(Path::new("/d/cur")).unwrap(), b"new");
        assert_eq!(fs.list(Path::new("/d")).unwrap(), vec!["cur"]);
    }

    #[test]
    fn unsynced_remove_reverts() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        drop(write(&fs, "/d/a", b"x", true));
        fs.sync_dir(Path::new("/d")).unwrap();
        fs.remove_file(Path::new("/d/a")).unwrap();
        assert!(!fs.exists(Path::new("/d/a")));
        fs.crash();
        assert_eq!(fs.read(Path::new("/d/a")).unwrap(), b"x");
    }

    #[test]
    fn kill_process_loses_only_unflushed_bytes() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let mut f = write(&fs, "/d/a", b"flushed", false);
        f.write_all(b"-buffered").unwrap();
        fs.kill_process();
        drop(f);
        assert_eq!(fs.read(Path::new("/d/a")).unwrap(), b"flushed");
        assert_eq!(fs.durable_len(Path::new("/d/a")), None);
    }

    #[test]
    fn drop_flushes_live_handles() {
        let fs = SimFs::new();
        let mut f = fs.create(Path::new("a")).unwrap();
        f.write_all(b"abc").unwrap();
        drop(f);
        assert_eq!(fs.read(Path::new("a")).unwrap(), b"abc");
    }

    #[test]
    fn fail_after_counts_and_fails_every_later_op() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let base = fs.op_count();
        fs.fail_after(2);
        let mut f = fs.create(Path::new("/d/a")).unwrap();
        f.write_all(b"ok").unwrap();
        assert!(f.write_all(b"1234").is_err());
        assert!(f.sync().is_err());
        assert!(fs.sync_dir(Path::new("/d")).is_err());
        assert!(fs.create(Path::new("/d/b")).is_err());
        assert_eq!(fs.op_count() - base, 6);
        fs.clear_faults();
        f.sync().unwrap();
        // The failed write kept half of its bytes: a short write.
        assert_eq!(fs.read(Path::new("/d/a")).unwrap(), b"ok12");
        assert!(!fs.exists(Path::new("/d/b")));
    }

    #[test]
    fn recreate_truncates_in_place() {
        let fs = SimFs::new();
        drop(write(&fs, "a", b"old contents", true));
        fs.sync_dir(Path::new("")).unwrap();
        drop(fs.create(Path::new("a")).unwrap());
        fs.crash();
        assert_eq!(fs.read(Path::new("a")).unwrap(), b"");
    }

    #[test]
    fn missing_paths_are_errors() {
        let fs = SimFs::new();
        assert!(fs.create(Path::new("/nope/a")).is_err());
        assert!(fs.read(Path::new("/a")).is_err());
        assert!(fs.map(Path::new("/a")).is_err());
        assert!(fs.rename(Path::new("/a"), Path::new("/b")).is_err());
        assert!(fs.remove_file(Path::new("/a")).is_err());
        assert!(fs.list(Path::new("/nope")).is_err());
        assert!(fs.sync_dir(Path::new("/nope")).is_err());
        assert!(fs.lock_dir(Path::new("/nope")).is_err());
    }

    #[test]
    fn lock_is_exclusive_and_released_on_drop_or_crash() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let g = fs.lock_dir(Path::new("/d")).unwrap();
        assert!(matches!(
            fs.lock_dir(Path::new("/d")),
            Err(Error::Locked(_))
        ));
        drop(g);
        let g = fs.lock_dir(Path::new("/d")).unwrap();
        fs.crash();
        let g2 = fs.lock_dir(Path::new("/d")).unwrap();
        // The pre-crash guard must not release the new holder's lock.
        drop(g);
        assert!(matches!(
            fs.lock_dir(Path::new("/d")),
            Err(Error::Locked(_))
        ));
        drop(g2);
        assert_eq!(fs.list(Path::new("/d")).unwrap(), vec!["LOCK"]);
    }

    #[test]
    fn map_is_a_snapshot_copy() {
        let fs = SimFs::new();
        let mut f = write(&fs, "a", b"one", false);
        let m = fs.map(Path::new("a")).unwrap();
        f.write_all(b"two").unwrap();
        f.flush().unwrap();
        assert_eq!(&*m, b"one");
        assert_eq!(&*fs.map(Path::new("a")).unwrap(), b"onetwo");
        assert!(format!("{fs:?}").starts_with("SimFs"));
    }
}
