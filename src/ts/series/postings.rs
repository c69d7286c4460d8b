//! In-memory tag postings: which series ids have a metric, and which have a tag pair.
//!
//! Keyed by symbol ids (`super::symbols`), so no name is stored here: `metric symbol
//! -> RoaringBitmap` and `tag key symbol -> tag value symbol -> Posting`. Most tag
//! values of a high-cardinality tag (a host name, a container id) belong to one series
//! only, so a posting of one series is just its id, and only a value shared by more
//! series gets a bitmap. A tag filter is answered by intersecting postings, smallest
//! first; the catalog turns names into symbols and back.

use std::borrow::Cow;

use roaring::RoaringBitmap;

use super::key_index::IdKeyed;

/// The series having one tag pair.
#[derive(Debug)]
enum Posting {
    One(u32),
    Many(Box<RoaringBitmap>),
}

impl Posting {
    fn insert(&mut self, id: u32) {
        match self {
            Posting::One(first) if *first == id => {}
            Posting::One(first) => {
                *self = Posting::Many(Box::new(RoaringBitmap::from_iter([*first, id])));
            }
            Posting::Many(b) => {
                b.insert(id);
            }
        }
    }

    fn bitmap(&self) -> Cow<'_, RoaringBitmap> {
        match self {
            Posting::One(id) => Cow::Owned(RoaringBitmap::from_iter([*id])),
            Posting::Many(b) => Cow::Borrowed(b),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Posting::One(_) => 0,
            Posting::Many(b) => size_of::<RoaringBitmap>() + b.serialized_size(),
        }
    }
}

/// The postings of every series in a catalog, by symbol id.
#[derive(Default, Debug)]
pub(crate) struct MemPostings {
    metrics: IdKeyed<RoaringBitmap>,
    tags: IdKeyed<IdKeyed<Posting>>,
}

impl MemPostings {
    /// Adds series `id` of metric symbol `metric` and tag symbol pairs `tags`.
    pub(crate) fn insert(&mut self, id: u32, metric: u32, tags: impl Iterator<Item = (u32, u32)>) {
        // `insert`, not `try_push`, even though ids mostly come in ascending order:
        // a push first finds the bitmap's largest value, and in a dense container
        // (more than 4 096 of its 65 536 ids) that scans its bit words down from the
        // top, about 500 of them per push; an insert sets one bit (or, in a sparse
        // container, appends after a binary search). Loading a catalog of a million
        // series spent a fifth of its time in those scans.
        self.metrics.entry(metric).or_default().insert(id);
        for (k, v) in tags {
            self.tags
                .entry(k)
                .or_default()
                .entry(v)
                .and_modify(|p| p.insert(id))
                .or_insert(Posting::One(id));
        }
    }

    /// The series of metric symbol `metric`.
    pub(crate) fn metric(&self, metric: u32) -> Option<&RoaringBitmap> {
        self.metrics.get(&metric)
    }

    /// The series having tag symbols `key=value`.
    pub(crate) fn tag(&self, key: u32, value: u32) -> Option<Cow<'_, RoaringBitmap>> {
        Some(self.tags.get(&key)?.get(&value)?.bitmap())
    }

    /// Every metric symbol.
    pub(crate) fn metric_symbols(&self) -> impl Iterator<Item = u32> + '_ {
        self.metrics.keys().copied()
    }

    /// Every tag key symbol.
    pub(crate) fn tag_key_symbols(&self) -> impl Iterator<Item = u32> + '_ {
        self.tags.keys().copied()
    }

    /// Every value symbol of tag key symbol `key`.
    pub(crate) fn tag_value_symbols(&self, key: u32) -> impl Iterator<Item = u32> + '_ {
        self.tags
            .get(&key)
            .into_iter()
            .flat_map(|values| values.keys().copied())
    }

    /// Series of metric symbol `metric` having every symbol pair of `filter` (an
    /// intersection, smallest first); `None` in `filter` is a name no series has. An
    /// empty filter gives all of the metric's series.
    pub(crate) fn matching(&self, metric: u32, filter: &[Option<(u32, u32)>]) -> RoaringBitmap {
        let Some(of_metric) = self.metric(metric) else {
            return RoaringBitmap::new();
        };
        let mut lists: Vec<Cow<'_, RoaringBitmap>> = Vec::with_capacity(filter.len() + 1);
        lists.push(Cow::Borrowed(of_metric));
        for pair in filter {
            match pair.and_then(|(k, v)| self.tag(k, v)) {
                Some(b) => lists.push(b),
                None => return RoaringBitmap::new(),
            }
        }
        lists.sort_unstable_by_key(|b| b.len());
        let mut lists = lists.into_iter();
        let Some(smallest) = lists.next() else {
            return RoaringBitmap::new();
        };
        let mut acc = smallest.into_owned();
        for b in lists {
            if acc.is_empty() {
                break;
            }
            acc &= b.as_ref();
        }
        acc
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        // hashbrown: one control byte plus the entry per bucket
        let bucket = |entry: usize, capacity: usize| capacity * (entry + 1);
        let metrics = bucket(size_of::<(u32, RoaringBitmap)>(), self.metrics.capacity())
            + self
                .metrics
                .values()
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>();
        let tags = bucket(size_of::<(u32, IdKeyed<Posting>)>(), self.tags.capacity())
            + self
                .tags
                .values()
                .map(|values| {
                    bucket(size_of::<(u32, Posting)>(), values.capacity())
                        + values.values().map(Posting::heap_bytes).sum::<usize>()
                })
                .sum::<usize>();
        metrics + tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posting_grows_from_one_id_to_a_bitmap() {
        let mut p = MemPostings::default();
        p.insert(7, 0, [(1, 2)].into_iter());
        assert_eq!(p.tag(1, 2).unwrap().iter().collect::<Vec<_>>(), [7]);
        assert!(matches!(p.tag(1, 2).unwrap(), Cow::Owned(_)));
        p.insert(7, 0, [(1, 2)].into_iter());
        assert_eq!(p.tag(1, 2).unwrap().len(), 1);
        p.insert(3, 0, [(1, 2), (1, 4)].into_iter());
        assert_eq!(p.tag(1, 2).unwrap().iter().collect::<Vec<_>>(), [3, 7]);
        assert!(matches!(p.tag(1, 2).unwrap(), Cow::Borrowed(_)));
        assert_eq!(
            p.matching(0, &[Some((1, 4))]).iter().collect::<Vec<_>>(),
            [3]
        );
        assert!(p.matching(0, &[None]).is_empty());
        assert!(p.matching(9, &[]).is_empty());
        assert_eq!(p.matching(0, &[]).len(), 2);
        assert!(p.tag(1, 9).is_none());
        let mut values: Vec<u32> = p.tag_value_symbols(1).collect();
        values.sort_unstable();
        assert_eq!(values, [2, 4]);
        assert!(p.heap_bytes() > 0);
    }
}
