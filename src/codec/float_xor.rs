//! XOR (Gorilla) coding of `f64` bit patterns: the general value codec.
//!
//! Each value is XORed with the one before it; the stream stores the first value whole,
//! then for every XOR either one bit (zero: same value), or its meaningful bits inside a
//! window of leading and trailing zeros, reusing the previous window when that is
//! cheaper. Works on bits only, so every pattern round-trips (NaN payloads, -0.0,
//! subnormals, infinities).
//!
//! The stream is little-endian, least significant bit first; fields below are listed
//! in the order they are read and each field's own bits are least significant first.
//!
//! ```text
//! first    64 bits        the first value's bits
//! then, per value:
//!   0                     XOR is zero: same bits as the previous value
//!   1 0  payload          XOR fits the current window: (64 - lead - trail) bits
//!   1 1  lead:5 len:6 payload
//!                         new window: lead = leading zeros (0..=31), len = meaningful
//!                         bits (1..=64, 64 stored as 0), trail = 64 - lead - len;
//!                         payload = len bits of XOR >> trail
//! ```
//!
//! The stream ends at the byte holding its last bit; the rest of that byte is zero.

use super::DecodeError;

/// Appends the XOR stream of `values` (nothing for an empty slice).
pub fn encode(values: &[f64], out: &mut Vec<u8>) {
    let Some((first, rest)) = values.split_first() else {
        return;
    };
    let mut w = BitWriter::new(out);
    let mut prev = first.to_bits();
    w.put(prev, 64);
    // current window: leading zeros and meaningful length (len 0: no window yet)
    let (mut lead, mut len) = (0u32, 0u32);
    for v in rest {
        let bits = v.to_bits();
        let xor = bits ^ prev;
        prev = bits;
        if xor == 0 {
            w.put(0, 1);
            continue;
        }
        let new_lead = xor.leading_zeros().min(31);
        let trail = xor.trailing_zeros();
        let new_len = 64 - new_lead - trail;
        let fits = len > 0 && new_lead >= lead && trail >= 64 - lead - len;
        if fits && 2 + len <= 13 + new_len {
            w.put(0b01, 2);
            w.put(xor >> (64 - lead - len), len);
        } else {
            (lead, len) = (new_lead, new_len);
            w.put(0b11 | u64::from(lead) << 2 | u64::from(len & 63) << 7, 13);
            w.put(xor >> trail, len);
        }
    }
    w.finish();
}

/// Fails fast when `buf` cannot hold `count` values (each takes at least one bit, the
/// first 64), so a caller can refuse a huge count before allocating for it.
pub fn check_len(buf: &[u8], count: usize) -> Result<(), DecodeError> {
    let bits = (buf.len() as u128) * 8;
    if count > 0 && (count as u128) + 63 > bits {
        return Err(DecodeError("xor stream truncated"));
    }
    Ok(())
}

/// Decodes `out.len()` values from the front of `buf`; returns the bytes consumed.
/// On error `out` holds unspecified values.
pub fn decode(buf: &[u8], out: &mut [f64]) -> Result<usize, DecodeError> {
    let Some((first, rest)) = out.split_first_mut() else {
        return Ok(0);
    };
    check_len(buf, rest.len() + 1)?;
    let mut s = Stream::start(buf);
    *first = f64::from_bits(s.prev);
    for v in rest {
        *v = f64::from_bits(s.step(buf)?);
    }
    Ok(s.pos.div_ceil(8))
}

/// Values between marks.
const MARK_EVERY: usize = 256;

/// Appends the marks of the stream at the front of `buf` (of `count` values): before
/// every 256th value, the state of the decode (see `docs/format.md`):
///
/// ```text
/// bits varint     the value's first bit, counted from the previous mark's (or from 64)
/// prev u64 LE     the bits of the value before
/// lead u8, len u8 the current window (len 0: none yet)
/// ```
pub fn marks(buf: &[u8], count: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    if count == 0 {
        return Ok(());
    }
    check_len(buf, count)?;
    let mut s = Stream::start(buf);
    let mut prev_pos = s.pos;
    for i in 1..count {
        if i % MARK_EVERY == 0 {
            super::varint::put_u64(out, (s.pos - prev_pos) as u64);
            out.extend_from_slice(&s.prev.to_le_bytes());
            out.extend_from_slice(&[s.lead as u8, s.len as u8]);
            prev_pos = s.pos;
        }
        s.step(buf)?;
    }
    Ok(())
}

/// Decodes the values `from..from + out.len()` of the stream at the front of `buf` (of
/// `count` values), resuming at the last of its `marks` (as [`marks`] wrote them) at or
/// before `from`. On error `out` holds unspecified values.
pub fn decode_window(
    buf: &[u8],
    count: usize,
    marks: &[u8],
    from: usize,
    out: &mut [f64],
) -> Result<(), DecodeError> {
    let end = super::window(
        from,
        out.len(),
        count,
        "xor window past the end of the stream",
    )?
    .end;
    if out.is_empty() {
        return Ok(());
    }
    check_len(buf, count)?;
    // `s` holds the value at `at - 1` and reads the one at `at` next
    let mut s = Stream::start(buf);
    let mut at = 1;
    let mut m = super::varint::Reader::new(marks);
    loop {
        // the next mark stands before value `next`, if `next < count`
        let next = (at / MARK_EVERY + 1) * MARK_EVERY;
        if next > from || next >= count {
            break;
        }
        let pos = usize::try_from(m.u64()?)
            .ok()
            .and_then(|gap| s.pos.checked_add(gap))
            .filter(|&pos| pos <= buf.len() * 8)
            .ok_or(DecodeError("xor mark past the stream"))?;
        let prev = m.u64_le()?;
        let (lead, len) = (u32::from(m.u8()?), u32::from(m.u8()?));
        if lead > 31 || len > 64 || lead + len > 64 {
            return Err(DecodeError("xor mark window out of range"));
        }
        s = Stream {
            pos,
            prev,
            lead,
            len,
        };
        at = next;
    }
    if from < at {
        // the window starts at the first value, held by the state
        if let Some(first) = out.first_mut() {
            *first = f64::from_bits(s.prev);
        }
    }
    while at < end {
        let v = s.step(buf)?;
        if let Some(slot) = at.checked_sub(from).and_then(|i| out.get_mut(i)) {
            *slot = f64::from_bits(v);
        }
        at += 1;
    }
    Ok(())
}

/// A decode in progress: the bits of the last value read and where the next starts.
#[derive(Debug, Clone, Copy)]
struct Stream {
    /// Bit position of the next value's encoding.
    pos: usize,
    /// Bits of the last value read.
    prev: u64,
    /// The current window: leading zeros and meaningful length (0: none yet).
    lead: u32,
    len: u32,
}

impl Stream {
    /// The state after the first value of the stream `buf`.
    fn start(buf: &[u8]) -> Stream {
        Stream {
            pos: 64,
            prev: peek(buf, 0) as u64,
            lead: 0,
            len: 0,
        }
    }

    /// Reads the next value; returns its bits.
    #[inline(always)]
    fn step(&mut self, buf: &[u8]) -> Result<u64, DecodeError> {
        // one load covers the control bits, a new window and the longest payload
        let bits = peek(buf, self.pos);
        let head = bits as u64;
        if head & 1 == 0 {
            self.pos += 1;
        } else {
            let skip = if head & 2 == 0 {
                if self.len == 0 {
                    return Err(DecodeError("xor window used before it was set"));
                }
                2
            } else {
                self.lead = (head >> 2) as u32 & 31;
                self.len = match (head >> 7) as u32 & 63 {
                    0 => 64,
                    n => n,
                };
                if self.lead + self.len > 64 {
                    return Err(DecodeError("xor window wider than 64 bits"));
                }
                13
            };
            let payload = (bits >> skip) as u64 & (u64::MAX >> (64 - self.len));
            self.prev ^= payload << (64 - self.lead - self.len);
            self.pos += (skip + self.len) as usize;
        }
        if self.pos > buf.len() * 8 {
            return Err(DecodeError("xor stream truncated"));
        }
        Ok(self.prev)
    }
}

/// The 121 or more bits of `buf` from bit `pos` on, zero past its end.
#[inline]
fn peek(buf: &[u8], pos: usize) -> u128 {
    let byte = pos / 8;
    let word = match buf.get(byte..).and_then(|s| s.first_chunk::<16>()) {
        Some(w) => u128::from_le_bytes(*w),
        None => {
            let mut w = [0u8; 16];
            let tail = buf.get(byte..).unwrap_or_default();
            w[..tail.len()].copy_from_slice(tail);
            u128::from_le_bytes(w)
        }
    };
    word >> (pos % 8)
}

/// Accumulates bits least significant first and flushes whole words.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    /// Bits held in `acc`, always below 64.
    used: u32,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            used: 0,
        }
    }

    /// Appends the low `n` bits of `v` (`n` <= 64; higher bits of `v` must be zero).
    #[inline]
    fn put(&mut self, v: u64, n: u32) {
        if n == 0 {
            return;
        }
        self.acc |= v << self.used;
        if self.used + n >= 64 {
            self.out.extend_from_slice(&self.acc.to_le_bytes());
            self.acc = v.checked_shr(64 - self.used).unwrap_or(0);
            self.used = self.used + n - 64;
        } else {
            self.used += n;
        }
    }

    fn finish(self) {
        let bytes = self.acc.to_le_bytes();
        self.out
            .extend_from_slice(&bytes[..self.used.div_ceil(8) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[f64]) -> usize {
        let mut buf = Vec::new();
        encode(values, &mut buf);
        let len = buf.len();
        buf.push(0xFF);
        let mut got = vec![0.0; values.len()];
        assert_eq!(decode(&buf, &mut got), Ok(len));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(values));
        for cut in crate::codec::intseq::test_support::cuts(len) {
            assert!(decode(&buf[..cut], &mut got).is_err(), "cut {cut}");
        }
        len
    }

    #[test]
    fn repeats_cost_one_bit_and_windows_are_reused() {
        assert_eq!(round_trip(&[]), 0);
        assert_eq!(round_trip(&[1.5]), 8);
        assert_eq!(round_trip(&[1.5; 65]), 16);
        let mut noisy = vec![f64::NAN, -0.0, f64::INFINITY, f64::MIN_POSITIVE / 3.0];
        noisy.extend((0..300).map(|i| f64::from_bits(0x4000_0000_0000_0000 ^ (i * 7919) << 20)));
        noisy.push(f64::from_bits(u64::MAX));
        round_trip(&noisy);
    }

    #[test]
    fn windows_past_the_end_are_errors() {
        let values: Vec<f64> = (0..600).map(|i| f64::from(i).sqrt()).collect();
        let mut buf = Vec::new();
        encode(&values, &mut buf);
        let mut m = Vec::new();
        marks(&buf, 600, &mut m).unwrap();
        let mut out = [0.0; 2];
        assert!(decode_window(&buf, 600, &m, usize::MAX, &mut out).is_err());
        assert!(decode_window(&buf, 600, &m, 599, &mut out).is_err());
        decode_window(&buf, 600, &m, 598, &mut out).unwrap();
        assert_eq!(out, [values[598], values[599]]);
    }

    #[test]
    fn bad_streams_are_errors() {
        let mut out = [0.0; 2];
        // reuse before any window
        let mut buf = vec![0u8; 8];
        buf.push(0b01);
        assert!(decode(&buf, &mut out).is_err());
        // a window of 31 leading zeros and 40 bits
        let head: u16 = 0b11 | 31 << 2 | 40 << 7;
        buf.truncate(8);
        buf.extend_from_slice(&head.to_le_bytes());
        buf.extend_from_slice(&[0; 8]);
        assert!(decode(&buf, &mut out).is_err());
        assert!(check_len(&[0; 8], 2).is_err());
        assert!(check_len(&[0; 9], 2).is_ok());
    }
}
