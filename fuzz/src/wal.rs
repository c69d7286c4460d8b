//! Target `wal`: write-ahead logs and the other logs recovery reads, at three depths.
//!
//! - `Records`: arbitrary bytes read by `io::record::LogReader`, and logs written by
//!   `RecordBatch` from fuzzer payloads then cut. The reader never panics; the end it
//!   reports is where it stopped (`Clean` only at the end of the bytes, `Torn` dropping
//!   exactly the rest); the good prefix it read reads back alone as the same records
//!   ending `Clean`, and with zeros after it (a torn page) as the same records ending
//!   `Torn`. A written log reads back exactly, and every cut of it reads as a prefix
//!   of its records ending `Clean` or `Torn`, never `Corrupt`: a crash in the middle
//!   of an append is not damage.
//! - `KvPayload`: arbitrary bytes decoded as a key-value WAL batch
//!   (`kv::batch::decode`); what decodes re-encodes and decodes to the same batch.
//! - `Kv` / `Ts`: a `kv::Store` or a `Db` on `SimFs` (background work off, tiny
//!   memtables / heads, so WAL segments rotate, tables / segments are flushed and the
//!   manifest and catalog grow) takes fuzzer-chosen writes and is closed; then up to
//!   four of its log files (WAL segments, `MANIFEST-*`, `CURRENT`, `CATALOG-*`,
//!   `IDENTITY`; not the table and segment files, which `sstable` and `segment` cover)
//!   are damaged: a byte flipped, the file cut, a range zeroed, the tail zeroed, bytes
//!   appended, or a byte flipped and every record checksum of the file recomputed so
//!   the payload decoders behind the checksums are reached (`reframe`). The directory
//!   is reopened under the fuzzer's `WalRecovery` mode, and:
//!   - the open never panics, and an error is `Error::Corruption` or
//!     `Error::UnsupportedVersion`, never anything that blames the caller;
//!   - unless a record was reframed (consistent garbage may decode as other writes),
//!     what opens holds exactly the state after some prefix of the acknowledged writes;
//!     with damage in WAL segments only, no shorter than the writes whose records lie
//!     wholly before the first damaged byte (and the writes flushed before);
//!   - damage in the last WAL segment after its header opens under
//!     `WalRecovery::TolerateTornTail` (that is the mode's promise), and a torn-looking
//!     tail there (a cut, or zeros to the end) opens in every mode;
//!   - under `WalRecovery::Strict` nothing is tolerated (`Stats::wal_damage` is
//!     `None`); a strict open that fails on damage in the last segment opens under
//!     `TolerateTornTail`; the damage hook sees exactly what `Stats` reports;
//!   - what opened is usable, and its recovery final: one more write, a close, and a
//!     strict reopen give back exactly the recovered state plus that write.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arbitrary::Arbitrary;
use tidestore::io::fs::FileSystem;
use tidestore::io::record::{Compression, LogEnd, LogReader, MAX_PAYLOAD_LEN, RecordBatch};
use tidestore::io::sim_fs::SimFs;
use tidestore::io::wal::{SyncMode, WalDamage, WalRecovery, list_segments, segment_file_name};
use tidestore::kv::batch;
use tidestore::kv::{self, TableOptions, WriteBatch};
use tidestore::ts;
use tidestore::{Db, Error, Point, SeriesKey};

use crate::support_kv::{self, BatchEntry, CFS};
use crate::support_ts::{self, FILTERS, METRICS, SERIES};

/// Most writes before the damage.
const MAX_WRITES: usize = 40;
/// Most damages.
const MAX_DAMAGES: usize = 4;
/// Most payloads of a written log.
const MAX_PAYLOADS: usize = 16;
/// Most entries of a kv batch / points of a ts batch.
const MAX_BATCH: usize = 8;
/// Where the store or database lives.
const DIR: &str = "/db";
/// Record header length (docs/format.md, part 1).
const RECORD_HEADER: usize = 9;

/// One run of the `wal` target.
#[derive(Arbitrary, Debug)]
pub enum Input {
    /// Log records: garbage, and written logs cut.
    Records {
        /// Arbitrary bytes read as a log.
        garbage: Vec<u8>,
        /// Payloads written as a log, each `(bytes, snappy)`.
        payloads: Vec<(Vec<u8>, bool)>,
        /// Where the written log is cut (modulo its length + 1).
        cut: u32,
    },
    /// A key-value WAL payload.
    KvPayload(Vec<u8>),
    /// A key-value store's logs damaged.
    Kv(Scenario<KvWrite>),
    /// A time-series database's logs damaged.
    Ts(Scenario<TsWrite>),
}

/// Writes, damage, and the recovery mode of the reopen.
#[derive(Arbitrary, Debug)]
pub struct Scenario<W> {
    /// Reopen with `WalRecovery::Strict` instead of the default.
    pub strict: bool,
    /// The acknowledged writes.
    pub writes: Vec<W>,
    /// The damage done to the closed directory.
    pub damage: Vec<Damage>,
}

/// One write to a `kv::Store`.
#[derive(Arbitrary, Debug)]
pub enum KvWrite {
    /// `put` (family, key index, value tag, value length class).
    Put(u8, u8, u16, u8),
    /// `delete` (family, key index).
    Delete(u8, u8),
    /// `write` of a batch.
    Batch(Vec<KvBatchEntry>),
    /// `flush`.
    Flush,
}

/// One entry of a kv batch: family, key index, and the value (tag, length class) of a
/// put or `None` for a delete.
pub type KvBatchEntry = (u8, u8, Option<(u16, u8)>);

/// One write to a `Db`.
#[derive(Arbitrary, Debug)]
pub enum TsWrite {
    /// `insert` (series, timestamp, value).
    Insert(u8, i8, i16),
    /// `insert_batch`.
    Batch(Vec<(u8, i8, i16)>),
    /// `series`: a definition without points.
    Define(u8),
    /// `delete_range` (metric, filter, start, end).
    Delete(u8, u8, i8, i8),
    /// `flush`.
    Flush,
}

/// Damage to one file of the closed directory.
#[derive(Arbitrary, Debug)]
pub struct Damage {
    /// Which file: an index into the damageable files, sorted by name.
    pub file: u8,
    /// What is done to it.
    pub how: How,
}

/// What is done to a file. Offsets wrap around the file.
#[derive(Arbitrary, Debug)]
pub enum How {
    /// XOR one byte.
    Flip(u32, u8),
    /// Cut the file to this length.
    Cut(u32),
    /// Zero `len` bytes from an offset.
    Zero(u32, u8),
    /// Zero everything from an offset on.
    ZeroTail(u32),
    /// Append bytes.
    Append(Vec<u8>),
    /// XOR one byte, then recompute every record checksum of the file.
    Reframe(u32, u8),
}

/// Runs one input; panics on any violated property.
pub fn run(input: &Input) {
    match input {
        Input::Records {
            garbage,
            payloads,
            cut,
        } => {
            read_garbage(garbage);
            written_log(payloads, *cut);
        }
        Input::KvPayload(bytes) => kv_payload(bytes),
        Input::Kv(s) => scenario::<KvEngine>(s),
        Input::Ts(s) => scenario::<TsEngine>(s),
    }
}

// ---------------------------------------------------------------------------------
// Records

/// Reads every record of `bytes`: the payloads, where each ended, and how the log
/// ended.
fn read_all(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<u64>, LogEnd) {
    let mut r = LogReader::new(bytes);
    let (mut payloads, mut ends) = (Vec::new(), Vec::new());
    let mut last = 0;
    while let Some(p) = r.next_record() {
        assert!(p.len() <= MAX_PAYLOAD_LEN, "a payload over the limit");
        assert!(
            r.position() >= last + RECORD_HEADER as u64,
            "a record shorter than its header"
        );
        last = r.position();
        payloads.push(p.into_owned());
        ends.push(last);
    }
    let end = r.end().expect("an ended reader says how");
    assert!(r.next_record().is_none(), "records after the end");
    (payloads, ends, end)
}

fn read_garbage(bytes: &[u8]) {
    let (payloads, _, end) = read_all(bytes);
    let mut r = LogReader::new(bytes);
    while r.next_record().is_some() {}
    let at = r.position();
    let len = bytes.len() as u64;
    match end {
        LogEnd::Clean => assert_eq!(at, len, "Clean before the end of the bytes"),
        LogEnd::Torn {
            offset,
            dropped_bytes,
        } => {
            assert_eq!(offset, at, "Torn elsewhere than where reading stopped");
            assert_eq!(dropped_bytes, len - at, "Torn drops another length");
        }
        LogEnd::Corrupt { offset, .. } => {
            assert_eq!(offset, at, "Corrupt elsewhere than where reading stopped");
            assert!(at < len, "Corrupt at the end of the bytes");
        }
    }
    // The good prefix alone, and followed by zeros (a page that never got written).
    let good = &bytes[..at as usize];
    let (again, _, end) = read_all(good);
    assert_eq!(again, payloads, "the good prefix reads differently");
    assert_eq!(end, LogEnd::Clean, "the good prefix does not end cleanly");
    let mut zeros = good.to_vec();
    zeros.resize(good.len() + 1 + bytes.len() % 600, 0);
    let (again, _, end) = read_all(&zeros);
    assert_eq!(
        again, payloads,
        "the good prefix and zeros read differently"
    );
    assert!(
        matches!(end, LogEnd::Torn { offset, .. } if offset == at),
        "the good prefix and zeros end {end:?}"
    );
}

fn written_log(payloads: &[(Vec<u8>, bool)], cut: u32) {
    let mut batch = RecordBatch::new();
    let mut want = Vec::new();
    for (p, snappy) in payloads.iter().take(MAX_PAYLOADS) {
        let c = if *snappy {
            Compression::Snappy
        } else {
            Compression::None
        };
        batch.push(p, c).expect("a small payload is accepted");
        want.push(p.clone());
    }
    let bytes = batch.as_bytes();
    let (got, ends, end) = read_all(bytes);
    assert_eq!(got, want, "a written log reads back differently");
    assert_eq!(end, LogEnd::Clean);
    let c = cut as usize % (bytes.len() + 1);
    let (got, _, end) = read_all(&bytes[..c]);
    let whole = ends.iter().filter(|&&e| e <= c as u64).count();
    assert_eq!(got, want[..whole], "a cut log reads other records");
    assert!(
        !matches!(end, LogEnd::Corrupt { .. }),
        "a log cut at {c} of {} reads as damage: {end:?}",
        bytes.len()
    );
}

fn kv_payload(bytes: &[u8]) {
    let Ok(decoded) = batch::decode(bytes) else {
        return;
    };
    let encoded = batch::encode(decoded.first_seq, decoded.ops.iter().copied())
        .unwrap_or_else(|e| panic!("a decoded batch does not re-encode: {e}"));
    let again = batch::decode(&encoded)
        .unwrap_or_else(|e| panic!("a re-encoded batch does not decode: {e}"));
    assert_eq!(again, decoded, "a batch changed in a round trip");
    if let Some(last) = decoded.last_seq() {
        assert_eq!(last, decoded.first_seq + decoded.ops.len() as u64 - 1);
    }
}

// ---------------------------------------------------------------------------------
// Engines

/// Where a write's WAL record ended: `(segment id, offset just past the record)`.
type Place = Option<(u64, u64)>;

/// What the scenario needs of an engine.
trait Engine: Sized {
    type Write: Debug;
    /// The model of acknowledged writes.
    type Model: Default + Clone;
    /// The engine's whole contents, as compared.
    type State: PartialEq + Debug + Clone;

    fn open(fs: &SimFs, mode: WalRecovery, seen: &Seen) -> tidestore::Result<Self>;
    /// Applies `w`, to the engine and to the model.
    fn write(&self, w: &Self::Write, model: &mut Self::Model);
    fn state(&self) -> Result<Self::State, String>;
    fn model_state(model: &Self::Model) -> Self::State;
    /// One more write, and what it makes of `state`.
    fn write_fresh(&self) -> tidestore::Result<()>;
    fn with_fresh(state: &Self::State) -> Self::State;
    /// `(wal_damaged_tails, wal_damage)` of the last open.
    fn damage(&self) -> (u64, Option<WalDamage>);
    fn close(self) -> tidestore::Result<()>;
}

type Seen = Arc<Mutex<Vec<WalDamage>>>;

fn mode(strict: bool) -> WalRecovery {
    if strict {
        WalRecovery::Strict
    } else {
        WalRecovery::TolerateTornTail
    }
}

/// Lengths of the WAL segments.
fn wal_lens(fs: &SimFs) -> BTreeMap<u64, u64> {
    let dir = Path::new(DIR);
    list_segments(fs, dir)
        .unwrap_or_default()
        .into_iter()
        .map(|id| {
            let len = fs
                .read(&dir.join(segment_file_name(id)))
                .map_or(0, |b| b.len());
            (id, len as u64)
        })
        .collect()
}

/// End of the header record of a log.
fn header_end(bytes: &[u8]) -> u64 {
    let mut r = LogReader::new(bytes);
    r.next_record();
    r.position()
}

/// Where the record a write just appended ended: the segment that grew by more than a
/// header record.
fn place(fs: &SimFs, before: &BTreeMap<u64, u64>, after: &BTreeMap<u64, u64>) -> Place {
    after.iter().find_map(|(&id, &len)| {
        let base = match before.get(&id) {
            Some(&b) => b,
            None => {
                let path = Path::new(DIR).join(segment_file_name(id));
                header_end(&fs.read(&path).unwrap_or_default())
            }
        };
        (len > base).then_some((id, len))
    })
}

/// Files damage may hit, sorted by name.
fn damageable(fs: &SimFs) -> Vec<String> {
    let mut names: Vec<String> = fs
        .list(Path::new(DIR))
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            n != "LOCK" && !n.ends_with(".sst") && !n.ends_with(".seg") && !n.ends_with(".tmp")
        })
        .collect();
    names.sort();
    names
}

fn rewrite(fs: &SimFs, path: &Path, bytes: &[u8]) {
    let mut f = fs.create(path).expect("create");
    f.write_all(bytes).expect("write");
    f.sync().expect("sync");
}

/// Recomputes the checksum of every record of `b`, walking the framing as it stands.
fn reframe(b: &mut [u8]) {
    let mut pos = 0usize;
    while pos + RECORD_HEADER <= b.len() {
        let len = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
        let Some(end) = (pos + RECORD_HEADER)
            .checked_add(len)
            .filter(|&e| e <= b.len())
        else {
            return;
        };
        let crc = tidestore::codec::checksum::mask(tidestore::codec::checksum::crc32c_2(
            &b[pos + 8..pos + 9],
            &b[pos + RECORD_HEADER..end],
        ));
        b[pos..pos + 4].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}

/// Applies `how` to `b`; returns whether it reframed.
fn apply(b: &mut Vec<u8>, how: &How) -> bool {
    let at = |x: u32, n: usize| x as usize % n.max(1);
    match how {
        How::Flip(x, v) | How::Reframe(x, v) => {
            if !b.is_empty() {
                let i = at(*x, b.len());
                b[i] ^= v;
            }
            if matches!(how, How::Reframe(..)) {
                reframe(b);
                return true;
            }
        }
        How::Cut(x) => b.truncate(at(*x, b.len() + 1)),
        How::Zero(x, n) => {
            let i = at(*x, b.len());
            let end = (i + usize::from(*n)).min(b.len());
            b[i..end].fill(0);
        }
        How::ZeroTail(x) => {
            let i = at(*x, b.len());
            b[i..].fill(0);
        }
        How::Append(extra) => b.extend_from_slice(&extra[..extra.len().min(256)]),
    }
    false
}

/// The first offset at which `damaged` differs from `original` (`None`: identical).
fn first_change(original: &[u8], damaged: &[u8]) -> Option<u64> {
    if original == damaged {
        return None;
    }
    let same = original
        .iter()
        .zip(damaged)
        .take_while(|(a, b)| a == b)
        .count();
    Some(same as u64)
}

fn scenario<E: Engine>(s: &Scenario<E::Write>) {
    let fs = SimFs::new();
    let seen = Seen::default();
    let db = E::open(&fs, WalRecovery::TolerateTornTail, &seen)
        .unwrap_or_else(|e| panic!("first open: {e}"));
    let mut model = E::Model::default();
    let mut states = vec![E::model_state(&model)];
    let mut places: Vec<Place> = Vec::new();
    for w in s.writes.iter().take(MAX_WRITES) {
        let before = wal_lens(&fs);
        db.write(w, &mut model);
        places.push(place(&fs, &before, &wal_lens(&fs)));
        states.push(E::model_state(&model));
    }
    let full = E::model_state(&model);
    match db.state() {
        Ok(got) => assert_eq!(got, full, "before the damage"),
        Err(e) => panic!("before the damage: {e}"),
    }
    db.close().unwrap_or_else(|e| panic!("close: {e}"));

    // Damage.
    let dir = Path::new(DIR);
    let names = damageable(&fs);
    let originals: BTreeMap<String, Vec<u8>> = names
        .iter()
        .map(|n| (n.clone(), fs.read(&dir.join(n)).expect("read")))
        .collect();
    let mut damaged = originals.clone();
    let mut reframed = false;
    for d in s.damage.iter().take(MAX_DAMAGES) {
        if names.is_empty() {
            break;
        }
        let name = &names[usize::from(d.file) % names.len()];
        let bytes = damaged.get_mut(name).expect("a listed file");
        reframed |= apply(bytes, &d.how);
    }
    let mut changed: BTreeMap<String, u64> = BTreeMap::new();
    for (name, bytes) in &damaged {
        if let Some(x) = first_change(&originals[name], bytes) {
            rewrite(&fs, &dir.join(name), bytes);
            changed.insert(name.clone(), x);
        }
    }
    let wal_ids = list_segments(&fs, dir).unwrap_or_default();
    let wal_damage: BTreeMap<u64, u64> = wal_ids
        .iter()
        .filter_map(|&id| Some((id, *changed.get(&segment_file_name(id))?)))
        .collect();
    let only_wal = wal_damage.len() == changed.len();
    let last = wal_ids.last().copied();
    // Damage confined to the last segment, after its header; and whether it looks
    // like a torn tail (the original up to the change, then nothing or zeros).
    let in_last_tail = only_wal
        && wal_damage.len() == 1
        && last.is_some_and(|l| {
            let name = segment_file_name(l);
            wal_damage
                .get(&l)
                .is_some_and(|&x| x >= header_end(&originals[&name]))
        });
    let torn_like = in_last_tail
        && last.is_some_and(|l| {
            let name = segment_file_name(l);
            let x = wal_damage[&l] as usize;
            let d = &damaged[&name];
            d.len() <= originals[&name].len() && d[x.min(d.len())..].iter().all(|&b| b == 0)
        });
    // The writes whose records are intact, in order: recovery keeps at least these.
    let lower = if only_wal {
        places
            .iter()
            .take_while(|p| match p {
                None => true,
                Some((seg, end)) => wal_damage.get(seg).is_none_or(|&x| *end <= x),
            })
            .count()
    } else {
        0
    };

    let mode = mode(s.strict);
    let ctx = format!(
        "{mode:?}, damaged {changed:?} (WAL segments {wal_ids:?}), reframed {reframed}, \
         writes {} whose records end at {places:?}",
        places.len()
    );
    seen.lock().expect("seen").clear();
    let db = match E::open(&fs, mode, &seen) {
        Ok(db) => db,
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::Corruption { .. } | Error::UnsupportedVersion { .. }
                ),
                "{ctx}: open failed with an error that is not about damage: {e:?}"
            );
            // A reframed record is intact as a record: what it holds is the payload
            // decoder's business, and may be refused in every mode.
            if reframed {
                return;
            }
            assert!(
                !(in_last_tail && mode == WalRecovery::TolerateTornTail),
                "{ctx}: damage in the last WAL segment is not tolerated: {e}"
            );
            assert!(
                !torn_like,
                "{ctx}: a torn-looking tail of the last WAL segment is refused: {e}"
            );
            if in_last_tail {
                let db = E::open(&fs, WalRecovery::TolerateTornTail, &seen).unwrap_or_else(|e2| {
                    panic!("{ctx}: refused strictly ({e}), then tolerantly: {e2}")
                });
                let _ = db.state();
                db.close().unwrap_or_else(|e| panic!("{ctx}: close: {e}"));
            }
            return;
        }
    };
    let got = db
        .state()
        .unwrap_or_else(|e| panic!("{ctx}: a read after the open: {e}"));
    let (tails, damage) = db.damage();
    assert_eq!(
        tails,
        u64::from(damage.is_some()),
        "{ctx}: wal_damaged_tails"
    );
    if mode == WalRecovery::Strict {
        assert!(damage.is_none(), "{ctx}: strict tolerated {damage:?}");
    }
    assert_eq!(
        *seen.lock().expect("seen"),
        damage.iter().cloned().collect::<Vec<_>>(),
        "{ctx}: the hook saw other damage than Stats report"
    );
    if !reframed {
        let k = (lower..states.len()).rev().find(|&k| states[k] == got);
        assert!(
            k.is_some(),
            "{ctx}: recovered {got:?}, which is no state after {lower} or more of the \
             acknowledged writes (all: {full:?})"
        );
    }
    db.write_fresh()
        .unwrap_or_else(|e| panic!("{ctx}: a write after recovery: {e}"));
    let want = E::with_fresh(&got);
    match db.state() {
        Ok(now) => assert_eq!(now, want, "{ctx}: after one more write"),
        Err(e) => panic!("{ctx}: a read after one more write: {e}"),
    }
    db.close()
        .unwrap_or_else(|e| panic!("{ctx}: close after recovery: {e}"));
    let db = E::open(&fs, WalRecovery::Strict, &seen)
        .unwrap_or_else(|e| panic!("{ctx}: the strict reopen after recovery: {e}"));
    match db.state() {
        Ok(now) => assert_eq!(now, want, "{ctx}: after the strict reopen"),
        Err(e) => panic!("{ctx}: a read after the strict reopen: {e}"),
    }
    db.close()
        .unwrap_or_else(|e| panic!("{ctx}: last close: {e}"));
}

// ---------------------------------------------------------------------------------
// kv::Store

struct KvEngine(kv::Store);

fn kv_rows(store: &kv::Store) -> Result<Vec<support_kv::Rows>, String> {
    CFS.iter()
        .map(|name| support_kv::collect(store.range(name, ..).map_err(|e| e.to_string())?))
        .collect()
}

impl Engine for KvEngine {
    type Write = KvWrite;
    type Model = support_kv::Model;
    type State = Vec<support_kv::Rows>;

    fn open(fs: &SimFs, mode: WalRecovery, seen: &Seen) -> tidestore::Result<Self> {
        let sink = Arc::clone(seen);
        let opts = kv::Options::default()
            .fs(Arc::new(fs.clone()))
            .sync_mode(SyncMode::Os)
            .memtable_bytes(4096)
            .memtable_entries(6)
            .l0_compaction_trigger(2)
            .level1_bytes(4096)
            .target_file_bytes(4096)
            .manifest_rewrite_bytes(512)
            .table(TableOptions {
                block_size: 256,
                restart_interval: 2,
                bloom_bits_per_key: 10,
                compression: true,
            })
            .background_work(false)
            .wal_recovery(mode)
            .on_wal_damage(move |d| sink.lock().expect("seen").push(d.clone()));
        kv::Store::open_with(DIR, opts).map(KvEngine)
    }

    fn write(&self, w: &KvWrite, model: &mut support_kv::Model) {
        let store = &self.0;
        let r = match w {
            KvWrite::Put(cf, k, tag, len) => {
                let (name, k, v) = (
                    support_kv::cf(*cf),
                    support_kv::key(*k),
                    support_kv::value(*tag, *len),
                );
                model.put(name, k.clone(), v.clone());
                store.put(name, &k, &v)
            }
            KvWrite::Delete(cf, k) => {
                let (name, k) = (support_kv::cf(*cf), support_kv::key(*k));
                model.delete(name, k.clone());
                store.delete(name, &k)
            }
            KvWrite::Batch(entries) => {
                let mut b = WriteBatch::new();
                for &(cf, k, value) in entries.iter().take(MAX_BATCH) {
                    let e = BatchEntry { cf, key: k, value };
                    let (name, k) = (support_kv::cf(e.cf), support_kv::key(e.key));
                    match e.value {
                        Some((tag, len)) => {
                            let v = support_kv::value(tag, len);
                            b.put(name, &k, &v);
                            model.put(name, k, v);
                        }
                        None => {
                            b.delete(name, &k);
                            model.delete(name, k);
                        }
                    }
                }
                if b.is_empty() { Ok(()) } else { store.write(b) }
            }
            KvWrite::Flush => store.flush(),
        };
        r.unwrap_or_else(|e| panic!("{w:?}: {e}"));
    }

    fn state(&self) -> Result<Self::State, String> {
        kv_rows(&self.0)
    }

    fn model_state(model: &support_kv::Model) -> Self::State {
        CFS.iter()
            .map(|name| model.range(name, &Bound::Unbounded, &Bound::Unbounded))
            .collect()
    }

    fn write_fresh(&self) -> tidestore::Result<()> {
        self.0.put(CFS[0], b"\x01fresh", b"after recovery")
    }

    fn with_fresh(state: &Self::State) -> Self::State {
        let mut s = state.clone();
        let rows = &mut s[0];
        rows.retain(|(k, _)| k.as_slice() != b"\x01fresh");
        rows.push((b"\x01fresh".to_vec(), b"after recovery".to_vec()));
        rows.sort();
        s
    }

    fn damage(&self) -> (u64, Option<WalDamage>) {
        let s = self.0.stats();
        (s.wal_damaged_tails, s.wal_damage)
    }

    fn close(self) -> tidestore::Result<()> {
        self.0.close()
    }
}

// ---------------------------------------------------------------------------------
// Db

struct TsEngine(Db);

/// A time-series state: every point by (key, timestamp), and the series listed.
type TsState = (BTreeMap<(SeriesKey, i64), u64>, BTreeSet<SeriesKey>);

/// The timestamp of the write after recovery.
const FRESH_TS: i64 = 1_000_000;

impl Engine for TsEngine {
    type Write = TsWrite;
    type Model = support_ts::Model;
    type State = TsState;

    fn open(fs: &SimFs, mode: WalRecovery, seen: &Seen) -> tidestore::Result<Self> {
        let sink = Arc::clone(seen);
        let opts = ts::Options::default()
            .fs(Arc::new(fs.clone()))
            .sync_mode(SyncMode::Os)
            .background_work(false)
            .head_bytes(4096)
            .chunk_points(16)
            .partition_width(64)
            .compaction_trigger(2)
            .catalog_rewrite_bytes(256)
            .manifest_rewrite_bytes(512)
            .wal_recovery(mode)
            .on_wal_damage(move |d| sink.lock().expect("seen").push(d.clone()));
        Db::open_with(PathBuf::from(DIR), opts).map(TsEngine)
    }

    fn write(&self, w: &TsWrite, model: &mut support_ts::Model) {
        let db = &self.0;
        let series = |s: u8| usize::from(s) % SERIES.len();
        let r = match w {
            TsWrite::Insert(s, t, v) => {
                let (s, t, v) = (series(*s), i64::from(*t), f64::from(*v) / 4.0);
                model.insert(s, t, v);
                db.insert(SERIES[s].0, t, v, SERIES[s].1)
            }
            TsWrite::Batch(points) => {
                let points: Vec<(usize, i64, f64)> = points
                    .iter()
                    .take(MAX_BATCH)
                    .map(|&(s, t, v)| (series(s), i64::from(t), f64::from(v) / 4.0))
                    .collect();
                let batch: Vec<Point> = points
                    .iter()
                    .map(|&(s, t, v)| Point::new(SERIES[s].0, t, v, SERIES[s].1))
                    .collect();
                for &(s, t, v) in &points {
                    model.insert(s, t, v);
                }
                db.insert_batch(&batch)
            }
            TsWrite::Define(s) => {
                let s = series(*s);
                model.defined.insert(s);
                db.series(SERIES[s].0, SERIES[s].1).map(|_| ())
            }
            TsWrite::Delete(m, f, a, b) => {
                let (m, f) = (
                    METRICS[usize::from(*m) % METRICS.len()],
                    FILTERS[usize::from(*f) % FILTERS.len()],
                );
                let (a, b) = (i64::from(*a.min(b)), i64::from(*a.max(b)));
                model.delete(m, a, b, f);
                db.delete_range(m, a, b, f)
            }
            TsWrite::Flush => db.flush(),
        };
        r.unwrap_or_else(|e| panic!("{w:?}: {e}"));
    }

    fn state(&self) -> Result<TsState, String> {
        let db = &self.0;
        let keys: BTreeSet<SeriesKey> = db
            .list_keys()
            .map_err(|e| format!("list_keys: {e}"))?
            .into_iter()
            .collect();
        let mut points = BTreeMap::new();
        let metrics: BTreeSet<&str> = keys.iter().map(|k| k.metric()).collect();
        for m in metrics {
            for p in db
                .query_metric(m)
                .map_err(|e| format!("query_metric({m}): {e}"))?
            {
                let key = p.series_key().map_err(|e| e.to_string())?;
                if points
                    .insert((key, p.timestamp), p.value.to_bits())
                    .is_some()
                {
                    return Err(format!("a point twice: {p:?}"));
                }
            }
        }
        Ok((points, keys))
    }

    fn model_state(model: &support_ts::Model) -> TsState {
        let points = model
            .points
            .iter()
            .map(|(&(s, t), &v)| ((support_ts::key(s), t), v))
            .collect();
        (
            points,
            model.defined.iter().map(|&s| support_ts::key(s)).collect(),
        )
    }

    fn write_fresh(&self) -> tidestore::Result<()> {
        let (m, tags) = SERIES[0];
        self.0.insert(m, FRESH_TS, 0.5, tags)
    }

    fn with_fresh(state: &TsState) -> TsState {
        let mut s = state.clone();
        let key = support_ts::key(0);
        s.0.insert((key.clone(), FRESH_TS), 0.5f64.to_bits());
        s.1.insert(key);
        s
    }

    fn damage(&self) -> (u64, Option<WalDamage>) {
        let s = self.0.stats();
        (s.wal_damaged_tails, s.wal_damage)
    }

    fn close(self) -> tidestore::Result<()> {
        self.0.close()
    }
}
