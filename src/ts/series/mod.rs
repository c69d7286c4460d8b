//! Series identity: the [`key`] (metric and tags) and points, the [`catalog`] that
//! gives every series its id (with its tag [`postings`] and [`key_index`], its key
//! stored [`packed`] as ids of names interned once in the [`symbols`] table) and the
//! [`catalog_log`] that persists it.

pub mod catalog;
pub(crate) mod catalog_log;
pub mod key;
pub(crate) mod key_index;
pub(crate) mod packed;
pub(crate) mod postings;
pub(crate) mod symbols;
