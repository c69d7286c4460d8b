//! cargo-fuzz target `sstable`: see `tidestore_fuzz::sstable` and docs/fuzzing.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: tidestore_fuzz::sstable::Input| tidestore_fuzz::sstable::run(&input));
