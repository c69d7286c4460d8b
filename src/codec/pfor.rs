//! One block of integers as patched frame-of-reference (PFOR).
//!
//! A block holds up to [`BLOCK`] signed integers. It stores their minimum (`base`, as a
//! zigzag varint difference from the previous block's base, so a steady series of
//! blocks costs one byte here), then every `value - base` bit-packed at one width `w`.
//! Offsets too wide for `w` are *exceptions*: their low `w` bits stay in the packed run
//! and their high bits follow it as `(index, high)` pairs. The encoder picks the `w`
//! that makes the block smallest; a block of equal values is two bytes.
//!
//! ```text
//! head u8          bits 0..=6: width w (0..=64); bit 7: exceptions follow
//! base varint      zigzag(base - previous base), wrapping
//! packed           bitpack of (value - base) mod 2^w, packed_len(len, w) bytes
//! [count u8        1..=len, only if bit 7 of head]
//! [count x (index u8, high varint)]   value - base = low | high << w; indices ascending
//! ```

use super::DecodeError;
use super::bitpack;
use super::varint::{self, Reader};

/// Most values in one block. A multiple of 64, so full blocks pack whole words.
pub const BLOCK: usize = 128;

const EXCEPTIONS: u8 = 0x80;

/// Appends one block holding `values` (at most [`BLOCK`]); `prev_base` carries the
/// base from block to block and starts at 0.
pub fn encode(values: &[i64], prev_base: &mut i64, out: &mut Vec<u8>) {
    debug_assert!(values.len() <= BLOCK);
    let values = &values[..values.len().min(BLOCK)];
    let base = values.iter().copied().min().unwrap_or(0);
    let mut offsets = [0u64; BLOCK];
    let offsets = &mut offsets[..values.len()];
    for (o, &v) in offsets.iter_mut().zip(values) {
        *o = v.wrapping_sub(base) as u64;
    }
    let (width, count) = choose_width(offsets);

    out.push(width as u8 | if count > 0 { EXCEPTIONS } else { 0 });
    varint::put_u64(out, varint::zigzag(base.wrapping_sub(*prev_base)));
    *prev_base = base;
    bitpack::pack(offsets, width, out);
    if count > 0 {
        // invariant: count <= values.len() <= BLOCK = 128
        out.push(count as u8);
        // invariant: width < 64 when there are exceptions
        for (i, &o) in offsets.iter().enumerate() {
            if o >> width != 0 {
                out.push(i as u8);
                varint::put_u64(out, o >> width);
            }
        }
    }
}

/// The packing width for `offsets` and how many exceptions it leaves.
fn choose_width(offsets: &[u64]) -> (u32, usize) {
    let max = bitpack::width_of(offsets.iter().fold(0, |a, &o| a | o));
    if max == 0 {
        return (0, 0);
    }
    // bit-width histogram, in four interleaved lanes so that runs of equal widths do
    // not serialise on one counter
    let mut lanes = [[0u16; 65]; 4];
    let (quads, rest) = offsets.as_chunks::<4>();
    for q in quads {
        for (lane, &o) in lanes.iter_mut().zip(q) {
            lane[fast_width(o)] += 1;
        }
    }
    for &o in rest {
        lanes[0][fast_width(o)] += 1;
    }
    let mut hist = [0u16; 65];
    for (b, h) in hist.iter_mut().enumerate() {
        *h = lanes.iter().map(|lane| lane[b]).sum();
    }
    let width = best_width(&hist, offsets.len());
    let count = hist[width as usize + 1..]
        .iter()
        .map(|&n| usize::from(n))
        .sum();
    (width, count)
}

/// [`bitpack::width_of`] through the exponent of an `f64` conversion: without
/// `lzcnt` in the baseline x86-64 target, `leading_zeros` is a slow `bsr`.
#[inline(always)]
fn fast_width(o: u64) -> usize {
    if o < 1 << 53 {
        // exact conversion: the biased exponent is 1023 + floor(log2 o), or 0 for 0
        (((o as i64 as f64).to_bits() >> 52) as usize).saturating_sub(1022)
    } else {
        bitpack::width_of(o) as usize
    }
}

/// The width minimising the block's size, given the bit-width histogram of its
/// offsets. On a tie the wider one wins: it has fewer exceptions to patch.
fn best_width(hist: &[u16; 65], len: usize) -> u32 {
    let max = hist.iter().rposition(|&n| n > 0).unwrap_or(0);
    let mut best = (bitpack::packed_len(len, max as u32), max);
    for w in (0..max).rev() {
        let mut cost = bitpack::packed_len(len, w as u32) + 1;
        for (b, &n) in hist.iter().enumerate().take(max + 1).skip(w + 1) {
            // one index byte plus a varint of the b - w high bits
            cost += usize::from(n) * (1 + (b - w).div_ceil(7));
        }
        if cost < best.0 {
            best = (cost, w);
        }
    }
    best.1 as u32
}

/// What one decoded block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Every value equals `base`; the output slice was not written.
    Uniform {
        /// The common value.
        base: i64,
    },
    /// The output slice holds `value - base` (wrapping) for each value.
    Offsets {
        /// The block's frame of reference.
        base: i64,
    },
}

/// Decodes one block of `out.len()` values (at most [`BLOCK`]) from `r`. Returns the
/// base and whether `out` was written; `prev_base` is as for [`encode`].
pub fn decode(
    r: &mut Reader<'_>,
    prev_base: &mut i64,
    out: &mut [u64],
) -> Result<Block, DecodeError> {
    if out.len() > BLOCK {
        return Err(DecodeError("pfor block too long"));
    }
    let head = r.u8()?;
    let width = u32::from(head & !EXCEPTIONS);
    if width > 64 {
        return Err(DecodeError("pfor width above 64"));
    }
    let base = prev_base.wrapping_add(r.i64()?);
    *prev_base = base;
    if head == 0 {
        return Ok(Block::Uniform { base });
    }
    let used = bitpack::unpack(r.remaining(), width, out)?;
    r.bytes(used)?;
    if head & EXCEPTIONS != 0 {
        patch(r, width, out)?;
    }
    Ok(Block::Offsets { base })
}

/// Reads the exception list and ORs each high part into place.
fn patch(r: &mut Reader<'_>, width: u32, out: &mut [u64]) -> Result<(), DecodeError> {
    let count = usize::from(r.u8()?);
    if count == 0 || count > out.len() {
        return Err(DecodeError("pfor exception count out of range"));
    }
    let mut next = 0usize;
    for _ in 0..count {
        let index = usize::from(r.u8()?);
        let high = r.u64()?;
        let slot = out
            .get_mut(index)
            .filter(|_| index >= next)
            .ok_or(DecodeError("pfor exception index out of order"))?;
        let shifted = high
            .checked_shl(width)
            .filter(|s| s >> width == high && high != 0)
            .ok_or(DecodeError("pfor exception too wide"))?;
        *slot |= shifted;
        next = index + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: &[i64]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut base = 0;
        encode(values, &mut base, &mut buf);
        let mut r = Reader::new(&buf);
        let mut raw = vec![0u64; values.len()];
        let mut dbase = 0;
        let got: Vec<i64> = match decode(&mut r, &mut dbase, &mut raw).unwrap() {
            Block::Uniform { base } => vec![base; values.len()],
            Block::Offsets { base } => raw.iter().map(|&o| base.wrapping_add(o as i64)).collect(),
        };
        assert_eq!(got, values);
        assert_eq!(r.position(), buf.len());
        assert_eq!(base, dbase);
        buf
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn round_trips(values in prop::collection::vec(any::<i64>(), 0..=BLOCK)) {
            round_trip(&values);
        }

        #[test]
        fn round_trips_outliers(
            mut values in prop::collection::vec(-4i64..4, 1..=BLOCK),
            spikes in prop::collection::vec((0usize..BLOCK, any::<i64>()), 0..6),
        ) {
            for (i, v) in spikes {
                let n = values.len();
                values[i % n] = v;
            }
            round_trip(&values);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..80), len in 0..=BLOCK) {
            let mut out = vec![0u64; len];
            let _ = decode(&mut Reader::new(&bytes), &mut 0, &mut out);
        }
    }

    #[test]
    fn fast_width_is_width_of() {
        let mut probes = vec![
            0u64,
            1,
            2,
            3,
            u64::MAX,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
        ];
        for b in 0..64 {
            probes.extend([
                (1u64 << b) - 1,
                1 << b,
                (1 << b) + 1,
                (1 << b) | (1 << b >> 1),
            ]);
        }
        for o in probes {
            assert_eq!(fast_width(o), bitpack::width_of(o) as usize, "{o:#x}");
        }
    }

    #[test]
    fn constant_block_is_two_bytes_and_outliers_become_exceptions() {
        assert_eq!(round_trip(&[5; BLOCK]), vec![0, 10]);
        let mut values = vec![1i64; BLOCK];
        values[17] = 1 << 40;
        let buf = round_trip(&values);
        assert_eq!(buf[0], EXCEPTIONS);
        assert!(buf.len() < 12, "{buf:?}");
    }

    #[test]
    fn rejects_bad_exceptions() {
        let mut out = [0u64; 4];
        // width 0 with exceptions, count 0
        assert!(decode(&mut Reader::new(&[0x80, 0, 0]), &mut 0, &mut out).is_err());
        // index out of range
        assert!(decode(&mut Reader::new(&[0x80, 0, 1, 4, 1]), &mut 0, &mut out).is_err());
        // descending indices
        assert!(
            decode(
                &mut Reader::new(&[0x80, 0, 2, 2, 1, 1, 1]),
                &mut 0,
                &mut out
            )
            .is_err()
        );
        // high part overflowing 64 bits at width 63
        let mut buf = vec![0x80 | 63, 0];
        buf.extend_from_slice(&[0; 32]);
        buf.extend_from_slice(&[1, 0, 2]);
        assert!(decode(&mut Reader::new(&buf), &mut 0, &mut out).is_err());
        assert!(decode(&mut Reader::new(&[65, 0]), &mut 0, &mut out).is_err());
    }
}
