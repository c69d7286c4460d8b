//! The parent's log of acknowledgements, and the two checks of a recovered state.
//!
//! [`Ledger`] holds the state that follows from every acknowledged write, and the
//! writes in flight (begun, not acknowledged: at most one per writer thread, and since
//! a thread owns its keys, at most one per key). After a kill, [`Ledger::settle`]
//! requires of the recovered state, key by key:
//!
//! - a key holds the value of its last acknowledged write, or the value the write in
//!   flight on it would leave: an acknowledged write is never lost, a deleted key
//!   never comes back unless rewritten, and no value appears that was never written;
//! - a write in flight took effect on all of its keys or on none (a batch is atomic).
//!
//! [`Since`] serves the power cuts of `SyncMode::Interval` and `SyncMode::Os`: it keeps
//! the state at the last durable point and every acknowledged write after it, and
//! [`Since::find`] requires the recovered state to be the state after one of those
//! prefixes: a suffix of the writes may be lost, nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{Debug, Write as _};

use crate::load::{Changes, Outcome, apply};

/// Who wrote a key last (for the messages).
#[derive(Clone, Copy)]
pub struct Origin {
    /// The round (child process or session).
    pub round: u64,
    /// The writer thread.
    pub thread: usize,
    /// The thread's step number.
    pub seq: u64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "round {} thread {} step {}",
            self.round, self.thread, self.seq
        )
    }
}

/// A write begun and not acknowledged.
struct Pending<K, V> {
    seq: u64,
    changes: Changes<K, V>,
    outcome: Outcome,
    what: String,
}

/// Counters of what was checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Writes acknowledged.
    pub acked: u64,
    /// Writes in flight at a kill found applied by recovery.
    pub inflight_applied: u64,
    /// Writes in flight at a kill found not applied.
    pub inflight_lost: u64,
    /// Key comparisons against the acknowledged state after a recovery.
    pub keys_verified: u64,
    /// Recoveries checked.
    pub recoveries: u64,
}

/// The acknowledged state and the writes in flight.
pub struct Ledger<K, V> {
    state: BTreeMap<K, V>,
    origin: BTreeMap<K, Origin>,
    pending: BTreeMap<usize, Pending<K, V>>,
    /// What was checked so far.
    pub tally: Tally,
}

impl<K: Ord + Clone + Debug, V: Eq + Clone + Debug> Ledger<K, V> {
    /// An empty ledger (a new database).
    pub fn new() -> Self {
        Ledger {
            state: BTreeMap::new(),
            origin: BTreeMap::new(),
            pending: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// The acknowledged state.
    pub fn state(&self) -> &BTreeMap<K, V> {
        &self.state
    }

    /// Thread `thread` began write `seq` (described by `what`) with these effects.
    pub fn begin(
        &mut self,
        thread: usize,
        seq: u64,
        changes: Changes<K, V>,
        outcome: Outcome,
        what: String,
    ) -> Result<(), String> {
        if let Some(old) = self.pending.get(&thread) {
            return Err(format!(
                "thread {thread} began step {seq} while step {} is in flight",
                old.seq
            ));
        }
        let p = Pending {
            seq,
            changes,
            outcome,
            what,
        };
        self.pending.insert(thread, p);
        Ok(())
    }

    /// Thread `thread` acknowledged write `seq` of round `round`, which returned
    /// `outcome`.
    pub fn ack(
        &mut self,
        round: u64,
        thread: usize,
        seq: u64,
        outcome: Outcome,
    ) -> Result<(), String> {
        let p = match self.pending.remove(&thread) {
            Some(p) if p.seq == seq => p,
            _ => {
                return Err(format!(
                    "thread {thread} acknowledged step {seq}, not in flight"
                ));
            }
        };
        if outcome != p.outcome {
            return Err(format!(
                "thread {thread} step {seq} ({}) returned {outcome:?}; the acknowledged \
                 state says {:?}",
                p.what, p.outcome
            ));
        }
        let origin = Origin { round, thread, seq };
        for k in p.changes.keys() {
            self.origin.insert(k.clone(), origin);
        }
        apply(&mut self.state, &p.changes);
        self.tally.acked += 1;
        Ok(())
    }

    /// Checks `got`, the state recovered after a kill (see the module documentation),
    /// and makes it the acknowledged state. `atomic` says which keys take part in the
    /// all-or-nothing check of a write in flight.
    pub fn settle(
        &mut self,
        got: &BTreeMap<K, V>,
        atomic: impl Fn(&K) -> bool,
    ) -> Result<(), String> {
        let mut keys: BTreeSet<&K> = self.state.keys().chain(got.keys()).collect();
        for p in self.pending.values() {
            keys.extend(p.changes.keys());
        }
        let mut bad = 0usize;
        let mut report = String::new();
        for k in keys {
            let (want, have) = (self.state.get(k), got.get(k));
            if want == have {
                continue;
            }
            let in_flight = self
                .pending
                .values()
                .any(|p| p.changes.get(k).is_some_and(|v| v.as_ref() == have));
            if in_flight {
                continue;
            }
            bad += 1;
            if bad <= 8 {
                let what = match (want, have) {
                    (Some(_), None) => "LOST acknowledged write",
                    (None, Some(_)) => {
                        "present, but deleted or never written by an acknowledged write"
                    }
                    _ => "WRONG value",
                };
                let by = self
                    .origin
                    .get(k)
                    .map_or("an earlier recovery".to_owned(), Origin::to_string);
                let _ = writeln!(
                    report,
                    "  {k:?}: {what}: acknowledged {want:?} (written by {by}), recovered {have:?}"
                );
            }
        }
        for (thread, p) in &self.pending {
            let mut applied = BTreeSet::new();
            for (k, after) in &p.changes {
                let before = self.state.get(k);
                if !atomic(k) || before == after.as_ref() {
                    continue;
                }
                applied.insert(got.get(k) == after.as_ref());
            }
            match (applied.contains(&true), applied.contains(&false)) {
                (true, true) => {
                    bad += 1;
                    let _ = writeln!(
                        report,
                        "  write in flight of thread {thread} (step {}: {}) applied only in part",
                        p.seq, p.what
                    );
                }
                (true, false) => self.tally.inflight_applied += 1,
                (false, true) => self.tally.inflight_lost += 1,
                (false, false) => {} // changes nothing
            }
        }
        if bad > 0 {
            return Err(format!(
                "{bad} keys differ from the acknowledged state ({} keys acknowledged, {} \
                 recovered, {} writes in flight):\n{report}",
                self.state.len(),
                got.len(),
                self.pending.len()
            ));
        }
        self.tally.keys_verified += self.state.len().max(got.len()) as u64;
        self.tally.recoveries += 1;
        self.reset(got);
        Ok(())
    }

    /// Makes `got` the acknowledged state (keeping the origins of unchanged keys) and
    /// forgets the writes in flight.
    pub fn reset(&mut self, got: &BTreeMap<K, V>) {
        let state = &self.state;
        self.origin
            .retain(|k, _| got.get(k).is_some_and(|v| state.get(k) == Some(v)));
        self.state = got.clone();
        self.pending.clear();
    }

    /// Whether `seq` is thread `thread`'s write in flight.
    pub fn is_pending(&self, thread: usize, seq: u64) -> bool {
        self.pending.get(&thread).is_some_and(|p| p.seq == seq)
    }

    /// Whether a write is in flight.
    pub fn in_flight(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// The acknowledged writes since the last durable point (for power cuts under
/// `SyncMode::Interval` and `SyncMode::Os`).
pub struct Since<K, V> {
    floor: BTreeMap<K, V>,
    writes: Vec<Changes<K, V>>,
    /// The shortest prefix allowed (writes known durable without a new floor).
    least: usize,
}

impl<K: Ord + Clone + Debug, V: Eq + Clone + Debug> Since<K, V> {
    /// `state` is durable, with no write after it.
    pub fn new(state: &BTreeMap<K, V>) -> Self {
        Since {
            floor: state.clone(),
            writes: Vec::new(),
            least: 0,
        }
    }

    /// Every write so far is durable (without moving the floor).
    pub fn require_all(&mut self) {
        self.least = self.writes.len();
    }

    /// One more acknowledged write.
    pub fn push(&mut self, changes: Changes<K, V>) {
        self.writes.push(changes);
    }

    /// Writes acknowledged since the durable point.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// The longest prefix of the writes since the durable point (no shorter than the
    /// writes required by [`Since::require_all`]) after which the state is `got`; an
    /// error if there is none.
    pub fn find(&self, got: &BTreeMap<K, V>) -> Result<usize, String> {
        let mut cand = self.floor.clone();
        let differs = |cand: &BTreeMap<K, V>, k: &K| cand.get(k) != got.get(k);
        let mut bad = {
            let keys: BTreeSet<&K> = cand.keys().chain(got.keys()).collect();
            keys.into_iter().filter(|k| differs(&cand, k)).count()
        };
        // (differing keys, prefix) of the allowed prefix closest to `got`.
        let mut closest: Option<(usize, usize)> = None;
        let mut consider = |bad: usize, n: usize| {
            if n >= self.least && closest.is_none_or(|(b, _)| bad <= b) {
                closest = Some((bad, n));
            }
        };
        consider(bad, 0);
        for (i, changes) in self.writes.iter().enumerate() {
            for (k, v) in changes {
                let was = differs(&cand, k);
                match v {
                    Some(v) => cand.insert(k.clone(), v.clone()),
                    None => cand.remove(k),
                };
                let is = differs(&cand, k);
                bad = bad + usize::from(is) - usize::from(was);
            }
            consider(bad, i + 1);
        }
        match closest {
            Some((0, n)) => Ok(n),
            Some((_, n)) => Err(self.explain(got, n)),
            None => Err(self.explain(got, self.writes.len())),
        }
    }

    /// Why `got` is no prefix state: its differences from the closest one.
    fn explain(&self, got: &BTreeMap<K, V>, prefix: usize) -> String {
        let mut cand = self.floor.clone();
        for changes in &self.writes[..prefix] {
            apply(&mut cand, changes);
        }
        let keys: BTreeSet<&K> = cand.keys().chain(got.keys()).collect();
        let diff: Vec<String> = keys
            .into_iter()
            .filter(|k| cand.get(k) != got.get(k))
            .map(|k| {
                let durable = if self.floor.get(k) == cand.get(k) {
                    " (already so at the durable point)"
                } else {
                    ""
                };
                format!(
                    "  {k:?}: prefix {:?}{durable}, recovered {:?}",
                    cand.get(k),
                    got.get(k)
                )
            })
            .collect();
        format!(
            "the recovered state is the state after no prefix of the {} writes acknowledged \
             since the last durable point (at least {} of them durable); the closest, after \
             {prefix} of them, differs in {} keys:\n{}",
            self.writes.len(),
            self.least,
            diff.len(),
            diff.iter().take(8).cloned().collect::<Vec<_>>().join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    //! The checks themselves must fail when they should.

    use super::*;

    type L = Ledger<u32, u32>;

    fn changes(kv: &[(u32, Option<u32>)]) -> Changes<u32, u32> {
        kv.iter().copied().collect()
    }

    fn map(kv: &[(u32, u32)]) -> BTreeMap<u32, u32> {
        kv.iter().copied().collect()
    }

    /// Keys 1 and 2 acknowledged, key 3 deleted.
    fn ledger() -> L {
        let mut l = L::new();
        let steps = [
            changes(&[(1, Some(10)), (3, Some(30))]),
            changes(&[(2, Some(20)), (3, None)]),
        ];
        for (seq, ch) in steps.into_iter().enumerate() {
            l.begin(0, seq as u64, ch, Outcome::Done, String::new())
                .unwrap();
            l.ack(0, 0, seq as u64, Outcome::Done).unwrap();
        }
        l
    }

    #[test]
    fn settle_finds_lost_wrong_and_resurrected_keys() {
        assert!(ledger().settle(&map(&[(1, 10), (2, 20)]), |_| true).is_ok());
        let lost = ledger().settle(&map(&[(1, 10)]), |_| true).unwrap_err();
        assert!(lost.contains("LOST"), "{lost}");
        let wrong = ledger()
            .settle(&map(&[(1, 10), (2, 21)]), |_| true)
            .unwrap_err();
        assert!(wrong.contains("WRONG"), "{wrong}");
        let back = ledger().settle(&map(&[(1, 10), (2, 20), (3, 30)]), |_| true);
        assert!(back.unwrap_err().contains("deleted"));
    }

    #[test]
    fn a_write_in_flight_is_all_or_nothing() {
        let in_flight = || {
            let mut l = ledger();
            let ch = changes(&[(1, Some(11)), (2, None), (4, Some(40))]);
            l.begin(1, 0, ch, Outcome::Done, "batch".into()).unwrap();
            l
        };
        let before = map(&[(1, 10), (2, 20)]);
        let after = map(&[(1, 11), (4, 40)]);
        assert!(in_flight().settle(&before, |_| true).is_ok());
        assert!(in_flight().settle(&after, |_| true).is_ok());
        let torn = in_flight()
            .settle(&map(&[(1, 11), (2, 20)]), |_| true)
            .unwrap_err();
        assert!(torn.contains("only in part"), "{torn}");
        // A key left out of the all-or-nothing check may go either way.
        let key4_apart = in_flight().settle(&map(&[(1, 11)]), |k| *k != 4);
        assert!(key4_apart.is_ok());
        // A value no write ever wrote is wrong even in flight.
        assert!(
            in_flight()
                .settle(&map(&[(1, 12), (4, 40)]), |_| true)
                .is_err()
        );
    }

    #[test]
    fn acknowledgements_must_match_what_was_begun() {
        let mut l = ledger();
        assert!(l.ack(0, 0, 7, Outcome::Done).is_err(), "never begun");
        l.begin(0, 7, changes(&[]), Outcome::NotFound, "update".into())
            .unwrap();
        assert!(
            l.begin(0, 8, changes(&[]), Outcome::Done, String::new())
                .is_err()
        );
        assert!(
            l.ack(0, 0, 7, Outcome::Done)
                .unwrap_err()
                .contains("NotFound")
        );
    }

    #[test]
    fn since_accepts_prefixes_only() {
        let mut s = Since::new(&map(&[(1, 10)]));
        s.push(changes(&[(2, Some(20))]));
        s.push(changes(&[(1, None), (3, Some(30))]));
        s.push(changes(&[(2, Some(21))]));
        assert_eq!(s.find(&map(&[(1, 10)])), Ok(0));
        assert_eq!(s.find(&map(&[(1, 10), (2, 20)])), Ok(1));
        assert_eq!(s.find(&map(&[(2, 20), (3, 30)])), Ok(2));
        assert_eq!(s.find(&map(&[(2, 21), (3, 30)])), Ok(3));
        // The third write without the second, a torn second, a lost floor.
        assert!(s.find(&map(&[(1, 10), (2, 21)])).is_err());
        assert!(s.find(&map(&[(2, 20)])).is_err());
        assert!(s.find(&map(&[])).is_err());
        s.require_all();
        assert!(
            s.find(&map(&[(2, 20), (3, 30)])).is_err(),
            "below the durable writes"
        );
        assert_eq!(s.find(&map(&[(2, 21), (3, 30)])), Ok(3));
    }
}
