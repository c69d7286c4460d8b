//! The time-series `Db` under torture: [`Ts`].
//!
//! Eight series of three metrics (tag sets that overlap, a series is picked out by its
//! `host` tag) over a window of [`WINDOW`] timestamps, plus a few extreme timestamps.
//! A writer thread owns the series `s` with `s % threads == thread`. Writes: `insert`,
//! `insert_batch` across the thread's series in arrival order (every series at `t`,
//! then `t + 1`, a duplicate now and then), `series` + `append`, `update` (mostly of
//! existing points, else it must say `NotFound`), `delete_range` of one series, and a
//! bare `series` definition. Each round starts its clock at a random place of the
//! window, so rounds overwrite older data and segments overlap. Values are unique
//! (decimals, integers, random bit patterns) with a few specials (NaN payloads,
//! infinities, -0.0), compared bit for bit.

use std::path::Path;
use std::sync::Arc;

use tidestore::io::fs::FileSystem;
use tidestore::ts::Options;
use tidestore::{Db, Error, Point, SeriesKey};

use crate::load::{Changes, Gen, Load, Outcome, Round, State};
use crate::rng::Rng;

/// The series: metric and tags.
const SERIES: [(&str, &[(&str, &str)]); 8] = [
    ("cpu", &[("host", "h0"), ("dc", "x")]),
    ("cpu", &[("host", "h1"), ("dc", "x")]),
    ("cpu", &[("dc", "y"), ("host", "h2")]),
    ("cpu", &[("host", "h3"), ("dc", "y"), ("rack", "7")]),
    ("mem", &[("host", "h4")]),
    ("mem", &[("host", "h5"), ("dc", "x")]),
    ("disk", &[("host", "h6"), ("dev", "sda")]),
    ("disk", &[("dev", "sdb"), ("host", "h7"), ("dc", "y")]),
];
const METRICS: [&str; 3] = ["cpu", "mem", "disk"];
/// Ordinary timestamps are in `0..WINDOW`.
const WINDOW: i64 = 4096;
/// Timestamps written now and then, and kept until a delete covers them.
const EXTREMES: [i64; 4] = [i64::MIN, -1_000_000_007, 1 << 40, i64::MAX];
/// Values whose bits are not unique, but which exercise the codecs.
const SPECIALS: [u64; 6] = [
    0x8000_0000_0000_0000, // -0.0
    0x7FF8_0000_0000_0000, // NaN
    0xFFF8_DEAD_BEEF_0001, // NaN with a payload
    0x7FF0_0000_0000_0000, // inf
    0xFFF0_0000_0000_0000, // -inf
    0x0000_0000_0000_0001, // the smallest subnormal
];

/// A key of the model: a series definition or a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TsKey {
    /// Series `s` is defined (listed by `list_keys`); its value is always 0.
    Series(u8),
    /// The point of series `s` at a timestamp; its value is the `f64`'s bits.
    Point(u8, i64),
}

/// One write.
#[derive(Debug, Clone)]
pub enum TsWrite {
    /// `insert`.
    Insert { s: u8, t: i64, bits: u64 },
    /// `insert_batch` (a later point of the same series and timestamp wins).
    Batch(Vec<(u8, i64, u64)>),
    /// `series`, then `append` of these `(timestamp, bits)`.
    Append { s: u8, points: Vec<(i64, u64)> },
    /// `update`: `NotFound` unless the point exists.
    Update { s: u8, t: i64, bits: u64 },
    /// `delete_range` of series `s` over `[a, b]`.
    Delete { s: u8, a: i64, b: i64 },
    /// `series` alone: defines the series.
    Define { s: u8 },
}

/// The options varied per round.
#[derive(Debug, Clone)]
pub struct TsKnobs {
    head_bytes: usize,
    max_frozen_heads: usize,
    chunk_points: usize,
    partition_width: i64,
    compaction_trigger: usize,
    catalog_rewrite_bytes: u64,
    manifest_rewrite_bytes: u64,
    /// The series written in this round (a bit per series); the others get only bare
    /// definitions and deletes.
    active: u8,
}

/// The time-series engine.
#[derive(Debug)]
pub struct Ts;

fn metric(s: u8) -> &'static str {
    SERIES[usize::from(s)].0
}

fn tags(s: u8) -> &'static [(&'static str, &'static str)] {
    SERIES[usize::from(s)].1
}

/// The filter that picks out series `s` alone.
fn only(s: u8) -> [(&'static str, &'static str); 1] {
    let host = tags(s)
        .iter()
        .find(|(k, _)| *k == "host")
        .map_or("", |(_, v)| *v);
    [("host", host)]
}

fn series_index(key: &SeriesKey) -> Option<u8> {
    (0..SERIES.len() as u8).find(|&s| SeriesKey::new(metric(s), tags(s)).ok().as_ref() == Some(key))
}

/// The series owned by `g`'s thread.
fn owned(g: &Gen) -> Vec<u8> {
    (0..SERIES.len() as u8)
        .filter(|&s| usize::from(s) % g.threads == g.thread)
        .collect()
}

/// The series owned by `g`'s thread and active in the round (all owned ones if none
/// is active).
fn active(g: &Gen, knobs: &TsKnobs) -> Vec<u8> {
    let mine = owned(g);
    let on: Vec<u8> = mine
        .iter()
        .copied()
        .filter(|s| knobs.active & (1 << s) != 0)
        .collect();
    if on.is_empty() { mine } else { on }
}

/// The next timestamp of the thread's clock (in arrival order, wrapping in the window).
fn tick(g: &mut Gen) -> i64 {
    g.cursor = g.cursor.wrapping_add(1);
    (g.cursor % WINDOW as u64) as i64
}

fn timestamp(g: &mut Gen) -> i64 {
    match g.rng.below(100) {
        0 => g.rng.pick(&EXTREMES),
        1..=69 => tick(g),
        _ => g.rng.below(WINDOW as u64) as i64,
    }
}

/// A value whose bits no other write of the run uses (except the few specials).
fn value(g: &mut Gen) -> u64 {
    let u = g.unique();
    match g.rng.below(100) {
        0..=1 => g.rng.pick(&SPECIALS),
        2..=4 => g.rng.next(),
        5..=54 => (u as f64 / 100.0).to_bits(),
        _ => (u as f64).to_bits(),
    }
}

/// An existing point of `s` (at or after a random timestamp), if any.
fn existing(g: &mut Gen, own: &State<Ts>, s: u8) -> Option<i64> {
    let from = g.rng.below(WINDOW as u64) as i64;
    own.range(TsKey::Point(s, from)..=TsKey::Point(s, i64::MAX))
        .chain(own.range(TsKey::Point(s, i64::MIN)..TsKey::Point(s, from)))
        .next()
        .and_then(|(k, _)| match k {
            TsKey::Point(_, t) => Some(*t),
            TsKey::Series(_) => None,
        })
}

fn hex(s: &str) -> Result<u64, String> {
    u64::from_str_radix(s, 16).map_err(|e| format!("bad hex {s:?}: {e}"))
}

fn num<T: std::str::FromStr>(s: Option<&str>) -> Result<T, String> {
    let s = s.ok_or("missing field")?;
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

fn parse_series(s: Option<&str>) -> Result<u8, String> {
    let s: u8 = num(s)?;
    if usize::from(s) >= SERIES.len() {
        return Err(format!("no series {s}"));
    }
    Ok(s)
}

/// `t:bits` pairs separated by commas.
fn parse_pairs(field: Option<&str>) -> Result<Vec<(i64, u64)>, String> {
    field
        .ok_or("missing points")?
        .split(',')
        .map(|p| {
            let (t, v) = p.split_once(':').ok_or("bad point")?;
            Ok((num(Some(t))?, hex(v)?))
        })
        .collect()
}

impl Load for Ts {
    const NAME: &'static str = "ts";
    type Db = Db;
    type Key = TsKey;
    type Val = u64;
    type Write = TsWrite;
    type Knobs = TsKnobs;

    fn knobs(rng: &mut Rng) -> TsKnobs {
        TsKnobs {
            head_bytes: rng.pick(&[4096, 8 << 10, 16 << 10, 64 << 10, 1 << 20]),
            max_frozen_heads: rng.range(1, 3) as usize,
            chunk_points: rng.pick(&[16, 64, 256]),
            partition_width: rng.pick(&[64, 512, 4096]),
            compaction_trigger: rng.range(2, 4) as usize,
            catalog_rewrite_bytes: rng.pick(&[256, 4 << 10, 4 << 20]),
            manifest_rewrite_bytes: rng.pick(&[1 << 10, 8 << 10, 4 << 20]),
            active: if rng.chance(500) {
                0xff
            } else {
                rng.next() as u8
            },
        }
    }

    fn open(
        dir: &Path,
        round: &Round<Ts>,
        fs: Option<Arc<dyn FileSystem>>,
    ) -> tidestore::Result<Db> {
        let k = &round.knobs;
        let mut opts = Options::default()
            .sync_mode(round.sync)
            .background_work(round.background)
            .head_bytes(k.head_bytes)
            .max_frozen_heads(k.max_frozen_heads)
            .chunk_points(k.chunk_points)
            .partition_width(k.partition_width)
            .compaction_trigger(k.compaction_trigger)
            .catalog_rewrite_bytes(k.catalog_rewrite_bytes)
            .manifest_rewrite_bytes(k.manifest_rewrite_bytes);
        if let Some(fs) = fs {
            opts = opts.fs(fs);
        }
        Db::open_with(dir, opts)
    }

    fn close(db: Db) -> tidestore::Result<()> {
        db.close()
    }

    fn flush(db: &Db) -> tidestore::Result<()> {
        db.flush()
    }

    fn compact(db: &Db) -> tidestore::Result<()> {
        db.compact()
    }

    fn read_all(db: &Db) -> Result<State<Ts>, String> {
        let mut state = State::<Ts>::new();
        for m in METRICS {
            let points = db
                .query_metric(m)
                .map_err(|e| format!("query_metric({m}): {e}"))?;
            for p in points {
                let key = p
                    .series_key()
                    .map_err(|e| format!("point of a bad series: {e}"))?;
                let s =
                    series_index(&key).ok_or_else(|| format!("a point of unknown series {key}"))?;
                if state
                    .insert(TsKey::Point(s, p.timestamp), p.value.to_bits())
                    .is_some()
                {
                    return Err(format!("point {key} @ {} returned twice", p.timestamp));
                }
            }
        }
        for key in db.list_keys().map_err(|e| format!("list_keys: {e}"))? {
            let s = series_index(&key).ok_or_else(|| format!("unknown series {key} listed"))?;
            state.insert(TsKey::Series(s), 0);
        }
        Ok(state)
    }

    fn owner(key: &TsKey, threads: usize) -> usize {
        match key {
            TsKey::Series(s) | TsKey::Point(s, _) => usize::from(*s) % threads,
        }
    }

    fn atomic(key: &TsKey) -> bool {
        matches!(key, TsKey::Point(..))
    }

    fn random_write(g: &mut Gen, knobs: &TsKnobs, own: &State<Ts>) -> TsWrite {
        let mine = active(g, knobs);
        let s = g.rng.pick(&mine);
        match g.rng.below(100) {
            0..=24 => TsWrite::Insert {
                s,
                t: timestamp(g),
                bits: value(g),
            },
            25..=59 => {
                let mut points = Vec::new();
                for _ in 0..g.rng.range(1, 16) {
                    let t = tick(g);
                    for &s in &mine {
                        if g.rng.chance(900) {
                            points.push((s, t, value(g)));
                        }
                    }
                    if g.rng.chance(50) {
                        points.push((s, t, value(g))); // a duplicate: the later one wins
                    }
                }
                if points.is_empty() {
                    points.push((s, tick(g), value(g)));
                }
                TsWrite::Batch(points)
            }
            60..=74 => {
                let n = g.rng.range(1, 64);
                let points = (0..n)
                    .map(|_| {
                        let t = if g.rng.chance(850) {
                            tick(g)
                        } else {
                            timestamp(g)
                        };
                        (t, value(g))
                    })
                    .collect();
                TsWrite::Append { s, points }
            }
            75..=86 => {
                let t = match existing(g, own, s) {
                    Some(t) if g.rng.chance(850) => t,
                    _ => timestamp(g),
                };
                TsWrite::Update {
                    s,
                    t,
                    bits: value(g),
                }
            }
            87..=96 => {
                let (a, b) = match g.rng.below(100) {
                    0..=3 => (i64::MIN, i64::MAX),
                    4..=6 => (i64::MIN, g.rng.below(WINDOW as u64) as i64),
                    _ => {
                        let t = existing(g, own, s).unwrap_or(0);
                        let a = t.saturating_sub(g.rng.below(8) as i64);
                        (a, a.saturating_add(g.rng.below(256) as i64))
                    }
                };
                TsWrite::Delete { s, a, b }
            }
            _ => TsWrite::Define {
                s: g.rng.pick(&owned(g)),
            },
        }
    }

    fn effects(write: &TsWrite, state: &State<Ts>) -> (Changes<TsKey, u64>, Outcome) {
        let mut ch = Changes::new();
        let put = |ch: &mut Changes<TsKey, u64>, s: u8, t: i64, bits: u64| {
            ch.insert(TsKey::Series(s), Some(0));
            ch.insert(TsKey::Point(s, t), Some(bits));
        };
        match write {
            TsWrite::Insert { s, t, bits } => put(&mut ch, *s, *t, *bits),
            TsWrite::Batch(points) => {
                for &(s, t, bits) in points {
                    put(&mut ch, s, t, bits);
                }
            }
            TsWrite::Append { s, points } => {
                ch.insert(TsKey::Series(*s), Some(0));
                for &(t, bits) in points {
                    put(&mut ch, *s, t, bits);
                }
            }
            TsWrite::Update { s, t, bits } => {
                let key = TsKey::Point(*s, *t);
                if !state.contains_key(&key) {
                    return (ch, Outcome::NotFound);
                }
                ch.insert(key, Some(*bits));
            }
            TsWrite::Delete { s, a, b } => {
                for (k, _) in state.range(TsKey::Point(*s, *a)..=TsKey::Point(*s, *b)) {
                    ch.insert(*k, None);
                }
            }
            TsWrite::Define { s } => {
                ch.insert(TsKey::Series(*s), Some(0));
            }
        }
        (ch, Outcome::Done)
    }

    fn execute(db: &Db, write: &TsWrite) -> tidestore::Result<Outcome> {
        match write {
            TsWrite::Insert { s, t, bits } => {
                db.insert(metric(*s), *t, f64::from_bits(*bits), tags(*s))?;
            }
            TsWrite::Batch(points) => {
                let batch: Vec<Point> = points
                    .iter()
                    .map(|&(s, t, bits)| Point::new(metric(s), t, f64::from_bits(bits), tags(s)))
                    .collect();
                db.insert_batch(&batch)?;
            }
            TsWrite::Append { s, points } => {
                let h = db.series(metric(*s), tags(*s))?;
                let (ts, vs): (Vec<i64>, Vec<f64>) =
                    points.iter().map(|&(t, b)| (t, f64::from_bits(b))).unzip();
                db.append(&h, &ts, &vs)?;
            }
            TsWrite::Update { s, t, bits } => {
                match db.update(metric(*s), *t, f64::from_bits(*bits), tags(*s)) {
                    Err(Error::NotFound(_)) => return Ok(Outcome::NotFound),
                    r => r?,
                }
            }
            TsWrite::Delete { s, a, b } => db.delete_range(metric(*s), *a, *b, &only(*s))?,
            TsWrite::Define { s } => {
                db.series(metric(*s), tags(*s))?;
            }
        }
        Ok(Outcome::Done)
    }

    fn spot_check(db: &Db, g: &mut Gen, own: &State<Ts>) -> Result<u64, String> {
        let s = g.rng.pick(&owned(g));
        let (a, b) = if g.rng.chance(200) {
            (i64::MIN, i64::MAX)
        } else {
            let a = g.rng.below(WINDOW as u64) as i64;
            (a, a.saturating_add(g.rng.below(1024) as i64))
        };
        let want: Vec<(i64, u64)> = own
            .range(TsKey::Point(s, a)..=TsKey::Point(s, b))
            .filter_map(|(k, v)| match k {
                TsKey::Point(_, t) => Some((*t, *v)),
                TsKey::Series(_) => None,
            })
            .collect();
        let got: Vec<(i64, u64)> = db
            .query_range(metric(s), a, b, &only(s))
            .map_err(|e| format!("query_range: {e}"))?
            .iter()
            .map(|p| (p.timestamp, p.value.to_bits()))
            .collect();
        if got != want {
            return Err(format!(
                "query_range of series {s} over [{a}, {b}]: {} points read, {} written; first \
                 difference at {:?}",
                got.len(),
                want.len(),
                got.iter().zip(&want).find(|(x, y)| x != y)
            ));
        }
        let folded = db
            .scan(metric(s), a, b, &only(s))
            .and_then(|scan| scan.fold(|| 0usize, |n, v| n + v.len(), |x, y| x + y))
            .map_err(|e| format!("scan fold: {e}"))?;
        if folded != want.len() {
            return Err(format!(
                "Scan::fold of series {s} over [{a}, {b}]: {folded} points, {} written",
                want.len()
            ));
        }
        Ok(want.len() as u64 + 1)
    }

    fn encode(write: &TsWrite) -> String {
        let pairs = |p: &mut dyn Iterator<Item = String>| p.collect::<Vec<_>>().join(",");
        match write {
            TsWrite::Insert { s, t, bits } => format!("i {s} {t} {bits:x}"),
            TsWrite::Batch(points) => format!(
                "b {}",
                pairs(&mut points.iter().map(|(s, t, b)| format!("{s}:{t}:{b:x}")))
            ),
            TsWrite::Append { s, points } => format!(
                "a {s} {}",
                pairs(&mut points.iter().map(|(t, b)| format!("{t}:{b:x}")))
            ),
            TsWrite::Update { s, t, bits } => format!("u {s} {t} {bits:x}"),
            TsWrite::Delete { s, a, b } => format!("d {s} {a} {b}"),
            TsWrite::Define { s } => format!("f {s}"),
        }
    }

    fn decode(line: &str) -> Result<TsWrite, String> {
        let mut f = line.split(' ');
        let w = match f.next() {
            Some("i") => TsWrite::Insert {
                s: parse_series(f.next())?,
                t: num(f.next())?,
                bits: hex(f.next().ok_or("missing value")?)?,
            },
            Some("b") => {
                let points = f
                    .next()
                    .ok_or("missing points")?
                    .split(',')
                    .map(|p| {
                        let (s, rest) = p.split_once(':').ok_or("bad point")?;
                        let (t, v) = rest.split_once(':').ok_or("bad point")?;
                        Ok((parse_series(Some(s))?, num(Some(t))?, hex(v)?))
                    })
                    .collect::<Result<_, String>>()?;
                TsWrite::Batch(points)
            }
            Some("a") => TsWrite::Append {
                s: parse_series(f.next())?,
                points: parse_pairs(f.next())?,
            },
            Some("u") => TsWrite::Update {
                s: parse_series(f.next())?,
                t: num(f.next())?,
                bits: hex(f.next().ok_or("missing value")?)?,
            },
            Some("d") => TsWrite::Delete {
                s: parse_series(f.next())?,
                a: num(f.next())?,
                b: num(f.next())?,
            },
            Some("f") => TsWrite::Define {
                s: parse_series(f.next())?,
            },
            _ => return Err(format!("bad write {line:?}")),
        };
        Ok(w)
    }

    fn encode_entry(key: &TsKey, val: &u64) -> String {
        match key {
            TsKey::Series(s) => format!("s {s}"),
            TsKey::Point(s, t) => format!("p {s} {t} {val:x}"),
        }
    }

    fn decode_entry(line: &str) -> Result<(TsKey, u64), String> {
        let mut f = line.split(' ');
        match f.next() {
            Some("s") => Ok((TsKey::Series(parse_series(f.next())?), 0)),
            Some("p") => Ok((
                TsKey::Point(parse_series(f.next())?, num(f.next())?),
                hex(f.next().ok_or("missing value")?)?,
            )),
            _ => Err(format!("bad entry {line:?}")),
        }
    }
}
