//! Internal keys: a user key plus the sequence number and kind of the write.
//!
//! Entries are ordered by user key ascending, then sequence number descending, so the
//! newest version of a key comes first. The sequence number and kind are packed into one
//! 8-byte *trailer*: `seq << 8 | kind`. Sequence numbers are therefore at most
//! [`MAX_SEQ`] (2^56 - 1).

use std::cmp::Ordering;

/// The largest sequence number a write can get.
pub const MAX_SEQ: u64 = (1 << 56) - 1;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// A tombstone: the key was deleted at this sequence number.
    Delete = 0,
    /// A value was put.
    Put = 1,
}

impl ValueKind {
    /// Parses the kind byte of a trailer.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

/// Packs a sequence number and kind into a trailer.
#[inline]
pub fn pack_trailer(seq: u64, kind: ValueKind) -> u64 {
    (seq << 8) | kind as u64
}

/// Splits a trailer into its sequence number and kind (`None` if the kind is unknown).
#[inline]
pub fn unpack_trailer(trailer: u64) -> Option<(u64, ValueKind)> {
    Some((trailer >> 8, ValueKind::from_u8(trailer as u8)?))
}

/// Orders two entries: user key ascending, then sequence number descending.
#[inline]
pub fn compare(a_key: &[u8], a_seq: u64, b_key: &[u8], b_seq: u64) -> Ordering {
    a_key.cmp(b_key).then(b_seq.cmp(&a_seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_round_trips() {
        for seq in [0, 1, 42, MAX_SEQ] {
            for kind in [ValueKind::Put, ValueKind::Delete] {
                assert_eq!(unpack_trailer(pack_trailer(seq, kind)), Some((seq, kind)));
            }
        }
        assert_eq!(unpack_trailer(7), None);
    }

    #[test]
    fn newest_version_sorts_first() {
        assert_eq!(compare(b"a", 5, b"a", 3), Ordering::Less);
        assert_eq!(compare(b"a", 1, b"ab", 9), Ordering::Less);
        assert_eq!(compare(b"b", 9, b"ab", 1), Ordering::Greater);
    }
}
