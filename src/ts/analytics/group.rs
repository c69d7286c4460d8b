//! [`Group`], one row of a query's answer, and [`GroupPlan`], which says which of a
//! query's matching series form which group.

use std::cmp::Ordering;

use crate::error::{Error, Result};

/// One group of a query's answer: its tags and its non-empty buckets in columns.
///
/// `timestamps` are the bucket starts, ascending (for raw queries, the points'
/// timestamps, ascending, repeated where several series of the group share one), and
/// `values[i]` is the result of bucket `i`. `PartialEq` compares values with `==`,
/// so a group holding NaN is not equal to itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// Without `group_by`: the series' tags, sorted by key. With `group_by(keys)`: the
    /// `(key, value)` pairs of the group, in the order of `keys`, without the keys its
    /// series lack.
    pub tags: Vec<(String, String)>,
    /// The starts of the non-empty buckets, ascending.
    pub timestamps: Vec<i64>,
    /// One result per bucket.
    pub values: Vec<f64>,
}

/// The groups of a query over its matching series: for each group its tags and its
/// series, for each series its group. Groups are numbered in the order of their tags,
/// which is the order of the answer.
///
/// Built from the tags of the matching series, sorted by series key (for one metric,
/// that is the order of the tag lists), so that a group's series come in key order —
/// the order [`BucketAcc::merge`](super::BucketAcc::merge) wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    tags: Vec<Vec<(String, String)>>,
    /// Group `g`'s series are `members[bounds[g]..bounds[g + 1]]`, ascending.
    bounds: Vec<usize>,
    members: Vec<usize>,
    group_of: Vec<usize>,
}

impl GroupPlan {
    /// Plans the groups of `series` (the tag lists of the matching series, each sorted
    /// by key, the lists in strictly ascending order) for `group_by`: `None` puts each
    /// series in its own group (tags: the series' tags), `Some(keys)` groups the series
    /// with the same values for `keys` (`Some(&[])`: one group of every series).
    ///
    /// [`Error::InvalidArgument`] if the lists are not strictly ascending.
    pub fn new<'a>(
        group_by: Option<&[String]>,
        series: impl IntoIterator<Item = &'a [(String, String)]>,
    ) -> Result<GroupPlan> {
        let series: Vec<&[(String, String)]> = series.into_iter().collect();
        if let Some(i) = series.windows(2).position(|w| w[0] >= w[1]) {
            return Err(Error::invalid(format!(
                "series {} and {} of a group plan are not in ascending key order",
                i,
                i + 1
            )));
        }
        let n = series.len();
        let Some(keys) = group_by else {
            return Ok(GroupPlan {
                tags: series.iter().map(|s| s.to_vec()).collect(),
                bounds: (0..=n).collect(),
                members: (0..n).collect(),
                group_of: (0..n).collect(),
            });
        };
        let k = keys.len();
        // The value of each group key for each series, in one flat column.
        let mut values: Vec<Option<&str>> = Vec::with_capacity(n * k);
        for tags in &series {
            for key in keys {
                values.push(tags.iter().find(|(t, _)| t == key).map(|(_, v)| v.as_str()));
            }
        }
        let pairs = |s: usize| {
            let row = values.get(s * k..(s + 1) * k).unwrap_or_default();
            keys.iter()
                .zip(row)
                .filter_map(|(key, v)| v.map(|v| (key.as_str(), v)))
        };
        let mut members: Vec<usize> = (0..n).collect();
        // Stable: the series of a group stay in key order.
        members.sort_by(|&a, &b| pairs(a).cmp(pairs(b)));
        let mut plan = GroupPlan {
            tags: Vec::new(),
            bounds: Vec::new(),
            group_of: vec![0; n],
            members: Vec::new(),
        };
        let mut prev: Option<usize> = None;
        for (i, &s) in members.iter().enumerate() {
            if prev.is_none_or(|p| pairs(p).cmp(pairs(s)) != Ordering::Equal) {
                plan.bounds.push(i);
                plan.tags.push(
                    pairs(s)
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                );
            }
            if let Some(g) = plan.group_of.get_mut(s) {
                *g = plan.tags.len() - 1;
            }
            prev = Some(s);
        }
        plan.bounds.push(n);
        plan.members = members;
        Ok(plan)
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// True when there is no group (no matching series).
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The number of series planned.
    pub fn series_count(&self) -> usize {
        self.group_of.len()
    }

    /// The group of series `s` (its index in the list given to [`GroupPlan::new`]).
    pub fn group_of(&self, s: usize) -> Option<usize> {
        self.group_of.get(s).copied()
    }

    /// The series of group `g`, ascending (so in key order).
    pub fn members(&self, g: usize) -> &[usize] {
        let from = self.bounds.get(g).copied().unwrap_or(0);
        let to = self.bounds.get(g + 1).copied().unwrap_or(from);
        self.members.get(from..to).unwrap_or_default()
    }

    /// The tags of group `g`.
    pub fn tags(&self, g: usize) -> &[(String, String)] {
        self.tags.get(g).map_or(&[], Vec::as_slice)
    }

    /// Moves the tags of group `g` out (leaving them empty), to hand them to the
    /// group's answer without a copy.
    pub fn take_tags(&mut self, g: usize) -> Vec<(String, String)> {
        self.tags.get_mut(g).map(std::mem::take).unwrap_or_default()
    }

    /// The tags of every group, in group order.
    pub fn into_tags(self) -> Vec<Vec<(String, String)>> {
        self.tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_group_per_series_by_default() {
        let s = [tags(&[("h", "a")]), tags(&[("h", "b")])];
        let plan = GroupPlan::new(None, s.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan.tags(1), s[1].as_slice());
        assert_eq!(plan.members(1), [1]);
    }

    #[test]
    fn group_by_keys_in_their_order_leaving_out_missing() {
        let s = [
            tags(&[("dc", "x"), ("h", "a")]),
            tags(&[("dc", "x"), ("h", "b")]),
            tags(&[("dc", "y"), ("h", "c")]),
            tags(&[("h", "d")]),
            tags(&[("h", "e"), ("rack", "1")]),
        ];
        let plan =
            GroupPlan::new(Some(&keys(&["rack", "dc"])), s.iter().map(Vec::as_slice)).unwrap();
        // [] < [(dc,x)] < [(dc,y)] < [(rack,1)]
        assert_eq!(plan.len(), 4);
        assert_eq!(plan.tags(0), tags(&[]).as_slice());
        assert_eq!(plan.members(0), [3]);
        assert_eq!(plan.tags(1), tags(&[("dc", "x")]).as_slice());
        assert_eq!(plan.members(1), [0, 1]);
        assert_eq!(plan.tags(3), tags(&[("rack", "1")]).as_slice());
        assert_eq!(plan.group_of(4), Some(3));
        assert_eq!(plan.group_of(9), None);
        assert_eq!(plan.members(9), [] as [usize; 0]);
    }

    #[test]
    fn group_by_nothing_is_one_group() {
        let s = [tags(&[("h", "a")]), tags(&[("h", "b")])];
        let plan = GroupPlan::new(Some(&[]), s.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan.members(0), [0, 1]);
        let none = GroupPlan::new(Some(&[]), std::iter::empty()).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn unsorted_series_are_refused() {
        let s = [tags(&[("h", "b")]), tags(&[("h", "a")])];
        assert!(GroupPlan::new(None, s.iter().map(Vec::as_slice)).is_err());
        let d = [tags(&[("h", "a")]), tags(&[("h", "a")])];
        assert!(GroupPlan::new(None, d.iter().map(Vec::as_slice)).is_err());
    }
}
