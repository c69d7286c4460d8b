//! `tidestore::inspect`: `verify`, `stats` and `dump` on real directories of both
//! kinds. Verify passes on good databases and names the damaged file (and offset)
//! after a byte flip in a segment, an SSTable, a WAL segment, the MANIFEST and the
//! catalog; stats count known data; dump shows a known segment and table; nothing in
//! the directory changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tidestore::inspect::{self, DirKind, DirStats, FileDump, FileKind};
use tidestore::io::fs::FileSystem;
use tidestore::io::sim_fs::SimFs;
use tidestore::kv::{self, Store};
use tidestore::{Db, Error, Point};

const SERIES: [&str; 3] = ["a", "b", "c"];
/// Points per series in the flushed segment.
const FLUSHED: i64 = 1000;
/// Points per series left in the WAL, in batches of `WAL_BATCH` per series.
const IN_WAL: i64 = 40;
const WAL_BATCH: i64 = 10;

fn ts_options() -> tidestore::ts::Options {
    tidestore::ts::Options::default()
        .background_work(false)
        .chunk_points(256)
}

fn batch(from: i64, to: i64) -> Vec<Point> {
    let mut points = Vec::new();
    for t in from..to {
        for (i, host) in SERIES.iter().enumerate() {
            let v = if i == 0 {
                1.5
            } else {
                (t % 97) as f64 * 0.25 + i as f64
            };
            points.push(Point::new("cpu", t, v, &[("host", host)]));
        }
    }
    points
}

/// A database with one flushed segment (3 series x 1000 points, chunks of 256) and
/// four WAL records (3 x 40 points).
fn make_db(dir: &Path) {
    let db = Db::open_with(dir, ts_options()).unwrap();
    db.insert_batch(&batch(0, FLUSHED)).unwrap();
    db.flush().unwrap();
    let mut t = FLUSHED;
    while t < FLUSHED + IN_WAL {
        db.insert_batch(&batch(t, t + WAL_BATCH)).unwrap();
        t += WAL_BATCH;
    }
    db.close().unwrap();
}

fn kv_options() -> kv::Options {
    kv::Options::default().background_work(false)
}

/// A store with one flushed table (two families, 500 keys each, every tenth deleted)
/// and WAL records (50 more puts).
fn make_store(dir: &Path) {
    let store = Store::open_with(dir, kv_options()).unwrap();
    for i in 0..500u32 {
        store
            .put("default", format!("key{i:05}"), vec![b'v'; 40])
            .unwrap();
        store
            .put("other", format!("o{i:05}"), i.to_le_bytes())
            .unwrap();
    }
    for i in (0..500u32).step_by(10) {
        store.delete("default", format!("key{i:05}")).unwrap();
    }
    store.flush().unwrap();
    for i in 0..50u32 {
        store.put("default", format!("late{i:03}"), b"x").unwrap();
    }
    store.close().unwrap();
}

fn names_of(dir: &Path, kind: FileKind) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| FileKind::of(n) == kind)
        .collect();
    names.sort();
    names
}

/// Every file's name and bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The damaged files a report names.
fn damaged_files(report: &inspect::VerifyReport) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = report.damage().map(|p| p.file.clone()).collect();
    files.dedup();
    files
}

#[test]
fn a_good_database_and_store_verify_clean_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, store) = (tmp.path().join("db"), tmp.path().join("kv"));
    make_db(&db);
    make_store(&store);
    for (dir, kind) in [(&db, DirKind::TimeSeries), (&store, DirKind::KeyValue)] {
        let before = snapshot(dir);
        let report = inspect::verify(dir).unwrap();
        assert_eq!(report.kind, kind);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(report.is_intact());
        assert!(!report.open_elsewhere);
        let kinds: Vec<FileKind> = report.files.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&FileKind::Manifest) && kinds.contains(&FileKind::Wal));
        inspect::stats(dir).unwrap();
        assert_eq!(inspect::dir_kind(dir).unwrap(), kind);
        assert_eq!(snapshot(dir), before, "inspection changed the directory");
    }
    let report = inspect::verify(&db).unwrap();
    for kind in [FileKind::Segment, FileKind::Catalog, FileKind::Identity] {
        assert!(report.files.iter().any(|f| f.kind == kind), "{kind:?}");
    }
    let report = inspect::verify(&store).unwrap();
    assert!(report.files.iter().any(|f| f.kind == FileKind::Table));
}

/// Flips one byte at `at(len)` of the first file of `kind` in a copy of `good` and
/// checks that verify reports damage in exactly that file.
fn damage_is_reported(good: &Path, kind: FileKind, at: impl Fn(usize) -> usize) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("copy");
    copy_dir(good, &dir);
    let name = names_of(&dir, kind).into_iter().next().unwrap();
    let path = dir.join(&name);
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    flip(&path, at(len));
    let report = inspect::verify(&dir).unwrap();
    assert!(!report.is_intact(), "{kind:?}: flip not found");
    assert_eq!(
        damaged_files(&report),
        vec![path.clone()],
        "{kind:?}: {:?}",
        report.problems
    );
    assert!(
        report.damage().all(|p| p.offset.is_some()),
        "{kind:?}: {:?}",
        report.problems
    );
}

#[test]
fn a_flipped_byte_in_any_kind_of_file_is_damage_in_that_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, store) = (tmp.path().join("db"), tmp.path().join("kv"));
    make_db(&db);
    make_store(&store);
    // Segment: chunk data (a checksum caught only by decoding every chunk), the
    // footer.
    damage_is_reported(&db, FileKind::Segment, |_| 100);
    damage_is_reported(&db, FileKind::Segment, |len| len - 20);
    // Catalog: its snapshot record (followed by more data: not a torn tail).
    damage_is_reported(&db, FileKind::Catalog, |_| 12);
    // Manifest: the header record.
    damage_is_reported(&db, FileKind::Manifest, |_| 12);
    damage_is_reported(&store, FileKind::Manifest, |_| 12);
    // WAL: inside the first batch record (more records follow).
    damage_is_reported(&db, FileKind::Wal, |_| 29 + 20);
    damage_is_reported(&store, FileKind::Wal, |_| 29 + 20);
    // IDENTITY: the kind is then told by the files, and the damage reported.
    damage_is_reported(&db, FileKind::Identity, |_| 3);
    damage_is_reported(&store, FileKind::Identity, |_| 3);
    // SSTable: a data block (read only by walking every block), the footer.
    damage_is_reported(&store, FileKind::Table, |_| 40);
    damage_is_reported(&store, FileKind::Table, |len| len - 30);
}

#[test]
fn every_byte_of_a_segment_and_a_table_is_checked() {
    // On SimFs, so that a few thousand copies stay cheap.
    let fs = SimFs::new();
    let shared: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let db_dir = Path::new("/db");
    let db = Db::open_with(
        db_dir,
        ts_options().chunk_points(32).fs(Arc::clone(&shared)),
    )
    .unwrap();
    db.insert_batch(&batch(0, 100)).unwrap();
    db.delete_range("cpu", 10, 20, &[("host", "b")]).unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    let kv_dir = Path::new("/kv");
    let table = tidestore::kv::TableOptions {
        block_size: 256,
        ..Default::default()
    };
    let store =
        Store::open_with(kv_dir, kv_options().table(table).fs(Arc::clone(&shared))).unwrap();
    for i in 0..60u32 {
        store
            .put("default", format!("k{i:03}"), [i as u8; 9])
            .unwrap();
    }
    store.flush().unwrap();
    store.close().unwrap();
    for (dir, suffix) in [(db_dir, ".seg"), (kv_dir, ".sst")] {
        let name = fs
            .list(dir)
            .unwrap()
            .into_iter()
            .find(|n| n.ends_with(suffix))
            .unwrap();
        let path = dir.join(&name);
        let good = fs.read(&path).unwrap();
        assert!(inspect::verify_with(&fs, dir).unwrap().problems.is_empty());
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            let mut f = fs.create(&path).unwrap();
            f.write_all(&bad).unwrap();
            f.sync().unwrap();
            drop(f);
            let report = inspect::verify_with(&fs, dir).unwrap();
            assert_eq!(
                damaged_files(&report),
                vec![path.clone()],
                "{name}: flip at {at}: {:?}",
                report.problems
            );
        }
        let mut f = fs.create(&path).unwrap();
        f.write_all(&good).unwrap();
        f.sync().unwrap();
    }
}

#[test]
fn missing_and_orphan_files() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    make_db(&db);
    let seg = names_of(&db, FileKind::Segment).remove(0);
    std::fs::copy(db.join(&seg), db.join("999999.seg")).unwrap();
    std::fs::write(db.join("notes.txt"), b"x").unwrap();
    let report = inspect::verify(&db).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    let warned: Vec<PathBuf> = report.warnings().map(|p| p.file.clone()).collect();
    assert_eq!(warned, vec![db.join("999999.seg"), db.join("notes.txt")]);

    std::fs::remove_file(db.join(&seg)).unwrap();
    let report = inspect::verify(&db).unwrap();
    assert_eq!(damaged_files(&report), vec![db.join(&seg)]);
    assert!(report.damage().any(|p| p.what.contains("missing")));

    let store = tmp.path().join("kv");
    make_store(&store);
    let table = names_of(&store, FileKind::Table).remove(0);
    std::fs::remove_file(store.join(&table)).unwrap();
    let report = inspect::verify(&store).unwrap();
    assert_eq!(damaged_files(&report), vec![store.join(&table)]);
}

#[test]
fn wrong_directories_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = inspect::verify(&missing).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("no such directory")),
        "{err}"
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = inspect::stats(&empty).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("not a tidestore database")),
        "{err}"
    );
    // A damaged IDENTITY and no file telling the kind: the damage is the error.
    std::fs::write(empty.join("IDENTITY"), b"tidestore kv\n").unwrap();
    let err = inspect::verify(&empty).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { file, .. } if file.ends_with("IDENTITY")),
        "{err}"
    );
    std::fs::remove_file(empty.join("IDENTITY")).unwrap();
    let err = inspect::stats(&empty).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("not a tidestore database")),
        "{err}"
    );
    let db = tmp.path().join("db");
    make_db(&db);
    let err = inspect::dump(&db, "CURRENT").unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let err = inspect::dump(&db, "123456.seg").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("no such file")),
        "{err}"
    );
}

#[test]
fn a_database_open_elsewhere_is_inspected_without_disturbing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    make_db(&dir);
    let db = Db::open_with(&dir, ts_options()).unwrap();
    let report = inspect::verify(&dir).unwrap();
    assert!(report.open_elsewhere);
    assert!(report.is_intact(), "{:?}", report.problems);
    db.insert_batch(&batch(5000, 5010)).unwrap();
    db.flush().unwrap();
    assert_eq!(db.query_metric("cpu").unwrap().len(), 3 * (1000 + 40 + 10));
    db.close().unwrap();
    // With the lock free, verify holds it: an open meanwhile would be refused, and
    // after verify returns the directory opens normally.
    assert!(!inspect::verify(&dir).unwrap().open_elsewhere);
    Db::open_with(&dir, ts_options()).unwrap().close().unwrap();
}

#[test]
fn ts_stats_count_the_known_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    make_db(&dir);
    let DirStats::TimeSeries(s) = inspect::stats(&dir).unwrap() else {
        panic!("not time-series stats");
    };
    assert_eq!(s.points, 3 * FLUSHED as u64);
    assert_eq!(s.series, 3);
    assert_eq!(s.segments.len(), 1);
    assert_eq!(s.time_range, Some((0, FLUSHED - 1)));
    assert_eq!(s.segments[0].time_range, Some((0, FLUSHED - 1)));
    // 1000 points in chunks of at most 256: 4 chunks per series.
    assert_eq!(s.chunks, 12);
    assert_eq!(s.wal.records, (IN_WAL / WAL_BATCH) as u64);
    assert_eq!(s.wal.items, 3 * IN_WAL as u64);
    for codecs in [&s.timestamp_codecs, &s.value_codecs] {
        assert_eq!(codecs.iter().map(|c| c.chunks).sum::<u64>(), 12);
        assert_eq!(codecs.iter().map(|c| c.points).sum::<u64>(), s.points);
    }
    // Series "a" is constant: 4 chunks of the constant codec.
    let constant = s
        .value_codecs
        .iter()
        .find(|c| c.codec == "constant")
        .unwrap();
    assert_eq!(constant.chunks, 4);
    let seg_bytes: u64 = s.segments.iter().map(|x| x.bytes).sum();
    assert_eq!(
        s.bytes_per_point(),
        Some(seg_bytes as f64 / s.points as f64)
    );
    let by_kind = |k: FileKind| s.files.iter().find(|f| f.kind == k).unwrap().bytes;
    assert_eq!(by_kind(FileKind::Segment), seg_bytes);
    assert_eq!(by_kind(FileKind::Wal), s.wal.bytes);
    assert!(by_kind(FileKind::Catalog) > 0 && by_kind(FileKind::Manifest) > 0);
}

#[test]
fn kv_stats_count_the_known_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kv");
    make_store(&dir);
    let DirStats::KeyValue(s) = inspect::stats(&dir).unwrap() else {
        panic!("not key-value stats");
    };
    let names: Vec<&str> = s.column_families.iter().map(|(_, n)| n.as_str()).collect();
    assert!(
        names.contains(&"default") && names.contains(&"other"),
        "{names:?}"
    );
    // 1000 puts and 50 deletes, all in the one flushed table, where each delete
    // shadows its put: 950 puts and 50 tombstones.
    assert_eq!(s.entries, 1000);
    assert_eq!(s.tombstones, 50);
    assert_eq!(s.tables.len(), 1);
    assert_eq!(s.levels.len(), 1);
    assert_eq!(s.levels[0].entries, 1000);
    assert_eq!(s.wal.items, 50);
    let tables = s.files.iter().find(|f| f.kind == FileKind::Table).unwrap();
    assert_eq!(tables.bytes, s.tables[0].bytes);
}

#[test]
fn dump_shows_a_known_segment_and_table() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, store) = (tmp.path().join("db"), tmp.path().join("kv"));
    make_db(&db);
    make_store(&store);
    let seg = names_of(&db, FileKind::Segment).remove(0);
    let FileDump::Segment { layout, series, .. } = inspect::dump(&db, &seg).unwrap() else {
        panic!("not a segment dump");
    };
    assert_eq!(layout.info.points, 3000);
    assert_eq!(layout.chunks.len(), 12);
    let keys: Vec<String> = series.values().map(|k| k.to_string()).collect();
    assert_eq!(keys, vec!["cpu{host=a}", "cpu{host=b}", "cpu{host=c}"]);
    // 1000 points as 250 per chunk, the chunks back to back from byte 16.
    let mut at = 16;
    for c in &layout.chunks {
        assert_eq!(c.meta.count(), 250);
        assert_eq!(c.offset, at);
        at += u64::from(c.meta.data_len());
        let codecs = c.codecs.unwrap();
        // the columns follow the chunk's marks: a few bytes, as a chunk of one
        // 256-point block has no mark but the offset of its value column
        let marks = c.meta.data_len() - codecs.timestamp_bytes - codecs.value_bytes;
        assert!((3..=8).contains(&marks), "{marks} bytes of marks");
    }
    let names: Vec<&str> = layout.sections.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "header",
            "chunk data",
            "chunk index",
            "postings",
            "tombstones",
            "footer"
        ]
    );
    assert_eq!(
        layout.sections.iter().map(|s| s.len).sum::<u64>(),
        layout.info.file_size
    );
    // By path as well as by name.
    assert!(matches!(
        inspect::dump(&db, db.join(&seg)).unwrap(),
        FileDump::Segment { .. }
    ));

    let table = names_of(&store, FileKind::Table).remove(0);
    let FileDump::Table { layout, .. } = inspect::dump(&store, &table).unwrap() else {
        panic!("not a table dump");
    };
    assert_eq!(layout.info.entries, 1000);
    let entries: u64 = layout.data_blocks.iter().map(|b| b.entries).sum();
    assert_eq!(entries, 1000);
    assert_eq!(
        layout.data_blocks.iter().map(|b| b.tombstones).sum::<u64>(),
        50
    );
    assert!(layout.data_blocks.len() > 1);
    assert_eq!(layout.data_blocks[0].stored.offset, 16);
    assert_eq!(layout.bloom_probes, 7);
    assert!(layout.bloom_bits >= 10 * 1000);
    assert_eq!(layout.footer_offset + 96, layout.info.file_size);
}
