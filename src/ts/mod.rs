//! The time-series engine (seed: SimpleEmbedTimeSeriesDB).
pub mod segment;
