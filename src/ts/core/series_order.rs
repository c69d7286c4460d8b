//! [`SeriesOrder`]: the series of a metric sorted by key, kept between reads.
//!
//! Scans and queries hand series out sorted by key. Sorting a metric's series compares
//! whole keys (a metric and a dozen tags each), which for a thousand series costs more
//! than answering a `last` from the caches. The catalog only grows, so the sorted
//! order of a metric stays right until a series of that metric is added; this cache
//! keeps it per metric, checked against the metric's postings on every use (an exact
//! comparison of two bitmaps, cheap next to a sort) and rebuilt when they differ.
//!
//! A read that selects few of a metric's series sorts just those instead: walking the
//! whole sorted order to pick a handful would cost more than sorting them. When the
//! metric's order is cached, they are sorted by their place in it (integers), not by
//! comparing their keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use roaring::RoaringBitmap;

use crate::engine::lock::lock;
use crate::ts::series::catalog::Catalog;
use crate::ts::series::key::{SeriesKey, sort_by_key};

/// A read selecting at least one in this many of a metric's series uses the cached
/// order; fewer are sorted on their own.
const DENSE: u64 = 8;

/// One metric's series sorted by key, and the set they were taken from.
#[derive(Debug)]
struct MetricOrder {
    ids: RoaringBitmap,
    sorted: Vec<(u32, Arc<SeriesKey>)>,
    /// `ranks[i]`: the place in `sorted` of the `i`-th smallest id of `ids`.
    ranks: Vec<u32>,
}

impl MetricOrder {
    /// The place of series `id` (one of `ids`) in the sorted order.
    fn rank(&self, id: u32) -> u32 {
        let at = self.ids.rank(id).checked_sub(1);
        at.and_then(|i| self.ranks.get(usize::try_from(i).ok()?))
            .copied()
            .unwrap_or(u32::MAX)
    }
}

/// The sorted series of each metric read so far (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct SeriesOrder {
    by_metric: Mutex<HashMap<String, Arc<MetricOrder>>>,
}

impl SeriesOrder {
    /// The series of `ids` (a subset of `metric`'s series in `catalog`) whose key
    /// passes `keep`, sorted by key.
    pub fn sorted(
        &self,
        catalog: &Catalog,
        metric: &str,
        ids: &RoaringBitmap,
        keep: impl Fn(&SeriesKey) -> bool,
    ) -> Vec<(u32, Arc<SeriesKey>)> {
        let all = catalog.metric_postings(metric);
        let dense = all.is_some_and(|all| ids.len().saturating_mul(DENSE) >= all.len());
        let (true, Some(all)) = (dense, all) else {
            let mut out: Vec<(u32, Arc<SeriesKey>)> = ids
                .iter()
                .filter_map(|id| catalog.shared_key(id).map(|k| (id, k)))
                .filter(|(_, k)| keep(k))
                .collect();
            match all.and_then(|all| self.cached(metric, all)) {
                Some(order) if out.len() > 1 => out.sort_unstable_by_key(|s| order.rank(s.0)),
                _ => sort_by_key(&mut out, |s| &s.1),
            }
            return out;
        };
        let order = self.metric(catalog, metric, all);
        let every = ids.len() == all.len();
        order
            .sorted
            .iter()
            .filter(|(id, k)| (every || ids.contains(*id)) && keep(k))
            .map(|(id, k)| (*id, Arc::clone(k)))
            .collect()
    }

    /// The cached sorted order of `metric`, if it is that of its series `all`.
    fn cached(&self, metric: &str, all: &RoaringBitmap) -> Option<Arc<MetricOrder>> {
        lock(&self.by_metric)
            .get(metric)
            .filter(|order| order.ids == *all)
            .map(Arc::clone)
    }

    /// The sorted order of `metric`, whose series are `all`: cached, or built now.
    fn metric(&self, catalog: &Catalog, metric: &str, all: &RoaringBitmap) -> Arc<MetricOrder> {
        if let Some(order) = self.cached(metric, all) {
            return order;
        }
        // Built outside the lock: readers of other metrics are not held up. Two readers
        // racing here build the same order; the last one stored wins, either is right.
        let mut sorted: Vec<(u32, Arc<SeriesKey>)> = all
            .iter()
            .filter_map(|id| catalog.shared_key(id).map(|k| (id, k)))
            .collect();
        sort_by_key(&mut sorted, |s| &s.1);
        let mut ranks = vec![u32::MAX; usize::try_from(all.len()).unwrap_or(0)];
        for (place, (id, _)) in sorted.iter().enumerate() {
            let at = all.rank(*id).checked_sub(1);
            if let Some(slot) = at.and_then(|i| ranks.get_mut(usize::try_from(i).ok()?)) {
                *slot = place as u32;
            }
        }
        let order = Arc::new(MetricOrder {
            ids: all.clone(),
            sorted,
            ranks,
        });
        lock(&self.by_metric).insert(metric.to_owned(), Arc::clone(&order));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any selection, before and after the metric's order is cached (and after the
        /// metric gains a series, which makes the cache stale), comes out as a sort of
        /// its keys.
        #[test]
        fn selections_come_sorted_by_key(
            hosts in proptest::collection::vec(0u32..1000, 1..60),
            picks in proptest::collection::vec(proptest::sample::Index::arbitrary(), 0..12),
            late in 0u32..1000,
        ) {
            let mut catalog = Catalog::new();
            // another metric's series interleave, so the metric's ids are not dense
            for h in &hosts {
                let name = format!("h{h}");
                catalog.get_or_insert("cpu", &[("host", &name), ("dc", "x")]).unwrap();
                catalog.get_or_insert("mem", &[("host", &name)]).unwrap();
            }
            let order = SeriesOrder::default();
            let check = |catalog: &Catalog, order: &SeriesOrder| {
                let all = catalog.metric_postings("cpu").unwrap().clone();
                let ids: Vec<u32> = all.iter().collect();
                let chosen: RoaringBitmap = picks.iter().map(|i| ids[i.index(ids.len())]).collect();
                let got = order.sorted(catalog, "cpu", &chosen, |_| true);
                let mut want: Vec<(u32, Arc<SeriesKey>)> = chosen
                    .iter()
                    .map(|id| (id, catalog.shared_key(id).unwrap()))
                    .collect();
                want.sort_by(|a, b| a.1.cmp(&b.1));
                let got: Vec<u32> = got.iter().map(|s| s.0).collect();
                let want: Vec<u32> = want.iter().map(|s| s.0).collect();
                prop_assert_eq!(got, want);
                Ok(())
            };
            check(&catalog, &order)?;
            // every series: the dense path, which caches the order
            let all = catalog.metric_postings("cpu").unwrap().clone();
            order.sorted(&catalog, "cpu", &all, |_| true);
            check(&catalog, &order)?;
            catalog.get_or_insert("cpu", &[("host", &format!("late{late}"))]).unwrap();
            check(&catalog, &order)?;
        }
    }
}
