//! Replays every input the `ts_model` fuzz target ever crashed on
//! (`fuzz/regressions/ts_model/`), decoded exactly as the fuzz target decodes it and
//! run by the fuzz target's own harness (`fuzz/src/ts.rs`, with its `GateFs` and
//! `History`), so plain `cargo test` keeps every finding fixed without cargo-fuzz.
//!
//! Add a new finding by copying its file from `fuzz/artifacts/ts_model/` into
//! `fuzz/regressions/ts_model/`.

mod ts_support;

#[allow(dead_code)]
#[path = "../fuzz/src/gate_fs.rs"]
mod gate_fs;

#[allow(dead_code)]
#[path = "../fuzz/src/history.rs"]
mod history;

#[path = "../fuzz/src/ts.rs"]
mod ts;

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};

/// The saved inputs, sorted by name.
fn inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/ts_model");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// What `libfuzzer_sys::fuzz_target!` does with the bytes of a typed target: inputs
/// shorter than the type's size hint are skipped, the rest go through
/// `arbitrary_take_rest`.
fn decode(bytes: &[u8]) -> Option<ts::Input> {
    if bytes.len() < <ts::Input as Arbitrary>::size_hint(0).0 {
        return None;
    }
    ts::Input::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

#[test]
fn every_saved_ts_model_input_passes() {
    let files = inputs();
    assert!(!files.is_empty(), "no saved inputs found");
    let mut failed = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let input = decode(&bytes)
            .unwrap_or_else(|| panic!("{}: does not decode as a ts_model input", file.display()));
        let outcome = std::panic::catch_unwind(|| ts::run(&input));
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
        "{} of {} saved inputs fail:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}
