//! Chunks: splitting a series into chunks, computing their statistics, and the pure
//! encode / decode of a chunk's bytes (timestamp column, then value column).

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
    let mut bytes = Vec::with_capacity(ts.len() * 16);
    codec::timestamp::encode(ts, &mut bytes);
    codec::float::encode(values, &mut bytes);
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

/// Decodes a chunk from exactly `bytes` into `ts` and `values`, which must be as long
/// as the chunk's point count. On error, the slices hold unspecified values.
pub(crate) fn decode(bytes: &[u8], ts: &mut [i64], values: &mut [f64]) -> Result<(), DecodeError> {
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
    ts: &mut [i64],
    values: &mut [f64],
) -> Result<(), DecodeError> {
    if ts.len() != values.len() {
        return Err(DecodeError("prefix columns differ in length"));
    }
    let used = codec::timestamp::decode_prefix_into(bytes, ts)?;
    let rest = bytes
        .get(used..)
        .ok_or(DecodeError("timestamp column overruns the chunk"))?;
    codec::float::decode_prefix_into(rest, values)
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

    #[test]
    fn encode_decode_round_trip() {
        let ts: Vec<i64> = (0..10).map(|i| i * 7 - 30).collect();
        let vs: Vec<f64> = (0..10).map(|i| i as f64 / 3.0).collect();
        let enc = encode_chunk(&ts, &vs).unwrap();
        assert_eq!(enc.len as usize, enc.bytes.len());
        assert_eq!(checksum::masked(&enc.bytes), enc.crc);
        assert_eq!(enc.stats, stats(&ts, &vs).unwrap());
        let (mut t, mut v) = (vec![1; 10], vec![1.0; 10]);
        decode(&enc.bytes, &mut t, &mut v).unwrap();
        assert_eq!((&t[..], &v[..]), (&ts[..], &vs[..]));
        let short = &enc.bytes[..enc.bytes.len() - 1];
        assert!(decode(short, &mut t, &mut v).is_err());
        let mut longer = enc.bytes.clone();
        longer.push(0);
        assert!(decode(&longer, &mut t, &mut v).is_err());
        // a count other than the chunk's
        assert!(decode(&enc.bytes, &mut t[..9], &mut v[..9]).is_err());
        for k in 0..=10 {
            let (mut t, mut v) = (vec![1; k], vec![1.0; k]);
            decode_prefix(&enc.bytes, &mut t, &mut v).unwrap();
            assert_eq!((&t[..], &v[..]), (&ts[..k], &vs[..k]));
        }
        assert!(decode_prefix(&enc.bytes, &mut [0; 11], &mut [0.0; 11]).is_err());
        assert!(decode_prefix(&enc.bytes, &mut [0; 3], &mut [0.0; 2]).is_err());
        assert!(encode_chunk(&[], &[]).is_none());
    }
}
