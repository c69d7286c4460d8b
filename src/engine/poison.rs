//! Poisoning: how a handle stops accepting writes after a failure it cannot undo.
//!
//! After a failed WAL append or fsync, a failed table or manifest write, or a panic in
//! a background thread, the durable state is uncertain (after a failed fsync the page
//! cache cannot be trusted either). The handle then refuses every later write, flush
//! and compaction with [`Error::Poisoned`], which names the first cause; reads go on,
//! and reopening recovers the last durable state. Both engines, the WAL and the
//! manifest keep such a state; this module is its one definition.
//!
//! [`PanicGuard`] sets it when a thread unwinds: a background worker that panics
//! poisons its handle instead of leaving writers waiting for work that never comes.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The first failure that poisoned a handle, once there is one. Setting it is
/// lock-free and happens once; checking it is one atomic load.
#[derive(Debug, Default)]
pub(crate) struct Poison {
    why: OnceLock<String>,
}

impl Poison {
    /// [`Error::Poisoned`] (naming the first cause) once poisoned.
    #[inline]
    pub(crate) fn check(&self) -> Result<()> {
        match self.why.get() {
            Some(why) => Err(Error::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    /// Whether the handle is poisoned.
    #[inline]
    pub(crate) fn is_set(&self) -> bool {
        self.why.get().is_some()
    }

    /// Poisons with `why` as the cause, unless already poisoned (the first cause is
    /// kept). Returns whether this call poisoned.
    pub(crate) fn set(&self, why: impl Into<String>) -> bool {
        self.why.set(why.into()).is_ok()
    }

    /// Whether `e` leaves the durable state uncertain, so that it must poison: every
    /// error but the caller's own (bad input, a missing point) and an earlier
    /// poisoning.
    pub(crate) fn is_fatal(e: &Error) -> bool {
        !matches!(
            e,
            Error::InvalidArgument(_) | Error::NotFound(_) | Error::Poisoned(_)
        )
    }

    /// Passes `r` through, poisoning first if it is a fatal error
    /// ([`Poison::is_fatal`]).
    pub(crate) fn on_err<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && Self::is_fatal(e)
        {
            self.set(e.to_string());
        }
        r
    }
}

/// Calls its function if dropped while the thread is unwinding from a panic; does
/// nothing when dropped normally. Hold one across work whose panic must poison
/// something (a background worker's loop, the WAL leader's I/O).
pub(crate) struct PanicGuard<F: FnOnce()> {
    on_panic: Option<F>,
}

impl<F: FnOnce()> PanicGuard<F> {
    /// A guard calling `on_panic` if its thread panics while it lives.
    pub(crate) fn new(on_panic: F) -> Self {
        PanicGuard {
            on_panic: Some(on_panic),
        }
    }
}

impl<F: FnOnce()> Drop for PanicGuard<F> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(f) = self.on_panic.take()
        {
            f();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_first_cause_is_kept_and_reported() {
        let p = Poison::default();
        assert!(p.check().is_ok() && !p.is_set());
        assert!(p.set("disk full"));
        assert!(!p.set("second"));
        match p.check() {
            Err(Error::Poisoned(why)) => assert_eq!(why, "disk full"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_fatal_errors_poison() {
        let p = Poison::default();
        let bad_input: Result<()> = Err(Error::invalid("no"));
        assert!(p.on_err(bad_input).is_err());
        assert!(p.on_err::<()>(Err(Error::NotFound("x".into()))).is_err());
        assert!(!p.is_set());
        let p2 = Poison::default();
        assert!(
            p2.on_err::<()>(Err(Error::internal("broken invariant")))
                .is_err()
        );
        assert!(matches!(p2.check(), Err(Error::Poisoned(w)) if w.contains("broken invariant")));
        let io = std::io::Error::other("fsync failed");
        assert!(p.on_err::<()>(Err(Error::from(io))).is_err());
        assert!(p.is_set());
    }

    #[test]
    fn a_panic_under_the_guard_poisons_and_a_normal_drop_does_not() {
        let p = Arc::new(Poison::default());
        {
            let q = Arc::clone(&p);
            let _g = PanicGuard::new(move || {
                q.set("never");
            });
        }
        assert!(!p.is_set());
        let q = Arc::clone(&p);
        let joined = std::thread::spawn(move || {
            let _g = PanicGuard::new(move || {
                q.set("worker panicked");
            });
            panic!("boom");
        })
        .join();
        assert!(joined.is_err());
        assert!(matches!(p.check(), Err(Error::Poisoned(w)) if w == "worker panicked"));
    }
}
