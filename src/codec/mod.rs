//! Pure encodings: no I/O, no file names. Decoders take untrusted bytes and return
//! [`DecodeError`] instead of panicking; callers turn it into
//! [`crate::Error::Corruption`] with the file and offset they know.

pub mod bitpack;
mod bitpack_lanes;
pub mod bloom;
pub mod checksum;
pub mod float;
mod float_decimal;
mod float_xor;
pub mod intseq;
mod pfor;
pub mod timestamp;
pub mod varint;
mod vector;

/// Why a buffer did not decode. Carries a static description of the failed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DecodeError {}

/// The positions `from..from + len` of a sequence of `count` values, or `past_end` as
/// the error when they run past its end (the check every window decode starts with).
pub(crate) fn window(
    from: usize,
    len: usize,
    count: usize,
    past_end: &'static str,
) -> Result<std::ops::Range<usize>, DecodeError> {
    match from.checked_add(len) {
        Some(end) if end <= count => Ok(from..end),
        _ => Err(DecodeError(past_end)),
    }
}
