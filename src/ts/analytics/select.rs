//! Which series of the catalog a query reads: the series of one metric passing every
//! [`Matcher`], sorted by key.
//!
//! Three ways, cheapest first:
//! - *exact series*: every matcher is an `eq` on a distinct key with a non-empty value.
//!   The series named by exactly those tags is found by hash lookup in the catalog;
//!   a series with those tags *and more* also matches (Prometheus semantics), so the
//!   smallest of the named postings is checked too when it is small — a few key
//!   comparisons instead of an intersection of bitmaps;
//! - *postings*: matchers whose accepted values are a list or a prefix (and that a
//!   series lacking the key fails) narrow the metric's postings by intersection;
//! - every candidate left is checked against every matcher on its key, so regexes,
//!   negations and missing tags follow the matcher's own semantics exactly.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::matcher::{Matcher, MatcherKind, ValueSet};
use crate::ts::core::series_order::SeriesOrder;
use crate::ts::series::catalog::Catalog;
use crate::ts::series::key::{SeriesKey, sort_by_key};

/// Postings at most this long are checked key by key on the exact-series path.
const SMALL_POSTINGS: u64 = 64;

/// The series of `metric` passing every matcher, sorted by key (`order` keeps the
/// sorted series of each metric between reads).
pub(crate) fn matching_series(
    catalog: &Catalog,
    order: &SeriesOrder,
    metric: &str,
    matchers: &[Matcher],
) -> Vec<(u32, Arc<SeriesKey>)> {
    let Some(all) = catalog.metric_postings(metric) else {
        return Vec::new();
    };
    if let Some(mut ids) = exact_series(catalog, metric, matchers) {
        sort_by_key(&mut ids, |s| &s.1);
        return ids;
    }
    let candidates = narrow(catalog, all, matchers);
    order.sorted(catalog, metric, candidates.as_ref().unwrap_or(all), |k| {
        matchers.iter().all(|m| m.matches(&k.tags))
    })
}

/// The exact-series path (see the module docs), or `None` when it does not apply.
fn exact_series(
    catalog: &Catalog,
    metric: &str,
    matchers: &[Matcher],
) -> Option<Vec<(u32, Arc<SeriesKey>)>> {
    let mut tags: Vec<(&str, &str)> = Vec::with_capacity(matchers.len());
    for m in matchers {
        let value = m.values().first().filter(|v| !v.is_empty())?;
        if m.kind() != MatcherKind::Eq || tags.iter().any(|(k, _)| *k == m.key()) {
            return None;
        }
        tags.push((m.key(), value.as_str()));
    }
    let id = catalog.lookup(metric, &tags)?;
    // Series with more tags than those named also match: look for them in the
    // smallest posting named, if it is small enough to check key by key.
    let smallest = tags
        .iter()
        .map(|&(k, v)| catalog.tag_postings(k, v))
        .min_by_key(|p| p.as_ref().map_or(0, |b| b.len()))??;
    if smallest.len() > SMALL_POSTINGS {
        return None;
    }
    // `id` is among them: it holds every named tag. Any other match has more tags
    // than the matchers name (n distinct keys with non-empty values: a series with n
    // tags matching them all is `id`). Candidates are checked on their stored keys,
    // read in place: only the series that match are built.
    let mut found = Vec::new();
    for candidate in smallest.iter() {
        let Some(k) = catalog.key_ref(candidate) else {
            continue;
        };
        let matches = candidate == id
            || (k.tag_count() > tags.len()
                && k.metric() == metric
                && matchers.iter().all(|m| m.matches_tags(k.tag_refs())));
        if matches {
            found.push((candidate, catalog.shared_key(candidate)?));
        }
    }
    Some(found)
}

/// The metric's series narrowed by the postings of the matchers that allow it, or
/// `None` when no matcher does (every series of the metric is a candidate).
fn narrow(catalog: &Catalog, all: &RoaringBitmap, matchers: &[Matcher]) -> Option<RoaringBitmap> {
    let mut out: Option<RoaringBitmap> = None;
    for m in matchers {
        if m.matches_missing() {
            // A series without the key matches: postings of values cannot list it.
            continue;
        }
        let mut union = RoaringBitmap::new();
        match m.value_set() {
            ValueSet::In(values) => {
                for v in values {
                    if let Some(p) = catalog.tag_postings(m.key(), v) {
                        union |= &*p;
                    }
                }
            }
            ValueSet::Prefix(prefix) => {
                for v in catalog.tag_values(m.key()) {
                    if v.starts_with(prefix)
                        && let Some(p) = catalog.tag_postings(m.key(), v)
                    {
                        union |= &*p;
                    }
                }
            }
            _ => continue,
        }
        out = Some(match out {
            Some(acc) => acc & union,
            None => union & all,
        });
    }
    out
}
