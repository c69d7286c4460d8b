//! [`QueryColumns`]: a query's answer as columns, every group's tags shared rather than
//! copied, and [`GroupKey`], the tags of one group.
//!
//! [`Db::query`](crate::ts::Db::query) answers with one [`Group`] per group, each
//! owning its tags as strings: a query over a thousand series of ten tags allocates
//! twenty thousand strings (and the caller frees them), which costs more than reading
//! a day of chunk summaries. [`Db::query_columns`](crate::ts::Db::query_columns)
//! answers the same query with the series' keys shared with the catalog.

use std::sync::Arc;

use super::group::Group;
use crate::ts::series::key::SeriesKey;

/// The tags of one group of a [`QueryColumns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKey(Tags);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    /// Without `group_by`: the group's one series, shared with the catalog.
    Series(Arc<SeriesKey>),
    /// With `group_by`: the group's `(key, value)` pairs.
    Pairs(Vec<(String, String)>),
}

impl GroupKey {
    pub(crate) fn series(key: &Arc<SeriesKey>) -> GroupKey {
        GroupKey(Tags::Series(Arc::clone(key)))
    }

    pub(crate) fn pairs(pairs: Vec<(String, String)>) -> GroupKey {
        GroupKey(Tags::Pairs(pairs))
    }

    /// The group's tags, as [`Group::tags`] holds them: the series' tags sorted by key
    /// without `group_by`, the `group_by` pairs in the order of its keys with it.
    pub fn tags(&self) -> &[(String, String)] {
        match &self.0 {
            Tags::Series(key) => key.tags(),
            Tags::Pairs(pairs) => pairs,
        }
    }

    /// The group's series, when the query has no `group_by` (one group per series).
    pub fn series_key(&self) -> Option<&Arc<SeriesKey>> {
        match &self.0 {
            Tags::Series(key) => Some(key),
            Tags::Pairs(_) => None,
        }
    }
}

/// A query's answer as columns: group `i` has tags `keys[i]` and the buckets
/// `timestamps[offsets[i]..offsets[i + 1]]` with the values at the same places of
/// `values`. Groups come in the order of [`Db::query`](crate::ts::Db::query), which
/// holds the same answer as one [`Group`] per group ([`QueryColumns::into_groups`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryColumns {
    /// The groups' tags, sorted.
    pub keys: Vec<GroupKey>,
    /// Where each group's buckets start in `timestamps` and `values`, and one more
    /// entry: their length.
    pub offsets: Vec<usize>,
    /// The starts of each group's non-empty buckets, ascending within a group.
    pub timestamps: Vec<i64>,
    /// One result per bucket.
    pub values: Vec<f64>,
}

/// One group of a [`QueryColumns`], borrowed: a [`Group`] without the copies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupView<'a> {
    /// The group's tags (see [`GroupKey::tags`]).
    pub tags: &'a [(String, String)],
    /// The starts of its non-empty buckets, ascending.
    pub timestamps: &'a [i64],
    /// One result per bucket.
    pub values: &'a [f64],
}

impl Default for QueryColumns {
    fn default() -> Self {
        QueryColumns {
            keys: Vec::new(),
            offsets: vec![0],
            timestamps: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl QueryColumns {
    /// The number of groups.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no group has a point.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Group `i`: its tags, bucket starts and values.
    pub fn group(&self, i: usize) -> Option<GroupView<'_>> {
        let key = self.keys.get(i)?;
        let (&from, &to) = (self.offsets.get(i)?, self.offsets.get(i + 1)?);
        Some(GroupView {
            tags: key.tags(),
            timestamps: self.timestamps.get(from..to)?,
            values: self.values.get(from..to)?,
        })
    }

    /// Every group in order, as [`group`](Self::group) gives it.
    pub fn iter(&self) -> impl Iterator<Item = GroupView<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.group(i))
    }

    /// One [`Group`] per group, as [`Db::query`](crate::ts::Db::query) returns them.
    pub fn into_groups(self) -> Vec<Group> {
        self.iter()
            .map(|g| Group {
                tags: g.tags.to_vec(),
                timestamps: g.timestamps.to_vec(),
                values: g.values.to_vec(),
            })
            .collect()
    }

    /// Appends a group whose buckets are `timestamps` and `values` (as long).
    pub(crate) fn push(&mut self, key: GroupKey, timestamps: &[i64], values: &[f64]) {
        self.keys.push(key);
        self.timestamps.extend_from_slice(timestamps);
        self.values.extend_from_slice(values);
        self.offsets.push(self.timestamps.len());
    }
}
