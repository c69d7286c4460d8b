//! The key-value `kv::Store` under torture: [`Kv`].
//!
//! Three column families of [`KEYS`] keys each (of varied lengths, ordered differently
//! from their numbers, some hot); a writer thread owns the keys `i` with
//! `i % threads == thread` in every family. Writes: `put` (values from empty to 6 KB,
//! unique to the write), `delete` (mostly of present keys) and multi-family
//! `WriteBatch`es of puts and deletes (a key twice in a batch: the later one wins). The
//! model keeps a hash of each value; reads compare the hash of the bytes read.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use tidestore::io::fs::FileSystem;
use tidestore::kv::{Options, Store, TableOptions, WriteBatch};

use crate::load::{Changes, Gen, Load, Outcome, Round, State};
use crate::rng::Rng;

const FAMILIES: [&str; 3] = ["c0", "c1", "c2"];
/// Keys per family.
const KEYS: u16 = 1500;
/// Keys `< HOT` are written far more often than the others.
const HOT: u16 = 60;

/// A key of the model: family number and key number.
pub type KvKey = (u8, u16);

/// A put: the value is [`value_bytes`] of `(tag, len)`.
type Put = (u64, u32);

/// One write.
#[derive(Debug, Clone)]
pub enum KvWrite {
    /// `put`.
    Put { cf: u8, key: u16, put: Put },
    /// `delete`.
    Delete { cf: u8, key: u16 },
    /// One `WriteBatch`: `None` is a delete.
    Batch(Vec<(u8, u16, Option<Put>)>),
}

/// The options varied per round.
#[derive(Debug, Clone)]
pub struct KvKnobs {
    memtable_bytes: usize,
    memtable_entries: Option<usize>,
    max_frozen_memtables: usize,
    l0_compaction_trigger: usize,
    l0_stall_trigger: usize,
    level1_bytes: u64,
    level_size_multiplier: u64,
    target_file_bytes: u64,
    max_subcompactions: usize,
    manifest_rewrite_bytes: u64,
    block_size: usize,
    restart_interval: usize,
    bloom_bits_per_key: u32,
    compression: bool,
}

/// The key-value engine.
#[derive(Debug)]
pub struct Kv;

/// The bytes of key number `i`: a 2-digit prefix that does not follow `i`, then `i`,
/// then 0 to 3 padding bytes.
fn key_bytes(i: u16) -> Vec<u8> {
    format!("{:02x}/k{i:05}{}", i % 7, "x".repeat(usize::from(i % 4))).into_bytes()
}

fn parse_key(bytes: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(bytes).ok()?;
    let i: u16 = s.get(4..9)?.parse().ok()?;
    (i < KEYS && key_bytes(i) == bytes).then_some(i)
}

/// The value of a put: the tag in hex, then a pattern derived from it, cut to `len`.
fn value_bytes((tag, len): Put) -> Vec<u8> {
    let mut v = format!("{tag:x}.").into_bytes();
    let mut x = tag;
    while v.len() < len as usize {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Runs of a letter: compressible, like real values.
        let run = 1 + (x >> 60) as usize;
        v.extend(std::iter::repeat_n(b'a' + ((x >> 32) % 26) as u8, run));
    }
    v.truncate(len as usize);
    v
}

/// FNV-1a of the bytes (the model's value).
fn hash(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// A random key number owned by `g`'s thread.
fn own_key(g: &mut Gen) -> u16 {
    let (t, n) = (g.thread as u16, g.threads as u16);
    let limit = if g.rng.chance(300) { HOT } else { KEYS };
    let slots = (limit - t).div_ceil(n).max(1);
    t + n * g.rng.below(u64::from(slots)) as u16
}

/// A present key of family `cf` owned by `g`'s thread, if any.
fn present_key(g: &mut Gen, own: &State<Kv>, cf: u8) -> Option<u16> {
    let from = g.rng.below(u64::from(KEYS)) as u16;
    own.range((cf, from)..(cf + 1, 0))
        .chain(own.range((cf, 0)..(cf, from)))
        .map(|((_, k), _)| *k)
        .next()
}

fn put(g: &mut Gen) -> Put {
    let len = match g.rng.below(100) {
        0..=1 => 0,
        2..=41 => g.rng.range(1, 40),
        42..=91 => g.rng.range(41, 300),
        _ => g.rng.range(1000, 6000),
    };
    (g.unique(), len as u32)
}

fn cf(g: &mut Gen) -> u8 {
    g.rng.below(FAMILIES.len() as u64) as u8
}

fn num<T: std::str::FromStr>(s: Option<&str>) -> Result<T, String> {
    let s = s.ok_or("missing field")?;
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

fn key_of(cf: Option<&str>, key: Option<&str>) -> Result<KvKey, String> {
    let (cf, key): (u8, u16) = (num(cf)?, num(key)?);
    if usize::from(cf) >= FAMILIES.len() || key >= KEYS {
        return Err(format!("no key {cf}/{key}"));
    }
    Ok((cf, key))
}

fn parse_put(tag: Option<&str>, len: Option<&str>) -> Result<Put, String> {
    let tag = u64::from_str_radix(tag.ok_or("missing tag")?, 16).map_err(|e| e.to_string())?;
    Ok((tag, num(len)?))
}

impl Load for Kv {
    const NAME: &'static str = "kv";
    type Db = Store;
    type Key = KvKey;
    type Val = u64;
    type Write = KvWrite;
    type Knobs = KvKnobs;

    fn knobs(rng: &mut Rng) -> KvKnobs {
        let l0_compaction_trigger = rng.range(1, 4) as usize;
        KvKnobs {
            memtable_bytes: rng.pick(&[4096, 16 << 10, 64 << 10, 1 << 20]),
            memtable_entries: rng.chance(300).then(|| rng.range(50, 500) as usize),
            max_frozen_memtables: rng.range(1, 3) as usize,
            l0_compaction_trigger,
            l0_stall_trigger: l0_compaction_trigger + rng.range(2, 10) as usize,
            level1_bytes: rng.pick(&[16 << 10, 64 << 10, 256 << 10]),
            level_size_multiplier: rng.range(2, 4),
            target_file_bytes: rng.pick(&[4096, 16 << 10, 64 << 10]),
            max_subcompactions: rng.range(1, 3) as usize,
            manifest_rewrite_bytes: rng.pick(&[1 << 10, 16 << 10, 4 << 20]),
            block_size: rng.pick(&[256, 1024, 4096]),
            restart_interval: rng.range(1, 16) as usize,
            bloom_bits_per_key: rng.pick(&[0, 10]),
            compression: rng.chance(700),
        }
    }

    fn open(
        dir: &Path,
        round: &Round<Kv>,
        fs: Option<Arc<dyn FileSystem>>,
    ) -> tidestore::Result<Store> {
        let k = &round.knobs;
        let mut opts = Options::default()
            .sync_mode(round.sync)
            .background_work(round.background)
            .memtable_bytes(k.memtable_bytes)
            .max_frozen_memtables(k.max_frozen_memtables)
            .l0_compaction_trigger(k.l0_compaction_trigger)
            .l0_stall_trigger(k.l0_stall_trigger)
            .level1_bytes(k.level1_bytes)
            .level_size_multiplier(k.level_size_multiplier)
            .target_file_bytes(k.target_file_bytes)
            .max_subcompactions(k.max_subcompactions)
            .manifest_rewrite_bytes(k.manifest_rewrite_bytes)
            .table(TableOptions {
                block_size: k.block_size,
                restart_interval: k.restart_interval,
                bloom_bits_per_key: k.bloom_bits_per_key,
                compression: k.compression,
            });
        if let Some(n) = k.memtable_entries {
            opts = opts.memtable_entries(n);
        }
        if let Some(fs) = fs {
            opts = opts.fs(fs);
        }
        Store::open_with(dir, opts)
    }

    fn close(db: Store) -> tidestore::Result<()> {
        db.close()
    }

    fn flush(db: &Store) -> tidestore::Result<()> {
        db.flush()
    }

    fn compact(db: &Store) -> tidestore::Result<()> {
        db.compact()
    }

    fn read_all(db: &Store) -> Result<State<Kv>, String> {
        let mut state = State::<Kv>::new();
        for name in db.list_column_families() {
            if !FAMILIES.contains(&name.as_str()) {
                return Err(format!("unknown column family {name:?} listed"));
            }
        }
        for (c, name) in FAMILIES.iter().enumerate() {
            let rows = db
                .range(name, ..)
                .map_err(|e| format!("range({name}): {e}"))?;
            for row in rows {
                let (k, v) = row.map_err(|e| format!("range({name}): {e}"))?;
                let i = parse_key(&k).ok_or_else(|| format!("unknown key {k:?} in {name}"))?;
                state.insert((c as u8, i), hash(&v));
            }
        }
        Ok(state)
    }

    fn owner(key: &KvKey, threads: usize) -> usize {
        usize::from(key.1) % threads
    }

    fn random_write(g: &mut Gen, _knobs: &KvKnobs, own: &State<Kv>) -> KvWrite {
        match g.rng.below(100) {
            0..=54 => KvWrite::Put {
                cf: cf(g),
                key: own_key(g),
                put: put(g),
            },
            55..=69 => {
                let cf = cf(g);
                let key = match present_key(g, own, cf) {
                    Some(k) if g.rng.chance(700) => k,
                    _ => own_key(g),
                };
                KvWrite::Delete { cf, key }
            }
            _ => {
                let n = g.rng.range(2, 20);
                let entries = (0..n)
                    .map(|_| {
                        let (cf, key) = (cf(g), own_key(g));
                        let put = (!g.rng.chance(200)).then(|| put(g));
                        (cf, key, put)
                    })
                    .collect();
                KvWrite::Batch(entries)
            }
        }
    }

    fn effects(write: &KvWrite, _state: &State<Kv>) -> (Changes<KvKey, u64>, Outcome) {
        let mut ch = Changes::new();
        let mut one = |cf: u8, key: u16, p: Option<Put>| {
            ch.insert((cf, key), p.map(|p| hash(&value_bytes(p))));
        };
        match write {
            KvWrite::Put { cf, key, put } => one(*cf, *key, Some(*put)),
            KvWrite::Delete { cf, key } => one(*cf, *key, None),
            KvWrite::Batch(entries) => {
                for &(cf, key, p) in entries {
                    one(cf, key, p);
                }
            }
        }
        (ch, Outcome::Done)
    }

    fn execute(db: &Store, write: &KvWrite) -> tidestore::Result<Outcome> {
        let name = |cf: u8| FAMILIES[usize::from(cf)];
        match write {
            KvWrite::Put { cf, key, put } => {
                db.put(name(*cf), key_bytes(*key), value_bytes(*put))?
            }
            KvWrite::Delete { cf, key } => db.delete(name(*cf), key_bytes(*key))?,
            KvWrite::Batch(entries) => {
                let mut batch = WriteBatch::new();
                for &(cf, key, p) in entries {
                    match p {
                        Some(p) => batch.put(name(cf), key_bytes(key), value_bytes(p)),
                        None => batch.delete(name(cf), key_bytes(key)),
                    };
                }
                db.write(batch)?;
            }
        }
        Ok(Outcome::Done)
    }

    fn spot_check(db: &Store, g: &mut Gen, own: &State<Kv>) -> Result<u64, String> {
        let mut checked = 0;
        for _ in 0..8 {
            let (c, i) = (cf(g), own_key(g));
            let got = db
                .get(FAMILIES[usize::from(c)], key_bytes(i))
                .map_err(|e| format!("get: {e}"))?
                .map(|v| hash(&v));
            if got.as_ref() != own.get(&(c, i)) {
                return Err(format!(
                    "get({c}/{i}): hash {got:?}, written {:?}",
                    own.get(&(c, i))
                ));
            }
            checked += 1;
        }
        // A range between two random keys, restricted to this thread's keys.
        let c = cf(g);
        let (mut lo, mut hi) = (key_bytes(own_key(g)), key_bytes(own_key(g)));
        if lo > hi {
            std::mem::swap(&mut lo, &mut hi);
        }
        let range = (Bound::Included(lo.clone()), Bound::Excluded(hi.clone()));
        let mut got = Vec::new();
        for row in db
            .range(FAMILIES[usize::from(c)], range)
            .map_err(|e| format!("range: {e}"))?
        {
            let (k, v) = row.map_err(|e| format!("range: {e}"))?;
            let i = parse_key(&k).ok_or_else(|| format!("unknown key {k:?}"))?;
            if usize::from(i) % g.threads == g.thread {
                got.push((k, hash(&v)));
            }
        }
        let mut want: Vec<(Vec<u8>, u64)> = own
            .range((c, 0)..(c + 1, 0))
            .map(|((_, i), v)| (key_bytes(*i), *v))
            .filter(|(k, _)| *k >= lo && *k < hi)
            .collect();
        want.sort();
        if got != want {
            return Err(format!(
                "range of family {c} over [{}, {}): {} own keys read, {} written",
                String::from_utf8_lossy(&lo),
                String::from_utf8_lossy(&hi),
                got.len(),
                want.len()
            ));
        }
        Ok(checked + want.len() as u64)
    }

    fn encode(write: &KvWrite) -> String {
        let entry = |(cf, key, p): &(u8, u16, Option<Put>)| match p {
            Some((tag, len)) => format!("{cf}:{key}:{tag:x}:{len}"),
            None => format!("{cf}:{key}:-"),
        };
        match write {
            KvWrite::Put { cf, key, put } => format!("p {cf} {key} {:x} {}", put.0, put.1),
            KvWrite::Delete { cf, key } => format!("d {cf} {key}"),
            KvWrite::Batch(entries) => format!(
                "b {}",
                entries.iter().map(entry).collect::<Vec<_>>().join(",")
            ),
        }
    }

    fn decode(line: &str) -> Result<KvWrite, String> {
        let mut f = line.split(' ');
        match f.next() {
            Some("p") => {
                let (cf, key) = key_of(f.next(), f.next())?;
                Ok(KvWrite::Put {
                    cf,
                    key,
                    put: parse_put(f.next(), f.next())?,
                })
            }
            Some("d") => {
                let (cf, key) = key_of(f.next(), f.next())?;
                Ok(KvWrite::Delete { cf, key })
            }
            Some("b") => {
                let entries = f
                    .next()
                    .ok_or("missing entries")?
                    .split(',')
                    .map(|e| {
                        let mut p = e.split(':');
                        let (cf, key) = key_of(p.next(), p.next())?;
                        let put = match p.next() {
                            Some("-") => None,
                            tag => Some(parse_put(tag, p.next())?),
                        };
                        Ok((cf, key, put))
                    })
                    .collect::<Result<_, String>>()?;
                Ok(KvWrite::Batch(entries))
            }
            _ => Err(format!("bad write {line:?}")),
        }
    }

    fn encode_entry(key: &KvKey, val: &u64) -> String {
        format!("{} {} {val:x}", key.0, key.1)
    }

    fn decode_entry(line: &str) -> Result<(KvKey, u64), String> {
        let mut f = line.split(' ');
        let key = key_of(f.next(), f.next())?;
        let val =
            u64::from_str_radix(f.next().ok_or("missing hash")?, 16).map_err(|e| e.to_string())?;
        Ok((key, val))
    }
}
