//! Regression test of issue 8's defect 7: the smallest legal `Db` options collapsed
//! (20 k inserts took 371 s, with 769 write stalls).
//!
//! What it was: with a 4 KiB head and more than ~25 series, a head holds ~25 points,
//! so 20 k inserts make ~770 flushes, which the options ask for. But each flush cost
//! far more than a flush: with `catalog_rewrite_bytes(0)` every flush rewrote the
//! whole catalog file (a new file, fsync'd, switched by a manifest edit), and with
//! `manifest_rewrite_bytes(0)` every manifest edit rewrote the whole manifest (new
//! file, fsync, `CURRENT` replaced) — O(series) and O(live segments) bytes per edit,
//! and with `partition_width(1)` live segments number in the thousands. The same
//! happened at the default thresholds once a catalog or manifest snapshot alone
//! passed them. And a stalled writer waited for the background thread, which ran a
//! compaction after nearly every flush. Now a log is rewritten only once it is past
//! its threshold *and* at least twice its last snapshot (amortized O(1) per edit),
//! and a stalled writer flushes the oldest frozen head itself.
//!
//! The test counts file-system work, not time: every fsync, directory fsync and file
//! created, and the bytes written to manifest and catalog files.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tidestore::io::fs::{DirLockGuard, FileBytes, FileSystem, WritableFile};
use tidestore::io::sim_fs::SimFs;
use tidestore::{Db, Result, ts};

#[derive(Debug, Default)]
struct Counts {
    syncs: AtomicU64,
    dir_syncs: AtomicU64,
    manifest_files: AtomicU64,
    manifest_bytes: AtomicU64,
    catalog_files: AtomicU64,
    catalog_bytes: AtomicU64,
}

/// A `SimFs` that counts what the engine asks of it.
#[derive(Debug, Clone)]
struct CountingFs {
    fs: SimFs,
    counts: Arc<Counts>,
}

struct CountingFile {
    file: Box<dyn WritableFile>,
    counts: Arc<Counts>,
    bytes: Option<fn(&Counts) -> &AtomicU64>,
}

impl WritableFile for CountingFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        if let Some(counter) = self.bytes {
            counter(&self.counts).fetch_add(buf.len() as u64, Relaxed);
        }
        self.file.write_all(buf)
    }
    fn flush(&mut self) -> Result<()> {
        self.file.flush()
    }
    fn sync(&mut self) -> Result<()> {
        self.counts.syncs.fetch_add(1, Relaxed);
        self.file.sync()
    }
    fn len(&self) -> u64 {
        self.file.len()
    }
}

impl FileSystem for CountingFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.fs.create_dir_all(dir)
    }
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let name = path.file_name().unwrap().to_string_lossy();
        let bytes: Option<fn(&Counts) -> &AtomicU64> = if name.starts_with("MANIFEST-") {
            self.counts.manifest_files.fetch_add(1, Relaxed);
            Some(|c| &c.manifest_bytes)
        } else if name.starts_with("CATALOG-") {
            self.counts.catalog_files.fetch_add(1, Relaxed);
            Some(|c| &c.catalog_bytes)
        } else {
            None
        };
        Ok(Box::new(CountingFile {
            file: self.fs.create(path)?,
            counts: Arc::clone(&self.counts),
            bytes,
        }))
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
        self.counts.dir_syncs.fetch_add(1, Relaxed);
        self.fs.sync_dir(dir)
    }
    fn sync_file(&self, path: &Path) -> Result<()> {
        self.counts.syncs.fetch_add(1, Relaxed);
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

/// The smallest value every option accepts.
fn smallest(fs: &CountingFs) -> ts::Options {
    ts::Options::default()
        .head_bytes(4096)
        .max_frozen_heads(1)
        .chunk_points(16)
        .partition_width(1)
        .compaction_trigger(2)
        .catalog_rewrite_bytes(0)
        .manifest_rewrite_bytes(0)
        .fs(Arc::new(fs.clone()))
}

/// 20 k inserts, one point at a time, over `series` series: every series at `t`,
/// then every series at `t + 1`.
fn insert_20k(db: &Db, series: usize) {
    let hosts: Vec<String> = (0..series).map(|i| format!("h{i}")).collect();
    for i in 0..20_000usize {
        let t = 1_700_000_000 + (i / series) as i64;
        db.insert("cpu", t, i as f64, &[("host", hosts[i % series].as_str())])
            .unwrap();
    }
}

#[test]
fn the_smallest_options_cost_a_bounded_amount_of_work_per_flush() {
    let fs = CountingFs {
        fs: SimFs::new(),
        counts: Arc::default(),
    };
    // Inline flushes and compactions: every run does exactly the same work.
    let db = Db::open_with("/tiny", smallest(&fs).background_work(false)).unwrap();
    insert_20k(&db, 100);
    let stats = db.stats();
    let c = &fs.counts;
    let (syncs, dir_syncs) = (c.syncs.load(Relaxed), c.dir_syncs.load(Relaxed));
    let (manifest_files, catalog_files) = (
        c.manifest_files.load(Relaxed),
        c.catalog_files.load(Relaxed),
    );
    let (manifest_bytes, catalog_bytes) = (
        c.manifest_bytes.load(Relaxed),
        c.catalog_bytes.load(Relaxed),
    );
    let report = format!(
        "{stats:?}\nsyncs {syncs}, dir syncs {dir_syncs}, manifest files {manifest_files} \
         ({manifest_bytes} bytes), catalog files {catalog_files} ({catalog_bytes} bytes)"
    );
    // The options do ask for a flush every ~25 points.
    assert!(stats.flushes > 500, "{report}");
    let jobs = stats.flushes + stats.compactions;
    // A flush needs a handful of fsyncs (segment, directory, catalog append, manifest
    // edit, WAL rotation); it used to take about twice as many.
    assert!(syncs + dir_syncs <= 8 * jobs, "{report}");
    // Rewrites are amortized: a few per doubling of the log, not one per edit...
    assert!(catalog_files <= 12, "{report}");
    assert!(manifest_files <= jobs / 4, "{report}");
    // ...so they write O(1) bytes per edit, not O(live segments) or O(series).
    assert!(manifest_bytes <= 300 * jobs, "{report}");
    assert!(catalog_bytes <= 64 * 100 * 4, "{report}");
    assert_eq!(db.query_metric("cpu").unwrap().len(), 20_000);
    db.close().unwrap();
}

#[test]
fn the_smallest_options_with_background_work_keep_every_point() {
    let fs = CountingFs {
        fs: SimFs::new(),
        counts: Arc::default(),
    };
    let db = Db::open_with("/tiny", smallest(&fs)).unwrap();
    insert_20k(&db, 100);
    let stats = db.stats();
    // A stall happens at most once per freeze, and writers never wait for more than
    // one flush (they flush themselves): stalls cannot outnumber flushes.
    assert!(stats.write_stalls <= stats.flushes, "{stats:?}");
    let c = &fs.counts;
    let jobs = stats.flushes + stats.compactions;
    assert!(
        c.syncs.load(Relaxed) + c.dir_syncs.load(Relaxed) <= 8 * jobs + 64,
        "{stats:?} {c:?}"
    );
    assert!(c.catalog_files.load(Relaxed) <= 12, "{c:?}");
    db.close().unwrap();
    let db = Db::open_with("/tiny", smallest(&fs)).unwrap();
    assert_eq!(db.query_metric("cpu").unwrap().len(), 20_000);
    db.close().unwrap();
}
