//! The background workers: one flushes frozen memtables, one runs compactions.
//!
//! Flushes get their own worker so that a long compaction never holds up the flush
//! that unblocks stalled writers. Both are woken through the store's
//! [`Inner::wakeup`], stop promptly at shutdown (long jobs poll it and discard
//! partial output) and, on an error or a panic, poison the store: later writes get
//! [`crate::Error::Poisoned`], reads go on.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::Result;
use crate::engine::worker::{Worker, Workers};
use crate::kv::core::inner::Inner;

/// Starts the flush and compaction workers into `workers`.
pub(crate) fn start(inner: &Arc<Inner>, workers: &Workers) -> Result<()> {
    workers.push(spawn(inner, "tidestore-flush", flush_job)?);
    workers.push(spawn(inner, "tidestore-compact", compaction_job)?);
    Ok(())
}

fn spawn(inner: &Arc<Inner>, name: &'static str, job: fn(&Inner)) -> Result<Worker> {
    let panicked = Arc::clone(inner);
    let working = Arc::clone(inner);
    Worker::spawn(
        name,
        &inner.wakeup,
        None,
        move || panicked.poison_because(format!("the background thread {name} panicked")),
        move || {
            job(&working);
            ControlFlow::Continue(())
        },
    )
}

/// Flushes frozen memtables, oldest first, until none is left.
fn flush_job(inner: &Inner) {
    while !inner.poison.is_set() && !inner.is_shutting_down() {
        match inner.flush_oldest() {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => return inner.poison_with(&e),
        }
    }
}

/// Runs compactions until no level needs one.
fn compaction_job(inner: &Inner) {
    if inner.poison.is_set() {
        return;
    }
    if let Err(e) = inner.compact_while_needed() {
        inner.poison_with(&e);
    }
}
