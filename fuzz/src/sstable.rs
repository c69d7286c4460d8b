//! Target `sstable`: key-value table files (`kv::sstable::Table`).
//!
//! - `Garbage`: arbitrary bytes opened with `Table::from_bytes`, optionally after
//!   [`fix_checksums`] (header and footer magic and version set, every block trailer
//!   the footer and the index locate recomputed, then the footer's own CRC), so the
//!   structural checks behind the checksums are reached: handle tiling, the Bloom
//!   filter's encoding, the key-range block, the index block's entries and handles, and
//!   the data blocks' entries and restart arrays. If it opens, every entry is walked
//!   and the walked keys and the fuzzer's probes are looked up (`get` at several
//!   snapshots, `seek`, `seek_internal`, `may_contain`). Errors are fine; a panic, an
//!   out-of-bounds read or an allocation the bytes cannot justify are not.
//! - `Damaged`: a valid table written by `TableBuilder` from fuzzer-chosen entries
//!   (keys sharing prefixes, versions, tombstones, compressible and incompressible
//!   values) with fuzzer-chosen `TableOptions` (block size, restart interval, Bloom
//!   bits, snappy) must first read back exactly; then bytes are flipped (and maybe the
//!   file cut). Without recomputed checksums, every read must either fail or return
//!   the original answer, and if any byte changed, `open` or some read must fail: every
//!   byte of a table is covered by a checksum or an exact-value check
//!   (docs/format.md, part 3). With recomputed checksums, only the `Garbage`
//!   properties apply.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use arbitrary::Arbitrary;
use tidestore::Result;
use tidestore::codec::checksum;
use tidestore::io::fs::{FileBytes, FileSystem};
use tidestore::io::sim_fs::SimFs;
use tidestore::kv::TableOptions;
use tidestore::kv::iter::KvIterator;
use tidestore::kv::key::{MAX_SEQ, ValueKind, compare};
use tidestore::kv::sstable::{Table, TableBuilder, TableInfo};

/// Most entries of a generated table.
const MAX_ENTRIES: usize = 160;
/// Longest generated key.
const MAX_KEY: usize = 24;
/// Most probes and flips used.
const MAX_SMALL: usize = 8;
/// Most entries walked in a table that opened (garbage may hold many).
const MAX_WALK: usize = 4096;
/// Most walked entries also looked up.
const MAX_LOOKUPS: usize = 64;

/// Layout constants of docs/format.md, part 3.
const HEADER_LEN: usize = 16;
const FOOTER_LEN: usize = 96;
const FOOTER_CRC_COVERS: usize = 84;
const TRAILER_LEN: usize = 5;
const MAGIC: &[u8; 8] = b"TIDESST\x1a";

/// One run of the `sstable` target.
#[derive(Arbitrary, Debug)]
pub enum Input {
    /// Arbitrary bytes as a table file.
    Garbage {
        /// Make the magic numbers and versions right and recompute the checksums first.
        fix: bool,
        /// Lookups to try.
        probes: Vec<Probe>,
        /// The file.
        bytes: Vec<u8>,
    },
    /// A valid table, then damaged.
    Damaged {
        /// What the valid table holds and how it is laid out.
        spec: Spec,
        /// `(offset, xor)`: offsets wrap around the file; a zero xor changes nothing.
        flips: Vec<(u32, u8)>,
        /// Cut the file to this length (modulo its length).
        cut: Option<u32>,
        /// Recompute the checksums after the damage.
        fix: bool,
        /// Lookups to try on top of the expected ones.
        probes: Vec<Probe>,
    },
}

/// A lookup tried on an open table.
#[derive(Arbitrary, Debug)]
pub struct Probe {
    /// The user key.
    pub key: Vec<u8>,
    /// A snapshot / sequence number (masked to `MAX_SEQ` half of the time).
    pub seq: u64,
}

/// The contents and layout of a valid table.
#[derive(Arbitrary, Debug)]
pub struct Spec {
    /// `block_size` = 1 + this % 512 (many small blocks).
    pub block_size: u16,
    /// `restart_interval` = 1 + this % 16.
    pub restart: u8,
    /// `bloom_bits_per_key` = this % 21 (0: no filter).
    pub bloom: u8,
    /// Snappy-compress blocks.
    pub compression: bool,
    /// The entries, in any order (sorted and deduplicated before writing).
    pub entries: Vec<EntrySpec>,
}

/// One entry of a [`Spec`].
#[derive(Arbitrary, Debug)]
pub struct EntrySpec {
    /// The user key.
    pub key: KeySpec,
    /// The sequence number (masked to `MAX_SEQ`).
    pub seq: u64,
    /// A tombstone (empty value) instead of a put.
    pub delete: bool,
    /// The value of a put.
    pub value: ValueSpec,
}

/// A user key.
#[derive(Arbitrary, Debug)]
pub enum KeySpec {
    /// One of a few short keys over `{0x00, 'a', 0xff}`: many versions, shared prefixes.
    Small(u8),
    /// A prefix shared by many keys, then the fuzzer's bytes.
    Prefixed(u8, Vec<u8>),
    /// Any bytes.
    Raw(Vec<u8>),
}

/// A value.
#[derive(Arbitrary, Debug)]
pub enum ValueSpec {
    /// Any bytes.
    Raw(Vec<u8>),
    /// `pattern` repeated to `4 * len` bytes (compressible).
    Repeat {
        /// The pattern.
        pattern: Vec<u8>,
        /// A quarter of the length.
        len: u8,
    },
}

impl KeySpec {
    fn build(&self) -> Vec<u8> {
        const ALPHABET: [u8; 3] = [0x00, b'a', 0xff];
        let mut k = match self {
            KeySpec::Small(i) => {
                let i = usize::from(*i % 13);
                match i {
                    0 => Vec::new(),
                    1..=3 => vec![ALPHABET[i - 1]],
                    _ => vec![ALPHABET[(i - 4) / 3], ALPHABET[(i - 4) % 3]],
                }
            }
            KeySpec::Prefixed(p, rest) => {
                let mut k = format!("user/{:02}/", p % 8).into_bytes();
                k.extend_from_slice(rest);
                k
            }
            KeySpec::Raw(b) => b.clone(),
        };
        k.truncate(MAX_KEY);
        k
    }
}

impl ValueSpec {
    fn build(&self) -> Vec<u8> {
        match self {
            ValueSpec::Raw(b) => b.iter().copied().take(256).collect(),
            ValueSpec::Repeat { pattern, len } => {
                if pattern.is_empty() {
                    return vec![b'z'; 4 * usize::from(*len)];
                }
                pattern
                    .iter()
                    .copied()
                    .cycle()
                    .take(4 * usize::from(*len))
                    .collect()
            }
        }
    }
}

/// One internal entry, as written and as expected back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: Vec<u8>,
    seq: u64,
    kind: ValueKind,
    value: Vec<u8>,
}

fn entry_order(a: &Entry, b: &Entry) -> Ordering {
    compare(&a.key, a.seq, &b.key, b.seq)
}

fn options(spec: &Spec) -> TableOptions {
    TableOptions {
        block_size: 1 + usize::from(spec.block_size % 512),
        restart_interval: 1 + usize::from(spec.restart % 16),
        bloom_bits_per_key: u32::from(spec.bloom % 21),
        compression: spec.compression,
    }
}

/// The entries of `spec` in internal-key order, each `(key, seq)` once.
fn build(spec: &Spec) -> Vec<Entry> {
    let mut entries: Vec<Entry> = spec
        .entries
        .iter()
        .take(MAX_ENTRIES)
        .map(|e| {
            let kind = if e.delete {
                ValueKind::Delete
            } else {
                ValueKind::Put
            };
            Entry {
                key: e.key.build(),
                seq: e.seq & MAX_SEQ,
                kind,
                value: if e.delete {
                    Vec::new()
                } else {
                    e.value.build()
                },
            }
        })
        .collect();
    entries.sort_by(entry_order);
    entries.dedup_by(|a, b| a.key == b.key && a.seq == b.seq);
    entries
}

fn expected_info(entries: &[Entry], file_size: u64) -> TableInfo {
    let mut info = TableInfo {
        file_size,
        entries: entries.len() as u64,
        ..TableInfo::default()
    };
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        info.smallest = first.key.clone();
        info.largest = last.key.clone();
        info.min_seq = entries.iter().map(|e| e.seq).min().unwrap_or(0);
        info.max_seq = entries.iter().map(|e| e.seq).max().unwrap_or(0);
        info.tombstones = entries
            .iter()
            .filter(|e| e.kind == ValueKind::Delete)
            .count() as u64;
    }
    info
}

/// Runs one input; panics on any violated property.
pub fn run(input: &Input) {
    match input {
        Input::Garbage { fix, probes, bytes } => {
            let mut bytes = bytes.clone();
            if *fix {
                fix_checksums(&mut bytes);
            }
            if let Ok(table) = Table::from_bytes(Path::new("garbage"), FileBytes::from_vec(bytes)) {
                exercise(&table, probes);
            }
        }
        Input::Damaged {
            spec,
            flips,
            cut,
            fix,
            probes,
        } => damaged(spec, flips, *cut, *fix, probes),
    }
}

fn damaged(spec: &Spec, flips: &[(u32, u8)], cut: Option<u32>, fix: bool, probes: &[Probe]) {
    let entries = build(spec);
    let opts = options(spec);
    let fs = SimFs::new();
    let path = Path::new("/table.sst");
    let mut builder = TableBuilder::new(&fs, path, opts)
        .unwrap_or_else(|e| panic!("TableBuilder::new refused valid options {opts:?}: {e}"));
    for e in &entries {
        builder
            .add(&e.key, e.seq, e.kind, &e.value)
            .unwrap_or_else(|err| panic!("add refused a valid entry {e:?}: {err}"));
    }
    let info = builder
        .finish()
        .unwrap_or_else(|e| panic!("finish failed: {e}"));
    let original = fs.read(path).expect("read back the table");
    assert_eq!(info, expected_info(&entries, original.len() as u64), "info");

    // The undamaged table reads back exactly, and passes every generic check.
    let table = Table::from_bytes(path, FileBytes::from_vec(original.clone()))
        .unwrap_or_else(|e| panic!("a valid table does not open: {e}"));
    assert_eq!(table.info(), &info, "info after open");
    if let Err(e) = read_exact(&table, &entries, probes) {
        panic!("a valid table fails a read: {e}");
    }
    exercise(&table, probes);

    let mut bytes = original.clone();
    for &(at, x) in flips.iter().take(MAX_SMALL) {
        let n = bytes.len();
        bytes[at as usize % n] ^= x;
    }
    if let Some(c) = cut {
        let n = bytes.len();
        bytes.truncate(c as usize % n);
    }
    if fix {
        fix_checksums(&mut bytes);
    }
    let changed = bytes != original;
    let table = match Table::from_bytes(path, FileBytes::from_vec(bytes)) {
        Ok(t) => t,
        Err(e) => {
            assert!(changed, "an unchanged table does not open: {e}");
            return;
        }
    };
    exercise(&table, probes);
    if fix {
        // Recomputed checksums over changed contents: consistent garbage may open and
        // read as other entries; only the generic properties apply.
        return;
    }
    match read_exact(&table, &entries, probes) {
        Ok(()) => assert!(
            !changed,
            "damage went unnoticed: the table opened and every read succeeded"
        ),
        Err(_) => assert!(changed, "an unchanged table fails a read"),
    }
}

/// The newest version of `key` at or below `snapshot` in `entries`.
fn model_get(entries: &[Entry], key: &[u8], snapshot: u64) -> Option<(u64, ValueKind, Vec<u8>)> {
    entries
        .iter()
        .find(|e| e.key == key && e.seq <= snapshot)
        .map(|e| (e.seq, e.kind, e.value.clone()))
}

/// The first entry at or after `(key, seq)` in internal-key order.
fn model_seek<'a>(entries: &'a [Entry], key: &[u8], seq: u64) -> Option<&'a Entry> {
    entries
        .iter()
        .find(|e| compare(&e.key, e.seq, key, seq) != Ordering::Less)
}

fn current(it: &impl KvIterator) -> Option<Entry> {
    it.valid().then(|| Entry {
        key: it.key().to_vec(),
        seq: it.seq(),
        kind: it.kind(),
        value: it.value().to_vec(),
    })
}

/// Reads everything and compares it with `entries`: `Err` at the first read that fails;
/// panics on any read that succeeds with the wrong answer.
fn read_exact(table: &Arc<Table>, entries: &[Entry], probes: &[Probe]) -> Result<()> {
    let mut it = table.iter();
    assert!(!it.valid(), "a new iterator is positioned");
    it.seek_to_first()?;
    let mut walked = Vec::with_capacity(entries.len());
    while let Some(e) = current(&it) {
        assert!(walked.len() < entries.len(), "more entries than written");
        walked.push(e);
        it.next()?;
    }
    assert_eq!(walked, entries, "a full scan");

    let mut keys: Vec<(Vec<u8>, u64)> = entries.iter().map(|e| (e.key.clone(), e.seq)).collect();
    keys.extend(
        probes
            .iter()
            .take(MAX_SMALL)
            .map(|p| (p.key.clone(), p.seq & MAX_SEQ)),
    );
    for (key, seq) in &keys {
        if entries.iter().any(|e| &e.key == key) {
            assert!(table.may_contain(key), "the filter rules out a present key");
        }
        for snapshot in [MAX_SEQ, *seq, seq.saturating_sub(1)] {
            let got = table.get(key, snapshot)?;
            assert_eq!(
                got,
                model_get(entries, key, snapshot),
                "get({key:?}, {snapshot})"
            );
        }
        it.seek(key)?;
        assert_eq!(
            current(&it).as_ref(),
            model_seek(entries, key, u64::MAX),
            "seek({key:?})"
        );
        it.seek_internal(key, *seq)?;
        let want = model_seek(entries, key, *seq);
        assert_eq!(current(&it).as_ref(), want, "seek_internal({key:?}, {seq})");
        // The cursor goes on from a seek exactly as a full scan does.
        if want.is_some() {
            it.next()?;
            let at = entries
                .iter()
                .position(|e| compare(&e.key, e.seq, key, *seq) != Ordering::Less)
                .map_or(entries.len(), |i| i + 1);
            assert_eq!(current(&it).as_ref(), entries.get(at), "next after a seek");
        }
    }
    Ok(())
}

/// Checks everything a table that opened offers, whatever its bytes: no panic, no
/// endless walk, and the cursor's answers are those of the entries it walks.
fn exercise(table: &Arc<Table>, probes: &[Probe]) {
    let _ = table.stats();
    let mut it = table.iter();
    let mut walked = Vec::new();
    if it.seek_to_first().is_ok() {
        while let Some(e) = current(&it) {
            if walked.len() < MAX_LOOKUPS {
                walked.push(e);
            }
            if walked.len() >= MAX_WALK || it.next().is_err() {
                break;
            }
        }
    }
    let mut keys: Vec<(Vec<u8>, u64)> = walked.iter().map(|e| (e.key.clone(), e.seq)).collect();
    keys.extend(
        probes
            .iter()
            .take(MAX_SMALL)
            .map(|p| (p.key.clone(), p.seq)),
    );
    for (key, seq) in keys {
        let _ = table.may_contain(&key);
        let _ = table.get(&key, seq);
        let _ = table.get(&key, seq & MAX_SEQ);
        if it.seek(&key).is_ok() && it.valid() {
            let _ = it.next();
        }
        if it.seek_internal(&key, seq).is_ok() && it.valid() {
            let _ = it.next();
        }
    }
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The stored bytes of the block at `(offset, size)` and the offset of its trailer, if
/// both lie in `b`.
fn block_range(b: &[u8], offset: u64, size: u64) -> Option<(usize, usize)> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    (end.checked_add(TRAILER_LEN)? <= b.len()).then_some((start, end))
}

/// Recomputes the trailer CRC of the block at `(offset, size)`, keeping its type byte.
fn fix_block(b: &mut [u8], offset: u64, size: u64) {
    if let Some((start, end)) = block_range(b, offset, size) {
        let crc = checksum::mask(checksum::crc32c_2(&b[start..end], &b[end..end + 1]));
        b[end + 1..end + TRAILER_LEN].copy_from_slice(&crc.to_le_bytes());
    }
}

/// The contents of the block at `(offset, size)`: its stored bytes, decompressed when
/// its type byte says snappy.
fn block_contents(b: &[u8], offset: u64, size: u64) -> Option<Vec<u8>> {
    let (start, end) = block_range(b, offset, size)?;
    let stored = &b[start..end];
    match b[end] {
        0 => Some(stored.to_vec()),
        1 => {
            let n = snap::raw::decompress_len(stored).ok()?;
            if n > stored.len().saturating_mul(32) {
                return None;
            }
            snap::raw::Decoder::new().decompress_vec(stored).ok()
        }
        _ => None,
    }
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The block handles in the values of the index block `block` (as far as it decodes).
fn index_handles(block: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let Some(n) = block
        .len()
        .checked_sub(4)
        .and_then(|at| read_u32(block, at))
    else {
        return out;
    };
    let Some(limit) = (n as usize)
        .checked_mul(4)
        .and_then(|r| block.len().checked_sub(4 + r))
    else {
        return out;
    };
    let entries = &block[..limit];
    let mut pos = 0;
    while pos < entries.len() {
        let parsed = (|| {
            let _shared = varint(entries, &mut pos)?;
            let unshared = usize::try_from(varint(entries, &mut pos)?).ok()?;
            let value_len = usize::try_from(varint(entries, &mut pos)?).ok()?;
            pos = pos.checked_add(unshared)?.checked_add(8)?;
            let value_end = pos.checked_add(value_len)?;
            let value = entries.get(pos..value_end)?;
            let mut v = 0;
            let offset = varint(value, &mut v)?;
            let size = varint(value, &mut v)?;
            pos = value_end;
            Some((offset, size))
        })();
        match parsed {
            Some(h) => out.push(h),
            None => break,
        }
    }
    out
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Sets the magic numbers and versions, then recomputes, as far as the footer's and
/// the index's handles locate them, the trailer CRCs of the data blocks, the filter,
/// key-range and index blocks, and the footer CRC, so that damage reaches the checks
/// behind them.
pub fn fix_checksums(b: &mut [u8]) {
    let Some(f) = b.len().checked_sub(FOOTER_LEN) else {
        return;
    };
    if b.len() >= HEADER_LEN + FOOTER_LEN {
        b[..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&1u32.to_le_bytes());
        b[12..16].fill(0);
        b[f + 80..f + 84].copy_from_slice(&1u32.to_le_bytes());
        b[f + 88..].copy_from_slice(MAGIC);
    }
    let handle =
        |b: &[u8], i: usize| Some((read_u64(b, f + 16 * i)?, read_u64(b, f + 16 * i + 8)?));
    let (filter, range, index) = (handle(b, 0), handle(b, 1), handle(b, 2));
    if let Some((offset, size)) = index
        && let Some(contents) = block_contents(b, offset, size)
    {
        for (o, s) in index_handles(&contents) {
            fix_block(b, o, s);
        }
    }
    for (offset, size) in [filter, range, index].into_iter().flatten() {
        fix_block(b, offset, size);
    }
    let crc = checksum::masked(&b[f..f + FOOTER_CRC_COVERS]);
    b[f + FOOTER_CRC_COVERS..f + FOOTER_CRC_COVERS + 4].copy_from_slice(&crc.to_le_bytes());
}
