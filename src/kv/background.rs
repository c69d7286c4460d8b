//! The background threads: one flushes frozen memtables, one runs compactions.
//!
//! Flushes get their own thread so that a long compaction never holds up the flush that
//! unblocks stalled writers. Both sleep on the state's `work_cv`, stop promptly at
//! shutdown (long jobs poll the shutting-down flag and discard partial output) and, on
//! an error, poison the store: later writes get [`crate::Error::Poisoned`], reads go on.

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::Result;
use crate::kv::compaction::needs_compaction;
use crate::kv::inner::{Inner, lock, wait};

/// Starts the flush and compaction threads.
pub(crate) fn start(inner: &Arc<Inner>) -> Result<Vec<JoinHandle<()>>> {
    let mut threads = Vec::with_capacity(2);
    let flush = Arc::clone(inner);
    threads.push(
        std::thread::Builder::new()
            .name("tidestore-flush".into())
            .spawn(move || flush_loop(&flush))?,
    );
    let compact = Arc::clone(inner);
    let spawned = std::thread::Builder::new()
        .name("tidestore-compact".into())
        .spawn(move || compaction_loop(&compact));
    match spawned {
        Ok(t) => threads.push(t),
        Err(e) => {
            stop(inner, threads);
            return Err(e.into());
        }
    }
    Ok(threads)
}

/// Asks the threads to stop and waits for them.
pub(crate) fn stop(inner: &Inner, threads: Vec<JoinHandle<()>>) {
    inner
        .shutting_down
        .store(true, std::sync::atomic::Ordering::Release);
    {
        let mut st = lock(&inner.state);
        st.shutdown = true;
        inner.work_cv.notify_all();
        inner.progress_cv.notify_all();
    }
    for t in threads {
        // A panicking job already poisoned nothing it could; nothing more to do.
        let _ = t.join();
    }
}

fn flush_loop(inner: &Inner) {
    loop {
        {
            let mut st = lock(&inner.state);
            loop {
                if st.shutdown {
                    return;
                }
                if inner.poison.get().is_none() && !st.frozen.is_empty() {
                    break;
                }
                st = wait(&inner.work_cv, st);
            }
        }
        if let Err(e) = inner.flush_oldest() {
            inner.poison_with(&e);
        }
    }
}

fn compaction_loop(inner: &Inner) {
    loop {
        {
            let mut st = lock(&inner.state);
            loop {
                if st.shutdown {
                    return;
                }
                if inner.poison.get().is_none()
                    && needs_compaction(st.versions.current(), &inner.opts)
                {
                    break;
                }
                st = wait(&inner.work_cv, st);
            }
        }
        if let Err(e) = inner.compact_while_needed() {
            inner.poison_with(&e);
        }
    }
}
