//! Analytics: the engine-independent half of [`Db::query`]-style questions —
//! aggregation, downsampling into time buckets, grouping of series, tag matchers and
//! value predicates.
//!
//! This module owns the *semantics* of a query and the *kernels* that compute it. It
//! reads no file and knows nothing of segments or the head: whatever reads the data
//! (the engine, or a caller folding a [`Scan`](crate::ts::Scan)) hands it sorted
//! columns of `(timestamp, value)` or chunk summaries, and it hands back [`Group`]s.
//! `docs/analytics.md` states the semantics and the contract with the engine.
//!
//! The pieces, each in its own file:
//!
//! - [`Query`] (`query.rs`): what to compute — one metric, one [`Aggregation`],
//!   [`Matcher`]s, a time range, a bucket width, group-by keys, a [`ValueFilter`];
//!   [`Query::validate`] is where bad input is reported.
//! - [`Matcher`] (`matcher.rs`, with the regex analysis in `pattern.rs`): which series
//!   take part, with Prometheus semantics, and what the engine can answer from postings
//!   ([`ValueSet`]).
//! - [`ValueFilter`] (`value_filter.rs`): a predicate on values, applied before
//!   aggregation.
//! - [`Buckets`] (`buckets.rs`): which bucket a timestamp falls in.
//! - [`ChunkSummary`] and [`ChunkAction`] (`summary.rs`): what a chunk index entry
//!   tells, and whether it answers a query without decoding the chunk.
//! - the kernels (`kernels.rs`, `quantile.rs`): per-bucket states that fold raw
//!   columns, absorb chunk summaries and merge across series.
//! - [`BucketAcc`] (`accumulator.rs`): the buckets of one series or one group.
//! - [`GroupPlan`] and [`Group`] (`group.rs`): which series form which group.
//! - [`QueryColumns`] and [`GroupKey`] (`answer.rs`): the answer as columns, the
//!   series' keys shared instead of copied into every group.
//! - [`Aggregator`] (`aggregator.rs`): ties them together for one query, including
//!   [`evaluate`], the whole computation over in-memory columns.
//!
//! [`Db::query`]: crate::ts::Db

mod accumulator;
mod aggregation;
mod aggregator;
mod answer;
mod buckets;
mod group;
mod kernels;
mod latest;
mod matcher;
mod pattern;
mod pushdown;
mod quantile;
mod query;
mod run;
mod select;
mod summary;
mod value_filter;

#[cfg(test)]
mod tests;

pub use accumulator::BucketAcc;
pub use aggregation::Aggregation;
pub use aggregator::{Aggregator, evaluate};
pub use answer::{GroupKey, GroupView, QueryColumns};
pub use buckets::Buckets;
pub use group::{Group, GroupPlan};
pub use latest::LastPoints;
pub(crate) use latest::LatestCache;
pub use matcher::{Matcher, MatcherKind, ValueSet};
pub use query::Query;
pub use summary::{ChunkAction, ChunkSummary};
pub use value_filter::ValueFilter;
