//! Bloom filters for SSTables (filled by the SSTable work).
