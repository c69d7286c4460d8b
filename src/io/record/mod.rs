//! Log-record framing shared by the WAL and the manifest: checksummed, optionally
//! snappy-compressed records of opaque bytes, a writer, and a reader of untrusted bytes
//! that tells how the log ended (cleanly, with a torn tail, or with corruption).
//!
//! ```text
//! record := crc: u32 LE | len: u32 LE | type: u8 | body: [u8; len]
//!   crc  = masked CRC32C of (type || body)
//!   type = 1 plain: body is the payload
//!          2 snappy: body is the payload in snappy's raw format
//! ```
//!
//! Payloads are at most [`MAX_PAYLOAD_LEN`] bytes, before and after compression, so a
//! damaged length can never make a reader allocate more than that.

mod reader;
mod writer;

pub use reader::{LogEnd, LogReader};
pub use writer::{Compression, LogWriter, RecordBatch};

/// Bytes in a record header: crc (4), length (4), type (1).
pub const HEADER_LEN: usize = 9;

/// The largest payload a record may carry (64 MiB), uncompressed and stored alike.
pub const MAX_PAYLOAD_LEN: usize = 64 << 20;

/// Record type of a payload stored as is.
const TYPE_PLAIN: u8 = 1;

/// Record type of a payload stored in snappy's raw format.
const TYPE_SNAPPY: u8 = 2;

#[cfg(test)]
mod tests;
