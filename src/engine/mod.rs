//! The substrate both engines stand on: what `kv::Store` and `Db` share besides the
//! file primitives of [`crate::io`] and the encodings of [`crate::codec`].
//!
//! - [`lock`]: the lock helpers every module uses (a panic elsewhere never makes a
//!   lock unusable; failures are reported through [`poison`] instead);
//! - [`poison`]: the state that stops a handle accepting writes after a failure it
//!   cannot undo, and the guard that sets it when a thread panics;
//! - [`worker`]: the background-worker handle (start, wake, stop, join on drop) that
//!   runs flushes, compactions and the WAL's interval syncer;
//! - [`prefetch`]: cache prefetch hints (the scan's next chunks, the head's vector
//!   ends before a batch's appends);
//! - `options`: [`SharedOptions`], the options both engines take, which
//!   `kv::Options` and `ts::Options` embed.

pub(crate) mod lock;
mod options;
pub(crate) mod poison;
pub(crate) mod prefetch;
pub(crate) mod worker;

pub use options::SharedOptions;
pub(crate) use options::shared_setters;
