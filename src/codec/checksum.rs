//! CRC32C checksums, masked the way stored checksums are masked.
//!
//! A checksum stored next to the data it covers is masked (rotated and offset), so that a
//! checksum computed over bytes that themselves contain checksums does not degenerate.

/// CRC32C (Castagnoli) of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// CRC32C of the concatenation of `a` and `b`, without copying.
#[inline]
pub fn crc32c_2(a: &[u8], b: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(a), b)
}

const MASK_DELTA: u32 = 0xa282_ead8;

/// The masked CRC32C of `data`: what the on-disk formats store.
#[inline]
pub fn masked(data: &[u8]) -> u32 {
    mask(crc32c(data))
}

/// Masks a raw CRC.
#[inline]
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Inverse of [`mask`].
#[inline]
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // RFC 3720 test vector: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn mask_round_trips_and_differs() {
        for x in [0u32, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(unmask(mask(x)), x);
        }
        assert_ne!(mask(crc32c(b"abc")), crc32c(b"abc"));
    }

    #[test]
    fn two_part_equals_concatenation() {
        assert_eq!(crc32c_2(b"hello ", b"world"), crc32c(b"hello world"));
    }
}
