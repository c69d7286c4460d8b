//! cargo-fuzz target `codecs`: see `tidestore_fuzz::codecs` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: tidestore_fuzz::codecs::Input| tidestore_fuzz::codecs::run(&input));
