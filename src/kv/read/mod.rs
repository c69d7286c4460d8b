//! The read path: point gets and range iterators over one view ([`range`]), built from
//! the k-way [`merge`] of memtables and tables, the per-level concatenation
//! ([`level_iter`]) and the filter that shows one sequence number's view ([`visible`]).

pub(crate) mod level_iter;
pub(crate) mod merge;
pub(crate) mod range;
pub(crate) mod visible;

#[cfg(test)]
mod tests;
