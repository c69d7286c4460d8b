//! Column families: the registry that maps names to the 4-byte ids prefixing every
//! internal user key, and the helpers that build those prefixed keys.
//!
//! All column families share one keyspace: the internal user key of `key` in the column
//! family with id `id` is `id` as 4 big-endian bytes followed by `key`, so the keys of
//! one family are contiguous and sorted like the family's own keys. Ids start at 1 and
//! are never reused; the registry is persisted in the MANIFEST (a new family is recorded
//! there durably before its first write).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

/// Bytes of the column-family prefix of an internal user key.
pub(crate) const CF_PREFIX_LEN: usize = 4;

/// The first id handed out.
const FIRST_ID: u32 = 1;

/// Name <-> id of every column family.
#[derive(Debug, Default, Clone)]
pub(crate) struct CfRegistry {
    by_name: HashMap<String, u32>,
    by_id: BTreeMap<u32, String>,
}

/// Why a registration was refused (the MANIFEST contradicts itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CfConflict;

impl CfRegistry {
    /// The id of `name`, if the family exists.
    pub(crate) fn id(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// Whether a family with this id exists.
    pub(crate) fn contains_id(&self, id: u32) -> bool {
        self.by_id.contains_key(&id)
    }

    /// The id the next new family gets, or `None` once ids are exhausted.
    pub(crate) fn next_id(&self) -> Option<u32> {
        match self.by_id.last_key_value() {
            None => Some(FIRST_ID),
            Some((&id, _)) => id.checked_add(1),
        }
    }

    /// Registers `name` under `id`. Registering the same pair again is a no-op; reusing
    /// a name or an id for something else is a conflict.
    pub(crate) fn insert(&mut self, id: u32, name: &str) -> Result<(), CfConflict> {
        match (self.by_name.get(name), self.by_id.get(&id)) {
            (Some(&i), Some(n)) if i == id && n == name => Ok(()),
            (None, None) => {
                self.by_name.insert(name.to_owned(), id);
                self.by_id.insert(id, name.to_owned());
                Ok(())
            }
            _ => Err(CfConflict),
        }
    }

    /// Every `(id, name)` in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.by_id.iter().map(|(&id, name)| (id, name.as_str()))
    }

    /// Every name, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }
}

/// The key prefix of column family `id`.
#[inline]
pub(crate) fn prefix(id: u32) -> [u8; CF_PREFIX_LEN] {
    id.to_be_bytes()
}

/// Writes the internal user key of `key` in family `id` into `buf` (cleared first).
#[inline]
pub(crate) fn internal_key_into(id: u32, key: &[u8], buf: &mut Vec<u8>) {
    buf.clear();
    buf.reserve(CF_PREFIX_LEN + key.len());
    buf.extend_from_slice(&prefix(id));
    buf.extend_from_slice(key);
}

/// The internal user key of `key` in family `id`.
pub(crate) fn internal_key(id: u32, key: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    internal_key_into(id, key, &mut buf);
    buf
}

/// The span of internal user keys that a range of family `id`'s own keys covers.
pub(crate) fn internal_span(
    id: u32,
    start: &Bound<Vec<u8>>,
    end: &Bound<Vec<u8>>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let lo = match start {
        Bound::Included(k) => Bound::Included(internal_key(id, k)),
        Bound::Excluded(k) => Bound::Excluded(internal_key(id, k)),
        Bound::Unbounded => Bound::Included(prefix(id).to_vec()),
    };
    let hi = match end {
        Bound::Included(k) => Bound::Included(internal_key(id, k)),
        Bound::Excluded(k) => Bound::Excluded(internal_key(id, k)),
        Bound::Unbounded => match id.checked_add(1) {
            Some(next) => Bound::Excluded(prefix(next).to_vec()),
            None => Bound::Unbounded,
        },
    };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_at_one_and_grow() {
        let mut r = CfRegistry::default();
        assert_eq!(r.next_id(), Some(1));
        r.insert(1, "a").unwrap();
        r.insert(7, "b").unwrap();
        assert_eq!(r.next_id(), Some(8));
        assert_eq!(r.id("b"), Some(7));
        assert!(r.contains_id(1));
        assert_eq!(r.names(), vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn conflicting_registrations_are_refused() {
        let mut r = CfRegistry::default();
        r.insert(1, "a").unwrap();
        assert_eq!(r.insert(1, "a"), Ok(()));
        assert_eq!(r.insert(2, "a"), Err(CfConflict));
        assert_eq!(r.insert(1, "b"), Err(CfConflict));
        r.insert(u32::MAX, "z").unwrap();
        assert_eq!(r.next_id(), None);
    }

    #[test]
    fn prefixed_keys_sort_by_family_then_key() {
        let a = internal_key(1, b"zzz");
        let b = internal_key(2, b"");
        assert!(a < b);
        assert_eq!(&a[..4], &[0, 0, 0, 1]);
        let (lo, hi) = internal_span(1, &Bound::Unbounded, &Bound::Unbounded);
        assert_eq!(lo, Bound::Included(vec![0, 0, 0, 1]));
        assert_eq!(hi, Bound::Excluded(vec![0, 0, 0, 2]));
        let (_, hi) = internal_span(u32::MAX, &Bound::Unbounded, &Bound::Unbounded);
        assert_eq!(hi, Bound::Unbounded);
    }
}
