//! Fixed-width bit-packing of unsigned integers (filled by the codec work).
