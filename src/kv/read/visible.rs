//! The user-facing range iterator: what a snapshot sees of a key range.
//!
//! [`VisibleIter`] turns a stream of internal entries (every version of every key,
//! tombstones included, normally from a [`MergingIterator`]) into `(user key, value)`
//! pairs as of one snapshot:
//!
//! - entries with a sequence number greater than the snapshot are skipped;
//! - of the rest, only each key's newest version counts; if it is a tombstone the key is
//!   skipped;
//! - keys are confined to a fixed *prefix* (the store's column-family id) which is
//!   stripped from the yielded keys; the start and end bounds are relative to it.
//!
//! After an error the iterator yields it once, then `None`.

use std::any::Any;
use std::fmt;
use std::iter::FusedIterator;
use std::ops::Bound;

use crate::Result;
use crate::kv::core::iter::KvIterator;
use crate::kv::core::key::ValueKind;
use crate::kv::read::merge::MergingIterator;

/// Anything a [`VisibleIter`] keeps alive while it runs (the store passes the version
/// handle that pins the SSTables being read).
pub type KeepAlive = Box<dyn Any + Send + Sync>;

/// Where a [`VisibleIter`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The inner iterator has not been positioned yet.
    Unstarted,
    /// The inner iterator is on the next candidate entry (or invalid).
    Running,
    /// The range is exhausted or an error was yielded.
    Done,
}

/// `(user key, value)` pairs of one key range, as of one snapshot. See the
/// [module documentation](self).
pub struct VisibleIter<I = MergingIterator> {
    // Field order matters: `inner` (which may borrow mapped tables) is dropped before
    // `keep_alive` (which pins them).
    inner: I,
    snapshot: u64,
    prefix: Vec<u8>,
    /// Where to seek first: `prefix ++ start`, or its successor for an excluded start.
    seek_to: Vec<u8>,
    /// The end bound with the prefix prepended.
    end: Bound<Vec<u8>>,
    state: State,
    /// Scratch copy of the current user key, to skip its older versions.
    current: Vec<u8>,
    keep_alive: Option<KeepAlive>,
}

impl<I> fmt::Debug for VisibleIter<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VisibleIter")
            .field("snapshot", &self.snapshot)
            .field("prefix", &self.prefix)
            .field("end", &self.end)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<I: KvIterator> VisibleIter<I> {
    /// Iterates the keys `prefix ++ k` of `inner` with `k` within `start..end`, as of
    /// sequence number `snapshot`, yielding `(k, value)`. `inner` is positioned on the
    /// first call to `next`, so creating the iterator does no I/O.
    pub fn new(
        inner: I,
        snapshot: u64,
        prefix: Vec<u8>,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Self {
        let with_prefix = |k: &[u8]| [prefix.as_slice(), k].concat();
        let seek_to = match &start {
            Bound::Included(k) => with_prefix(k),
            // The smallest key greater than `k` is `k ++ [0]`.
            Bound::Excluded(k) => [prefix.as_slice(), k, &[0]].concat(),
            Bound::Unbounded => prefix.clone(),
        };
        let end = match &end {
            Bound::Included(k) => Bound::Included(with_prefix(k)),
            Bound::Excluded(k) => Bound::Excluded(with_prefix(k)),
            Bound::Unbounded => Bound::Unbounded,
        };
        VisibleIter {
            inner,
            snapshot,
            prefix,
            seek_to,
            end,
            state: State::Unstarted,
            current: Vec::new(),
            keep_alive: None,
        }
    }

    /// Keeps `value` alive as long as the iterator, and drops it after the inner one.
    pub fn keep_alive(mut self, value: KeepAlive) -> Self {
        self.keep_alive = Some(value);
        self
    }

    /// True once `key` (with its prefix) is past the end of the range.
    fn past_end(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Included(end) => key > end.as_slice(),
            Bound::Excluded(end) => key >= end.as_slice(),
            // Bounded ends lie within the prefix, so only an unbounded end needs this:
            // every key between `prefix ++ a` and `prefix ++ b` starts with `prefix`.
            Bound::Unbounded => !key.starts_with(&self.prefix),
        }
    }

    /// Finds the next visible pair, leaving `inner` on the entry after its versions.
    fn advance(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if self.state == State::Unstarted {
            self.state = State::Running;
            self.inner.seek(&self.seek_to)?;
        }
        loop {
            if !self.inner.valid() {
                return Ok(None);
            }
            let key = self.inner.key();
            if self.past_end(key) {
                return Ok(None);
            }
            if self.inner.seq() > self.snapshot {
                self.inner.next()?;
                continue;
            }
            // The newest version of `key` the snapshot can see.
            let item = match self.inner.kind() {
                ValueKind::Put => Some((
                    key.get(self.prefix.len()..).unwrap_or(&[]).to_vec(),
                    self.inner.value().to_vec(),
                )),
                ValueKind::Delete => None,
            };
            self.current.clear();
            self.current.extend_from_slice(key);
            loop {
                self.inner.next()?;
                if !self.inner.valid() || self.inner.key() != self.current.as_slice() {
                    break;
                }
            }
            if item.is_some() {
                return Ok(item);
            }
        }
    }
}

impl<I: KvIterator> Iterator for VisibleIter<I> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Done {
            return None;
        }
        match self.advance() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.state = State::Done;
                None
            }
            Err(e) => {
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }
}

impl<I: KvIterator> FusedIterator for VisibleIter<I> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::memtable::Memtable;
    use crate::kv::read::merge::test_support::{Row, VecIter};
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn bound_strategy() -> impl Strategy<Value = Bound<Vec<u8>>> {
        let key = proptest::collection::vec(0u8..3, 0..3);
        prop_oneof![
            Just(Bound::Unbounded),
            key.clone().prop_map(Bound::Included),
            key.prop_map(Bound::Excluded),
        ]
    }

    fn in_range(k: &[u8], start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> bool {
        let after_start = match start {
            Bound::Included(s) => k >= s.as_slice(),
            Bound::Excluded(s) => k > s.as_slice(),
            Bound::Unbounded => true,
        };
        let before_end = match end {
            Bound::Included(e) => k <= e.as_slice(),
            Bound::Excluded(e) => k < e.as_slice(),
            Bound::Unbounded => true,
        };
        after_start && before_end
    }

    /// What a snapshot read of the range must return, computed from a plain map.
    fn model(
        rows: &[Row],
        snapshot: u64,
        prefix: &[u8],
        start: &Bound<Vec<u8>>,
        end: &Bound<Vec<u8>>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut newest: BTreeMap<Vec<u8>, (u64, ValueKind, Vec<u8>)> = BTreeMap::new();
        for (k, s, kind, v) in rows {
            if *s > snapshot {
                continue;
            }
            let Some(user) = k.strip_prefix(prefix) else {
                continue;
            };
            if !in_range(user, start, end) {
                continue;
            }
            if newest.get(user).is_none_or(|(old, _, _)| old < s) {
                newest.insert(user.to_vec(), (*s, *kind, v.clone()));
            }
        }
        newest
            .into_iter()
            .filter(|(_, (_, kind, _))| *kind == ValueKind::Put)
            .map(|(k, (_, _, v))| (k, v))
            .collect()
    }

    /// Rows with unique sequence numbers, keys made of a one-byte "column family" and a
    /// short suffix, spread over `sources` children.
    fn rows_strategy() -> impl Strategy<Value = (Vec<Row>, Vec<usize>)> {
        proptest::collection::vec(
            (
                0u8..3,
                proptest::collection::vec(0u8..3, 0..3),
                prop_oneof![Just(ValueKind::Put), Just(ValueKind::Delete)],
                0usize..4,
            ),
            0..80,
        )
        .prop_shuffle()
        .prop_map(|ops| {
            let mut rows = Vec::new();
            let mut sources = Vec::new();
            for (seq, (cf, suffix, kind, source)) in ops.into_iter().enumerate() {
                let key = [&[cf][..], &suffix].concat();
                let value = if kind == ValueKind::Put {
                    (seq as u64).to_le_bytes().to_vec()
                } else {
                    Vec::new()
                };
                rows.push((key, seq as u64 + 1, kind, value));
                sources.push(source);
            }
            (rows, sources)
        })
    }

    fn merged(rows: &[Row], sources: &[usize], memtables: bool) -> MergingIterator {
        let mut parts: Vec<Vec<Row>> = vec![Vec::new(); 4];
        for (row, &source) in rows.iter().zip(sources) {
            parts[source].push(row.clone());
        }
        MergingIterator::new(
            parts
                .into_iter()
                .map(|rows| {
                    if memtables {
                        let table = Arc::new(Memtable::new());
                        for (k, s, kind, v) in &rows {
                            table.insert_prefixed(&[], k, *s, *kind, v);
                        }
                        Box::new(table.iter()) as Box<dyn KvIterator>
                    } else {
                        Box::new(VecIter::new(rows)) as Box<dyn KvIterator>
                    }
                })
                .collect(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(192))]

        #[test]
        fn matches_a_snapshot_model(
            (rows, sources) in rows_strategy(),
            snapshot in 0u64..90,
            prefix in proptest::collection::vec(0u8..3, 0..2),
            start in bound_strategy(),
            end in bound_strategy(),
            memtables: bool,
        ) {
            let inner = merged(&rows, &sources, memtables);
            let got: Vec<_> = VisibleIter::new(inner, snapshot, prefix.clone(), start.clone(), end.clone())
                .collect::<Result<_>>()
                .unwrap();
            prop_assert_eq!(got, model(&rows, snapshot, &prefix, &start, &end));
        }

        #[test]
        fn yields_an_error_once(
            (rows, _) in rows_strategy(),
            at in 1usize..80,
        ) {
            let inner = VecIter::new(rows.clone()).failing_at(at);
            let mut it = VisibleIter::new(inner, u64::MAX, Vec::new(), Bound::Unbounded, Bound::Unbounded);
            let mut errors = 0;
            for item in it.by_ref() {
                errors += usize::from(item.is_err());
            }
            prop_assert_eq!(errors, usize::from(at <= rows.len()));
            prop_assert!(it.next().is_none());
        }
    }

    #[test]
    fn hides_newer_writes_and_tombstones() {
        let rows = vec![
            (b"a".to_vec(), 1, ValueKind::Put, b"a1".to_vec()),
            (b"a".to_vec(), 4, ValueKind::Put, b"a4".to_vec()),
            (b"b".to_vec(), 2, ValueKind::Put, b"b2".to_vec()),
            (b"b".to_vec(), 3, ValueKind::Delete, Vec::new()),
            (b"c".to_vec(), 5, ValueKind::Put, b"c5".to_vec()),
        ];
        let read = |snapshot| {
            VisibleIter::new(
                VecIter::new(rows.clone()),
                snapshot,
                Vec::new(),
                Bound::Unbounded,
                Bound::Unbounded,
            )
            .collect::<Result<Vec<_>>>()
            .unwrap()
        };
        let pair = |k: &[u8], v: &[u8]| (k.to_vec(), v.to_vec());
        assert_eq!(read(2), [pair(b"a", b"a1"), pair(b"b", b"b2")]);
        assert_eq!(read(3), [pair(b"a", b"a1")]);
        assert_eq!(read(9), [pair(b"a", b"a4"), pair(b"c", b"c5")]);
    }

    #[test]
    fn strips_the_prefix_and_stays_inside_it() {
        let rows = vec![
            (b"\x01z".to_vec(), 1, ValueKind::Put, b"other cf".to_vec()),
            (b"\x02".to_vec(), 1, ValueKind::Put, b"empty key".to_vec()),
            (b"\x02k".to_vec(), 1, ValueKind::Put, b"v".to_vec()),
            (b"\x03".to_vec(), 1, ValueKind::Put, b"next cf".to_vec()),
        ];
        let got: Vec<_> = VisibleIter::new(
            VecIter::new(rows),
            1,
            b"\x02".to_vec(),
            Bound::Unbounded,
            Bound::Unbounded,
        )
        .collect::<Result<_>>()
        .unwrap();
        assert_eq!(
            got,
            [
                (Vec::new(), b"empty key".to_vec()),
                (b"k".to_vec(), b"v".to_vec())
            ]
        );
    }

    #[test]
    fn drops_the_keep_alive_after_the_inner_iterator() {
        type Log = Arc<std::sync::Mutex<Vec<&'static str>>>;
        struct Logged(&'static str, Log);
        impl Drop for Logged {
            fn drop(&mut self) {
                self.1.lock().unwrap().push(self.0);
            }
        }
        /// An empty iterator that logs its drop (the field is only there to be dropped).
        struct Inner(#[allow(dead_code)] Logged);
        impl KvIterator for Inner {
            fn valid(&self) -> bool {
                false
            }
            fn key(&self) -> &[u8] {
                &[]
            }
            fn seq(&self) -> u64 {
                0
            }
            fn kind(&self) -> ValueKind {
                ValueKind::Delete
            }
            fn value(&self) -> &[u8] {
                &[]
            }
            fn next(&mut self) -> Result<()> {
                Ok(())
            }
            fn seek(&mut self, _: &[u8]) -> Result<()> {
                Ok(())
            }
            fn seek_to_first(&mut self) -> Result<()> {
                Ok(())
            }
        }
        let log = Log::default();
        let mut it = VisibleIter::new(
            Inner(Logged("inner", log.clone())),
            0,
            Vec::new(),
            Bound::Unbounded,
            Bound::Unbounded,
        )
        .keep_alive(Box::new(Logged("keep-alive", log.clone())));
        assert!(it.next().is_none());
        assert!(log.lock().unwrap().is_empty());
        drop(it);
        assert_eq!(*log.lock().unwrap(), ["inner", "keep-alive"]);
    }
}
