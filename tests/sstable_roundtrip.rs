//! SSTable round trips: random sorted entries (many versions, tombstones) are built into
//! a table, reopened from the mapped file and from bytes in memory, and compared with a
//! model on full iteration, point lookups at random snapshots, and seeks.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use tidestore::Error;
use tidestore::io::fs::{FileBytes, FileSystem, StdFs};
use tidestore::kv::iter::KvIterator;
use tidestore::kv::key::{MAX_SEQ, ValueKind, compare};
use tidestore::kv::sstable::{Table, TableBuilder, TableInfo, TableOptions};

type Entry = (Vec<u8>, u64, ValueKind, Vec<u8>);

fn build(path: &Path, opts: TableOptions, entries: &[Entry]) -> TableInfo {
    let mut b = TableBuilder::new(&StdFs, path, opts).unwrap();
    for (k, s, kind, v) in entries {
        b.add(k, *s, *kind, v).unwrap();
    }
    b.finish().unwrap()
}

fn scan(t: &Arc<Table>) -> Vec<Entry> {
    let mut it = t.iter();
    it.seek_to_first().unwrap();
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
        it.next().unwrap();
    }
    out
}

/// The model of `Table::get`: the newest version of `key` at or below `snap`.
fn model_get(entries: &[Entry], key: &[u8], snap: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
    entries
        .iter()
        .find(|e| e.0 == key && e.1 <= snap)
        .map(|e| (e.1, e.2, e.3.clone()))
}

fn sorted_entries(max: usize) -> impl Strategy<Value = Vec<Entry>> {
    let key = proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..10);
    let value = prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => (0usize..3000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ];
    proptest::collection::btree_map(
        (key, 0u64..40),
        (
            prop_oneof![4 => Just(ValueKind::Put), 1 => Just(ValueKind::Delete)],
            value,
        ),
        0..max,
    )
    .prop_map(|m| {
        let mut v: Vec<Entry> = m
            .into_iter()
            .map(|((k, s), (kind, val))| {
                let val = if kind == ValueKind::Put {
                    val
                } else {
                    Vec::new()
                };
                (k, s, kind, val)
            })
            .collect();
        v.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));
        v
    })
}

fn options() -> impl Strategy<Value = TableOptions> {
    (
        prop_oneof![Just(1usize), 64usize..600, Just(4096)],
        1usize..20,
        prop_oneof![Just(0u32), 1u32..16],
        any::<bool>(),
    )
        .prop_map(
            |(block_size, restart_interval, bits, compression)| TableOptions {
                block_size,
                restart_interval,
                bloom_bits_per_key: bits,
                compression,
            },
        )
}

fn check_table(t: &Arc<Table>, entries: &[Entry], probes: &[(Vec<u8>, u64)]) {
    assert_eq!(scan(t), entries);
    assert_eq!(t.info().entries, entries.len() as u64);
    for (k, s, _, _) in entries {
        assert!(t.may_contain(k), "bloom false negative");
        assert_eq!(t.get(k, *s).unwrap(), model_get(entries, k, *s));
        assert_eq!(t.get(k, u64::MAX).unwrap(), model_get(entries, k, u64::MAX));
    }
    let mut it = t.iter();
    for (k, snap) in probes {
        assert_eq!(t.get(k, *snap).unwrap(), model_get(entries, k, *snap));
        it.seek(k).unwrap();
        let want = entries.iter().find(|e| e.0.as_slice() >= k.as_slice());
        match want {
            None => assert!(!it.valid()),
            Some(e) => {
                assert!(it.valid());
                assert_eq!((it.key(), it.seq(), it.value()), (&e.0[..], e.1, &e.3[..]));
            }
        }
        it.seek_internal(k, *snap).unwrap();
        let want = entries
            .iter()
            .find(|e| compare(&e.0, e.1, k, *snap) != Ordering::Less);
        assert_eq!(it.valid(), want.is_some());
        if let Some(e) = want {
            assert_eq!((it.key(), it.seq()), (&e.0[..], e.1));
            // Walking on from a seek yields the rest of the table in order.
            let mut n = 0;
            while it.valid() {
                it.next().unwrap();
                n += 1;
            }
            let after = entries
                .iter()
                .filter(|x| compare(&x.0, x.1, k, *snap) != Ordering::Less)
                .count();
            assert_eq!(n, after);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn round_trip_mmap_and_in_memory(
        entries in sorted_entries(300),
        opts in options(),
        probes in proptest::collection::vec(
            (proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..10),
             0u64..45),
            0..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sst");
        let info = build(&path, opts, &entries);
        prop_assert_eq!(info.file_size, std::fs::metadata(&path).unwrap().len());

        let t = Table::open(&StdFs, &path).unwrap();
        prop_assert_eq!(t.info(), &info);
        if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
            prop_assert_eq!(&info.smallest, &first.0);
            prop_assert_eq!(&info.largest, &last.0);
            prop_assert_eq!(info.min_seq, entries.iter().map(|e| e.1).min().unwrap());
            prop_assert_eq!(info.max_seq, entries.iter().map(|e| e.1).max().unwrap());
        }
        let tombstones = entries.iter().filter(|e| e.2 == ValueKind::Delete).count() as u64;
        prop_assert_eq!(info.tombstones, tombstones);
        check_table(&t, &entries, &probes);

        let bytes = StdFs.read(&path).unwrap();
        let t = Table::from_bytes(&path, FileBytes::from_vec(bytes)).unwrap();
        check_table(&t, &entries, &probes);
    }
}

#[test]
fn tables_and_iterators_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Table>();
    send_sync::<tidestore::kv::sstable::TableIter>();
}

#[test]
fn empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.sst");
    let info = build(&path, TableOptions::default(), &[]);
    assert_eq!(info.entries, 0);
    let t = Table::open(&StdFs, &path).unwrap();
    assert_eq!(t.info(), &info);
    assert!(t.info().smallest.is_empty() && t.info().largest.is_empty());
    assert!(scan(&t).is_empty());
    assert_eq!(t.get(b"", u64::MAX).unwrap(), None);
    assert!(!t.may_contain(b"anything"));
    let mut it = t.iter();
    it.seek(b"").unwrap();
    assert!(!it.valid());
    assert_eq!(t.stats().data_block_reads, 0);
}

#[test]
fn huge_values_span_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.sst");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let entries: Vec<Entry> = vec![
        (b"a".to_vec(), 9, ValueKind::Put, b"small".to_vec()),
        (b"b".to_vec(), 8, ValueKind::Put, big.clone()),
        (b"b".to_vec(), 3, ValueKind::Delete, Vec::new()),
        (b"c".to_vec(), 7, ValueKind::Put, vec![7; 70_000]),
        (b"d".to_vec(), 1, ValueKind::Put, Vec::new()),
    ];
    for compression in [false, true] {
        let opts = TableOptions {
            compression,
            ..TableOptions::default()
        };
        let info = build(&path, opts, &entries);
        if compression {
            assert!(
                info.file_size < 1_000_000,
                "compressible values were compressed"
            );
        } else {
            assert!(info.file_size > 3_070_000);
        }
        let t = Table::open(&StdFs, &path).unwrap();
        assert_eq!(scan(&t), entries);
        assert_eq!(
            t.get(b"b", 100).unwrap(),
            Some((8, ValueKind::Put, big.clone()))
        );
        assert_eq!(
            t.get(b"b", 5).unwrap(),
            Some((3, ValueKind::Delete, Vec::new()))
        );
        assert_eq!(t.get(b"b", 2).unwrap(), None);
    }
}

#[test]
fn compression_shrinks_repetitive_tables_and_both_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = (0..5000u64)
        .map(|i| {
            let k = format!("cf1/user/{i:08}").into_bytes();
            let v = format!("{{\"name\":\"user {i}\",\"active\":true}}").into_bytes();
            (k, 10_000 - i, ValueKind::Put, v)
        })
        .collect();
    let mut sizes = Vec::new();
    for compression in [false, true] {
        let path = dir.path().join(format!("c{compression}.sst"));
        let opts = TableOptions {
            compression,
            ..TableOptions::default()
        };
        sizes.push(build(&path, opts, &entries).file_size);
        let t = Table::open(&StdFs, &path).unwrap();
        assert_eq!(scan(&t), entries);
        assert_eq!(
            t.get(b"cf1/user/00000042", u64::MAX).unwrap(),
            Some((9958, ValueKind::Put, entries[42].3.clone()))
        );
    }
    assert!(sizes[1] < sizes[0] * 3 / 4, "sizes {sizes:?}");
}

#[test]
fn many_versions_of_one_key_span_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sst");
    let mut entries: Vec<Entry> = (1..=2000u64)
        .rev()
        .map(|s| {
            (
                b"k".to_vec(),
                s * 2,
                ValueKind::Put,
                s.to_le_bytes().to_vec(),
            )
        })
        .collect();
    entries.push((b"l".to_vec(), 1, ValueKind::Put, b"x".to_vec()));
    let opts = TableOptions {
        block_size: 256,
        ..TableOptions::default()
    };
    build(&path, opts, &entries);
    let t = Table::open(&StdFs, &path).unwrap();
    for snap in [0u64, 1, 2, 3, 777, 778, 3999, 4000, 4001, MAX_SEQ] {
        assert_eq!(t.get(b"k", snap).unwrap(), model_get(&entries, b"k", snap));
    }
    assert_eq!(t.get(b"l", 0).unwrap(), None);
    assert_eq!(
        t.get(b"l", 1).unwrap(),
        Some((1, ValueKind::Put, b"x".to_vec()))
    );
}

#[test]
fn builder_rejects_bad_input_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.sst");
    let mut b = TableBuilder::new(&StdFs, &path, TableOptions::default()).unwrap();
    b.add(b"b", 5, ValueKind::Put, b"1").unwrap();
    let invalid = |r: tidestore::Result<()>| matches!(r, Err(Error::InvalidArgument(_)));
    assert!(invalid(b.add(b"a", 9, ValueKind::Put, b"")), "smaller key");
    assert!(
        invalid(b.add(b"b", 5, ValueKind::Put, b"")),
        "duplicate (key, seq)"
    );
    assert!(
        invalid(b.add(b"b", 6, ValueKind::Put, b"")),
        "newer version after older"
    );
    assert!(
        invalid(b.add(b"c", MAX_SEQ + 1, ValueKind::Put, b"")),
        "seq too large"
    );
    b.add(b"b", 4, ValueKind::Delete, b"").unwrap();
    b.add(b"c", 1, ValueKind::Put, b"3").unwrap();
    assert_eq!(b.entries(), 3);
    assert!(b.estimated_size() > 0);
    b.finish().unwrap();
    let t = Table::open(&StdFs, &path).unwrap();
    assert_eq!(scan(&t).len(), 3);

    for opts in [
        TableOptions {
            block_size: 0,
            ..TableOptions::default()
        },
        TableOptions {
            restart_interval: 0,
            ..TableOptions::default()
        },
        TableOptions {
            bloom_bits_per_key: 65,
            ..TableOptions::default()
        },
    ] {
        assert!(matches!(
            TableBuilder::new(&StdFs, &path, opts),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn estimated_size_tracks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("est.sst");
    let opts = TableOptions {
        compression: false,
        ..TableOptions::default()
    };
    let mut b = TableBuilder::new(&StdFs, &path, opts).unwrap();
    for i in 0..10_000u32 {
        b.add(format!("{i:06}").as_bytes(), 1, ValueKind::Put, &[0; 100])
            .unwrap();
    }
    let est = b.estimated_size();
    let info = b.finish().unwrap();
    let (lo, hi) = (info.file_size * 9 / 10, info.file_size * 11 / 10);
    assert!(
        (lo..=hi).contains(&est),
        "estimate {est}, file {}",
        info.file_size
    );
}
