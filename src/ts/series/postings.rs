//! In-memory tag postings: which series ids have a metric, and which have a tag pair.
//!
//! `metric -> RoaringBitmap` and `tag key -> tag value -> RoaringBitmap`. The nested
//! map lets a borrowed `(&str, &str)` probe without building an owned pair, and lists
//! the values of one tag key cheaply. A tag filter is answered by intersecting bitmaps,
//! smallest first.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::key::SeriesKey;

/// The postings of every series in a catalog.
#[derive(Default, Debug)]
pub(crate) struct MemPostings {
    metrics: HashMap<String, RoaringBitmap>,
    tags: HashMap<String, HashMap<String, RoaringBitmap>>,
}

impl MemPostings {
    /// Adds series `id` with `key` to every posting list it belongs to.
    pub(crate) fn insert(&mut self, id: u32, key: &SeriesKey) {
        add(&mut self.metrics, &key.metric, id);
        for (k, v) in &key.tags {
            if let Some(values) = self.tags.get_mut(k.as_str()) {
                add(values, v, id);
            } else {
                let mut values = HashMap::new();
                add(&mut values, v, id);
                self.tags.insert(k.clone(), values);
            }
        }
    }

    /// The series of `metric`.
    pub(crate) fn metric(&self, metric: &str) -> Option<&RoaringBitmap> {
        self.metrics.get(metric)
    }

    /// The series having tag `key=value`.
    pub(crate) fn tag(&self, key: &str, value: &str) -> Option<&RoaringBitmap> {
        self.tags.get(key)?.get(value)
    }

    /// Every metric name, sorted.
    pub(crate) fn metric_names(&self) -> Vec<&str> {
        sorted(self.metrics.keys())
    }

    /// Every tag key, sorted.
    pub(crate) fn tag_keys(&self) -> Vec<&str> {
        sorted(self.tags.keys())
    }

    /// Every value of tag `key`, sorted.
    pub(crate) fn tag_values(&self, key: &str) -> Vec<&str> {
        self.tags
            .get(key)
            .map_or_else(Vec::new, |v| sorted(v.keys()))
    }

    /// Series of `metric` having every pair of `filter` (an intersection of bitmaps,
    /// smallest first). An empty filter gives all of the metric's series.
    pub(crate) fn matching(&self, metric: &str, filter: &[(&str, &str)]) -> RoaringBitmap {
        let Some(of_metric) = self.metric(metric) else {
            return RoaringBitmap::new();
        };
        let mut lists: Vec<&RoaringBitmap> = Vec::with_capacity(filter.len() + 1);
        lists.push(of_metric);
        for &(k, v) in filter {
            match self.tag(k, v) {
                Some(b) => lists.push(b),
                None => return RoaringBitmap::new(),
            }
        }
        lists.sort_unstable_by_key(|b| b.len());
        let Some((smallest, rest)) = lists.split_first() else {
            return RoaringBitmap::new();
        };
        let mut acc = (*smallest).clone();
        for b in rest {
            if acc.is_empty() {
                break;
            }
            acc &= *b;
        }
        acc
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        let entry = |name: &String, b: &RoaringBitmap| {
            name.capacity() + size_of::<(String, RoaringBitmap)>() + b.serialized_size()
        };
        let metrics: usize = self.metrics.iter().map(|(k, b)| entry(k, b)).sum();
        let tags: usize = self
            .tags
            .iter()
            .map(|(k, values)| {
                k.capacity()
                    + size_of::<(String, HashMap<String, RoaringBitmap>)>()
                    + values.iter().map(|(v, b)| entry(v, b)).sum::<usize>()
            })
            .sum();
        metrics + tags
    }
}

/// Adds `id` to `map[name]`; probes with the borrowed name so a known name allocates
/// nothing.
fn add(map: &mut HashMap<String, RoaringBitmap>, name: &str, id: u32) {
    if let Some(b) = map.get_mut(name) {
        b.insert(id);
    } else {
        map.insert(name.to_owned(), RoaringBitmap::from_iter([id]));
    }
}

fn sorted<'a>(names: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
    let mut v: Vec<&str> = names.map(String::as_str).collect();
    v.sort_unstable();
    v
}
