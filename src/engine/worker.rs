//! Background workers: threads that sleep until there is work, run a job, and stop
//! when their handle closes.
//!
//! A [`Wakeup`] is the signal: [`Wakeup::wake`] asks every worker started on it to run
//! its job (again); [`Wakeup::stop`] asks them to exit, and long jobs poll
//! [`Wakeup::is_stopping`] to return early. Wake-ups are never lost: one that arrives
//! while a job runs makes it run once more. A worker may also run on a timer (`tick`),
//! like the WAL's interval syncer.
//!
//! A [`Worker`] owns the thread: dropping it stops the workers of its `Wakeup` and
//! joins the thread, so a handle that owns its workers (in a [`Workers`]) cannot
//! outlive them. A job that panics runs the worker's `on_panic` (which poisons the
//! handle) and ends the thread.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::lock::{lock, wait, wait_timeout};
use super::poison::PanicGuard;
use crate::error::Result;

/// What the workers of one handle wait on.
#[derive(Debug, Default)]
pub(crate) struct Wakeup {
    flags: Mutex<Flags>,
    cv: Condvar,
    /// `Flags::stop`, readable without the lock.
    stopping: AtomicBool,
}

#[derive(Debug, Default)]
struct Flags {
    /// Bumped by every wake-up; each worker remembers the last one it served.
    generation: u64,
    stop: bool,
}

impl Wakeup {
    /// A new signal, with no wake-up pending.
    pub(crate) fn new() -> Arc<Wakeup> {
        Arc::new(Wakeup::default())
    }

    /// Asks every worker on this signal to run its job soon.
    pub(crate) fn wake(&self) {
        lock(&self.flags).generation += 1;
        self.cv.notify_all();
    }

    /// Asks every worker on this signal to exit.
    pub(crate) fn stop(&self) {
        lock(&self.flags).stop = true;
        self.stopping.store(true, Ordering::Release);
        self.cv.notify_all();
    }

    /// Whether the workers were asked to exit: long jobs poll this and stop early.
    #[inline]
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Waits for a wake-up newer than `served` (or, with a `tick`, for that long).
    /// Returns `false` once asked to stop.
    fn wait(&self, served: &mut u64, tick: Option<Duration>) -> bool {
        let deadline = tick.map(|t| Instant::now() + t);
        let mut flags = lock(&self.flags);
        loop {
            if flags.stop {
                return false;
            }
            if flags.generation != *served {
                *served = flags.generation;
                return true;
            }
            match deadline {
                None => flags = wait(&self.cv, flags),
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        return true;
                    }
                    flags = wait_timeout(&self.cv, flags, at - now);
                }
            }
        }
    }
}

/// One background thread. Dropping it stops the workers of its [`Wakeup`] and waits
/// for this one's thread to exit.
#[derive(Debug)]
pub(crate) struct Worker {
    wakeup: Arc<Wakeup>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts thread `name`, which runs `job` at every wake-up of `wakeup` (and every
    /// `tick`, if given) until the `Wakeup` stops or the job returns
    /// [`ControlFlow::Break`]. If the job panics, `on_panic` runs on the unwinding
    /// thread (it should poison the handle) and the thread ends.
    pub(crate) fn spawn(
        name: &str,
        wakeup: &Arc<Wakeup>,
        tick: Option<Duration>,
        on_panic: impl FnOnce() + Send + 'static,
        mut job: impl FnMut() -> ControlFlow<()> + Send + 'static,
    ) -> Result<Worker> {
        let signal = Arc::clone(wakeup);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _poison_on_panic = PanicGuard::new(on_panic);
                let mut served = 0;
                while signal.wait(&mut served, tick) {
                    if job().is_break() {
                        return;
                    }
                }
            })?;
        Ok(Worker {
            wakeup: Arc::clone(wakeup),
            thread: Some(thread),
        })
    }

    fn stop_and_join(&mut self) {
        self.wakeup.stop();
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            // A panicked job already ran its `on_panic`; nothing is left to report.
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The workers a handle owns, stopped and joined together by [`Workers::stop`] (or
/// when dropped).
#[derive(Debug, Default)]
pub(crate) struct Workers(Mutex<Vec<Worker>>);

impl Workers {
    /// Adds a started worker.
    pub(crate) fn push(&self, w: Worker) {
        lock(&self.0).push(w);
    }

    /// Stops every worker and waits for their threads. Idempotent.
    pub(crate) fn stop(&self) {
        let workers = std::mem::take(&mut *lock(&self.0));
        for w in &workers {
            w.wakeup.stop();
        }
        drop(workers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn wakeups_run_the_job_and_are_not_lost() {
        let wakeup = Wakeup::new();
        let runs = Arc::new(AtomicU64::new(0));
        let r = Arc::clone(&runs);
        let worker = Worker::spawn(
            "test-worker",
            &wakeup,
            None,
            || {},
            move || {
                r.fetch_add(1, Ordering::SeqCst);
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "nothing runs before a wake-up"
        );
        wakeup.wake();
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!wakeup.is_stopping());
        drop(worker);
        assert!(wakeup.is_stopping());
        let after = runs.load(Ordering::SeqCst);
        wakeup.wake();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            runs.load(Ordering::SeqCst),
            after,
            "joined: nothing runs any more"
        );
    }

    #[test]
    fn a_ticking_worker_runs_without_wakeups_and_stops_on_break() {
        let wakeup = Wakeup::new();
        let runs = Arc::new(AtomicU64::new(0));
        let r = Arc::clone(&runs);
        let workers = Workers::default();
        workers.push(
            Worker::spawn(
                "test-ticker",
                &wakeup,
                Some(Duration::from_millis(1)),
                || {},
                move || {
                    if r.fetch_add(1, Ordering::SeqCst) == 2 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            )
            .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
        workers.stop();
        workers.stop();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_panicking_job_runs_on_panic() {
        let wakeup = Wakeup::new();
        let panicked = Arc::new(AtomicBool::new(false));
        let p = Arc::clone(&panicked);
        let worker = Worker::spawn(
            "test-panicker",
            &wakeup,
            None,
            move || p.store(true, Ordering::SeqCst),
            || panic!("job failed"),
        )
        .unwrap();
        wakeup.wake();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !panicked.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(worker);
    }
}
