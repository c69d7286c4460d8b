//! The time-series engine (seed: SimpleEmbedTimeSeriesDB).
