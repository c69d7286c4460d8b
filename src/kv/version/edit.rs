//! Version edits: the MANIFEST records of the key-value store, and their encoding.
//!
//! The MANIFEST (see `io::manifest`) is a log of opaque, checksummed records; for the
//! store each record is one [`VersionEdit`]: files added to and removed from levels,
//! column families created, and the counters that recovery needs (oldest live WAL
//! segment, next file number, last flushed sequence number). Replaying every edit in
//! order onto an empty state rebuilds the current state; a manifest rewrite stores the
//! whole state as a single edit. The byte layout is in `docs/design-kv.md`.

use crate::codec::DecodeError;
use crate::codec::varint::{Reader, put_len_prefixed, put_u32, put_u64};

/// Levels of the LSM tree: L0 (overlapping flush outputs) and L1..L6.
pub(crate) const NUM_LEVELS: usize = 7;

/// Format version written as the first byte of every edit.
pub(crate) const EDIT_VERSION: u8 = 1;

/// Longest key an edit may carry (column-family prefix + the longest user key).
const MAX_EDIT_KEY_LEN: usize = 4 + crate::kv::write::batch::MAX_KEY_LEN;

const TAG_LOG_NUMBER: u8 = 1;
const TAG_NEXT_FILE: u8 = 2;
const TAG_LAST_SEQ: u8 = 3;
const TAG_NEW_CF: u8 = 4;
const TAG_DELETED_FILE: u8 = 5;
const TAG_NEW_FILE: u8 = 6;
const TAG_COMPACT_POINTER: u8 = 7;

/// What the MANIFEST knows about one table file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileMeta {
    /// File number: the file is `{number:06}.sst`.
    pub number: u64,
    /// Size in bytes.
    pub size: u64,
    /// Smallest internal user key (column-family prefix included).
    pub smallest: Vec<u8>,
    /// Largest internal user key.
    pub largest: Vec<u8>,
    /// Smallest sequence number of an entry.
    pub min_seq: u64,
    /// Largest sequence number of an entry.
    pub max_seq: u64,
    /// Number of entries (every version, tombstones included).
    pub entries: u64,
    /// Number of tombstones.
    pub tombstones: u64,
}

/// One change to the store's persistent state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionEdit {
    /// WAL segments with a smaller id hold only flushed data.
    pub log_number: Option<u64>,
    /// Every file number in use is below this.
    pub next_file_number: Option<u64>,
    /// Every entry with a sequence number up to this one is in a table.
    pub last_seq: Option<u64>,
    /// Column families created: `(id, name)`.
    pub new_cfs: Vec<(u32, String)>,
    /// Files removed: `(level, number)`.
    pub deleted_files: Vec<(usize, u64)>,
    /// Files added: `(level, meta)`.
    pub new_files: Vec<(usize, FileMeta)>,
    /// Where the next round-robin compaction of a level starts: `(level, largest key of
    /// the last file compacted there)`.
    pub compact_pointers: Vec<(usize, Vec<u8>)>,
}

impl VersionEdit {
    /// Serializes the edit.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![EDIT_VERSION];
        for (tag, v) in [
            (TAG_LOG_NUMBER, self.log_number),
            (TAG_NEXT_FILE, self.next_file_number),
            (TAG_LAST_SEQ, self.last_seq),
        ] {
            if let Some(v) = v {
                out.push(tag);
                put_u64(&mut out, v);
            }
        }
        for (id, name) in &self.new_cfs {
            out.push(TAG_NEW_CF);
            put_u32(&mut out, *id);
            put_len_prefixed(&mut out, name.as_bytes());
        }
        for &(level, number) in &self.deleted_files {
            out.push(TAG_DELETED_FILE);
            out.push(level as u8);
            put_u64(&mut out, number);
        }
        for (level, f) in &self.new_files {
            out.push(TAG_NEW_FILE);
            out.push(*level as u8);
            put_u64(&mut out, f.number);
            put_u64(&mut out, f.size);
            put_len_prefixed(&mut out, &f.smallest);
            put_len_prefixed(&mut out, &f.largest);
            put_u64(&mut out, f.min_seq);
            put_u64(&mut out, f.max_seq);
            put_u64(&mut out, f.entries);
            put_u64(&mut out, f.tombstones);
        }
        for (level, key) in &self.compact_pointers {
            out.push(TAG_COMPACT_POINTER);
            out.push(*level as u8);
            put_len_prefixed(&mut out, key);
        }
        out
    }

    /// Parses an edit from untrusted bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Result<VersionEdit, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != EDIT_VERSION {
            return Err(DecodeError("unknown version edit format version"));
        }
        let mut e = VersionEdit::default();
        while !r.is_empty() {
            match r.u8()? {
                TAG_LOG_NUMBER => set_once(&mut e.log_number, r.u64()?)?,
                TAG_NEXT_FILE => set_once(&mut e.next_file_number, r.u64()?)?,
                TAG_LAST_SEQ => set_once(&mut e.last_seq, r.u64()?)?,
                TAG_NEW_CF => {
                    let id = r.u32()?;
                    let name = std::str::from_utf8(r.len_prefixed()?)
                        .map_err(|_| DecodeError("column family name is not UTF-8"))?;
                    if name.is_empty() || name.len() > crate::kv::write::batch::MAX_CF_NAME_LEN {
                        return Err(DecodeError("column family name length out of range"));
                    }
                    e.new_cfs.push((id, name.to_owned()));
                }
                TAG_DELETED_FILE => {
                    let level = read_level(&mut r)?;
                    e.deleted_files.push((level, r.u64()?));
                }
                TAG_NEW_FILE => {
                    let level = read_level(&mut r)?;
                    let f = FileMeta {
                        number: r.u64()?,
                        size: r.u64()?,
                        smallest: read_key(&mut r)?,
                        largest: read_key(&mut r)?,
                        min_seq: r.u64()?,
                        max_seq: r.u64()?,
                        entries: r.u64()?,
                        tombstones: r.u64()?,
                    };
                    if f.smallest > f.largest || f.min_seq > f.max_seq || f.tombstones > f.entries {
                        return Err(DecodeError("inconsistent table metadata"));
                    }
                    e.new_files.push((level, f));
                }
                TAG_COMPACT_POINTER => {
                    let level = read_level(&mut r)?;
                    e.compact_pointers.push((level, read_key(&mut r)?));
                }
                _ => return Err(DecodeError("unknown version edit field")),
            }
        }
        Ok(e)
    }
}

fn set_once(slot: &mut Option<u64>, v: u64) -> Result<(), DecodeError> {
    if slot.replace(v).is_some() {
        return Err(DecodeError("version edit field repeated"));
    }
    Ok(())
}

fn read_level(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let level = usize::from(r.u8()?);
    if level >= NUM_LEVELS {
        return Err(DecodeError("level out of range"));
    }
    Ok(level)
}

fn read_key(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    let key = r.len_prefixed()?;
    if key.len() > MAX_EDIT_KEY_LEN {
        return Err(DecodeError("key too long"));
    }
    Ok(key.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta() -> impl Strategy<Value = FileMeta> {
        (
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..12),
            proptest::collection::vec(any::<u8>(), 0..12),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(|(number, size, a, b, s1, s2, n1, n2)| FileMeta {
                number,
                size,
                smallest: a.clone().min(b.clone()),
                largest: a.max(b),
                min_seq: s1.min(s2),
                max_seq: s1.max(s2),
                entries: n1.max(n2),
                tombstones: n1.min(n2),
            })
    }

    fn edit() -> impl Strategy<Value = VersionEdit> {
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec((any::<u32>(), "[a-z]{1,10}"), 0..3),
            proptest::collection::vec((0..NUM_LEVELS, any::<u64>()), 0..4),
            proptest::collection::vec((0..NUM_LEVELS, meta()), 0..4),
            proptest::collection::vec(
                (0..NUM_LEVELS, proptest::collection::vec(any::<u8>(), 0..8)),
                0..3,
            ),
        )
            .prop_map(|(l, n, s, cfs, del, add, cp)| VersionEdit {
                log_number: l,
                next_file_number: n,
                last_seq: s,
                new_cfs: cfs,
                deleted_files: del,
                new_files: add,
                compact_pointers: cp,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn round_trips(e in edit()) {
            let bytes = e.encode();
            prop_assert_eq!(VersionEdit::decode(&bytes), Ok(e));
        }

        #[test]
        fn truncation_is_an_error_or_a_prefix_edit(e in edit(), cut in any::<prop::sample::Index>()) {
            let bytes = e.encode();
            let cut = cut.index(bytes.len());
            // Must not panic; a cut at a field boundary decodes to a smaller edit.
            let _ = VersionEdit::decode(&bytes[..cut]);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = VersionEdit::decode(&bytes);
            let mut with_version = vec![EDIT_VERSION];
            with_version.extend_from_slice(&bytes);
            let _ = VersionEdit::decode(&with_version);
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(VersionEdit::decode(&[]).is_err());
        assert!(VersionEdit::decode(&[2]).is_err());
        assert!(VersionEdit::decode(&[EDIT_VERSION, 99]).is_err());
        // level 7 does not exist
        assert!(VersionEdit::decode(&[EDIT_VERSION, TAG_DELETED_FILE, 7, 1]).is_err());
        // repeated scalar field
        assert!(
            VersionEdit::decode(&[EDIT_VERSION, TAG_LOG_NUMBER, 1, TAG_LOG_NUMBER, 2]).is_err()
        );
        // empty column family name
        assert!(VersionEdit::decode(&[EDIT_VERSION, TAG_NEW_CF, 1, 0]).is_err());
        assert_eq!(
            VersionEdit::decode(&[EDIT_VERSION]),
            Ok(VersionEdit::default())
        );
    }
}
