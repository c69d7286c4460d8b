//! The symbol table: every distinct name of the catalog (metric, tag key, tag value)
//! stored once, and a dense `u32` symbol id for each.
//!
//! The strings sit end to end in one `String`; `ends[id]` is where symbol `id` ends
//! (it starts where the previous one ends). A name is found by an open-addressing
//! table of symbol ids (linear probing, at most half full), whose candidates are
//! compared with the stored text, so the table itself holds 4 bytes per slot and no
//! string. Per symbol that is its bytes, 4 bytes of end offset and 8 to 16 bytes of
//! table: no allocation per symbol, and a series key becomes a short array of ids
//! (`super::catalog`).

use crate::error::{Error, Result};

use super::key_index::Seeds;

/// An empty slot of the probe table.
const EMPTY: u32 = u32::MAX;

/// Interned strings with dense ids. Ids are never reused or removed.
#[derive(Default)]
pub(crate) struct Symbols {
    seeds: Seeds,
    text: String,
    /// `ends[id]`: the end offset of symbol `id` in `text`.
    ends: Vec<u32>,
    /// Symbol ids by hash; `EMPTY` for a free slot. Length zero or a power of two.
    slots: Vec<u32>,
}

impl Symbols {
    /// The text of symbol `id`, or `""` for an id never handed out.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> &str {
        let i = id as usize;
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        let start = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).copied().unwrap_or(0) as usize,
            None => 0,
        };
        self.text.get(start..end).unwrap_or_default()
    }

    /// The id of `s`, if interned.
    pub(crate) fn find(&self, s: &str) -> Option<u32> {
        let (slot, found) = self.probe(s, self.seeds.bytes(0, s.as_bytes()));
        slot.and(found)
    }

    /// The id of `s`, interning it if new. `Err(InvalidArgument)` when the table's
    /// 4 GiB of text or 4 G ids are used up (nothing changes then).
    pub(crate) fn intern(&mut self, s: &str) -> Result<u32> {
        let hash = self.seeds.bytes(0, s.as_bytes());
        let (free, found) = self.probe(s, hash);
        if let Some(id) = found {
            return Ok(id);
        }
        let end = u32::try_from(self.text.len() + s.len())
            .map_err(|_| Error::invalid("the catalog's names pass 4 GiB"))?;
        let id = u32::try_from(self.ends.len())
            .ok()
            .filter(|&id| id != EMPTY)
            .ok_or_else(|| Error::invalid("the catalog's symbol ids are used up"))?;
        // The free slot the probe ended on, unless the table grows (then probe again).
        let slot = if (self.ends.len() + 1) * 2 > self.slots.len() {
            self.grow();
            self.probe(s, hash).0
        } else {
            free
        };
        self.text.push_str(s);
        self.ends.push(end);
        if let Some(free) = slot.and_then(|i| self.slots.get_mut(i)) {
            *free = id;
        }
        Ok(id)
    }

    /// `(slot, id)`: where `s` is, or the free slot where it would go (`None` when the
    /// table has no slot at all).
    fn probe(&self, s: &str, hash: u64) -> (Option<usize>, Option<u32>) {
        let mask = match self.slots.len().checked_sub(1) {
            Some(m) => m,
            None => return (None, None),
        };
        let mut i = hash as usize & mask;
        // At most half full: a free slot always ends the probe.
        for _ in 0..self.slots.len() {
            match self.slots.get(i).copied() {
                Some(EMPTY) | None => return (Some(i), None),
                Some(id) if self.get(id) == s => return (Some(i), Some(id)),
                Some(_) => i = (i + 1) & mask,
            }
        }
        (None, None)
    }

    /// Doubles the probe table (at least 64 slots) and places every symbol again.
    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(64);
        let mask = n - 1;
        let mut slots = vec![EMPTY; n];
        for id in 0..self.ends.len() as u32 {
            let mut i = self.seeds.bytes(0, self.get(id).as_bytes()) as usize & mask;
            while let Some(slot) = slots.get_mut(i) {
                if *slot == EMPTY {
                    *slot = id;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        self.slots = slots;
    }

    /// Reserves room for `symbols` more symbols of `bytes` bytes in all.
    pub(crate) fn reserve(&mut self, symbols: usize, bytes: usize) {
        self.text.reserve(bytes);
        self.ends.reserve(symbols);
    }

    /// Gives back spare capacity (after a bulk load).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.text.capacity() + (self.ends.capacity() + self.slots.capacity()) * 4
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Against a `HashMap` model: the same string always gets the same id, distinct
        /// strings distinct dense ids, and every id gives its string back.
        #[test]
        fn interning_matches_a_model(
            names in prop::collection::vec("(|[a-c]{1,3}|host_[0-9]{1,4}|\\x00|é)", 0..400),
        ) {
            let mut syms = Symbols::default();
            let mut model: HashMap<String, u32> = HashMap::new();
            for name in &names {
                let known = model.get(name).copied();
                prop_assert_eq!(syms.find(name), known);
                let fresh = model.len() as u32;
                let want = *model.entry(name.clone()).or_insert(fresh);
                prop_assert_eq!(syms.intern(name).unwrap(), want);
                prop_assert_eq!(syms.find(name), Some(want));
            }
            for (name, &id) in &model {
                prop_assert_eq!(syms.get(id), name.as_str());
                prop_assert_eq!(syms.find(name), Some(id));
            }
            prop_assert_eq!(syms.find("never interned"), None);
            prop_assert_eq!(syms.get(model.len() as u32), "");
        }
    }

    #[test]
    fn empty_table_finds_nothing() {
        let syms = Symbols::default();
        assert_eq!(syms.find("a"), None);
        assert_eq!(syms.get(0), "");
        assert_eq!(syms.heap_bytes(), 0);
    }
}
