//! File primitives shared by the key-value store and the time-series engine: the
//! file-system seam, the write-ahead log, the manifest and the directory lock.

pub mod fs;
