//! Target `segment`: time-series segment files (`ts::segment::Segment`).
//!
//! - `Garbage`: arbitrary bytes opened with `Segment::from_bytes`, optionally after
//!   recomputing every checksum the footer and chunk index locate (so the checks behind
//!   them are reached). If it opens, every chunk is decoded (three ways), every series'
//!   chunks, ranges and tombstones and the fuzzer's postings terms are looked up. Errors
//!   are fine; a panic, an out-of-bounds read, a changed buffer after a failed decode
//!   or an answer that contradicts the segment's own index are not.
//! - `Damaged`: a valid segment written with `write_segment` from fuzzer-chosen series
//!   (ids, metrics, tags, points, tombstones, chunk size) must first read back exactly;
//!   then fuzzer-chosen bytes are flipped (and maybe the file cut). Without recomputed
//!   checksums, every read must either fail or return the original data, and if any
//!   byte changed, `open` or some read must fail: every byte of the file is covered by a
//!   checksum or an exact-value check (docs/format.md, part 5). With recomputed
//!   checksums, only the `Garbage` properties apply.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arbitrary::Arbitrary;
use tidestore::Result;
use tidestore::codec::checksum;
use tidestore::io::fs::{FileBytes, FileSystem};
use tidestore::io::sim_fs::SimFs;
use tidestore::ts::segment::{
    ChunkMeta, Segment, SegmentInfo, SegmentOptions, SeriesInput, Tombstone, write_segment,
};

use crate::codecs::ValueShape;

/// Most series in a generated segment.
const MAX_SERIES: usize = 5;
/// Most points per generated series.
const MAX_POINTS: usize = 64;
/// Most tombstones, flips and probes used.
const MAX_SMALL: usize = 8;
/// Most series of a garbage segment walked through.
const MAX_WALK: usize = 64;
/// Largest chunk for which the harness allocates `decode_chunk_into` buffers.
const MAX_INTO: usize = 1 << 16;

/// Footer layout (docs/format.md, part 5): 120 bytes, CRC over the first 104.
const FOOTER_LEN: usize = 120;
const FOOTER_CRC_COVERS: usize = 104;
const CHUNK_META_LEN: usize = 64;

/// One run of the `segment` target.
#[derive(Arbitrary, Debug)]
pub enum Input {
    /// Arbitrary bytes as a segment file.
    Garbage {
        /// Recompute the checksums first.
        fix: bool,
        /// Lookups to try.
        probes: Vec<Probe>,
        /// The file.
        bytes: Vec<u8>,
    },
    /// A valid segment, then damaged.
    Damaged {
        /// What the valid segment holds.
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

/// A lookup tried on an open segment.
#[derive(Arbitrary, Debug)]
pub struct Probe {
    /// Looked up as a metric, and as a tag key with `value`.
    pub term: String,
    /// The tag value.
    pub value: String,
    /// A series id.
    pub id: u32,
    /// A time range (any order).
    pub range: (i64, i64),
}

/// The contents of a valid segment.
#[derive(Arbitrary, Debug)]
pub struct Spec {
    /// Picks `chunk_points`: mostly 1..=8 (many chunks), sometimes 16..=128.
    pub chunk_points: u8,
    /// Id of the first series.
    pub first_id: u32,
    /// The series (at most [`MAX_SERIES`]).
    pub series: Vec<SeriesSpec>,
    /// `(series pick, start, end)`: the pick indexes the series (or, past them, is
    /// an id of its own); the ends are put in order.
    pub tombstones: Vec<(u8, i64, i64)>,
}

/// One series of a [`Spec`].
#[derive(Arbitrary, Debug)]
pub struct SeriesSpec {
    /// Id step from the previous series (at least 1).
    pub id_gap: u16,
    /// Index into [`METRICS`].
    pub metric: u8,
    /// Bits choosing the tags (see [`tags`]).
    pub tags: u8,
    /// The timestamps.
    pub times: Times,
    /// The values (cycled or padded to the timestamps' count).
    pub values: ValueShape,
}

/// Strictly ascending timestamps.
#[derive(Arbitrary, Debug)]
pub enum Times {
    /// `start`, then steps of `1 + step` (stopping before overflow).
    Steps {
        /// First timestamp.
        start: i64,
        /// Steps minus one.
        steps: Vec<u8>,
    },
    /// Any `i64`s, sorted and deduplicated.
    Raw(Vec<i64>),
}

/// Metric names of generated series.
const METRICS: [&str; 3] = ["cpu", "mem", "disk.io"];

/// The tags of a series from bits of `mask`: host a/b, dc x/y, rack 7.
fn tags(mask: u8) -> Vec<(String, String)> {
    let mut t = Vec::new();
    if mask & 1 != 0 {
        t.push(("host", if mask & 2 != 0 { "b" } else { "a" }));
    }
    if mask & 4 != 0 {
        t.push(("dc", if mask & 8 != 0 { "y" } else { "x" }));
    }
    if mask & 16 != 0 {
        t.push(("rack", "7"));
    }
    t.into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Runs one input; panics on any violated property.
pub fn run(input: &Input) {
    match input {
        Input::Garbage { fix, probes, bytes } => {
            let mut bytes = bytes.clone();
            if *fix {
                fix_checksums(&mut bytes);
            }
            if let Ok(seg) = Segment::from_bytes("garbage", FileBytes::from_vec(bytes)) {
                exercise(&seg, probes);
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

/// A series as written, with owned data.
struct Built {
    id: u32,
    metric: &'static str,
    tags: Vec<(String, String)>,
    ts: Vec<i64>,
    values: Vec<f64>,
}

impl Times {
    fn build(&self) -> Vec<i64> {
        let mut ts = match self {
            Times::Steps { start, steps } => {
                let mut t = *start;
                let mut ts = vec![t];
                for s in steps {
                    match t.checked_add(1 + i64::from(*s)) {
                        Some(next) => t = next,
                        None => break,
                    }
                    ts.push(t);
                }
                ts
            }
            Times::Raw(v) => {
                let mut v = v.clone();
                v.sort_unstable();
                v.dedup();
                v
            }
        };
        ts.truncate(MAX_POINTS);
        ts
    }
}

fn build(spec: &Spec) -> (Vec<Built>, Vec<Tombstone>, usize) {
    let chunk_points = match spec.chunk_points {
        c @ 0..=239 => 1 + usize::from(c % 8),
        c => 16 << (c % 4),
    };
    let mut series = Vec::new();
    let mut id = spec.first_id;
    for (i, s) in spec.series.iter().take(MAX_SERIES).enumerate() {
        if i > 0 {
            match id.checked_add(1 + u32::from(s.id_gap)) {
                Some(next) => id = next,
                None => break,
            }
        }
        let ts = s.times.build();
        let shape = s.values.build();
        let values = (0..ts.len())
            .map(|j| match shape.get(j) {
                Some(&v) => v,
                None => j as f64 * 0.25,
            })
            .collect();
        series.push(Built {
            id,
            metric: METRICS[usize::from(s.metric) % METRICS.len()],
            tags: tags(s.tags),
            ts,
            values,
        });
    }
    let tombstones = spec
        .tombstones
        .iter()
        .take(MAX_SMALL)
        .map(|&(pick, a, b)| Tombstone {
            series_id: series
                .get(usize::from(pick))
                .map_or(u32::from(pick) << 8, |s| s.id),
            start: a.min(b),
            end: a.max(b),
        })
        .collect();
    (series, tombstones, chunk_points)
}

/// What a valid segment must read back as.
struct Expected {
    info: (u64, u32, u64, u64, i64, i64, u32),
    /// id -> (timestamps, value bits), series with points only.
    points: BTreeMap<u32, (Vec<i64>, Vec<u64>)>,
    /// metric -> ids; (key, value) -> ids.
    metrics: BTreeMap<&'static str, BTreeSet<u32>>,
    tags: BTreeMap<(String, String), BTreeSet<u32>>,
    tombstones: Vec<Tombstone>,
}

fn info_tuple(i: &SegmentInfo) -> (u64, u32, u64, u64, i64, i64, u32) {
    (
        i.points,
        i.series,
        i.chunks,
        i.tombstones,
        i.min_ts,
        i.max_ts,
        i.chunk_points,
    )
}

fn expected(series: &[Built], tombstones: &[Tombstone], chunk_points: usize) -> Expected {
    let mut e = Expected {
        info: (0, 0, 0, 0, i64::MAX, i64::MIN, chunk_points as u32),
        points: BTreeMap::new(),
        metrics: BTreeMap::new(),
        tags: BTreeMap::new(),
        tombstones: tombstones.to_vec(),
    };
    e.tombstones.sort_unstable();
    e.tombstones.dedup();
    e.info.3 = e.tombstones.len() as u64;
    for s in series.iter().filter(|s| !s.ts.is_empty()) {
        e.info.0 += s.ts.len() as u64;
        e.info.1 += 1;
        e.info.2 += s.ts.len().div_ceil(chunk_points) as u64;
        e.info.4 = e.info.4.min(s.ts[0]);
        e.info.5 = e.info.5.max(s.ts[s.ts.len() - 1]);
        let bits = s.values.iter().map(|v| v.to_bits()).collect();
        e.points.insert(s.id, (s.ts.clone(), bits));
        e.metrics.entry(s.metric).or_default().insert(s.id);
        for t in &s.tags {
            e.tags.entry(t.clone()).or_default().insert(s.id);
        }
    }
    e
}

fn bitmap_ids<'a>(b: impl IntoIterator<Item = u32> + 'a) -> BTreeSet<u32> {
    b.into_iter().collect()
}

fn damaged(spec: &Spec, flips: &[(u32, u8)], cut: Option<u32>, fix: bool, probes: &[Probe]) {
    let (series, tombstones, chunk_points) = build(spec);
    let inputs: Vec<SeriesInput<'_>> = series
        .iter()
        .map(|s| SeriesInput {
            id: s.id,
            metric: s.metric,
            tags: &s.tags,
            timestamps: &s.ts,
            values: &s.values,
        })
        .collect();
    let fs = SimFs::new();
    let path = Path::new("/segment");
    let opts = SegmentOptions { chunk_points };
    let info = write_segment(&fs, path, &inputs, &tombstones, &opts)
        .unwrap_or_else(|e| panic!("write_segment refused valid input: {e}"));
    let want = expected(&series, &tombstones, chunk_points);
    assert_eq!(info_tuple(&info), want.info, "write_segment's info");
    let original = fs.read(path).expect("read back the segment");
    assert_eq!(info.file_size, original.len() as u64);

    // The undamaged file reads back exactly, and passes every generic check.
    let seg = Segment::from_bytes("valid", FileBytes::from_vec(original.clone()))
        .unwrap_or_else(|e| panic!("a valid segment does not open: {e}"));
    if let Err(e) = read_exact(&seg, &want) {
        panic!("a valid segment fails a read: {e}");
    }
    exercise(&seg, probes);

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
    let opened = Segment::from_bytes("damaged", FileBytes::from_vec(bytes));
    let seg = match opened {
        Ok(seg) => seg,
        Err(e) => {
            assert!(changed, "an unchanged segment does not open: {e}");
            return;
        }
    };
    exercise(&seg, probes);
    if fix {
        // Recomputed checksums over changed contents: consistent garbage may open and
        // decode to other points; only the generic properties apply.
        return;
    }
    match read_exact(&seg, &want) {
        Ok(()) => assert!(
            !changed,
            "damage went unnoticed: the segment opened and every read succeeded"
        ),
        Err(_) => assert!(changed, "an unchanged segment fails a read"),
    }
}

/// Reads everything and compares it with `want`: `Err` at the first read that fails;
/// panics on any read that succeeds with the wrong answer.
fn read_exact(seg: &Segment, want: &Expected) -> Result<()> {
    assert_eq!(info_tuple(seg.info()), want.info, "info");
    let ids = bitmap_ids(seg.series_ids().iter());
    let want_ids: BTreeSet<u32> = want.points.keys().copied().collect();
    assert_eq!(ids, want_ids, "series ids");
    let tombstones: Vec<Tombstone> = seg.tombstones().iter().map(|t| t.tombstone()).collect();
    assert_eq!(tombstones, want.tombstones, "tombstones");
    for (m, ids) in &want.metrics {
        let got = seg.metric_series(m)?.map(|b| bitmap_ids(b.iter()));
        assert_eq!(got.as_ref(), Some(ids), "metric_series({m})");
        assert_eq!(seg.tag_series(m, "")?, None, "a metric read as a tag");
    }
    for ((k, v), ids) in &want.tags {
        let got = seg.tag_series(k, v)?.map(|b| bitmap_ids(b.iter()));
        assert_eq!(got.as_ref(), Some(ids), "tag_series({k}, {v})");
    }
    for m in METRICS.iter().filter(|m| !want.metrics.contains_key(*m)) {
        assert_eq!(
            seg.metric_series(m)?,
            None,
            "metric_series({m}) of an absent metric"
        );
    }
    for (k, v) in [("host", "c"), ("dc", "z"), ("rack", "8"), ("cpu", "")] {
        assert_eq!(
            seg.tag_series(k, v)?,
            None,
            "tag_series({k}, {v}) of an absent tag"
        );
    }
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for (id, (want_ts, want_bits)) in &want.points {
        ts.clear();
        vs.clear();
        let chunks = seg.chunks(*id);
        let n = want_ts.len().div_ceil(want.info.6 as usize);
        assert_eq!(chunks.len(), n, "chunk count of series {id}");
        for c in chunks {
            seg.decode_chunk(c, &mut ts, &mut vs)?;
        }
        let bits: Vec<u64> = vs.iter().map(|v| v.to_bits()).collect();
        assert_eq!(&ts, want_ts, "timestamps of series {id}");
        assert_eq!(&bits, want_bits, "value bits of series {id}");
        let dead: Vec<Tombstone> = want
            .tombstones
            .iter()
            .filter(|t| t.series_id == *id)
            .copied()
            .collect();
        let got: Vec<Tombstone> = seg
            .series_tombstones(*id)
            .iter()
            .map(|t| t.tombstone())
            .collect();
        assert_eq!(got, dead, "series_tombstones({id})");
    }
    Ok(())
}

/// Checks everything a segment that opened offers, whatever its bytes: no panic,
/// failed decodes leave their buffers alone, successful ones agree with each other and
/// with the index entry, lookups agree with the index.
fn exercise(seg: &Segment, probes: &[Probe]) {
    let info = *seg.info();
    let all = seg.all_chunks();
    assert_eq!(
        all.len() as u64,
        info.chunks,
        "all_chunks and info disagree"
    );
    for c in all {
        decode_three_ways(seg, c);
    }
    let ids = bitmap_ids(seg.series_ids().iter());
    assert_eq!(
        ids.len() as u64,
        u64::from(info.series),
        "series_ids and info disagree"
    );
    let tombstones = seg.tombstones();
    assert_eq!(tombstones.len() as u64, info.tombstones);
    let mut walked = 0usize;
    for &id in ids.iter().take(MAX_WALK) {
        let chunks = seg.chunks(id);
        assert!(
            !chunks.is_empty(),
            "series {id} is listed but has no chunks"
        );
        assert!(
            chunks.iter().all(|c| c.series_id() == id),
            "chunks of another series"
        );
        walked += chunks.len();
        let ranges = [
            (i64::MIN, i64::MAX),
            (chunks[0].max_ts(), chunks[0].max_ts()),
        ];
        let extra = probes.iter().take(MAX_SMALL).map(|p| p.range);
        for (a, b) in ranges.into_iter().chain(extra) {
            let got = seg.chunks_in_range(id, a, b);
            let want: Vec<ChunkMeta> = chunks
                .iter()
                .filter(|c| a <= b && c.max_ts() >= a && c.min_ts() <= b)
                .copied()
                .collect();
            assert_eq!(got, &want[..], "chunks_in_range({id}, {a}, {b})");
        }
        let own: Vec<_> = tombstones
            .iter()
            .filter(|t| t.series_id() == id)
            .map(|t| t.tombstone())
            .collect();
        let got: Vec<_> = seg
            .series_tombstones(id)
            .iter()
            .map(|t| t.tombstone())
            .collect();
        assert_eq!(got, own, "series_tombstones({id})");
    }
    if ids.len() <= MAX_WALK {
        assert_eq!(
            walked,
            all.len(),
            "the series' chunks do not add up to the index"
        );
    }
    for p in probes.iter().take(MAX_SMALL) {
        if !ids.contains(&p.id) {
            assert!(
                seg.chunks(p.id).is_empty(),
                "chunks of an absent series {}",
                p.id
            );
        }
        let _ = seg.series_tombstones(p.id);
        let lookups = [
            seg.metric_series(&p.term),
            seg.tag_series(&p.term, &p.value),
        ];
        for found in lookups.into_iter().flatten().flatten() {
            assert!(
                found.iter().all(|i| ids.contains(&i)),
                "postings outside the series"
            );
        }
    }
}

/// Decodes `c` with `decode_chunk` (twice: the second trusts the verified bit),
/// `decode_chunk_into`, and from a copy of the entry (which is checked every time).
fn decode_three_ways(seg: &Segment, c: &ChunkMeta) {
    let (mut ts, mut vs) = (vec![i64::MIN], vec![f64::from_bits(0x7FF0_0000_0000_0042)]);
    let first = seg.decode_chunk(c, &mut ts, &mut vs);
    let decoded = match &first {
        Err(_) => {
            assert_eq!(ts, [i64::MIN], "a failed decode changed the timestamps");
            assert_eq!(vs.len(), 1, "a failed decode changed the values");
            assert_eq!(vs[0].to_bits(), 0x7FF0_0000_0000_0042);
            None
        }
        Ok(()) => {
            let n = c.count() as usize;
            assert_eq!(ts.len(), 1 + n, "decoded a different number of points");
            assert_eq!(vs.len(), 1 + n);
            assert_eq!(
                ts[1],
                c.min_ts(),
                "first timestamp is not the entry's min_ts"
            );
            assert_eq!(
                ts[n],
                c.max_ts(),
                "last timestamp is not the entry's max_ts"
            );
            let bits: Vec<u64> = vs[1..].iter().map(|v| v.to_bits()).collect();
            Some((ts[1..].to_vec(), bits))
        }
    };
    let same = |r: Result<()>, ts: &[i64], vs: &[f64], how: &str| match (&decoded, r) {
        (None, Err(_)) => {}
        (Some((t, b)), Ok(())) => {
            assert_eq!(ts, &t[..], "{how}: other timestamps");
            let bits: Vec<u64> = vs.iter().map(|v| v.to_bits()).collect();
            assert_eq!(&bits, b, "{how}: other values");
        }
        (d, r) => panic!(
            "{how} disagrees: first decode ok = {}, now {r:?}",
            d.is_some()
        ),
    };
    let (mut ts2, mut vs2) = (Vec::new(), Vec::new());
    let again = seg.decode_chunk(c, &mut ts2, &mut vs2);
    same(again, &ts2, &vs2, "a second decode_chunk");
    let copy = *c;
    let (mut ts3, mut vs3) = (Vec::new(), Vec::new());
    let copied = seg.decode_chunk(&copy, &mut ts3, &mut vs3);
    same(copied, &ts3, &vs3, "decode_chunk of a copied entry");
    // The caller allocates these buffers: only for counts a real chunk could have.
    let n = c.count() as usize;
    if n <= MAX_INTO {
        let (mut ts4, mut vs4) = (vec![0i64; n], vec![0f64; n]);
        let into = seg.decode_chunk_into(c, &mut ts4, &mut vs4);
        same(into, &ts4, &vs4, "decode_chunk_into");
        let (mut short_ts, mut short_vs) = (vec![0i64; n.saturating_sub(1)], vec![0f64; n]);
        assert!(
            seg.decode_chunk_into(c, &mut short_ts, &mut short_vs)
                .is_err(),
            "decode_chunk_into accepted buffers of the wrong size"
        );
    }
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn range(b: &[u8], offset: Option<u64>, len: Option<u64>) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(offset?).ok()?;
    let end = start.checked_add(usize::try_from(len?).ok()?)?;
    (end <= b.len()).then_some(start..end)
}

fn put_crc(b: &mut [u8], at: usize, crc: u32) {
    if let Some(dst) = b.get_mut(at..at + 4) {
        dst.copy_from_slice(&crc.to_le_bytes());
    }
}

/// Recomputes, as far as the footer's fields locate them, the chunk CRCs in the chunk
/// index, the three section CRCs and the footer CRC, so that damage reaches the checks
/// behind them.
pub fn fix_checksums(b: &mut [u8]) {
    let Some(f) = b.len().checked_sub(FOOTER_LEN) else {
        return;
    };
    let field = |b: &[u8], i: usize| read_u64(b, f + 8 * i);
    let index = range(b, field(b, 0), field(b, 1));
    if let Some(index) = index.clone() {
        for e in (index.start..index.end).step_by(CHUNK_META_LEN) {
            let offset = read_u64(b, e + 48);
            let len = b
                .get(e + 56..e + 60)
                .map(|x| u64::from(u32::from_le_bytes(x.try_into().unwrap_or_default())));
            if e + CHUNK_META_LEN <= index.end
                && let Some(r) = range(b, offset, len)
            {
                let crc = checksum::masked(&b[r]);
                put_crc(b, e + 60, crc);
            }
        }
    }
    let sections = [
        (index, 48),
        (range(b, field(b, 2), field(b, 3)), 52),
        (range(b, field(b, 4), field(b, 5)), 56),
    ];
    for (r, at) in sections {
        if let Some(r) = r {
            let crc = checksum::masked(&b[r]);
            put_crc(b, f + at, crc);
        }
    }
    let crc = checksum::masked(&b[f..f + FOOTER_CRC_COVERS]);
    put_crc(b, f + FOOTER_CRC_COVERS, crc);
}
