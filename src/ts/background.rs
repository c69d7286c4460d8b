//! The background thread: flushes frozen heads (first) and runs compactions, until the
//! database closes. A failure poisons the database and the thread goes idle.

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::error::Result;
use crate::ts::engine::{Inner, lock};
use crate::ts::{compaction, flush};

/// Compactions run per wake-up at most, so a flush is never kept waiting long.
const COMPACTIONS_PER_WAKE: usize = 4;

/// Starts the background thread.
pub(crate) fn spawn(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    let handle = std::thread::Builder::new()
        .name("tidestore-ts-bg".into())
        .spawn(move || run(&inner))?;
    Ok(handle)
}

fn run(inner: &Inner) {
    loop {
        {
            let mut bg = lock(&inner.bg);
            while !bg.pending && !bg.shutdown {
                bg = inner
                    .bg_wake
                    .wait(bg)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if bg.shutdown {
                return;
            }
            bg.pending = false;
        }
        if inner.check_writable().is_err() {
            continue;
        }
        if flush::flush_all(inner).is_err() {
            continue;
        }
        for round in 0..COMPACTIONS_PER_WAKE {
            if lock(&inner.bg).shutdown {
                return;
            }
            // A pending flush goes first: stop compacting and loop around.
            if !inner.current_view().sealed.is_empty() {
                inner.wake_background();
                break;
            }
            match compaction::compact_auto(inner) {
                Ok(true) if round + 1 == COMPACTIONS_PER_WAKE => inner.wake_background(),
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
        }
    }
}

/// Stops the background thread and waits for it.
pub(crate) fn stop(inner: &Inner, handle: JoinHandle<()>) {
    lock(&inner.bg).shutdown = true;
    inner.bg_wake.notify_all();
    let _ = handle.join();
}
