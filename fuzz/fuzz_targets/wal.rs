//! cargo-fuzz target `wal`: see `tidestore_fuzz::wal` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: tidestore_fuzz::wal::Input| tidestore_fuzz::wal::run(&input));
