//! The first record of every log file (WAL segment, manifest): magic, format version
//! and the file's own number, so a renamed, foreign or future-format file is caught.
//!
//! ```text
//! header payload (20 bytes, in a plain record) := magic: [u8; 8] | version: u32 LE | id: u64 LE
//! ```

use std::path::Path;

use super::record::{Compression, RecordBatch};
use crate::error::{Error, Result};

/// The only log format version this build writes and reads.
pub(crate) const VERSION: u32 = 1;

/// Magic of WAL segments.
pub(crate) const WAL_MAGIC: [u8; 8] = *b"TIDE-WAL";

/// Magic of manifest files.
pub(crate) const MANIFEST_MAGIC: [u8; 8] = *b"TIDE-MAN";

const PAYLOAD_LEN: usize = 20;

/// A batch holding the header record of a log file.
pub(crate) fn encode(magic: [u8; 8], id: u64) -> Result<RecordBatch> {
    let mut payload = [0u8; PAYLOAD_LEN];
    payload[..8].copy_from_slice(&magic);
    payload[8..12].copy_from_slice(&VERSION.to_le_bytes());
    payload[12..].copy_from_slice(&id.to_le_bytes());
    let mut batch = RecordBatch::new();
    batch.push(&payload, Compression::None)?;
    Ok(batch)
}

/// Checks a header payload read from `file` and returns the id it names.
pub(crate) fn decode(payload: &[u8], magic: [u8; 8], file: &Path) -> Result<u64> {
    let bad = || Error::corruption(file, 0, "bad log header length");
    let (m, rest) = payload.split_first_chunk::<8>().ok_or_else(bad)?;
    let (v, id) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
    let id = <[u8; 8]>::try_from(id).map_err(|_| bad())?;
    if *m != magic {
        return Err(Error::corruption(file, 0, "bad log magic"));
    }
    let version = u32::from_le_bytes(*v);
    if version != VERSION {
        return Err(Error::UnsupportedVersion {
            file: file.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    Ok(u64::from_le_bytes(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::record::LogReader;

    fn payload(magic: [u8; 8], id: u64) -> Vec<u8> {
        let batch = encode(magic, id).unwrap();
        LogReader::new(batch.as_bytes())
            .next_record()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn round_trip() {
        let p = payload(WAL_MAGIC, 42);
        assert_eq!(decode(&p, WAL_MAGIC, Path::new("f")).unwrap(), 42);
    }

    #[test]
    fn wrong_magic_length_or_version_is_rejected() {
        let p = payload(WAL_MAGIC, 1);
        let f = Path::new("f");
        assert!(matches!(
            decode(&p, MANIFEST_MAGIC, f),
            Err(Error::Corruption { .. })
        ));
        assert!(matches!(
            decode(&p[..19], WAL_MAGIC, f),
            Err(Error::Corruption { .. })
        ));
        let mut future = p.clone();
        future[8] = 2;
        assert!(matches!(
            decode(&future, WAL_MAGIC, f),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
    }
}
