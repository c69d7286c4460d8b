//! Value column codec.
//!
//! PLACEHOLDER encoding (raw little-endian f64 bits) with the final signatures; the
//! per-chunk choice of XOR (Gorilla) and decimal (ALP-style) codecs replaces the bodies.

use super::DecodeError;

/// Appends the encoding of `values` to `out`. Every bit pattern round-trips exactly
/// (NaN payloads, -0.0, subnormals, infinities).
pub fn encode(values: &[f64], out: &mut Vec<u8>) {
    for v in values {
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

/// Decodes exactly `count` values from the front of `buf`, appending them to `out`.
/// Returns the number of bytes consumed.
pub fn decode(buf: &[u8], count: usize, out: &mut Vec<f64>) -> Result<usize, DecodeError> {
    let need = count
        .checked_mul(8)
        .ok_or(DecodeError("value count overflows"))?;
    let bytes = buf
        .get(..need)
        .ok_or(DecodeError("value column truncated"))?;
    out.extend(
        bytes
            .chunks_exact(8)
            .map(|c| f64::from_bits(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))),
    );
    Ok(need)
}
