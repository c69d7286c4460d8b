//! Reading records from untrusted bytes: [`LogReader`], and [`LogEnd`], how a log
//! ended (cleanly, with a torn tail, or with corruption).

use std::borrow::Cow;

use super::{HEADER_LEN, MAX_PAYLOAD_LEN, TYPE_PLAIN, TYPE_SNAPPY};
use crate::codec::checksum;
use crate::error::Error;

/// How a [`LogReader`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEnd {
    /// Every byte belonged to a good record.
    Clean,
    /// The log ends in an incomplete or damaged record, as a crash in the middle of a
    /// write leaves it: the last record is too short for its header, or its length
    /// runs past the end (and no good record starts after its header), or it fails its
    /// checksum with nothing but zero bytes after it. The bytes from `offset` on are
    /// not part of the log.
    Torn {
        /// Where the torn record starts.
        offset: u64,
        /// Bytes from `offset` to the end.
        dropped_bytes: u64,
    },
    /// A damaged record with more data after it, or whose length runs past the end
    /// while good records follow it: not something a crash in the middle of an
    /// append produces.
    Corrupt {
        /// Where the damaged record starts.
        offset: u64,
        /// What check failed.
        what: &'static str,
    },
}

impl LogEnd {
    /// The [`Error::Corruption`] for a [`LogEnd::Corrupt`] end in `file`, if it is one.
    pub fn corruption(&self, file: &std::path::Path) -> Option<Error> {
        match *self {
            LogEnd::Corrupt { offset, what } => Some(Error::corruption(file, offset, what)),
            _ => None,
        }
    }
}

/// Reads records from untrusted bytes. Never panics and never allocates more than
/// [`MAX_PAYLOAD_LEN`] for a record, whatever the input.
#[derive(Debug)]
pub struct LogReader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: Option<LogEnd>,
}

impl<'a> LogReader<'a> {
    /// Reads the records in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        LogReader {
            buf,
            pos: 0,
            end: None,
        }
    }

    /// The next payload, or `None` once the log has ended (then [`LogReader::end`]
    /// says how). A plain payload borrows from the input; a compressed one is owned.
    pub fn next_record(&mut self) -> Option<Cow<'a, [u8]>> {
        if self.end.is_some() {
            return None;
        }
        match self.read_at(self.pos) {
            Ok((payload, next)) => {
                self.pos = next;
                Some(payload)
            }
            Err(end) => {
                self.end = Some(end);
                None
            }
        }
    }

    /// How the log ended, once [`LogReader::next_record`] has returned `None`.
    pub fn end(&self) -> Option<LogEnd> {
        self.end
    }

    /// Offset just past the last good record returned.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// Decodes the record at `pos`: its payload and the offset after it, or how the
    /// log ends there.
    fn read_at(&self, pos: usize) -> Result<(Cow<'a, [u8]>, usize), LogEnd> {
        let rest = self.buf.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            return Err(LogEnd::Clean);
        }
        let torn = LogEnd::Torn {
            offset: pos as u64,
            dropped_bytes: rest.len() as u64,
        };
        let Some((header, after_header)) = rest.split_first_chunk::<HEADER_LEN>() else {
            return Err(torn);
        };
        let [c0, c1, c2, c3, l0, l1, l2, l3, kind] = *header;
        let stored_crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        let Some(body) = after_header.get(..len) else {
            // The length runs past the end: the record's tail was never written, unless
            // the length itself is damaged, which good records after it give away.
            if good_record_within(after_header) {
                return Err(LogEnd::Corrupt {
                    offset: pos as u64,
                    what: "record length runs past the end, but good records follow",
                });
            }
            return Err(torn);
        };
        let after = after_header.get(len..).unwrap_or_default();
        let damaged = |what| {
            if after.iter().all(|&b| b == 0) {
                torn
            } else {
                LogEnd::Corrupt {
                    offset: pos as u64,
                    what,
                }
            }
        };
        if len > MAX_PAYLOAD_LEN {
            return Err(damaged("record length exceeds the limit"));
        }
        if checksum::unmask(stored_crc) != checksum::crc32c_2(&[kind], body) {
            return Err(damaged("record checksum mismatch"));
        }
        let corrupt = |what| LogEnd::Corrupt {
            offset: pos as u64,
            what,
        };
        let payload = match kind {
            TYPE_PLAIN => Cow::Borrowed(body),
            TYPE_SNAPPY => Cow::Owned(decompress(body).map_err(corrupt)?),
            _ => return Err(corrupt("unknown record type")),
        };
        Ok((payload, pos + HEADER_LEN + len))
    }
}

/// Checksum work (bytes) [`good_record_within`] may do before giving up.
const RESYNC_BUDGET: usize = 16 << 20;

/// Whether a good record (known type, length within `buf` and the limit, matching
/// checksum) starts anywhere in `buf`. Gives up (`false`) after [`RESYNC_BUDGET`] bytes
/// of checksum work, so crafted input cannot make it quadratic.
fn good_record_within(buf: &[u8]) -> bool {
    let mut budget = RESYNC_BUDGET;
    for start in 0..buf.len() {
        let Some((header, rest)) = buf
            .get(start..)
            .and_then(|b| b.split_first_chunk::<HEADER_LEN>())
        else {
            return false;
        };
        let [c0, c1, c2, c3, l0, l1, l2, l3, kind] = *header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        if !matches!(kind, TYPE_PLAIN | TYPE_SNAPPY) || len > MAX_PAYLOAD_LEN {
            continue;
        }
        let Some(body) = rest.get(..len) else {
            continue;
        };
        let Some(left) = budget.checked_sub(len) else {
            return false;
        };
        budget = left;
        if checksum::unmask(u32::from_le_bytes([c0, c1, c2, c3]))
            == checksum::crc32c_2(&[kind], body)
        {
            return true;
        }
    }
    false
}

/// Decompresses a snappy body, refusing to allocate past [`MAX_PAYLOAD_LEN`].
fn decompress(body: &[u8]) -> Result<Vec<u8>, &'static str> {
    let n = snap::raw::decompress_len(body).map_err(|_| "bad snappy header")?;
    if n > MAX_PAYLOAD_LEN {
        return Err("decompressed record exceeds the limit");
    }
    let mut out = vec![0u8; n];
    let written = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|_| "bad snappy data")?;
    if written != n {
        return Err("snappy length mismatch");
    }
    Ok(out)
}
