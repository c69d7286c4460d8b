//! [`History`]: what a power cut under `SyncMode::Os` may leave behind.
//!
//! Under `SyncMode::Os` a write is acknowledged once the OS has it, so a power cut may
//! lose any suffix of the writes since the last point the harness knows to be durable
//! (a flush, a compaction, a clean reopen). Recovery must return one of the states in
//! between, never a mix. The `kv_model` and `ts_model` targets record those states here,
//! each with its own model type.

/// Every acknowledged state since the last point known durable.
pub struct History<M> {
    states: Vec<M>,
    /// Index of the oldest state recovery may return.
    floor: usize,
}

impl<M: Clone> History<M> {
    /// A history whose only (and durable) state is `model`.
    pub fn new(model: &M) -> Self {
        History {
            states: vec![model.clone()],
            floor: 0,
        }
    }

    /// `model` is the state after one more acknowledged write.
    pub fn acked(&mut self, model: &M) {
        self.states.push(model.clone());
    }

    /// The latest state is durable: recovery may no longer return older ones.
    pub fn durable(&mut self) {
        self.floor = self.states.len() - 1;
    }

    /// The states recovery may return, oldest first (never empty).
    pub fn allowed(&self) -> &[M] {
        &self.states[self.floor..]
    }

    /// The latest acknowledged state.
    pub fn latest(&self) -> &M {
        self.states.last().expect("a history is never empty")
    }
}
