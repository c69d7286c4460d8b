//! The file-system seam: every create, write, fsync, rename, remove and map the engine
//! does goes through [`FileSystem`].
//!
//! [`StdFs`] is the real implementation (std::fs + memmap2). `SimFs` (in `sim_fs.rs`) is an
//! in-memory implementation for tests that can fail the Nth operation and simulate a
//! power cut (drop every byte and directory entry not yet made durable).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A file opened for appending. Writes may be buffered in user space until
/// [`WritableFile::flush`]; [`WritableFile::sync`] makes everything written so far durable.
pub trait WritableFile: Send + Sync {
    /// Appends `buf`.
    fn write_all(&mut self, buf: &[u8]) -> Result<()>;
    /// Hands buffered bytes to the operating system (they survive a process crash).
    fn flush(&mut self) -> Result<()>;
    /// Flushes, then fsyncs the file's data (they survive a power cut).
    fn sync(&mut self) -> Result<()>;
    /// Bytes appended so far (buffered or not).
    fn len(&self) -> u64;
    /// True when nothing has been appended.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The whole contents of an immutable file, memory-mapped ([`StdFs`]) or held in memory
/// (`SimFs`). Dereferences to the bytes. Cheap to clone.
#[derive(Clone)]
pub struct FileBytes(Arc<dyn Deref<Target = [u8]> + Send + Sync>);

impl FileBytes {
    /// Wraps bytes held in memory.
    pub fn from_vec(v: Vec<u8>) -> Self {
        FileBytes(Arc::new(v))
    }
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileBytes({} bytes)", self.len())
    }
}

/// A held directory lock; dropping it releases the lock.
pub trait DirLockGuard: Send + Sync {}

/// Every file-system operation the engine performs.
///
/// Paths are full paths. Implementations must be safe to share between threads.
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> Result<()>;
    /// Creates (or truncates) `path` for appending.
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>>;
    /// Reads a whole file.
    fn read(&self, path: &Path) -> Result<Vec<u8>>;
    /// Maps a whole immutable file read-only. The file must never be modified afterwards.
    fn map(&self, path: &Path) -> Result<FileBytes>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> Result<()>;
    /// Makes the directory's entries (creates, renames, removes) durable.
    fn sync_dir(&self, dir: &Path) -> Result<()>;
    /// Makes the data of an existing file, as the operating system holds it now,
    /// durable (an fsync of a file this process did not write, or wrote before a
    /// crash: a WAL segment replayed at open).
    fn sync_file(&self, path: &Path) -> Result<()>;
    /// Names (not full paths) of the files directly in `dir`, sorted.
    fn list(&self, dir: &Path) -> Result<Vec<String>>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
    /// Takes an exclusive lock on `dir` (through a `LOCK` file inside it), or
    /// [`Error::Locked`] if another handle holds it.
    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn DirLockGuard>>;
}

/// The real file system: `std::fs` and `memmap2`.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFs;

struct StdWritable {
    inner: BufWriter<File>,
    len: u64,
}

impl WritableFile for StdWritable {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.inner.write_all(buf)?;
        self.len += buf.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.inner.flush()?;
        Ok(())
    }
    fn sync(&mut self) -> Result<()> {
        self.inner.flush()?;
        self.inner.get_ref().sync_data()?;
        Ok(())
    }
    fn len(&self) -> u64 {
        self.len
    }
}

struct StdLock {
    _file: File,
}
impl DirLockGuard for StdLock {}

impl FileSystem for StdFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        Ok(())
    }

    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(StdWritable {
            inner: BufWriter::with_capacity(256 * 1024, file),
            len: 0,
        }))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        File::open(path)?.read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn map(&self, path: &Path) -> Result<FileBytes> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            // mmap of an empty file fails on some platforms; an empty Vec is equivalent.
            return Ok(FileBytes::from_vec(Vec::new()));
        }
        // SAFETY: the engine maps only immutable files: they are written once under a
        // temporary name, fsync'd, renamed into place and never modified or truncated
        // afterwards (docs/design.md, "Files"). The directory lock keeps other handles of
        // this crate from touching them while they are mapped.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(FileBytes(Arc::new(map)))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to)?;
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path)?;
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        File::open(dir)?.sync_all()?;
        Ok(())
    }

    fn sync_file(&self, path: &Path) -> Result<()> {
        // Opened for writing (never truncated or appended to), as some platforms only
        // flush files opened that way.
        OpenOptions::new().write(true).open(path)?.sync_data()?;
        Ok(())
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn DirLockGuard>> {
        let path: PathBuf = dir.join("LOCK");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(StdLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::from(e)),
        }
    }
}
