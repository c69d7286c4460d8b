//! What `write_segment` accepts and refuses, the shape of what it writes (chunking,
//! ranges, empty segments), and cleanup when the file system fails mid-write.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tidestore::io::fs::{DirLockGuard, FileBytes, FileSystem, StdFs, WritableFile};
use tidestore::ts::segment::{
    MAX_CHUNK_POINTS, Segment, SegmentOptions, SeriesInput, Tombstone, write_segment,
};
use tidestore::{Error, Result};

fn one<'a>(id: u32, ts: &'a [i64], values: &'a [f64]) -> SeriesInput<'a> {
    SeriesInput {
        id,
        metric: "m",
        tags: &[],
        timestamps: ts,
        values,
    }
}

fn refused(series: &[SeriesInput<'_>], tombstones: &[Tombstone], chunk_points: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let opts = SegmentOptions { chunk_points };
    let err = write_segment(&StdFs, &path, series, tombstones, &opts).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(!path.exists(), "a refused write must leave no file behind");
}

#[test]
fn bad_input_is_refused_before_any_file_exists() {
    let (ts, vs) = ([1i64, 2, 3], [0.0f64; 3]);
    refused(&[one(2, &ts, &vs), one(1, &ts, &vs)], &[], 4);
    refused(&[one(2, &ts, &vs), one(2, &ts, &vs)], &[], 4);
    refused(&[one(1, &[1, 3, 2], &vs)], &[], 4);
    refused(&[one(1, &[1, 1, 2], &vs)], &[], 4);
    refused(&[one(1, &ts, &[0.0; 2])], &[], 4);
    refused(&[one(1, &ts, &vs)], &[], 0);
    refused(&[one(1, &ts, &vs)], &[], MAX_CHUNK_POINTS + 1);
    let backwards = Tombstone {
        series_id: 1,
        start: 5,
        end: 4,
    };
    refused(&[one(1, &ts, &vs)], &[backwards], 4);
}

#[test]
fn series_are_cut_into_even_chunks_and_ranges_are_inclusive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let ts: Vec<i64> = (0..10).map(|i| i * 10).collect();
    let vs: Vec<f64> = (0..10).map(f64::from).collect();
    let opts = SegmentOptions { chunk_points: 4 };
    write_segment(&StdFs, &path, &[one(7, &ts, &vs)], &[], &opts).unwrap();
    let seg = Segment::open(&StdFs, &path).unwrap();
    let chunks = seg.chunks(7);
    let shape: Vec<_> = chunks
        .iter()
        .map(|c| {
            (
                c.count(),
                c.min_ts(),
                c.max_ts(),
                c.min_value(),
                c.max_value(),
                c.sum(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (4, 0, 30, 0.0, 3.0, 6.0),
            (3, 40, 60, 4.0, 6.0, 15.0),
            (3, 70, 90, 7.0, 9.0, 24.0)
        ]
    );
    let starts = |a, b| -> Vec<i64> {
        seg.chunks_in_range(7, a, b)
            .iter()
            .map(|c| c.min_ts())
            .collect()
    };
    assert_eq!(starts(30, 40), vec![0, 40]);
    assert_eq!(starts(31, 39), Vec::<i64>::new());
    assert_eq!(starts(60, 60), vec![40]);
    assert_eq!(starts(-100, 0), vec![0]);
    assert_eq!(starts(90, i64::MAX), vec![70]);
    assert_eq!(starts(i64::MIN, i64::MAX), vec![0, 40, 70]);
    assert_eq!(starts(50, 40), Vec::<i64>::new());
    assert!(seg.chunks_in_range(8, i64::MIN, i64::MAX).is_empty());

    // decode_chunk appends: two chunks gathered in one pair of buffers.
    let (mut t, mut v) = (vec![-1], vec![-1.0]);
    for c in &chunks[1..] {
        seg.decode_chunk(c, &mut t, &mut v).unwrap();
    }
    assert_eq!(t, [-1, 40, 50, 60, 70, 80, 90]);
    assert_eq!(v, [-1.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
}

#[test]
fn empty_segments_and_empty_series() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let tombstones = [
        Tombstone {
            series_id: 4,
            start: 10,
            end: 20,
        },
        Tombstone {
            series_id: 1,
            start: i64::MIN,
            end: i64::MAX,
        },
        Tombstone {
            series_id: 4,
            start: 10,
            end: 20,
        },
    ];
    let info = write_segment(
        &StdFs,
        &path,
        &[one(3, &[], &[])],
        &tombstones,
        &SegmentOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (info.points, info.series, info.chunks, info.tombstones),
        (0, 0, 0, 2)
    );
    assert_eq!((info.min_ts, info.max_ts), (i64::MAX, i64::MIN));
    let seg = Segment::open(&StdFs, &path).unwrap();
    assert_eq!(*seg.info(), info);
    assert!(seg.series_ids().is_empty());
    assert!(seg.chunks(3).is_empty());
    assert_eq!(seg.metric_series("m").unwrap(), None);
    let got: Vec<Tombstone> = seg.tombstones().iter().map(|t| t.tombstone()).collect();
    assert_eq!(got, vec![tombstones[1], tombstones[0]]);
    assert_eq!(seg.series_tombstones(4).len(), 1);
    assert!(seg.series_tombstones(2).is_empty());
}

#[test]
fn segments_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Segment>();
    shared::<Arc<Segment>>();
}

/// `StdFs`, except that writes fail once `budget` bytes have been written.
#[derive(Debug)]
struct FailingFs {
    budget: Arc<AtomicU64>,
}

struct FailingFile {
    inner: Box<dyn WritableFile>,
    budget: Arc<AtomicU64>,
}

impl WritableFile for FailingFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        let left = self.budget.load(Ordering::SeqCst);
        if (buf.len() as u64) > left {
            return Err(Error::from(std::io::Error::other("injected write failure")));
        }
        self.budget.store(left - buf.len() as u64, Ordering::SeqCst);
        self.inner.write_all(buf)
    }
    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
    fn sync(&mut self) -> Result<()> {
        self.inner.sync()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

impl FileSystem for FailingFs {
    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        StdFs.create_dir_all(dir)
    }
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        Ok(Box::new(FailingFile {
            inner: StdFs.create(path)?,
            budget: self.budget.clone(),
        }))
    }
    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        StdFs.read(path)
    }
    fn map(&self, path: &Path) -> Result<FileBytes> {
        StdFs.map(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        StdFs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        StdFs.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> Result<()> {
        StdFs.sync_dir(dir)
    }
    fn sync_file(&self, path: &Path) -> Result<()> {
        StdFs.sync_file(path)
    }
    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        StdFs.list(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        StdFs.exists(path)
    }
    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn DirLockGuard>> {
        StdFs.lock_dir(dir)
    }
}

#[test]
fn a_failed_write_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let ts: Vec<i64> = (0..100).collect();
    let vs = vec![1.0; 100];
    let input = [one(1, &ts, &vs), one(2, &ts, &vs)];
    let full = write_segment(&StdFs, &path, &input, &[], &SegmentOptions::default())
        .unwrap()
        .file_size;
    std::fs::remove_file(&path).unwrap();
    // Budgets that cut the file in its header, chunk data, index, footer (the file is
    // only a few hundred bytes with the real codecs, so keep only budgets below it).
    let budgets = [0, 15, 16, 17, full / 2, full.saturating_sub(121), full - 1];
    for budget in budgets.into_iter().filter(|&b| b < full) {
        let fs = FailingFs {
            budget: Arc::new(AtomicU64::new(budget)),
        };
        let err = write_segment(&fs, &path, &input, &[], &SegmentOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Io(_)), "budget {budget}: {err}");
        assert!(!path.exists(), "budget {budget}: partial file left behind");
    }
    let fs = FailingFs {
        budget: Arc::new(AtomicU64::new(full)),
    };
    write_segment(&fs, &path, &input, &[], &SegmentOptions::default()).unwrap();
    Segment::open(&fs, &path).unwrap();
}

#[test]
fn inputs_larger_than_one_encoding_batch() {
    // The writer encodes ~2 M points per parallel batch; cross that boundary mid-series.
    let ts: Vec<i64> = (0..800_000).map(|i| i * 3 - 1_000_000).collect();
    let vs: Vec<f64> = (0..800_000).map(|i| f64::from(i % 1000)).collect();
    let input = [one(5, &ts, &vs), one(6, &ts, &vs), one(9, &ts, &vs)];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let info = write_segment(&StdFs, &path, &input, &[], &SegmentOptions::default()).unwrap();
    assert_eq!(
        (info.points, info.series, info.chunks),
        (2_400_000, 3, 3 * 196)
    );
    let seg = Segment::open(&StdFs, &path).unwrap();
    let (mut t, mut v) = (Vec::new(), Vec::new());
    for id in [5, 6, 9] {
        t.clear();
        v.clear();
        for c in seg.chunks(id) {
            seg.decode_chunk(c, &mut t, &mut v).unwrap();
        }
        assert!(t == ts && v == vs, "series {id} differs");
    }
}
