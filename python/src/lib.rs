//! `tidestore._tidestore`: the native half of the `tidestore` Python package.
//!
//! It wraps the engine's two handles (`tidestore::Db`, `tidestore::kv::Store`) for the
//! pure-Python classes of `python/tidestore/` (`Db`, `KV`, `TimeSeriesDB`, `LSMTree`),
//! which give the public API its shape; see `docs/python.md`.
//!
//! Modules: [`handle`] (a closable handle shared by threads, GIL released during every
//! engine call), [`args`] (Python arguments into engine values), [`error`] (engine
//! errors into the exceptions of `tidestore._errors`), [`columns`] (scans gathered into
//! numpy arrays), [`query`] (queries from Python arguments, answers as columns),
//! [`seed`] (the seed's result shapes), [`db`] and [`kv`] (the classes).

use pyo3::prelude::*;

mod args;
mod columns;
mod db;
mod error;
mod handle;
mod kv;
mod query;
mod seed;

#[pymodule]
fn _tidestore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<db::NativeDb>()?;
    m.add_class::<db::NativeSeries>()?;
    m.add_class::<kv::NativeKv>()?;
    m.add_class::<kv::NativeBatch>()?;
    m.add_class::<kv::NativeRange>()?;
    m.add("ENGINE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
