//! Timestamp column codec.
//!
//! PLACEHOLDER encoding (raw little-endian i64s) with the final signatures; the
//! delta-of-delta, zigzag, bit-packed codec replaces the bodies.

use super::DecodeError;

/// Appends the encoding of `ts` (any order, any values, including i64::MIN/MAX) to `out`.
pub fn encode(ts: &[i64], out: &mut Vec<u8>) {
    for t in ts {
        out.extend_from_slice(&t.to_le_bytes());
    }
}

/// Decodes exactly `count` timestamps from the front of `buf`, appending them to `out`.
/// Returns the number of bytes consumed.
pub fn decode(buf: &[u8], count: usize, out: &mut Vec<i64>) -> Result<usize, DecodeError> {
    let need = count
        .checked_mul(8)
        .ok_or(DecodeError("timestamp count overflows"))?;
    let bytes = buf
        .get(..need)
        .ok_or(DecodeError("timestamp column truncated"))?;
    out.extend(
        bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
    );
    Ok(need)
}
