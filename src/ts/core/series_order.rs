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
//! whole sorted order to pick a handful would cost more than sorting them.

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
            sort_by_key(&mut out, |s| &s.1);
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

    /// The sorted order of `metric`, whose series are `all`: cached, or built now.
    fn metric(&self, catalog: &Catalog, metric: &str, all: &RoaringBitmap) -> Arc<MetricOrder> {
        if let Some(order) = lock(&self.by_metric).get(metric)
            && order.ids == *all
        {
            return Arc::clone(order);
        }
        // Built outside the lock: readers of other metrics are not held up. Two readers
        // racing here build the same order; the last one stored wins, either is right.
        let mut sorted: Vec<(u32, Arc<SeriesKey>)> = all
            .iter()
            .filter_map(|id| catalog.shared_key(id).map(|k| (id, k)))
            .collect();
        sort_by_key(&mut sorted, |s| &s.1);
        let order = Arc::new(MetricOrder {
            ids: all.clone(),
            sorted,
        });
        lock(&self.by_metric).insert(metric.to_owned(), Arc::clone(&order));
        order
    }
}
