//! An engine handle shared by Python threads, usable until it is closed.
//!
//! Calls take a read lock for their whole duration with the GIL released, so any number
//! of threads use the handle at once (the engine handles are `Send + Sync`); `close`
//! takes the write lock, which waits for the calls in progress, then takes the handle
//! out. Every lock is taken with the GIL released: a thread holding the GIL never
//! waits for one, so no thread can hold a lock while waiting for the GIL that the
//! lock's waiter holds.

use std::sync::{RwLock, RwLockReadGuard};

use pyo3::prelude::*;

use crate::error::Failure;

/// A closable, shareable engine handle.
pub struct Handle<T> {
    inner: RwLock<Option<T>>,
    /// What the handle is, for "the ... is closed".
    what: &'static str,
}

impl<T: Send + Sync> Handle<T> {
    pub fn new(value: T, what: &'static str) -> Self {
        Handle {
            inner: RwLock::new(Some(value)),
            what,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<T>> {
        // A panic while a lock was held cannot leave an engine handle half-changed
        // (the lock guards only the Option), so a poisoned lock is still usable.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the handle with the GIL released.
    pub fn run<R, F>(&self, py: Python<'_>, f: F) -> PyResult<R>
    where
        R: Send,
        F: FnOnce(&T) -> Result<R, Failure> + Send,
    {
        py.detach(|| match self.read().as_ref() {
            Some(h) => f(h),
            None => Err(Failure::Closed(self.what)),
        })
        .map_err(|e| e.into_py(py))
    }

    /// Takes the handle out (waiting for calls in progress) and runs `close` on it with
    /// the GIL released. Closing a closed handle does nothing.
    pub fn close<F>(&self, py: Python<'_>, close: F) -> PyResult<()>
    where
        F: FnOnce(T) -> Result<(), Failure> + Send,
    {
        py.detach(|| {
            let taken = self.inner.write().unwrap_or_else(|e| e.into_inner()).take();
            match taken {
                Some(h) => close(h),
                None => Ok(()),
            }
        })
        .map_err(|e| e.into_py(py))
    }

    /// True once closed.
    pub fn is_closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.read().is_none())
    }
}
