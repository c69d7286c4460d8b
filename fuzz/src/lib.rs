//! The harnesses behind tidestore's cargo-fuzz targets (`fuzz_targets/*.rs` are one line
//! each). See `docs/fuzzing.md` for what each target feeds the engine and checks.
//!
//! - [`codecs`]: timestamp and value column codecs: garbage decodes, round trips;
//! - [`segment`]: time-series segment files: garbage, damaged valid files, and
//!   damaged files with recomputed checksums;
//! - [`sstable`]: key-value table files, the same way;
//! - [`catalog`]: series keys, catalog entries and snapshots: garbage decodes, and a
//!   catalog built against a model;
//! - [`wal`]: log records, WAL payloads, and both engines' recovery from damaged WAL
//!   segments, manifests and catalog files;
//! - [`kv`]: `kv::Store` against a `BTreeMap` model, across reopens, process kills
//!   and power cuts;
//! - [`ts`]: `Db` against a `BTreeMap<(series, ts), value>` model, the same way.
//!
//! Only the public API of `tidestore` is used. The op language and the model of the
//! key-value store are not redefined here: `tests/support_kv/mod.rs` (shared with the
//! proptest in `tests/kv_model.rs`) and `tests/support_ts/mod.rs` (shared with
//! `tests/ts_model.rs`) are compiled into this crate as they are.

pub mod catalog;
pub mod codecs;
pub mod history;
pub mod kv;
pub mod segment;
pub mod sstable;
pub mod ts;
pub mod wal;

/// `tests/support_kv/mod.rs`: the key-value op language (`Op`), its model and `run_ops`.
#[path = "../../tests/support_kv/mod.rs"]
#[allow(clippy::all, unused_imports)]
pub mod support_kv;

/// `tests/support_ts/mod.rs`: the time-series model, series universe and comparisons.
#[path = "../../tests/support_ts/mod.rs"]
#[allow(clippy::all, unused_imports)]
pub mod support_ts;
