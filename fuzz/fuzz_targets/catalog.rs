//! cargo-fuzz target `catalog`: see `tidestore_fuzz::catalog` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: tidestore_fuzz::catalog::Input| tidestore_fuzz::catalog::run(&input));
