//! cargo-fuzz target `kv_model`: see `tidestore_fuzz::kv` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: tidestore_fuzz::kv::Input| tidestore_fuzz::kv::run(&input));
