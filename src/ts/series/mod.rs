//! Series identity: the [`key`] (metric and tags) and points, the [`catalog`] that
//! gives every series its id (with its tag [`postings`] and [`key_index`]) and the
//! [`catalog_log`] that persists it.

pub mod catalog;
pub(crate) mod catalog_log;
pub mod key;
pub(crate) mod key_index;
pub(crate) mod postings;
