//! The body of one column of a WAL batch: the points one write holds of one series.
//!
//! Three encodings (the layout of each, byte by byte, is in docs/design-ts.md, "WAL
//! batch"):
//! - *codecs* (`count >= 64`): the segment codecs (`codec::timestamp`, `codec::float`),
//!   whose per-column setup pays off on long columns;
//! - *compact* (`count < 64`, batch version 3): timestamps as zigzag varints of their
//!   delta of deltas, the first as its difference from the first timestamp of the
//!   previous compact column of the batch (data arriving in time order gives every
//!   series of a batch the same one); values as zigzag varints of the differences of
//!   their decimal mantissas when every value of the column is a short decimal at one
//!   exponent, else their bits;
//! - *plain* (`count < 64`, batch version 2, read only): timestamp deltas and raw bits.
//!
//! A compact column of regular timestamps and two-decimal values takes about three
//! bytes a point, which the WAL writes without snappy: snappy over the plain bodies
//! shrank them to about five bytes a point and was a tenth of a batch write.

use crate::codec::varint::{self, Reader};
use crate::codec::{DecodeError, float, timestamp};

/// Columns shorter than this are stored compact: the codecs' per-column setup costs
/// more than they save on a few points (the common case of a batch spread over many
/// series).
const CODEC_MIN_POINTS: usize = 64;

const COL_PLAIN: u8 = 0;
const COL_CODEC: u8 = 1;
const COL_COMPACT: u8 = 2;

/// Highest decimal exponent of a compact column's values.
const MAX_EXPONENT: u8 = float::MAX_DECIMAL_EXPONENT;
/// The value byte of a compact column whose values are stored as raw bits.
const RAW_VALUES: u8 = 0xff;

/// What the columns of one batch carry from one to the next, in batch order (the
/// encoder's and the decoder's must see the same columns in the same order).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Context {
    /// The first timestamp of the previous compact column (0 before the first).
    first_ts: i64,
}

/// How a column body came out: whether snappy could still shorten it noticeably.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Density {
    /// Encoded by a codec or as decimal mantissas: snappy would find little.
    Dense,
    /// Holds raw value bits, which snappy may shorten (repeated high bytes).
    Loose,
}

/// Appends the body of one column (`count`, the encoding, both columns) to `out`, in a
/// batch of the current version. `cx` is the batch's context, updated.
pub(crate) fn encode(ts: &[i64], values: &[f64], cx: &mut Context, out: &mut Vec<u8>) -> Density {
    varint::put_u64(out, ts.len() as u64);
    if ts.len() >= CODEC_MIN_POINTS {
        out.push(COL_CODEC);
        let mut tmp = Vec::with_capacity(ts.len() * 2 + 16);
        timestamp::encode(ts, &mut tmp);
        varint::put_len_prefixed(out, &tmp);
        tmp.clear();
        float::encode(values, &mut tmp);
        varint::put_len_prefixed(out, &tmp);
        return Density::Dense;
    }
    out.push(COL_COMPACT);
    out.reserve(ts.len() * 11 + 2);
    encode_timestamps(ts, cx, out);
    encode_values(values, out)
}

/// Timestamps of a compact column: the first from the context's, then the first
/// delta, then deltas of deltas, each a zigzag varint (wrapping: any `i64` round-trips).
fn encode_timestamps(ts: &[i64], cx: &mut Context, out: &mut Vec<u8>) {
    let Some(&first) = ts.first() else {
        return;
    };
    varint::put_u64(out, varint::zigzag(first.wrapping_sub(cx.first_ts)));
    cx.first_ts = first;
    let (mut prev, mut delta) = (first, 0i64);
    for &t in ts.get(1..).unwrap_or_default() {
        let d = t.wrapping_sub(prev);
        varint::put_u64(out, varint::zigzag(d.wrapping_sub(delta)));
        (prev, delta) = (t, d);
    }
}

/// The mantissa of `v` at exponent `e`, when `v` is a decimal there: the integer `n`
/// with `n / 10^e == v` bit for bit, which is what the decoder computes (the segment
/// codec's test, `codec::float::decimal_mantissa`).
#[inline]
fn mantissa(v: f64, e: u8) -> Option<i64> {
    float::decimal_mantissa(v, e)
}

/// The one exponent at which every value of `values` is a decimal, if any: the
/// smallest that fits the values tried so far, raised when a value needs more (a value
/// decimal at `e` usually is at `e + 1`; the final pass checks every value at the end
/// exponent). Fills `mantissas` with the values' mantissas at it.
fn exponent(values: &[f64], mantissas: &mut [i64]) -> Option<u8> {
    let mut e = 0u8;
    'again: loop {
        for (v, m) in values.iter().zip(mantissas.iter_mut()) {
            match mantissa(*v, e) {
                Some(n) => *m = n,
                None => {
                    e = (e + 1..=MAX_EXPONENT).find(|&f| mantissa(*v, f).is_some())?;
                    continue 'again;
                }
            }
        }
        return Some(e);
    }
}

/// Values of a compact column: the exponent byte and zigzag varints of the mantissas'
/// differences (the first from 0), or [`RAW_VALUES`] and the bits.
fn encode_values(values: &[f64], out: &mut Vec<u8>) -> Density {
    let mut mantissas = [0i64; CODEC_MIN_POINTS];
    let Some(held) = mantissas.get_mut(..values.len()) else {
        return encode_raw(values, out);
    };
    let Some(e) = exponent(values, held) else {
        return encode_raw(values, out);
    };
    out.push(e);
    let mut prev = 0i64;
    for &m in held.iter() {
        varint::put_u64(out, varint::zigzag(m.wrapping_sub(prev)));
        prev = m;
    }
    Density::Dense
}

fn encode_raw(values: &[f64], out: &mut Vec<u8>) -> Density {
    out.push(RAW_VALUES);
    for v in values {
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    Density::Loose
}

/// Reads one column body of `count` points into `ts` and `values` (cleared first),
/// reusing their room. `version` is the batch's: version 2 has plain columns where
/// version 3 has compact ones.
pub(crate) fn decode(
    r: &mut Reader<'_>,
    count: usize,
    version: u8,
    cx: &mut Context,
    ts: &mut Vec<i64>,
    values: &mut Vec<f64>,
) -> Result<(), DecodeError> {
    ts.clear();
    values.clear();
    match (r.u8()?, version) {
        (COL_PLAIN, 2) => decode_plain(r, count, ts, values)?,
        (COL_COMPACT, 3..) => decode_compact(r, count, cx, ts, values)?,
        (COL_CODEC, _) => {
            let ts_bytes = r.len_prefixed()?;
            if timestamp::decode(ts_bytes, count, ts)? != ts_bytes.len() {
                return Err(DecodeError("trailing bytes after a timestamp column"));
            }
            let val_bytes = r.len_prefixed()?;
            if float::decode(val_bytes, count, values)? != val_bytes.len() {
                return Err(DecodeError("trailing bytes after a value column"));
            }
        }
        _ => return Err(DecodeError("unknown WAL column encoding")),
    }
    if ts.len() != count || values.len() != count {
        return Err(DecodeError("column length differs from its count"));
    }
    Ok(())
}

/// A version 2 short column: zigzag varint timestamp deltas (the first from 0), then
/// the values' bits.
fn decode_plain(
    r: &mut Reader<'_>,
    count: usize,
    ts: &mut Vec<i64>,
    values: &mut Vec<f64>,
) -> Result<(), DecodeError> {
    let mut prev = 0i64;
    for _ in 0..count {
        prev = prev.wrapping_add(r.i64()?);
        ts.push(prev);
    }
    decode_raw(r, count, values)
}

fn decode_raw(r: &mut Reader<'_>, count: usize, values: &mut Vec<f64>) -> Result<(), DecodeError> {
    let bytes = r.bytes(count.checked_mul(8).ok_or(DecodeError("column too long"))?)?;
    values.extend(bytes.chunks_exact(8).map(|c| {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        f64::from_bits(u64::from_le_bytes(b))
    }));
    Ok(())
}

fn decode_compact(
    r: &mut Reader<'_>,
    count: usize,
    cx: &mut Context,
    ts: &mut Vec<i64>,
    values: &mut Vec<f64>,
) -> Result<(), DecodeError> {
    if count == 0 {
        // no timestamps, and only the value byte
        return match r.u8()? {
            e if e <= MAX_EXPONENT || e == RAW_VALUES => Ok(()),
            _ => Err(DecodeError("unknown WAL value encoding")),
        };
    }
    let first = cx.first_ts.wrapping_add(r.i64()?);
    cx.first_ts = first;
    ts.push(first);
    let (mut prev, mut delta) = (first, 0i64);
    for _ in 1..count {
        delta = delta.wrapping_add(r.i64()?);
        prev = prev.wrapping_add(delta);
        ts.push(prev);
    }
    match r.u8()? {
        RAW_VALUES => decode_raw(r, count, values),
        e => {
            let p = float::decimal_divisor(e).ok_or(DecodeError("unknown WAL value encoding"))?;
            let mut m = 0i64;
            for _ in 0..count {
                m = m.wrapping_add(r.i64()?);
                values.push(float::decimal_value(m, p));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Column = (Vec<i64>, Vec<f64>);

    /// Encodes the columns one after the other, as a batch does, and decodes them back.
    fn round_trip(cols: &[Column]) -> (Vec<u8>, Vec<Column>) {
        let mut out = Vec::new();
        let mut cx = Context::default();
        for (ts, vals) in cols {
            encode(ts, vals, &mut cx, &mut out);
        }
        let mut r = Reader::new(&out);
        let mut cx = Context::default();
        let back = cols
            .iter()
            .map(|_| {
                let count = r.u64().unwrap() as usize;
                let (mut ts, mut vals) = (Vec::new(), Vec::new());
                decode(&mut r, count, 3, &mut cx, &mut ts, &mut vals).unwrap();
                (ts, vals)
            })
            .collect();
        assert!(r.is_empty());
        (out, back)
    }

    fn same(a: &[Column], b: &[Column]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x.0 == y.0
                    && x.1
                        .iter()
                        .map(|v| v.to_bits())
                        .eq(y.1.iter().map(|v| v.to_bits()))
            })
    }

    fn decimal() -> impl Strategy<Value = f64> {
        (-1_000_000_000i64..1_000_000_000, 0..6u32)
            .prop_map(|(n, e)| n as f64 / 10f64.powi(e as i32))
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => decimal(),
            1 => any::<u64>().prop_map(f64::from_bits),
            1 => prop::sample::select(vec![0.0, -0.0, f64::NAN, f64::INFINITY, f64::MIN_POSITIVE / 2.0, 1e300, 0.1 + 0.2]),
        ]
    }

    fn column() -> impl Strategy<Value = Column> {
        let ts = prop_oneof![
            (any::<i64>(), -100_000i64..100_000, 0..70usize)
                .prop_map(|(t0, step, n)| (0..n as i64)
                    .map(|i| t0.wrapping_add(step.wrapping_mul(i)))
                    .collect::<Vec<_>>()),
            proptest::collection::vec(any::<i64>(), 0..70),
        ];
        (
            ts,
            prop::bool::ANY,
            proptest::collection::vec(value(), 70),
            proptest::collection::vec(decimal(), 70),
        )
            .prop_map(|(ts, all_decimal, v, d)| {
                let src = if all_decimal { d } else { v };
                let vals = src.into_iter().take(ts.len()).collect();
                (ts, vals)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn columns_round_trip(cols in proptest::collection::vec(column(), 0..6)) {
            let (_, back) = round_trip(&cols);
            prop_assert!(same(&cols, &back));
        }

        #[test]
        fn damaged_bodies_never_panic(
            cols in proptest::collection::vec(column(), 1..4),
            flip in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let (bytes, _) = round_trip(&cols);
            let mut damaged = bytes.clone();
            let i = flip.index(damaged.len());
            damaged[i] ^= 0x5a;
            let cut = cut.index(bytes.len() + 1);
            for buf in [&damaged[..], &bytes[..cut]] {
                let mut r = Reader::new(buf);
                let mut cx = Context::default();
                let (mut ts, mut vals) = (Vec::new(), Vec::new());
                for _ in 0..cols.len() {
                    let Ok(count) = r.u64() else { break };
                    if count > 1 << 16 { break; }
                    if decode(&mut r, count as usize, 3, &mut cx, &mut ts, &mut vals).is_err() {
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn regular_decimal_columns_are_small_and_dense() {
        // 1 000 series x 10 points at 10 s, two decimals: the benchmark's batch
        let t0 = 1_704_067_200_000i64;
        let cols: Vec<Column> = (0..1000)
            .map(|s| {
                let ts = (0..10).map(|i| t0 + 10_000 * i).collect();
                let vals = (0..10)
                    .map(|i| ((s * 37 + i * 113) % 10_000) as f64 / 100.0)
                    .collect();
                (ts, vals)
            })
            .collect();
        let mut out = Vec::new();
        let mut cx = Context::default();
        for (ts, vals) in &cols {
            assert_eq!(encode(ts, vals, &mut cx, &mut out), Density::Dense);
        }
        let (_, back) = round_trip(&cols);
        assert!(same(&cols, &back));
        // 2 bytes of count and encoding, 1 + 3 + 8 of timestamps (the first column's
        // first timestamp takes 6), 1 exponent byte, 3 bytes of the first mantissa and
        // at most 2 per later one: 3.6 bytes a point
        assert!(
            out.len() <= 1000 * (2 + 12 + 1 + 3 + 9 * 2) + 5,
            "{}",
            out.len()
        );
    }

    #[test]
    fn the_documented_example() {
        // docs/design-ts.md, "WAL batch"
        let mut out = Vec::new();
        let d = encode(
            &[1000, 1010, 1020],
            &[1.5, 1.25, 2.0],
            &mut Context::default(),
            &mut out,
        );
        assert_eq!(d, Density::Dense);
        let want = [
            0x03, 0x02, 0xd0, 0x0f, 0x14, 0x00, 0x02, 0xac, 0x02, 0x31, 0x96, 0x01,
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn values_that_are_not_one_decimal_are_raw() {
        let mut cx = Context::default();
        let mut out = Vec::new();
        let ts = [1, 2, 3];
        for vals in [
            [1.5, f64::NAN, 2.0],
            [0.1 + 0.2, 1.0, 2.0],
            [-0.0, 1.0, 2.0],
            [1e300, 1.0, 0.0],
        ] {
            assert_eq!(encode(&ts, &vals, &mut cx, &mut out), Density::Loose);
        }
        // one exponent for all: 1.5 needs 1, 0.25 needs 2
        assert_eq!(
            encode(&ts, &[1.5, 0.25, 7.0], &mut cx, &mut out),
            Density::Dense
        );
        assert_eq!(mantissa(0.25, 2), Some(25));
        assert_eq!(mantissa(-12.5, 1), Some(-125));
        assert_eq!(mantissa(0.25, 1), None);
        let mut m = [0i64; 3];
        assert_eq!(exponent(&[1.5, 0.25, 7.0], &mut m), Some(2));
        assert_eq!(m, [150, 25, 700]);
    }

    #[test]
    fn compact_columns_are_refused_in_version_2_and_plain_ones_in_version_3() {
        let mut out = Vec::new();
        encode(&[5], &[1.0], &mut Context::default(), &mut out);
        let read = |version: u8, bytes: &[u8]| {
            let mut r = Reader::new(bytes);
            let count = r.u64().unwrap() as usize;
            let (mut ts, mut vals) = (Vec::new(), Vec::new());
            decode(
                &mut r,
                count,
                version,
                &mut Context::default(),
                &mut ts,
                &mut vals,
            )
            .map(|()| (ts, vals))
        };
        assert!(read(2, &out).is_err());
        assert_eq!(read(3, &out).unwrap(), (vec![5], vec![1.0]));
        // a version 2 plain column: count 1, encoding 0, ts delta zz(5) = 10, bits
        let mut plain = vec![1, COL_PLAIN, 10];
        plain.extend_from_slice(&1.0f64.to_bits().to_le_bytes());
        assert_eq!(read(2, &plain).unwrap(), (vec![5], vec![1.0]));
        assert!(read(3, &plain).is_err());
        // an exponent past the table
        let bad = [1, COL_COMPACT, 10, MAX_EXPONENT + 1, 2];
        assert!(read(3, &bad).is_err());
    }
}
