//! The fixed parts of a table file: the header at its start and the footer at its end
//! (read in place with `zerocopy`), the format's magic and version, and the small
//! key-range block.

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::frame::BlockHandle;
use crate::codec::varint::{self, Reader};
use crate::codec::{DecodeError, checksum};

/// The 8 bytes at the start and at the very end of every table file.
pub(crate) const MAGIC: [u8; 8] = *b"TIDESST\x1a";
/// The format version this build writes, and the newest it reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The first bytes of a table file.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// The format version (equal to the footer's).
    pub version: U32,
    /// Zero; a later version may give it a meaning.
    pub reserved: U32,
}

/// Length of [`Header`] in bytes.
pub(crate) const HEADER_LEN: usize = size_of::<Header>();

impl Header {
    /// The header this build writes.
    pub fn current() -> Self {
        Header {
            magic: MAGIC,
            version: U32::new(FORMAT_VERSION),
            reserved: U32::new(0),
        }
    }
}

/// The last bytes of a table file: where the filter, key-range and index blocks are,
/// and the table's counts. Covered by its own checksum.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct Footer {
    /// Offset of the Bloom filter block.
    pub filter_offset: U64,
    /// Stored size of the Bloom filter block (without its 5-byte trailer).
    pub filter_size: U64,
    /// Offset of the key-range block.
    pub range_offset: U64,
    /// Stored size of the key-range block.
    pub range_size: U64,
    /// Offset of the index block.
    pub index_offset: U64,
    /// Stored size of the index block.
    pub index_size: U64,
    /// Number of entries.
    pub entries: U64,
    /// Number of tombstones.
    pub tombstones: U64,
    /// Smallest sequence number (0 when empty).
    pub min_seq: U64,
    /// Largest sequence number (0 when empty).
    pub max_seq: U64,
    /// The format version.
    pub version: U32,
    /// Masked CRC32C of every footer byte before this field.
    pub checksum: U32,
    /// [`MAGIC`].
    pub magic: [u8; 8],
}

/// Length of [`Footer`] in bytes.
pub(crate) const FOOTER_LEN: usize = size_of::<Footer>();
/// Bytes of the footer covered by its checksum.
const FOOTER_CHECKED_LEN: usize = FOOTER_LEN - 12;

impl Footer {
    /// The masked CRC32C the footer's `checksum` field must hold.
    pub fn compute_checksum(&self) -> u32 {
        checksum::masked(self.as_bytes().get(..FOOTER_CHECKED_LEN).unwrap_or(&[]))
    }

    /// Handle of the Bloom filter block.
    pub fn filter(&self) -> BlockHandle {
        BlockHandle::new(self.filter_offset.get(), self.filter_size.get())
    }

    /// Handle of the key-range block.
    pub fn range(&self) -> BlockHandle {
        BlockHandle::new(self.range_offset.get(), self.range_size.get())
    }

    /// Handle of the index block.
    pub fn index(&self) -> BlockHandle {
        BlockHandle::new(self.index_offset.get(), self.index_size.get())
    }
}

/// Encodes the key-range block: the smallest and the largest user key, each
/// length-prefixed (LEB128 length, then the bytes).
pub(crate) fn encode_key_range(smallest: &[u8], largest: &[u8], out: &mut Vec<u8>) {
    varint::put_len_prefixed(out, smallest);
    varint::put_len_prefixed(out, largest);
}

/// Decodes a key-range block written by [`encode_key_range`].
pub(crate) fn decode_key_range(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DecodeError> {
    let mut r = Reader::new(bytes);
    let smallest = r.len_prefixed()?.to_vec();
    let largest = r.len_prefixed()?.to_vec();
    if !r.is_empty() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok((smallest, largest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    #[test]
    fn layouts_have_the_documented_sizes() {
        assert_eq!(HEADER_LEN, 16);
        assert_eq!(FOOTER_LEN, 96);
        assert_eq!(FOOTER_CHECKED_LEN, 84);
    }

    #[test]
    fn footer_round_trips_in_place() {
        let mut f = Footer::new_zeroed();
        f.entries = U64::new(42);
        f.version = U32::new(FORMAT_VERSION);
        f.magic = MAGIC;
        f.checksum = U32::new(f.compute_checksum());
        let bytes = f.as_bytes().to_vec();
        assert_eq!(&bytes[FOOTER_LEN - 8..], &MAGIC);
        let g = Footer::ref_from_bytes(&bytes).unwrap();
        assert_eq!(g.entries.get(), 42);
        assert_eq!(g.checksum.get(), g.compute_checksum());
        let mut damaged = bytes.clone();
        damaged[48] ^= 1;
        let g = Footer::ref_from_bytes(&damaged).unwrap();
        assert_ne!(g.checksum.get(), g.compute_checksum());
    }

    #[test]
    fn key_range_round_trips() {
        let mut b = Vec::new();
        encode_key_range(b"apple", b"pear", &mut b);
        assert_eq!(b, b"\x05apple\x04pear");
        assert_eq!(
            decode_key_range(&b),
            Ok((b"apple".to_vec(), b"pear".to_vec()))
        );
        assert!(decode_key_range(&b[..b.len() - 1]).is_err());
        b.push(0);
        assert!(decode_key_range(&b).is_err());
    }
}
