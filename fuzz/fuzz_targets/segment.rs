//! cargo-fuzz target `segment`: see `tidestore_fuzz::segment` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: tidestore_fuzz::segment::Input| tidestore_fuzz::segment::run(&input));
