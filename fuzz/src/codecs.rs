//! Target `codecs`: the timestamp and value column codecs (`codec::timestamp`,
//! `codec::float`).
//!
//! - Garbage: arbitrary bytes decoded with an arbitrary count (or the count the bytes'
//!   own header claims, so decoding gets past the header). Never a panic, never an
//!   allocation the bytes cannot justify; on error the output `Vec` is exactly as it
//!   was. On success the result is reproducible from the consumed prefix alone, agrees
//!   with `decode_into`, and re-encodes to something that decodes to the same bits.
//! - Marks: untrusted bytes read as the marks of a real column, and a real column's
//!   marks over untrusted bytes, never panic in `locate` or a window decode (of values
//!   or of decimal mantissas); the marks of a fresh encoding find windows that hold
//!   the asked range and decode to the values at those positions, and a window read
//!   as mantissas stands for the same values bit for bit (or is refused).
//! - Round trips: fuzzer-shaped sequences (raw, sorted, small deltas, regular with
//!   jitter, extremes; raw bit patterns, short decimals, random walks, specials,
//!   constants) are encoded and decoded bit for bit (NaN payloads included), with
//!   trailing bytes ignored, wrong counts and truncations refused, and the output left
//!   untouched on every refusal.

use arbitrary::Arbitrary;
use tidestore::codec::{DecodeError, float, timestamp};

/// Most values a round trip encodes (a few blocks of 256).
const MAX_VALUES: usize = 4096;
/// Largest count handed to `decode_into` (the caller allocates that buffer).
const MAX_INTO: usize = 1 << 16;
/// Counts above this are asked of a decoder only when the bytes bound the allocation
/// (every codec but Constant, whose 8 bytes stand for any count: a caller asking for
/// 2^28 constant values gets them, as it asked). Segments cap chunks at 2^20 points.
const MAX_CONSTANT: usize = 1 << 20;

/// One run of the `codecs` target.
#[derive(Arbitrary, Debug)]
pub enum Input {
    /// Decode `bytes` as a timestamp column.
    DecodeTimestamps {
        /// The count asked for.
        count: Count,
        /// What the output `Vec` holds before the call (at most 3 kept).
        prefix: Vec<i64>,
        /// The untrusted bytes.
        bytes: Vec<u8>,
    },
    /// Decode `bytes` as a value column.
    DecodeValues {
        /// The count asked for.
        count: Count,
        /// Bit patterns the output `Vec` holds before the call (at most 3 kept).
        prefix: Vec<u64>,
        /// The untrusted bytes.
        bytes: Vec<u8>,
    },
    /// Encode then decode timestamps.
    Timestamps {
        /// Where to truncate the encoding (modulo its length).
        cut: u16,
        /// The sequence.
        shape: TsShape,
    },
    /// Encode then decode values.
    Values {
        /// Where to truncate the encoding (modulo its length).
        cut: u16,
        /// The sequence.
        shape: ValueShape,
    },
}

/// The count passed to a decoder of garbage.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Count {
    /// The count the bytes' header claims (if it has one), so the body is decoded.
    Header,
    /// The header's count plus a small offset (wrapping): usually a mismatch.
    Near(i8),
    /// Any count at all.
    Any(u64),
}

/// How a round trip's timestamps are made.
#[derive(Arbitrary, Debug)]
pub enum TsShape {
    /// Any `i64`s, in any order.
    Raw(Vec<i64>),
    /// Any `i64`s, sorted (duplicates kept).
    Sorted(Vec<i64>),
    /// Prefix sums of small deltas from `start` (wrapping, so unsorted at the ends).
    SmallDeltas {
        /// First timestamp.
        start: i64,
        /// Deltas.
        deltas: Vec<i8>,
    },
    /// `start + i * step + jitter[i]` (wrapping).
    Regular {
        /// First timestamp.
        start: i64,
        /// Interval.
        step: i32,
        /// Jitter of each point.
        jitter: Vec<i8>,
    },
    /// Extremes (`i64::MIN`, `i64::MAX`, 0, -1) mixed with four chosen values.
    Extremes {
        /// The chosen values.
        values: [i64; 4],
        /// Which of the eight each timestamp is.
        picks: Vec<u8>,
    },
}

/// How a round trip's values are made.
#[derive(Arbitrary, Debug)]
pub enum ValueShape {
    /// Any bit patterns.
    Bits(Vec<u64>),
    /// Short decimals: `mantissa / 10^(exp % 4)`.
    Decimals {
        /// Decimal places.
        exp: u8,
        /// Mantissas.
        mantissas: Vec<i16>,
    },
    /// A random walk of small steps, in units of `10^-(exp % 3)`.
    Walk {
        /// Starting mantissa.
        start: i32,
        /// Decimal places.
        exp: u8,
        /// Steps.
        steps: Vec<i8>,
    },
    /// NaNs with payloads, signed zeros, infinities, subnormals, extremes and
    /// decimals, picked from a table.
    Specials(Vec<u8>),
    /// One bit pattern `n` times.
    Constant {
        /// The bits.
        bits: u64,
        /// How many.
        n: u16,
    },
    /// Decimals with a few raw bit patterns at chosen places.
    Mixed {
        /// The raw patterns and where they go.
        odd: Vec<(u16, u64)>,
        /// Decimal mantissas (in hundredths).
        mantissas: Vec<i16>,
    },
}

/// Runs one input; panics on any violated property.
pub fn run(input: &Input) {
    match input {
        Input::DecodeTimestamps {
            count,
            prefix,
            bytes,
        } => decode_timestamps(*count, prefix, bytes),
        Input::DecodeValues {
            count,
            prefix,
            bytes,
        } => decode_values(*count, prefix, bytes),
        Input::Timestamps { cut, shape } => round_trip_timestamps(&shape.build(), *cut),
        Input::Values { cut, shape } => round_trip_values(&shape.build(), *cut),
    }
}

fn pick_count(count: Count, header: Option<usize>) -> usize {
    match (count, header) {
        (Count::Header, Some(n)) => n,
        (Count::Near(d), Some(n)) => n.wrapping_add_signed(isize::from(d)),
        (Count::Any(n), _) => n as usize,
        (_, None) => 0,
    }
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn decode_timestamps(count: Count, prefix: &[i64], bytes: &[u8]) {
    let header = timestamp::count(bytes).ok();
    let count = pick_count(count, header);
    let before: Vec<i64> = prefix.iter().copied().take(3).collect();
    let mut out = before.clone();
    if count <= MAX_INTO {
        let _ = timestamp::decode_prefix_into(bytes, &mut vec![0; count / 2]);
    }
    untrusted_timestamp_marks(bytes);
    let result = timestamp::decode(bytes, count, &mut out);
    let into = (count <= MAX_INTO).then(|| {
        let mut buf = vec![0i64; count];
        (timestamp::decode_into(bytes, &mut buf), buf)
    });
    match result {
        Err(_) => assert_eq!(out, before, "a failed timestamp decode changed its output"),
        Ok(used) => {
            assert!(
                used <= bytes.len(),
                "consumed {used} of {} bytes",
                bytes.len()
            );
            assert_eq!(out.get(..before.len()), Some(&before[..]), "prefix changed");
            let got = &out[before.len()..];
            assert_eq!(got.len(), count, "decoded a different number of timestamps");
            assert_eq!(
                header,
                Some(count),
                "decoded a count the header does not hold"
            );
            // the consumed prefix alone decodes the same
            let mut again = Vec::new();
            assert_eq!(
                timestamp::decode(&bytes[..used], count, &mut again),
                Ok(used)
            );
            assert_eq!(again, got, "the consumed prefix decodes differently");
            if let Some((r, buf)) = &into {
                assert_eq!(*r, Ok(used), "decode_into disagrees with decode");
                assert_eq!(buf, got, "decode_into decodes differently");
                // so does every prefix (the later blocks stepped over)
                let k = (used * 7 + 3) % (count + 1);
                let mut part = vec![0i64; k];
                assert_eq!(timestamp::decode_prefix_into(bytes, &mut part), Ok(used));
                assert_eq!(part, got[..k], "a prefix decodes differently");
            }
            // whatever decoded re-encodes and round-trips
            round_trip_timestamps(got, used as u16);
        }
    }
}

fn decode_values(count: Count, prefix: &[u64], bytes: &[u8]) {
    let described = float::describe(bytes).ok();
    let header = described.map(|(_, n)| n);
    let count = pick_count(count, header);
    if count > MAX_CONSTANT && matches!(described, Some((float::ValueCodec::Constant, _))) {
        return;
    }
    let before: Vec<u64> = prefix.iter().copied().take(3).collect();
    let mut out: Vec<f64> = before.iter().copied().map(f64::from_bits).collect();
    if count <= MAX_INTO {
        let _ = float::decode_prefix_into(bytes, &mut vec![0.0; count / 2]);
    }
    untrusted_value_marks(bytes);
    let result = float::decode(bytes, count, &mut out);
    let into = (count <= MAX_INTO).then(|| {
        let mut buf = vec![0f64; count];
        (float::decode_into(bytes, &mut buf), buf)
    });
    match result {
        Err(_) => assert_eq!(
            bits(&out),
            before,
            "a failed value decode changed its output"
        ),
        Ok(used) => {
            assert!(
                used <= bytes.len(),
                "consumed {used} of {} bytes",
                bytes.len()
            );
            let out = bits(&out);
            assert_eq!(out.get(..before.len()), Some(&before[..]), "prefix changed");
            let got = &out[before.len()..];
            assert_eq!(got.len(), count, "decoded a different number of values");
            assert_eq!(
                header,
                Some(count),
                "decoded a count the header does not hold"
            );
            let mut again = Vec::new();
            assert_eq!(float::decode(&bytes[..used], count, &mut again), Ok(used));
            assert_eq!(bits(&again), got, "the consumed prefix decodes differently");
            if let Some((r, buf)) = &into {
                assert_eq!(*r, Ok(used), "decode_into disagrees with decode");
                assert_eq!(bits(buf), got, "decode_into decodes differently");
                let k = (used * 7 + 3) % (count + 1);
                let mut part = vec![0f64; k];
                assert_eq!(float::decode_prefix_into(bytes, &mut part), Ok(()));
                assert_eq!(bits(&part), got[..k], "a prefix decodes differently");
            }
            let values: Vec<f64> = got.iter().copied().map(f64::from_bits).collect();
            round_trip_values(&values, used as u16);
        }
    }
}

/// A fresh column of 1 000 regular timestamps, and one of 1 000 values of each kind
/// with marks (decimal with exceptions, XOR), to read untrusted marks with.
fn real_columns() -> &'static (Vec<u8>, Vec<Vec<u8>>) {
    static COLUMNS: std::sync::OnceLock<(Vec<u8>, Vec<Vec<u8>>)> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(build_real_columns)
}

fn build_real_columns() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut ts = Vec::new();
    timestamp::encode(
        &(0..1000).map(|i| 7 * i + i % 3).collect::<Vec<_>>(),
        &mut ts,
    );
    let decimal: Vec<f64> = (0..1000)
        .map(|i| {
            if i % 50 == 7 {
                f64::NAN
            } else {
                f64::from(i % 37) / 4.0
            }
        })
        .collect();
    let xor: Vec<f64> = (0..1000).map(|i| f64::from(i).sqrt()).collect();
    let values = [decimal, xor]
        .iter()
        .map(|v| {
            let mut buf = Vec::new();
            float::encode(v, &mut buf);
            buf
        })
        .collect();
    (ts, values)
}

/// Untrusted bytes as marks of a real timestamp column, and as a column read through
/// its own marks (if it has any) and a real column's.
fn untrusted_timestamp_marks(bytes: &[u8]) {
    let (real, _) = real_columns();
    let mut own = Vec::new();
    let own = timestamp::marks(bytes, &mut own)
        .map(|()| own)
        .unwrap_or_default();
    let mut real_marks = Vec::new();
    timestamp::marks(real, &mut real_marks).expect("marks of a fresh column");
    for (column, marks) in [
        (&real[..], bytes),
        (bytes, &own[..]),
        (bytes, &real_marks[..]),
    ] {
        for (start, end) in [(0, 0), (1500, 2500), (i64::MIN, i64::MAX), (6000, 6000)] {
            let window = timestamp::locate(column, marks, start, end);
            if let Some(w) = window.ok().filter(|w| w.len() <= MAX_INTO) {
                let _ = timestamp::decode_window(column, &w, &mut vec![0; w.len()]);
            }
        }
    }
}

/// Untrusted bytes as marks of real value columns, and as a column read through its
/// own marks (if it has any) and a real column's.
fn untrusted_value_marks(bytes: &[u8]) {
    let (_, real) = real_columns();
    let mut own = Vec::new();
    let own = float::marks(bytes, &mut own)
        .map(|()| own)
        .unwrap_or_default();
    let n = float::describe(bytes).map_or(0, |(_, n)| n).min(MAX_INTO);
    for column in real {
        let mut marks = Vec::new();
        float::marks(column, &mut marks).expect("marks of a fresh column");
        for (col, m, count) in [
            (&column[..], bytes, 1000),
            (bytes, &own[..], n),
            (bytes, &marks[..], n),
        ] {
            for from in [0, 1, 255, 256, 700, count.saturating_sub(3)] {
                let len = count.saturating_sub(from).min(300);
                let _ = float::decode_window(col, m, from, &mut vec![0.0; len]);
                let _ = float::decode_window_mantissas(col, m, from, &mut vec![0; len]);
            }
        }
    }
}

/// The marks of the fresh encoding `buf` of strictly ascending `ts`: windows found for
/// ranges picked by `cut` hold them and decode to those positions.
fn check_timestamp_windows(buf: &[u8], ts: &[i64], cut: u16) {
    let mut marks = Vec::new();
    timestamp::marks(buf, &mut marks).expect("marks of a fresh encoding");
    if ts.is_empty() || ts.windows(2).any(|w| w[0] >= w[1]) {
        return;
    }
    let n = ts.len();
    let i = usize::from(cut) % n;
    let j = (i + usize::from(cut) * 31 % 700).min(n - 1);
    for (start, end) in [
        (ts[i], ts[j]),
        (ts[i].saturating_add(1), ts[j]),
        (ts[i], ts[i]),
    ] {
        if start > end {
            continue;
        }
        let w = timestamp::locate(buf, &marks, start, end).expect("locate in a fresh column");
        let first = ts.iter().position(|t| (start..=end).contains(t));
        let last = ts.iter().rposition(|t| (start..=end).contains(t));
        if let (Some(f), Some(l)) = (first, last) {
            assert!(w.from <= f && l < w.to, "window {w:?} misses {f}..={l}");
        }
        let mut got = vec![0; w.len()];
        timestamp::decode_window(buf, &w, &mut got).expect("a window of a fresh column");
        assert_eq!(got, ts[w.from..w.to], "a window decodes differently");
    }
}

/// The marks of the fresh encoding `buf` of `values`: a window picked by `cut`
/// decodes to the values at its positions.
fn check_value_windows(buf: &[u8], values: &[f64], cut: u16) {
    let mut marks = Vec::new();
    float::marks(buf, &mut marks).expect("marks of a fresh encoding");
    let n = values.len();
    let from = usize::from(cut) % (n + 1);
    let len = (n - from).min(usize::from(cut) % 600);
    let mut got = vec![0.0; len];
    float::decode_window(buf, &marks, from, &mut got).expect("a window of a fresh column");
    assert_eq!(
        bits(&got),
        bits(&values[from..from + len]),
        "a window decodes differently"
    );
    // as mantissas: none, or the same values, bit for bit
    let mut mantissas = vec![0; len];
    let divisor = float::decode_window_mantissas(buf, &marks, from, &mut mantissas)
        .expect("a mantissa window of a fresh column");
    if let Some(d) = divisor {
        let as_values: Vec<f64> = mantissas
            .iter()
            .map(|&m| float::decimal_value(m, d))
            .collect();
        assert_eq!(
            bits(&as_values),
            bits(&got),
            "mantissas stand for other values"
        );
    }
}

/// Truncation points of an encoding of `len` bytes: the fuzzer's, and three fixed ones.
fn cuts(len: usize, cut: u16) -> [usize; 4] {
    let len = len.max(1);
    [usize::from(cut) % len, len - 1, len / 2, 0]
}

fn round_trip_timestamps(ts: &[i64], cut: u16) {
    let mut buf = vec![0xA5];
    timestamp::encode(ts, &mut buf);
    assert_eq!(buf[0], 0xA5, "encode overwrote what its output held");
    let mut buf = buf.split_off(1);
    let len = buf.len();
    buf.extend_from_slice(&[0xEE; 9]);

    let mut got = vec![7, -7];
    assert_eq!(timestamp::decode(&buf, ts.len(), &mut got), Ok(len));
    assert_eq!(&got[..2], [7, -7]);
    assert_eq!(&got[2..], ts, "timestamps changed in a round trip");
    let mut into = vec![0; ts.len()];
    assert_eq!(timestamp::decode_into(&buf, &mut into), Ok(len));
    assert_eq!(into, ts, "decode_into changed timestamps");
    assert_eq!(timestamp::count(&buf), Ok(ts.len()));
    check_timestamp_windows(&buf, ts, cut);

    let refused = |r: Result<usize, DecodeError>, out: &[i64], what: &str| {
        assert!(r.is_err(), "{what} was accepted: {r:?}");
        assert_eq!(out, [1, 2, 3], "{what} changed the output");
    };
    for c in cuts(len, cut) {
        let mut out = vec![1, 2, 3];
        refused(
            timestamp::decode(&buf[..c], ts.len(), &mut out),
            &out,
            &format!("a cut to {c} of {len} bytes"),
        );
    }
    for n in [ts.len() + 1, ts.len().wrapping_sub(1)] {
        let mut out = vec![1, 2, 3];
        refused(
            timestamp::decode(&buf, n, &mut out),
            &out,
            &format!("count {n} for {}", ts.len()),
        );
    }
}

fn round_trip_values(values: &[f64], cut: u16) {
    let mut buf = vec![0x5A];
    float::encode(values, &mut buf);
    assert_eq!(buf[0], 0x5A, "encode overwrote what its output held");
    let mut buf = buf.split_off(1);
    let len = buf.len();
    buf.extend_from_slice(&[0x33; 9]);
    let want = bits(values);

    let mut got = vec![f64::from_bits(0x7FF8_0000_0000_0BAD), -0.0];
    assert_eq!(float::decode(&buf, values.len(), &mut got), Ok(len));
    let got = bits(&got);
    assert_eq!(got[..2], [0x7FF8_0000_0000_0BAD, (-0.0f64).to_bits()]);
    assert_eq!(&got[2..], want, "value bits changed in a round trip");
    let mut into = vec![0.0; values.len()];
    assert_eq!(float::decode_into(&buf, &mut into), Ok(len));
    assert_eq!(bits(&into), want, "decode_into changed value bits");
    check_value_windows(&buf, values, cut);
    let (codec, n) = float::describe(&buf).expect("describe of a fresh encoding");
    assert_eq!(n, values.len());
    if want.windows(2).all(|w| w[0] == w[1]) {
        assert_eq!(
            codec,
            float::ValueCodec::Constant,
            "constant values not Constant"
        );
    }

    let untouched = [1.5f64.to_bits(), f64::NAN.to_bits()];
    let refused = |r: Result<usize, DecodeError>, out: &[f64], what: &str| {
        assert!(r.is_err(), "{what} was accepted: {r:?}");
        assert_eq!(bits(out), untouched, "{what} changed the output");
    };
    for c in cuts(len, cut) {
        let mut out: Vec<f64> = untouched.iter().copied().map(f64::from_bits).collect();
        refused(
            float::decode(&buf[..c], values.len(), &mut out),
            &out,
            &format!("a cut to {c} of {len} bytes"),
        );
    }
    for n in [values.len() + 1, values.len().wrapping_sub(1)] {
        let mut out: Vec<f64> = untouched.iter().copied().map(f64::from_bits).collect();
        refused(
            float::decode(&buf, n, &mut out),
            &out,
            &format!("count {n} for {}", values.len()),
        );
    }
}

impl TsShape {
    /// The timestamps (at most [`MAX_VALUES`]).
    pub fn build(&self) -> Vec<i64> {
        let mut ts: Vec<i64> = match self {
            TsShape::Raw(v) => v.clone(),
            TsShape::Sorted(v) => {
                let mut v = v.clone();
                v.sort_unstable();
                v
            }
            TsShape::SmallDeltas { start, deltas } => {
                let mut t = *start;
                deltas
                    .iter()
                    .map(|&d| {
                        t = t.wrapping_add(i64::from(d));
                        t
                    })
                    .collect()
            }
            TsShape::Regular {
                start,
                step,
                jitter,
            } => jitter
                .iter()
                .enumerate()
                .map(|(i, &j)| {
                    start
                        .wrapping_add(i64::from(*step).wrapping_mul(i as i64))
                        .wrapping_add(i64::from(j))
                })
                .collect(),
            TsShape::Extremes { values, picks } => {
                let table = [
                    i64::MIN,
                    i64::MAX,
                    0,
                    -1,
                    values[0],
                    values[1],
                    values[2],
                    values[3],
                ];
                picks.iter().map(|&p| table[usize::from(p % 8)]).collect()
            }
        };
        ts.truncate(MAX_VALUES);
        ts
    }
}

/// Values that break naive float codecs.
const SPECIALS: [u64; 16] = [
    0x7FF8_0000_0000_0000, // NaN
    0xFFF8_0000_0000_0000, // -NaN
    0x7FF0_0000_0000_0001, // signalling NaN with a payload
    0xFFF8_DEAD_BEEF_0001, // negative quiet NaN with a payload
    0x0000_0000_0000_0000, // 0.0
    0x8000_0000_0000_0000, // -0.0
    0x7FF0_0000_0000_0000, // inf
    0xFFF0_0000_0000_0000, // -inf
    0x0000_0000_0000_0001, // smallest subnormal
    0x000F_FFFF_FFFF_FFFF, // largest subnormal
    0x0010_0000_0000_0000, // MIN_POSITIVE
    0x7FEF_FFFF_FFFF_FFFF, // MAX
    0xFFEF_FFFF_FFFF_FFFF, // MIN
    0x3FB9_9999_9999_999A, // 0.1
    0x4059_0000_0000_0000, // 100.0
    0xC00C_0000_0000_0000, // -3.5
];

const POW10: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];

impl ValueShape {
    /// The values (at most [`MAX_VALUES`]).
    pub fn build(&self) -> Vec<f64> {
        let mut v: Vec<f64> = match self {
            ValueShape::Bits(b) => b.iter().copied().map(f64::from_bits).collect(),
            ValueShape::Decimals { exp, mantissas } => {
                let d = POW10[usize::from(exp % 4)];
                mantissas.iter().map(|&m| f64::from(m) / d).collect()
            }
            ValueShape::Walk { start, exp, steps } => {
                let d = POW10[usize::from(exp % 3)];
                let mut x = i64::from(*start);
                steps
                    .iter()
                    .map(|&s| {
                        x += i64::from(s);
                        x as f64 / d
                    })
                    .collect()
            }
            ValueShape::Specials(picks) => picks
                .iter()
                .map(|&p| match SPECIALS.get(usize::from(p)) {
                    Some(&b) => f64::from_bits(b),
                    None => f64::from(p) / 4.0,
                })
                .collect(),
            ValueShape::Constant { bits, n } => {
                vec![f64::from_bits(*bits); usize::from(*n).min(MAX_VALUES)]
            }
            ValueShape::Mixed { odd, mantissas } => {
                let mut v: Vec<f64> = mantissas.iter().map(|&m| f64::from(m) / 100.0).collect();
                let n = v.len();
                for &(at, b) in odd.iter().take(8) {
                    if n > 0 {
                        v[usize::from(at) % n] = f64::from_bits(b);
                    }
                }
                v
            }
        };
        v.truncate(MAX_VALUES);
        v
    }
}
