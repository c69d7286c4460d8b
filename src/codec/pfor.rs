//! One block of integers as patched frame-of-reference (PFOR).
//!
//! A block holds up to [`BLOCK`] signed integers. It stores their minimum (`base`, as a
//! zigzag varint difference from the previous block's base, so a steady series of
//! blocks costs one byte here), then every `value - base` bit-packed at one width `w`.
//! Offsets too wide for `w` are *exceptions*: their low `w` bits stay in the packed run
//! and their high bits follow it as `(index, high)` pairs. The encoder picks the `w`
//! that makes the block smallest; a block of equal values is two bytes.
//!
//! The offsets are packed as one block of [`bitpack`] (four interleaved lanes, which
//! vector instructions unpack), `packed_len(len, w)` bytes.
//!
//! ```text
//! head u8          bits 0..=6: width w (0..=64); bit 7: exceptions follow
//! base varint      zigzag(base - previous base), wrapping
//! packed           bitpack block of (value - base) mod 2^w, packed_len(len, w) bytes
//! [count u8        1..=min(len, 255), only if bit 7 of head]
//! [count x (index u8, high varint)]   value - base = low | high << w; indices ascending
//! ```

use super::DecodeError;
use super::bitpack::{self, LANES};
use super::varint::{self, Reader};
use super::vector;

/// Most values in one block: one block of [`bitpack`].
pub const BLOCK: usize = bitpack::BLOCK;

/// Most exceptions in one block (their count is a byte).
const MAX_EXCEPTIONS: usize = 255;

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
        // invariant: count <= MAX_EXCEPTIONS (choose_width) and indices < BLOCK = 256
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
/// offsets, among those leaving at most [`MAX_EXCEPTIONS`] exceptions. On a tie the
/// wider one wins: it has fewer exceptions to patch.
///
/// A full block takes exceptions only where they save at least an eighth of its
/// size: they are for outliers, not for trimming a bit off every value, because the
/// fused kernels that decode full blocks in one pass cannot patch them (a block with
/// exceptions takes a second pass).
fn best_width(hist: &[u16; 65], len: usize) -> u32 {
    let max = hist.iter().rposition(|&n| n > 0).unwrap_or(0);
    let plain = bitpack::packed_len(len, max as u32);
    let (cost, width) = cheapest_width(hist, len, max);
    if len == BLOCK && width != max && cost > plain - plain / 8 {
        return max as u32;
    }
    width as u32
}

/// The cheapest width and its cost in bytes (see [`best_width`]); `max` is the width
/// of the widest offset.
fn cheapest_width(hist: &[u16; 65], len: usize, max: usize) -> (usize, usize) {
    let mut best = (bitpack::packed_len(len, max as u32), max);
    let mut exceptions = 0;
    for w in (0..max).rev() {
        exceptions += usize::from(hist[w + 1]);
        if exceptions > MAX_EXCEPTIONS {
            break;
        }
        let mut cost = bitpack::packed_len(len, w as u32) + 1;
        for (b, &n) in hist.iter().enumerate().take(max + 1).skip(w + 1) {
            // one index byte plus a varint of the b - w high bits
            cost += usize::from(n) * (1 + (b - w).div_ceil(7));
        }
        if cost < best.0 {
            best = (cost, w);
        }
    }
    best
}

/// A block's header: its width, whether exceptions follow the packed run, and its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Bits per packed offset, 0..=64.
    pub width: u32,
    /// Exceptions follow the packed run.
    pub exceptions: bool,
    /// The block's frame of reference.
    pub base: i64,
}

impl Head {
    /// Every value of the block equals `base` (nothing but the header is stored).
    pub fn is_uniform(&self) -> bool {
        self.width == 0 && !self.exceptions
    }
}

/// Reads a block's header from `r`; `prev_base` is as for [`encode`].
pub fn read_head(r: &mut Reader<'_>, prev_base: &mut i64) -> Result<Head, DecodeError> {
    let head = r.u8()?;
    let width = u32::from(head & !EXCEPTIONS);
    if width > 64 {
        return Err(DecodeError("pfor width above 64"));
    }
    let base = prev_base.wrapping_add(r.i64()?);
    *prev_base = base;
    Ok(Head {
        width,
        exceptions: head & EXCEPTIONS != 0,
        base,
    })
}

/// Decodes the body of the block whose header is `head` into `out`: each value minus
/// the base (wrapping). For a uniform block, fills `out` with zeros.
pub fn decode_offsets(r: &mut Reader<'_>, head: &Head, out: &mut [u64]) -> Result<(), DecodeError> {
    check_block_len(out.len())?;
    let used = bitpack::unpack(r.remaining(), head.width, out)?;
    r.bytes(used)?;
    if head.exceptions {
        read_exceptions(r, head.width, out.len(), |index, high| {
            if let Some(slot) = out.get_mut(index) {
                *slot |= high;
            }
        })?;
    }
    Ok(())
}

/// Steps over the body of the block of `len` values whose header is `head`, checking
/// its exceptions as [`decode_offsets`] does.
pub fn skip_body(r: &mut Reader<'_>, head: &Head, len: usize) -> Result<(), DecodeError> {
    check_block_len(len)?;
    r.bytes(bitpack::packed_len(len, head.width))?;
    if head.exceptions {
        read_exceptions(r, head.width, len, |_, _| {})?;
    }
    Ok(())
}

/// Decodes the body of the block whose header is `head` as deltas: `out[i]` becomes
/// `acc + value[0] + ... + value[i]` (wrapping), and `acc` the last of them.
pub fn decode_running(
    r: &mut Reader<'_>,
    head: &Head,
    acc: &mut u64,
    out: &mut [u64],
) -> Result<(), DecodeError> {
    // the lanes hold values four apart: unpack them, then sum in order
    decode_offsets(r, head, out)?;
    let (base, mut sum) = (head.base as u64, *acc);
    for x in out.iter_mut() {
        sum = sum.wrapping_add(x.wrapping_add(base));
        *x = sum;
    }
    *acc = sum;
    Ok(())
}

/// Decodes the body of the block whose header is `head` as differences four values
/// apart: `out[i]` becomes `value[i]` plus the previous value of its lane (`i % 4`),
/// which is `acc[i % 4]` for the first four; `acc` ends holding the last four (after
/// a full block; after a short one, the last of a sequence, it is unspecified).
///
/// With `divisor`, a block whose values are small enough (below 2^51 in magnitude,
/// which its header and `acc` bound) is stored converted: the bits of
/// `value as f64 / divisor`. Returns whether it was; if not, `out` holds integers.
pub fn decode_running4(
    r: &mut Reader<'_>,
    head: &Head,
    acc: &mut [u64; LANES],
    out: &mut [u64],
    divisor: Option<f64>,
) -> Result<bool, DecodeError> {
    check_block_len(out.len())?;
    if let Ok(full) = <&mut [u64; BLOCK]>::try_from(&mut *out) {
        return decode_full_running4(r, head, acc, full, divisor);
    }
    // A short block: decoded as a full one from its rows padded with zeros, of which
    // the first `out.len()` values are kept.
    let bytes = r.bytes(bitpack::packed_len(out.len(), head.width))?;
    let mut padded = [0u8; bitpack::packed_len(BLOCK, 64)];
    if let Some(dst) = padded.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    let mut rest = Reader::new(r.remaining());
    let mut block = [0u64; BLOCK];
    let mut padded_reader = Reader::new(&padded);
    let converted = decode_full_running4_from(
        &mut padded_reader,
        &mut rest,
        head,
        out.len(),
        acc,
        &mut block,
        divisor,
    )?;
    r.bytes(rest.position())?;
    if let Some(values) = block.get(..out.len()) {
        out.copy_from_slice(values);
    }
    Ok(converted)
}

/// [`decode_running4`] of a full block.
fn decode_full_running4(
    r: &mut Reader<'_>,
    head: &Head,
    acc: &mut [u64; LANES],
    full: &mut [u64; BLOCK],
    divisor: Option<f64>,
) -> Result<bool, DecodeError> {
    let packed = r.bytes(bitpack::packed_len(BLOCK, head.width))?;
    decode_full_running4_from(&mut Reader::new(packed), r, head, BLOCK, acc, full, divisor)
}

/// Decodes a full block whose packed rows `packed` holds and whose exceptions (if its
/// header says so) `r` holds. The block's real length is `len` (a short block comes
/// padded to a full one): exceptions must lie within it.
fn decode_full_running4_from(
    packed: &mut Reader<'_>,
    r: &mut Reader<'_>,
    head: &Head,
    len: usize,
    acc: &mut [u64; LANES],
    full: &mut [u64; BLOCK],
    divisor: Option<f64>,
) -> Result<bool, DecodeError> {
    let base = head.base as u64;
    if !head.exceptions {
        // the common case: unpack, sum and convert in one pass
        let divisor = divisor.filter(|_| sums_are_small(head, acc, 0));
        bitpack::unpack_running4(packed.remaining(), head.width, base, acc, divisor, full)?;
        return Ok(divisor.is_some());
    }
    // unpack, patch the exceptions, then sum (and convert) in a second pass
    bitpack::unpack(packed.remaining(), head.width, full)?;
    let mut highs = 0u64;
    read_exceptions(r, head.width, len, |index, high| {
        if let Some(slot) = full.get_mut(index) {
            *slot |= high;
        }
        highs = highs.saturating_add(high);
    })?;
    let divisor = divisor.filter(|_| sums_are_small(head, acc, highs));
    bitpack::sum_lanes(full, base, acc, divisor);
    Ok(divisor.is_some())
}

/// Whether every running sum of a block (of at most 64 steps per lane) stays below
/// 2^51 in magnitude: at most the largest start in `acc`, plus 64 of the largest
/// residual the header allows, plus the exceptions' high bits `highs`.
fn sums_are_small(head: &Head, acc: &[u64; LANES], highs: u64) -> bool {
    if head.width >= 51 {
        return false;
    }
    let top = head.base.checked_add((1i64 << head.width) - 1);
    let step = top
        .map_or(u64::MAX, i64::unsigned_abs)
        .max(head.base.unsigned_abs());
    let start = acc
        .iter()
        .map(|&a| (a as i64).unsigned_abs())
        .max()
        .unwrap_or(0);
    start
        .saturating_add(step.saturating_mul(64))
        .saturating_add(highs)
        < vector::SMALL
}

fn check_block_len(len: usize) -> Result<(), DecodeError> {
    if len > BLOCK {
        return Err(DecodeError("pfor block too long"));
    }
    Ok(())
}

/// Reads the exception list of a block of `len` values packed at `width`, checking it,
/// and calls `apply(index, high << width)` for each exception in index order.
fn read_exceptions(
    r: &mut Reader<'_>,
    width: u32,
    len: usize,
    mut apply: impl FnMut(usize, u64),
) -> Result<(), DecodeError> {
    let count = usize::from(r.u8()?);
    if count == 0 || count > len {
        return Err(DecodeError("pfor exception count out of range"));
    }
    let mut next = 0usize;
    for _ in 0..count {
        let index = usize::from(r.u8()?);
        let high = r.u64()?;
        if index < next || index >= len {
            return Err(DecodeError("pfor exception index out of order"));
        }
        let shifted = high
            .checked_shl(width)
            .filter(|s| s >> width == high && high != 0)
            .ok_or(DecodeError("pfor exception too wide"))?;
        apply(index, shifted);
        next = index + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes one block: its values, or the error of the first step that failed.
    fn decode(
        r: &mut Reader<'_>,
        prev_base: &mut i64,
        len: usize,
    ) -> Result<Vec<i64>, DecodeError> {
        let head = read_head(r, prev_base)?;
        if head.is_uniform() {
            return Ok(vec![head.base; len]);
        }
        let mut raw = vec![0u64; len];
        decode_offsets(r, &head, &mut raw)?;
        Ok(raw
            .iter()
            .map(|&o| head.base.wrapping_add(o as i64))
            .collect())
    }

    /// Decodes one block as stride-4 deltas (four zero seeds): the lane sums.
    fn decode_sums4(buf: &[u8], len: usize) -> Result<Vec<u64>, DecodeError> {
        let mut r = Reader::new(buf);
        let head = read_head(&mut r, &mut 0)?;
        let mut out = vec![0u64; len];
        decode_running4(&mut r, &head, &mut [0; LANES], &mut out, None)?;
        Ok(out)
    }

    /// Decodes one block as deltas after `start`: the running sums.
    fn decode_sums(
        buf: &[u8],
        start: u64,
        len: usize,
    ) -> Result<(Vec<u64>, u64, usize), DecodeError> {
        let mut r = Reader::new(buf);
        let head = read_head(&mut r, &mut 0)?;
        let mut out = vec![0u64; len];
        let mut acc = start;
        decode_running(&mut r, &head, &mut acc, &mut out)?;
        Ok((out, acc, r.position()))
    }

    fn round_trip(values: &[i64]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut base = 0;
        encode(values, &mut base, &mut buf);
        let mut r = Reader::new(&buf);
        let mut dbase = 0;
        assert_eq!(decode(&mut r, &mut dbase, values.len()).unwrap(), values);
        assert_eq!(r.position(), buf.len());
        assert_eq!(base, dbase);
        // as deltas: the running sums of the same values
        let start = 0x1234_5678_9ABC_DEF0u64;
        let mut acc = start;
        let sums: Vec<u64> = values
            .iter()
            .map(|&v| {
                acc = acc.wrapping_add(v as u64);
                acc
            })
            .collect();
        assert_eq!(
            decode_sums(&buf, start, values.len()).unwrap(),
            (sums, acc, buf.len())
        );
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
            let offsets = decode(&mut Reader::new(&bytes), &mut 0, len);
            let sums = decode_sums(&bytes, 0, len);
            let sums4 = decode_sums4(&bytes, len);
            // all read the same bytes, so they fail alike
            prop_assert_eq!(offsets.is_ok(), sums.is_ok());
            prop_assert_eq!(offsets.is_ok(), sums4.is_ok());
        }
    }

    #[test]
    fn exceptions_past_a_short_block_are_refused_by_every_decoder() {
        let mut values = vec![1i64; 10];
        values[3] = 1 << 40;
        let mut buf = Vec::new();
        encode(&values, &mut 0, &mut buf);
        let mut r = Reader::new(&buf);
        let head = read_head(&mut r, &mut 0).unwrap();
        assert!(head.exceptions, "the spike is stored as an exception");
        assert!(decode_sums4(&buf, values.len()).is_ok());
        // after the rows: the exception count, then the first exception's index
        let at = r.position() + bitpack::packed_len(values.len(), head.width) + 1;
        assert_eq!((buf[at - 1], buf[at]), (1, 3));
        for index in [10u8, 12, 255] {
            let mut bad = buf.clone();
            bad[at] = index;
            let len = values.len();
            assert!(decode(&mut Reader::new(&bad), &mut 0, len).is_err());
            assert!(decode_sums(&bad, 0, len).is_err());
            assert!(decode_sums4(&bad, len).is_err(), "index {index}");
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
        let bad: [&[u8]; 4] = [
            // width 0 with exceptions, count 0
            &[0x80, 0, 0],
            // index out of range
            &[0x80, 0, 1, 4, 1],
            // descending indices
            &[0x80, 0, 2, 2, 1, 1, 1],
            // width above 64
            &[65, 0],
        ];
        for buf in bad {
            assert!(decode(&mut Reader::new(buf), &mut 0, 4).is_err(), "{buf:?}");
            assert!(decode_sums(buf, 0, 4).is_err(), "{buf:?}");
        }
        // high part overflowing 64 bits at width 63
        let mut buf = vec![0x80 | 63, 0];
        buf.extend_from_slice(&[0; 32]);
        buf.extend_from_slice(&[1, 0, 2]);
        assert!(decode(&mut Reader::new(&buf), &mut 0, 4).is_err());
        assert!(decode_sums(&buf, 0, 4).is_err());
        // a block longer than BLOCK
        let mut out = vec![0u64; BLOCK + 1];
        let head = read_head(&mut Reader::new(&[1, 0]), &mut 0).unwrap();
        assert!(decode_offsets(&mut Reader::new(&[0; 64]), &head, &mut out).is_err());
        assert!(decode_running(&mut Reader::new(&[0; 64]), &head, &mut 0, &mut out).is_err());
    }
}
