//! The frame of a segment file, checked first on open: footer (magic, version,
//! checksum), header, the layout of the sections (they must tile the file exactly) and
//! the checksums of the chunk index, postings and tombstones.

use std::ops::Range;
use std::path::Path;

use zerocopy::FromBytes;

use super::format::{
    FOOTER_CRC_COVERS, FOOTER_LEN, FORMAT_VERSION, Footer, HEADER_LEN, Header, MAGIC,
    MAX_CHUNK_POINTS, OLDEST_READABLE_VERSION,
};
use crate::codec::checksum;
use crate::error::{Error, Result};

/// Where a verified file's sections are.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The footer, copied out.
    pub footer: Footer,
    /// Chunk data: from the header's end to the chunk index.
    pub data: Range<usize>,
    /// The chunk index (checksum verified).
    pub index: Range<usize>,
    /// The postings (checksum verified).
    pub postings: Range<usize>,
    /// The tombstones (checksum verified).
    pub tombstones: Range<usize>,
}

/// Verifies the frame of the segment file `bytes` named `path`.
pub(crate) fn verify(path: &Path, bytes: &[u8]) -> Result<Frame> {
    let corrupt = |at: usize, what: &str| Error::corruption(path, at as u64, what);
    let footer_at = bytes
        .len()
        .checked_sub(FOOTER_LEN)
        .filter(|&at| at >= HEADER_LEN)
        .ok_or_else(|| corrupt(0, "file too short for a segment"))?;
    let footer = bytes
        .get(footer_at..)
        .and_then(|b| Footer::read_from_bytes(b).ok())
        .ok_or_else(|| corrupt(footer_at, "footer unreadable"))?;
    if footer.magic != MAGIC {
        return Err(corrupt(
            bytes.len() - MAGIC.len(),
            "bad magic at end of file",
        ));
    }
    let version = footer.version.get();
    // newer versions, and version 1 (the codecs' layout of 128-value blocks, before
    // the lane layout), which this build no longer reads
    if version > FORMAT_VERSION || (1..OLDEST_READABLE_VERSION).contains(&version) {
        return Err(Error::UnsupportedVersion {
            file: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let covered = bytes.get(footer_at..footer_at + FOOTER_CRC_COVERS);
    if version < OLDEST_READABLE_VERSION
        || covered.map(checksum::masked) != Some(footer.footer_crc.get())
    {
        return Err(corrupt(footer_at, "footer checksum mismatch"));
    }
    let header = bytes
        .get(..HEADER_LEN)
        .and_then(|b| Header::ref_from_bytes(b).ok())
        .ok_or_else(|| corrupt(0, "header unreadable"))?;
    if header.magic != MAGIC || header.version.get() != version || header.reserved.get() != 0 {
        return Err(corrupt(0, "bad header"));
    }
    let chunk_points = footer.chunk_points.get() as usize;
    if footer.reserved.get() != 0 || !(1..=MAX_CHUNK_POINTS).contains(&chunk_points) {
        return Err(corrupt(footer_at, "footer fields out of range"));
    }

    // Header, data, index, postings, tombstones, footer: each starts where the last ends.
    let misplaced = || corrupt(footer_at, "sections do not tile the file");
    let section = |offset: u64, len: u64, start: usize| {
        let end = usize::try_from(len).ok().and_then(|l| start.checked_add(l));
        match end {
            Some(end) if offset == start as u64 && end <= footer_at => Ok(start..end),
            _ => Err(misplaced()),
        }
    };
    let index_at = usize::try_from(footer.index_offset.get())
        .ok()
        .filter(|&at| at >= HEADER_LEN)
        .ok_or_else(misplaced)?;
    let index = section(footer.index_offset.get(), footer.index_len.get(), index_at)?;
    let postings = section(
        footer.postings_offset.get(),
        footer.postings_len.get(),
        index.end,
    )?;
    let tombstones = section(
        footer.tombstones_offset.get(),
        footer.tombstones_len.get(),
        postings.end,
    )?;
    if tombstones.end != footer_at {
        return Err(misplaced());
    }

    for (range, crc, what) in [
        (
            &index,
            footer.index_crc.get(),
            "chunk index checksum mismatch",
        ),
        (
            &postings,
            footer.postings_crc.get(),
            "postings checksum mismatch",
        ),
        (
            &tombstones,
            footer.tombstones_crc.get(),
            "tombstones checksum mismatch",
        ),
    ] {
        if bytes.get(range.clone()).map(checksum::masked) != Some(crc) {
            return Err(corrupt(range.start, what));
        }
    }
    Ok(Frame {
        footer,
        data: HEADER_LEN..index.start,
        index,
        postings,
        tombstones,
    })
}
