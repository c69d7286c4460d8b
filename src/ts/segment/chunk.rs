//! Chunks: splitting a series into chunks, computing their statistics, and the pure
//! encode / decode of a chunk's bytes.
//!
//! A chunk is a timestamp column, then a value column. Since format version 3 the
//! columns follow the chunk's *marks*: for each column, the decode state before every
//! 256-value block after the first (see the codecs), so that a read of a few points
//! decodes the blocks that hold them and not the chunk from its start:
//!
//! ```text
//! marks_len varint         bytes of the marks, up to the timestamp column
//! ts_marks_len varint      bytes of the timestamp column's marks
//! ts_marks                 codec::timestamp::marks
//! values_at varint         offset of the value column from the timestamp column's start
//! value_marks              codec::float::marks (the rest of the marks)
//! timestamp column, value column
//! ```

use crate::codec::timestamp::Window;
use crate::codec::varint::{self, Reader};
use crate::codec::{self, DecodeError, checksum};

use super::format::ChunkStats;

/// One encoded chunk.
#[derive(Debug)]
pub(crate) struct EncodedChunk {
    /// The chunk's bytes: timestamp column, then value column.
    pub bytes: Vec<u8>,
    /// Statistics of its points.
    pub stats: ChunkStats,
    /// `bytes.len()`.
    pub len: u32,
    /// Masked CRC32C of `bytes`.
    pub crc: u32,
}

/// Splits `n` points into the fewest chunks of at most `chunk_points` points, as even in
/// size as possible (sizes differ by at most one, larger ones first). Returns the lengths.
pub(crate) fn chunk_lengths(n: usize, chunk_points: usize) -> impl Iterator<Item = usize> {
    let chunks = n.div_ceil(chunk_points.max(1));
    let base = n.checked_div(chunks).unwrap_or(0);
    let bigger = n.checked_rem(chunks).unwrap_or(0);
    (0..chunks).map(move |i| base + usize::from(i < bigger))
}

/// Encodes one chunk of points (timestamps strictly ascending, as many values as
/// timestamps). `None` if empty or if it would exceed 4 GiB.
pub(crate) fn encode_chunk(ts: &[i64], values: &[f64]) -> Option<EncodedChunk> {
    let stats = stats(ts, values)?;
    let mut columns = Vec::with_capacity(ts.len() * 16);
    codec::timestamp::encode(ts, &mut columns);
    let values_at = columns.len();
    codec::float::encode(values, &mut columns);
    let mut ts_marks = Vec::new();
    codec::timestamp::marks(&columns, &mut ts_marks).ok()?;
    let mut marks = Vec::with_capacity(ts_marks.len() + 16);
    varint::put_len_prefixed(&mut marks, &ts_marks);
    varint::put_u64(&mut marks, values_at as u64);
    codec::float::marks(columns.get(values_at..)?, &mut marks).ok()?;
    let mut bytes = Vec::with_capacity(marks.len() + columns.len() + 4);
    varint::put_len_prefixed(&mut bytes, &marks);
    bytes.extend_from_slice(&columns);
    Some(EncodedChunk {
        stats,
        len: u32::try_from(bytes.len()).ok()?,
        crc: checksum::masked(&bytes),
        bytes,
    })
}

/// The statistics of a non-empty chunk (`None` if empty or longer than `u32::MAX`).
pub(crate) fn stats(ts: &[i64], values: &[f64]) -> Option<ChunkStats> {
    let mut min = f64::NAN;
    let mut max = f64::NAN;
    let mut sum = 0.0;
    for &v in values {
        sum += v;
        if v.is_nan() {
            continue;
        }
        if min.is_nan() || v.total_cmp(&min).is_lt() {
            min = v;
        }
        if max.is_nan() || v.total_cmp(&max).is_gt() {
            max = v;
        }
    }
    Some(ChunkStats {
        count: u32::try_from(ts.len()).ok()?,
        min_ts: *ts.first()?,
        max_ts: *ts.last()?,
        min_value: min,
        max_value: max,
        sum,
    })
}

/// How a segment's chunks are laid out, by the segment's format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkFormat {
    /// Version 2: the timestamp column, then the value column.
    Plain,
    /// Version 3: the marks, then the columns.
    Marked,
}

/// A chunk's bytes, split.
struct Parts<'a> {
    /// The timestamp column and the value column after it.
    columns: &'a [u8],
    /// The marks (version 3 only).
    marks: Option<Marks<'a>>,
}

/// The marks of a version 3 chunk.
struct Marks<'a> {
    ts: &'a [u8],
    values_at: usize,
    values: &'a [u8],
}

fn split(bytes: &[u8], format: ChunkFormat) -> Result<Parts<'_>, DecodeError> {
    if format == ChunkFormat::Plain {
        return Ok(Parts {
            columns: bytes,
            marks: None,
        });
    }
    let mut r = Reader::new(bytes);
    let mut m = Reader::new(r.len_prefixed()?);
    let ts = m.len_prefixed()?;
    let values_at = usize::try_from(m.u64()?)
        .map_err(|_| DecodeError("chunk value column offset out of range"))?;
    Ok(Parts {
        columns: r.remaining(),
        marks: Some(Marks {
            ts,
            values_at,
            values: m.remaining(),
        }),
    })
}

/// Decodes a chunk from exactly `bytes` into `ts` and `values`, which must be as long
/// as the chunk's point count. On error, the slices hold unspecified values.
pub(crate) fn decode(
    bytes: &[u8],
    format: ChunkFormat,
    ts: &mut [i64],
    values: &mut [f64],
) -> Result<(), DecodeError> {
    let bytes = split(bytes, format)?.columns;
    let used = codec::timestamp::decode_into(bytes, ts)?;
    let rest = bytes
        .get(used..)
        .ok_or(DecodeError("timestamp column overruns the chunk"))?;
    let used = codec::float::decode_into(rest, values)?;
    if used != rest.len() {
        return Err(DecodeError("chunk has trailing bytes"));
    }
    Ok(())
}

/// Decodes the first `ts.len()` points (as many as `values.len()`, at most the
/// chunk's count) of the chunk `bytes`: the timestamp column's later blocks are
/// stepped over, the value column read no further than it needs.
pub(crate) fn decode_prefix(
    bytes: &[u8],
    format: ChunkFormat,
    ts: &mut [i64],
    values: &mut [f64],
) -> Result<(), DecodeError> {
    if ts.len() != values.len() {
        return Err(DecodeError("prefix columns differ in length"));
    }
    let bytes = split(bytes, format)?.columns;
    let used = codec::timestamp::decode_prefix_into(bytes, ts)?;
    let rest = bytes
        .get(used..)
        .ok_or(DecodeError("timestamp column overruns the chunk"))?;
    codec::float::decode_prefix_into(rest, values)
}

/// The points of a marked chunk that a read of `start..=end` decodes: whole blocks of
/// the timestamp column, from the marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    window: Window,
}

impl Span {
    /// The position of the span's first point in the chunk.
    pub fn from(&self) -> usize {
        self.window.from
    }
    /// The position after the span's last point.
    pub fn to(&self) -> usize {
        self.window.to
    }
    /// Number of points.
    pub fn len(&self) -> usize {
        self.window.len()
    }
}

/// The span of the chunk `bytes` holding every point in `start..=end` (`None` for a
/// chunk without marks: read a prefix instead). Reads only the marks.
pub(crate) fn locate(
    bytes: &[u8],
    format: ChunkFormat,
    start: i64,
    end: i64,
) -> Result<Option<Span>, DecodeError> {
    let parts = split(bytes, format)?;
    let Some(marks) = parts.marks else {
        return Ok(None);
    };
    let window = codec::timestamp::locate(parts.columns, marks.ts, start, end)?;
    Ok(Some(Span { window }))
}

/// Decodes the points of `span` (found by [`locate`] in this chunk) into `ts` and
/// `values`, each as long as the span. On error the slices hold unspecified values.
pub(crate) fn decode_span(
    bytes: &[u8],
    format: ChunkFormat,
    span: &Span,
    ts: &mut [i64],
    values: &mut [f64],
) -> Result<(), DecodeError> {
    let parts = span_parts(bytes, format, span, values.len())?;
    codec::timestamp::decode_window(parts.columns, &span.window, ts)?;
    codec::float::decode_window(parts.values, parts.value_marks, span.from(), values)
}

/// [`decode_span`] with the values as decimal mantissas
/// ([`codec::float::decode_window_mantissas`]): their divisor, or `None` (and nothing
/// decoded) when the span's values are not all decimal.
pub(crate) fn decode_span_mantissas(
    bytes: &[u8],
    format: ChunkFormat,
    span: &Span,
    ts: &mut [i64],
    mantissas: &mut [i64],
) -> Result<Option<f64>, DecodeError> {
    let parts = span_parts(bytes, format, span, mantissas.len())?;
    let divisor = codec::float::decode_window_mantissas(
        parts.values,
        parts.value_marks,
        span.from(),
        mantissas,
    )?;
    if divisor.is_some() {
        codec::timestamp::decode_window(parts.columns, &span.window, ts)?;
    }
    Ok(divisor)
}

/// What a span read of a chunk needs.
struct SpanParts<'a> {
    /// The columns, the timestamp column first.
    columns: &'a [u8],
    /// The value column.
    values: &'a [u8],
    /// The value column's marks.
    value_marks: &'a [u8],
}

/// Splits a chunk for a span read; checks that the value output is as long as the
/// span.
fn span_parts<'a>(
    bytes: &'a [u8],
    format: ChunkFormat,
    span: &Span,
    values_len: usize,
) -> Result<SpanParts<'a>, DecodeError> {
    let parts = split(bytes, format)?;
    let marks = parts
        .marks
        .ok_or(DecodeError("chunk span read without marks"))?;
    if values_len != span.len() {
        return Err(DecodeError("span columns differ in length"));
    }
    let values = parts
        .columns
        .get(marks.values_at..)
        .ok_or(DecodeError("chunk value column offset out of range"))?;
    Ok(SpanParts {
        columns: parts.columns,
        values,
        value_marks: marks.values,
    })
}

/// The two columns of the chunk `bytes` (after its marks, if it has any).
pub(crate) fn columns(bytes: &[u8], format: ChunkFormat) -> Result<&[u8], DecodeError> {
    Ok(split(bytes, format)?.columns)
}

/// Checks a chunk's marks against its columns: they must be exactly the marks the
/// columns give (a chunk without marks passes).
pub(crate) fn verify_marks(bytes: &[u8], format: ChunkFormat) -> Result<(), DecodeError> {
    let parts = split(bytes, format)?;
    let Some(marks) = parts.marks else {
        return Ok(());
    };
    let mut ts = Vec::new();
    codec::timestamp::marks(parts.columns, &mut ts)?;
    let mut values = Vec::new();
    let value_column = parts
        .columns
        .get(marks.values_at..)
        .ok_or(DecodeError("chunk value column offset out of range"))?;
    codec::float::marks(value_column, &mut values)?;
    let values_at = codec::timestamp::decode_prefix_into(parts.columns, &mut [])?;
    if ts != marks.ts || values != marks.values || values_at != marks.values_at {
        return Err(DecodeError("chunk marks disagree with its columns"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_lengths_are_even_and_bounded() {
        let l: Vec<_> = chunk_lengths(10, 4).collect();
        assert_eq!(l, vec![4, 3, 3]);
        let l: Vec<_> = chunk_lengths(8, 4).collect();
        assert_eq!(l, vec![4, 4]);
        assert_eq!(chunk_lengths(0, 4).count(), 0);
        assert_eq!(chunk_lengths(1, 4).collect::<Vec<_>>(), vec![1]);
        for n in 0..200 {
            for cp in 1..20 {
                let l: Vec<_> = chunk_lengths(n, cp).collect();
                assert_eq!(l.iter().sum::<usize>(), n);
                assert_eq!(l.len(), n.div_ceil(cp));
                assert!(l.iter().all(|&x| x >= 1 && x <= cp));
            }
        }
    }

    #[test]
    fn stats_follow_the_nan_and_zero_rules() {
        let s = stats(&[1, 2, 3], &[f64::NAN, 2.0, -1.0]).unwrap();
        assert_eq!((s.count, s.min_ts, s.max_ts), (3, 1, 3));
        assert_eq!((s.min_value, s.max_value), (-1.0, 2.0));
        assert!(s.sum.is_nan());
        let s = stats(&[1, 2], &[0.0, -0.0]).unwrap();
        assert!(s.min_value.is_sign_negative() && s.max_value.is_sign_positive());
        let s = stats(&[5], &[f64::NAN]).unwrap();
        assert!(s.min_value.is_nan() && s.max_value.is_nan());
        assert!(stats(&[], &[]).is_none());
    }

    /// A chunk of `n` points: irregular timestamps, and decimal values with
    /// exceptions, XOR values or a constant.
    fn sample(n: usize, kind: usize) -> (Vec<i64>, Vec<f64>) {
        let ts: Vec<i64> = (0..n as i64).map(|i| 1_000 + 10 * i + i * i % 7).collect();
        let values = (0..n)
            .map(|i| match kind {
                0 if i % 97 == 5 => f64::NAN,
                0 => (i % 41) as f64 / 4.0,
                1 => (i as f64).sqrt(),
                _ => 2.5,
            })
            .collect();
        (ts, values)
    }

    #[test]
    fn spans_hold_their_range_and_decode_like_the_whole() {
        for n in [1, 255, 256, 257, 600, 1030, 4096] {
            for kind in 0..3 {
                let (ts, vs) = sample(n, kind);
                let enc = encode_chunk(&ts, &vs).unwrap();
                verify_marks(&enc.bytes, ChunkFormat::Marked).unwrap();
                let points = [0, 1, 255, 256, 300, 511, 700, 1029, n / 2, n - 1];
                for &i in points.iter().filter(|&&i| i < n) {
                    for &j in points.iter().filter(|&&j| j < n && j >= i) {
                        let (start, end) = (ts[i] - 1, ts[j]);
                        let span = locate(&enc.bytes, ChunkFormat::Marked, start, end)
                            .unwrap()
                            .unwrap();
                        assert!(span.from() <= i && j < span.to(), "{i}..={j} in {span:?}");
                        let (mut t, mut v) = (vec![0; span.len()], vec![0.0; span.len()]);
                        decode_span(&enc.bytes, ChunkFormat::Marked, &span, &mut t, &mut v)
                            .unwrap();
                        assert_eq!(t, ts[span.from()..span.to()]);
                        let bits = |x: &[f64]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&v), bits(&vs[span.from()..span.to()]));
                        // as mantissas: the same points where the span's values are all
                        // decimal (kind 0 of more than one value, a NaN every 97), else
                        // nothing
                        let (mut t, mut m) = (vec![0; span.len()], vec![0; span.len()]);
                        let divisor = decode_span_mantissas(
                            &enc.bytes,
                            ChunkFormat::Marked,
                            &span,
                            &mut t,
                            &mut m,
                        )
                        .unwrap();
                        let all_decimal = kind == 0 && n > 1 && v.iter().all(|x| !x.is_nan());
                        assert_eq!(divisor.is_some(), all_decimal, "{i}..={j} kind {kind}");
                        if let Some(d) = divisor {
                            assert_eq!(t, ts[span.from()..span.to()]);
                            let values: Vec<f64> = m
                                .iter()
                                .map(|&x| codec::float::decimal_value(x, d))
                                .collect();
                            assert_eq!(bits(&values), bits(&v));
                        }
                    }
                }
                // a one-point read of a long chunk decodes at most two blocks
                if n == 4096 {
                    let span = locate(&enc.bytes, ChunkFormat::Marked, ts[3000], ts[3000])
                        .unwrap()
                        .unwrap();
                    assert!(span.len() <= 512, "{span:?}");
                }
            }
        }
    }

    #[test]
    fn damaged_marks_are_found_and_never_panic() {
        let (ts, vs) = sample(1030, 0);
        let enc = encode_chunk(&ts, &vs).unwrap();
        let marks_len = enc.bytes.len() - columns(&enc.bytes, ChunkFormat::Marked).unwrap().len();
        for at in 0..marks_len {
            for flip in [1u8, 0x80, 0xFF] {
                let mut bad = enc.bytes.clone();
                bad[at] ^= flip;
                // the chunk's checksum catches this on a read; the marks' own check
                // catches it without the checksum, and a read through them fails or
                // returns points, never panics
                let caught = verify_marks(&bad, ChunkFormat::Marked).is_err();
                let full = decode(&bad, ChunkFormat::Marked, &mut [0; 1030], &mut [0.0; 1030]);
                assert!(caught || full.is_err(), "byte {at} ^ {flip:#x}");
                let span = locate(&bad, ChunkFormat::Marked, ts[700], ts[800]);
                if let Ok(Some(span)) = span.as_ref().map(|s| s.filter(|s| s.len() <= 1030)) {
                    let (mut t, mut v) = (vec![0; span.len()], vec![0.0; span.len()]);
                    let _ = decode_span(&bad, ChunkFormat::Marked, &span, &mut t, &mut v);
                    let mut m = vec![0; span.len()];
                    let _ = decode_span_mantissas(&bad, ChunkFormat::Marked, &span, &mut t, &mut m);
                }
            }
        }
        // the version 2 layout: no marks, nothing to locate
        let (ts, vs) = sample(300, 1);
        let mut plain = Vec::new();
        codec::timestamp::encode(&ts, &mut plain);
        codec::float::encode(&vs, &mut plain);
        assert_eq!(locate(&plain, ChunkFormat::Plain, 0, 5), Ok(None));
        verify_marks(&plain, ChunkFormat::Plain).unwrap();
        let (mut t, mut v) = (vec![0; 300], vec![0.0; 300]);
        decode(&plain, ChunkFormat::Plain, &mut t, &mut v).unwrap();
        assert_eq!(t, ts);
    }

    #[test]
    fn encode_decode_round_trip() {
        let ts: Vec<i64> = (0..10).map(|i| i * 7 - 30).collect();
        let vs: Vec<f64> = (0..10).map(|i| i as f64 / 3.0).collect();
        let enc = encode_chunk(&ts, &vs).unwrap();
        assert_eq!(enc.len as usize, enc.bytes.len());
        assert_eq!(checksum::masked(&enc.bytes), enc.crc);
        assert_eq!(enc.stats, stats(&ts, &vs).unwrap());
        let (mut t, mut v) = (vec![1; 10], vec![1.0; 10]);
        decode(&enc.bytes, ChunkFormat::Marked, &mut t, &mut v).unwrap();
        assert_eq!((&t[..], &v[..]), (&ts[..], &vs[..]));
        let short = &enc.bytes[..enc.bytes.len() - 1];
        assert!(decode(short, ChunkFormat::Marked, &mut t, &mut v).is_err());
        let mut longer = enc.bytes.clone();
        longer.push(0);
        assert!(decode(&longer, ChunkFormat::Marked, &mut t, &mut v).is_err());
        // a count other than the chunk's
        assert!(decode(&enc.bytes, ChunkFormat::Marked, &mut t[..9], &mut v[..9]).is_err());
        for k in 0..=10 {
            let (mut t, mut v) = (vec![1; k], vec![1.0; k]);
            decode_prefix(&enc.bytes, ChunkFormat::Marked, &mut t, &mut v).unwrap();
            assert_eq!((&t[..], &v[..]), (&ts[..k], &vs[..k]));
        }
        assert!(
            decode_prefix(
                &enc.bytes,
                ChunkFormat::Marked,
                &mut [0; 11],
                &mut [0.0; 11]
            )
            .is_err()
        );
        assert!(
            decode_prefix(&enc.bytes, ChunkFormat::Marked, &mut [0; 3], &mut [0.0; 2]).is_err()
        );
        assert!(encode_chunk(&[], &[]).is_none());
    }
}
