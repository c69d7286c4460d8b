//! Replays every input a fuzz target ever failed on (`fuzz/regressions/<target>/`),
//! decoded exactly as the fuzz target decodes it and run by the target's own harness
//! (`fuzz/src/*.rs`, compiled into this test by `#[path]`), so plain `cargo test`
//! keeps every finding fixed without cargo-fuzz or a nightly compiler.
//!
//! Add a finding by copying its file from `fuzz/artifacts/<target>/` into
//! `fuzz/regressions/<target>/` once it is fixed. Every target's harness compiles
//! here, so every target's directory is replayed (a target without findings has no
//! directory). `.ci/fuzz` also replays these directories under the fuzzer itself, with
//! the sanitizer on.

mod support_kv;
mod support_ts;

#[allow(dead_code)]
#[path = "../fuzz/src/history.rs"]
mod history;

#[allow(dead_code)]
#[path = "../fuzz/src/codecs.rs"]
mod codecs;

#[allow(dead_code)]
#[path = "../fuzz/src/segment.rs"]
mod segment;

#[allow(dead_code)]
#[path = "../fuzz/src/sstable.rs"]
mod sstable;

#[allow(dead_code)]
#[path = "../fuzz/src/catalog.rs"]
mod catalog;

#[allow(dead_code)]
#[path = "../fuzz/src/kv.rs"]
mod kv;

#[allow(dead_code)]
#[path = "../fuzz/src/ts.rs"]
mod ts;

#[allow(dead_code)]
#[path = "../fuzz/src/wal.rs"]
mod wal;

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};

/// The saved inputs of `target`, sorted by name (none if it has no directory).
fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// What `libfuzzer_sys::fuzz_target!` does with the bytes of a typed target: inputs
/// shorter than the type's size hint are skipped, the rest go through
/// `arbitrary_take_rest`.
fn decode<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

/// Runs every saved input of `target` through `run`; fails listing every input that
/// panics. Returns how many inputs were replayed.
fn replay<T: for<'a> Arbitrary<'a> + Debug>(target: &str, run: fn(&T)) -> usize {
    let files = inputs(target);
    let mut failed = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let input: T = decode(&bytes)
            .unwrap_or_else(|| panic!("{}: does not decode as a {target} input", file.display()));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&input)));
        if let Err(panic) = outcome {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failed.push(format!("{}: {input:?}\n  {why}", file.display()));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} saved {target} inputs fail:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    files.len()
}

#[test]
fn every_saved_codecs_input_passes() {
    replay::<codecs::Input>("codecs", codecs::run);
}

#[test]
fn every_saved_segment_input_passes() {
    replay::<segment::Input>("segment", segment::run);
}

#[test]
fn every_saved_sstable_input_passes() {
    replay::<sstable::Input>("sstable", sstable::run);
}

#[test]
fn every_saved_catalog_input_passes() {
    assert!(replay::<catalog::Input>("catalog", catalog::run) > 0);
}

#[test]
fn every_saved_kv_model_input_passes() {
    replay::<kv::Input>("kv_model", kv::run);
}

#[test]
fn every_saved_ts_model_input_passes() {
    // The 27 inputs of issue 8 at least.
    assert!(replay::<ts::Input>("ts_model", ts::run) >= 27);
}

#[test]
fn every_saved_wal_input_passes() {
    assert!(replay::<wal::Input>("wal", wal::run) > 0);
}
