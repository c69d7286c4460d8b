//! How a block is stored: its contents, snappy-compressed when that pays, followed by a
//! 5-byte trailer (compression type, masked CRC32C of the stored bytes and the type);
//! and the [`BlockHandle`] that locates it.

use crate::codec::DecodeError;
use crate::codec::checksum;
use crate::codec::varint::{self, Reader};

/// Bytes after every stored block: the compression type and a masked CRC32C.
pub(crate) const BLOCK_TRAILER_LEN: usize = 5;
/// Compression type: stored as is.
pub(crate) const RAW: u8 = 0;
/// Compression type: snappy (raw format, no framing).
pub(crate) const SNAPPY: u8 = 1;
/// The largest decompressed block accepted (blocks address their bytes with u32).
const MAX_DECOMPRESSED: usize = u32::MAX as usize;
/// Snappy's output is never more than this many times its input.
const MAX_SNAPPY_RATIO: usize = 32;

/// Where a stored block is: its offset in the file and its stored size, trailer
/// excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    /// A handle.
    pub fn new(offset: u64, size: u64) -> Self {
        BlockHandle { offset, size }
    }

    /// Appends the handle as two LEB128 varints (offset, size).
    pub fn encode(&self, out: &mut Vec<u8>) {
        varint::put_u64(out, self.offset);
        varint::put_u64(out, self.size);
    }

    /// Reads a handle written by [`BlockHandle::encode`].
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHandle::new(r.u64()?, r.u64()?))
    }

    /// The offset just past the block's trailer, if it does not overflow.
    pub fn end(&self) -> Option<u64> {
        self.offset
            .checked_add(self.size)?
            .checked_add(BLOCK_TRAILER_LEN as u64)
    }
}

/// The trailer of a stored block.
pub(crate) fn trailer(stored: &[u8], kind: u8) -> [u8; BLOCK_TRAILER_LEN] {
    let crc = checksum::mask(checksum::crc32c_2(stored, &[kind]));
    let c = crc.to_le_bytes();
    [kind, c[0], c[1], c[2], c[3]]
}

/// Compresses blocks for writing, reusing its buffer.
pub(crate) struct Framer {
    encoder: snap::raw::Encoder,
    buf: Vec<u8>,
}

impl Framer {
    /// A framer with an empty buffer.
    pub fn new() -> Self {
        Framer {
            encoder: snap::raw::Encoder::new(),
            buf: Vec::new(),
        }
    }

    /// Returns the bytes to store for `contents` and their compression type: the snappy
    /// form when `compress` is set and it saves at least 1/8, else `contents` itself.
    pub fn frame<'a>(&'a mut self, contents: &'a [u8], compress: bool) -> (&'a [u8], u8) {
        if compress {
            let max = snap::raw::max_compress_len(contents.len());
            if max > 0 {
                self.buf.resize(max, 0);
                if let Ok(n) = self.encoder.compress(contents, &mut self.buf)
                    && n < contents.len() - contents.len() / 8
                {
                    return (self.buf.get(..n).unwrap_or(contents), SNAPPY);
                }
            }
        }
        (contents, RAW)
    }
}

/// Checks the trailer of the stored block `stored` and returns its compression type.
pub(crate) fn verify(stored: &[u8], trailer: &[u8]) -> Result<u8, DecodeError> {
    let [kind, c0, c1, c2, c3] = *trailer else {
        return Err(DecodeError("block trailer truncated"));
    };
    let want = u32::from_le_bytes([c0, c1, c2, c3]);
    if checksum::mask(checksum::crc32c_2(stored, &[kind])) != want {
        return Err(DecodeError("block checksum mismatch"));
    }
    match kind {
        RAW | SNAPPY => Ok(kind),
        _ => Err(DecodeError("unknown block compression type")),
    }
}

/// Decompresses a snappy-compressed block (already checksum-verified).
pub(crate) fn decompress(stored: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let len =
        snap::raw::decompress_len(stored).map_err(|_| DecodeError("bad snappy header in block"))?;
    // Snappy expands at most ~22x (a 3-byte copy element yields 64 bytes), so a header
    // claiming far more than that is damage: refuse before allocating.
    if len > MAX_DECOMPRESSED || len > stored.len().saturating_mul(MAX_SNAPPY_RATIO) {
        return Err(DecodeError("decompressed block too large"));
    }
    let mut out = vec![0u8; len];
    let n = snap::raw::Decoder::new()
        .decompress(stored, &mut out)
        .map_err(|_| DecodeError("bad snappy data in block"))?;
    if n != len {
        return Err(DecodeError("snappy block shorter than its header says"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(contents: &[u8], compress: bool) -> (Vec<u8>, u8) {
        let mut f = Framer::new();
        let (s, kind) = f.frame(contents, compress);
        let mut out = s.to_vec();
        out.extend_from_slice(&trailer(s, kind));
        (out, kind)
    }

    fn load(stored: &[u8]) -> Result<Vec<u8>, DecodeError> {
        let (body, t) = stored.split_at(stored.len() - BLOCK_TRAILER_LEN);
        match verify(body, t)? {
            SNAPPY => decompress(body),
            _ => Ok(body.to_vec()),
        }
    }

    #[test]
    fn compressible_blocks_are_compressed_and_round_trip() {
        let contents = b"abcdefgh".repeat(100);
        let (stored, kind) = store(&contents, true);
        assert_eq!(kind, SNAPPY);
        assert!(stored.len() < contents.len() / 2);
        assert_eq!(load(&stored).unwrap(), contents);

        let (stored, kind) = store(&contents, false);
        assert_eq!(kind, RAW);
        assert_eq!(load(&stored).unwrap(), contents);
    }

    #[test]
    fn incompressible_blocks_stay_raw() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let contents: Vec<u8> = (0..500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let (stored, kind) = store(&contents, true);
        assert_eq!(kind, RAW);
        assert_eq!(load(&stored).unwrap(), contents);
        let (stored, _) = store(&[], true);
        assert_eq!(load(&stored).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let (stored, _) = store(&b"hello world, hello world".repeat(4), true);
        for i in 0..stored.len() {
            for bit in 0..8 {
                let mut d = stored.clone();
                d[i] ^= 1 << bit;
                assert!(load(&d).is_err(), "flip of bit {bit} at {i} went unnoticed");
            }
        }
    }

    #[test]
    fn bad_snappy_is_an_error() {
        assert!(decompress(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(decompress(&[5, 0]).is_err());
        let mut stored = vec![10, 0x00];
        let t = trailer(&stored, SNAPPY);
        stored.extend_from_slice(&t);
        assert!(load(&stored).is_err());
    }
}
