//! cargo-fuzz target `ts_model`: see `tidestore_fuzz::ts` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: tidestore_fuzz::ts::Input| tidestore_fuzz::ts::run(&input));
