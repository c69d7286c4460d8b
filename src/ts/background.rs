//! The background worker: flushes frozen heads (first) and runs compactions, until the
//! database closes. A failure poisons the database and the worker goes idle; a panic
//! poisons it too.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::engine::worker::Worker;
use crate::error::Result;
use crate::ts::core::inner::Inner;
use crate::ts::{compaction, flush};

/// Compactions run per wake-up at most, so a flush is never kept waiting long.
const COMPACTIONS_PER_WAKE: usize = 4;

/// Starts the background worker.
pub(crate) fn spawn(inner: &Arc<Inner>) -> Result<Worker> {
    let panicked = Arc::clone(inner);
    let working = Arc::clone(inner);
    Worker::spawn(
        "tidestore-ts-bg",
        &inner.wakeup,
        None,
        move || {
            panicked
                .poison
                .set("the background thread tidestore-ts-bg panicked");
        },
        move || {
            run_once(&working);
            ControlFlow::Continue(())
        },
    )
}

/// One wake-up's work: every pending flush, then a few compactions.
fn run_once(inner: &Inner) {
    if inner.poison.is_set() {
        return;
    }
    if flush::flush_all(inner).is_err() {
        return;
    }
    for round in 0..COMPACTIONS_PER_WAKE {
        if inner.wakeup.is_stopping() {
            return;
        }
        // A pending flush goes first: stop compacting and come back.
        if !inner.current_view().frozen.is_empty() {
            inner.wakeup.wake();
            return;
        }
        match compaction::compact_auto(inner) {
            Ok(true) if round + 1 == COMPACTIONS_PER_WAKE => inner.wakeup.wake(),
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
    }
}
