//! The read path: a [`scan`] plans which sources hold each series ([`plan`]), and the
//! per-series [`merge`] combines the head, frozen heads and segments (with the
//! [`overlap`] reader for segments whose time ranges overlap) into one sorted,
//! de-duplicated stream with deletes applied; a point get ([`point`]) reads one
//! timestamp of one series the same way.

pub(crate) mod merge;
pub(crate) mod overlap;
pub(crate) mod plan;
pub(crate) mod point;
pub(crate) mod scan;
