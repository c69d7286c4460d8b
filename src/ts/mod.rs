//! The time-series engine (seed: SimpleEmbedTimeSeriesDB).

pub mod catalog;
pub mod head;
mod key_index;
mod postings_mem;
pub mod segment;
pub mod series;
mod series_buf;
