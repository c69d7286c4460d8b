//! Damaged SSTables: every byte of a real table file on disk is flipped in turn, and the
//! file is truncated and extended. Opening, scanning and point lookups must report
//! `Error::Corruption` naming the file, or return exactly the original data: never a
//! panic, never wrong data. Every single-byte flip must be detected.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tidestore::Error;
use tidestore::io::fs::StdFs;
use tidestore::kv::iter::KvIterator;
use tidestore::kv::key::ValueKind;
use tidestore::kv::sstable::{Table, TableBuilder, TableOptions};

type Entry = (Vec<u8>, u64, ValueKind, Vec<u8>);

/// A table with several data blocks, some snappy-compressed and some raw, tombstones,
/// several versions of some keys, a Bloom filter and a multi-entry index.
fn entries() -> Vec<Entry> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut out = Vec::new();
    for i in 0..60u64 {
        let key = format!("key{:03}", i * 7).into_bytes();
        for v in 0..(1 + i % 3) {
            let seq = 1000 - i * 4 - v;
            let kind = if (i + v) % 5 == 4 {
                ValueKind::Delete
            } else {
                ValueKind::Put
            };
            let value = match (kind, i % 2) {
                (ValueKind::Delete, _) => Vec::new(),
                (_, 0) => format!("value-{i}-{v}-").repeat(3).into_bytes(),
                _ => (0..24)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect(),
            };
            out.push((key.clone(), seq, kind, value));
        }
    }
    out
}

fn build(path: &Path, entries: &[Entry]) -> Vec<u8> {
    let opts = TableOptions {
        block_size: 200,
        restart_interval: 4,
        ..TableOptions::default()
    };
    let mut b = TableBuilder::new(&StdFs, path, opts).unwrap();
    for (k, s, kind, v) in entries {
        b.add(k, *s, *kind, v).unwrap();
    }
    b.finish().unwrap();
    std::fs::read(path).unwrap()
}

/// The error must be a corruption report naming `path` at an offset inside the file.
fn assert_corruption(e: &Error, path: &Path, len: usize) {
    match e {
        Error::Corruption { file, offset, .. } => {
            assert_eq!(file, path);
            assert!(
                *offset <= len as u64,
                "offset {offset} past the end ({len})"
            );
        }
        other => panic!("expected Corruption, got {other:?}"),
    }
}

/// Opens, scans and probes the damaged file at `path`. Returns whether the damage was
/// detected; panics if any call returned data differing from `entries`.
fn check_damaged(path: &Path, len: usize, entries: &[Entry]) -> bool {
    let t: Arc<Table> = match Table::open(&StdFs, path) {
        Ok(t) => t,
        Err(e) => {
            assert_corruption(&e, path, len);
            return true;
        }
    };
    let mut detected = false;
    let mut it = t.iter();
    let mut r = it.seek_to_first();
    let mut n = 0;
    loop {
        if let Err(e) = r {
            assert_corruption(&e, path, len);
            detected = true;
            break;
        }
        if !it.valid() {
            assert_eq!(n, entries.len(), "scan ended early without an error");
            break;
        }
        let (k, s, kind, v) = &entries[n];
        assert_eq!(
            (it.key(), it.seq(), it.kind(), it.value()),
            (&k[..], *s, *kind, &v[..])
        );
        n += 1;
        r = it.next();
    }
    for (i, (k, s, _, _)) in entries.iter().enumerate().step_by(5) {
        let want = entries
            .iter()
            .find(|e| e.0 == *k && e.1 <= *s)
            .map(|e| (e.1, e.2, e.3.clone()));
        match t.get(k, *s) {
            Ok(got) => assert_eq!(got, want, "get of entry {i}"),
            Err(e) => {
                assert_corruption(&e, path, len);
                detected = true;
            }
        }
    }
    detected
}

fn scratch(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn every_byte_flip_is_detected_without_wrong_data() {
    let dir = tempfile::tempdir().unwrap();
    let entries = entries();
    let good = build(&dir.path().join("good.sst"), &entries);
    assert!(good.len() > 2000, "table too small to cover several blocks");
    assert!(!check_damaged(
        &dir.path().join("good.sst"),
        good.len(),
        &entries
    ));

    for pos in 0..good.len() {
        for mask in [0xffu8, 1 << (pos % 8)] {
            let mut bad = good.clone();
            bad[pos] ^= mask;
            let path = scratch(dir.path(), "bad.sst", &bad);
            assert!(
                check_damaged(&path, bad.len(), &entries),
                "flip {mask:#04x} at byte {pos} of {} went unnoticed",
                good.len()
            );
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn truncated_and_extended_files_are_rejected_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let entries = entries();
    let good = build(&dir.path().join("good.sst"), &entries);
    for len in (0..good.len()).rev().step_by(3) {
        let path = scratch(dir.path(), "short.sst", &good[..len]);
        let e = Table::open(&StdFs, &path).expect_err("truncated table opened");
        assert_corruption(&e, &path, len);
        std::fs::remove_file(&path).unwrap();
    }
    for extra in [&[0u8][..], b"garbage", &[0; 96]] {
        let mut long = good.clone();
        long.extend_from_slice(extra);
        let path = scratch(dir.path(), "long.sst", &long);
        let e = Table::open(&StdFs, &path).expect_err("extended table opened");
        assert_corruption(&e, &path, long.len());
    }
}

#[test]
fn newer_format_version_is_reported_as_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sst");
    let mut bytes = build(&path, &entries());
    // Rewrite the footer's version (at len - 16) to 2 and fix its checksum.
    let n = bytes.len();
    let footer = n - 96;
    bytes[n - 16..n - 12].copy_from_slice(&2u32.to_le_bytes());
    let crc = tidestore::codec::checksum::masked(&bytes[footer..footer + 84]);
    bytes[n - 12..n - 8].copy_from_slice(&crc.to_le_bytes());
    let path = scratch(dir.path(), "v2.sst", &bytes);
    match Table::open(&StdFs, &path) {
        Err(Error::UnsupportedVersion {
            found: 2,
            supported: 1,
            ..
        }) => {}
        other => panic!("expected UnsupportedVersion, got {:?}", other.err()),
    }
}
