//! LEB128 variable-length integers and zigzag mapping of signed integers.

use super::DecodeError;

/// Appends `v` as LEB128 (1 to 10 bytes).
#[inline]
pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` as LEB128 (1 to 5 bytes).
#[inline]
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    put_u64(out, u64::from(v));
}

/// Reads a LEB128 `u64` from the front of `buf`, returning it and the bytes consumed.
#[inline]
pub fn get_u64(buf: &[u8]) -> Result<(u64, usize), DecodeError> {
    // one byte, by far the most common case in the codecs, without the loop
    if let Some(&b) = buf.first().filter(|&&b| b < 0x80) {
        return Ok((u64::from(b), 1));
    }
    get_u64_long(buf)
}

/// [`get_u64`] past its one-byte case.
#[inline(never)]
fn get_u64_long(buf: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return Err(DecodeError("varint overflows 64 bits"));
        }
        v |= part << (7 * i);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(DecodeError("truncated varint"))
}

/// Reads a LEB128 `u32` from the front of `buf`, returning it and the bytes consumed.
#[inline]
pub fn get_u32(buf: &[u8]) -> Result<(u32, usize), DecodeError> {
    let (v, n) = get_u64(buf)?;
    let v = u32::try_from(v).map_err(|_| DecodeError("varint overflows 32 bits"))?;
    Ok((v, n))
}

/// Maps a signed integer to an unsigned one so that small magnitudes stay small.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over untrusted bytes that reads varints and length-prefixed slices.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the front of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }
    /// Bytes left.
    #[inline]
    pub fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
    /// True when every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    /// Reads a LEB128 `u64`.
    #[inline]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let (v, n) = get_u64(self.remaining())?;
        self.pos += n;
        Ok(v)
    }
    /// Reads a LEB128 `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let (v, n) = get_u32(self.remaining())?;
        self.pos += n;
        Ok(v)
    }
    /// Reads a zigzag LEB128 `i64`.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(unzigzag(self.u64()?))
    }
    /// Reads exactly `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError("length overflows"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError("slice runs past the end"))?;
        self.pos = end;
        Ok(s)
    }
    /// Reads 8 bytes as a little-endian `u64` (a raw value, not a varint).
    #[inline]
    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let bytes = self
            .bytes(8)?
            .first_chunk::<8>()
            .ok_or(DecodeError("slice runs past the end"))?;
        Ok(u64::from_le_bytes(*bytes))
    }
    /// Reads a LEB128 length, then that many bytes.
    pub fn len_prefixed(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| DecodeError("length overflows"))?;
        self.bytes(n)
    }
    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(DecodeError("slice runs past the end"))?;
        self.pos += 1;
        Ok(b)
    }
}

/// Appends a LEB128 length, then `bytes`.
pub fn put_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn u64_round_trips(v: u64) {
            let mut b = Vec::new();
            put_u64(&mut b, v);
            prop_assert_eq!(get_u64(&b), Ok((v, b.len())));
        }

        #[test]
        fn zigzag_round_trips(v: i64) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }

        #[test]
        fn garbage_never_panics(bytes: Vec<u8>) {
            let mut r = Reader::new(&bytes);
            while !r.is_empty() {
                if r.len_prefixed().is_err() { break; }
            }
        }
    }

    #[test]
    fn rejects_overlong_and_truncated() {
        assert!(get_u64(&[0x80; 11]).is_err());
        assert!(get_u64(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).is_err());
        assert!(get_u64(&[0x80]).is_err());
        assert!(get_u32(&[0xff, 0xff, 0xff, 0xff, 0x10]).is_err());
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
