//! The catalog's keys, packed: every name once in the [`Symbols`] table, and each
//! series as `tag count | metric symbol | key symbol, value symbol ...` (tags sorted by
//! key) in one `u32` array, found by id through a table of start offsets.
//!
//! A [`KeyRef`] reads a stored key in place; an owned [`SeriesKey`] is built only
//! when a caller asks for one. For 1 M series of three tags this is about 36 bytes of
//! ids per series plus each distinct name once, where owned keys took seven
//! allocations per series.

use super::key::{self, SeriesKey};
use super::symbols::Symbols;
use crate::error::{Error, Result};

/// `starts[id]` of an id without a series (a hole).
const HOLE: u32 = u32::MAX;

/// Every stored key, by series id.
#[derive(Default)]
pub(crate) struct PackedKeys {
    symbols: Symbols,
    /// The packed keys, end to end.
    parts: Vec<u32>,
    /// `starts[id]`: where series `id` starts in `parts`, or `HOLE`. `starts.len()` is
    /// one past the largest id stored.
    starts: Vec<u32>,
    /// The tag symbols of the key being stored, reused.
    scratch: Vec<(u32, u32)>,
    /// The symbols of the previous key stored, by position (see `intern_at`).
    recent: Vec<u32>,
}

/// A stored series key, read in place (no allocation).
#[derive(Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    symbols: &'a Symbols,
    /// `metric symbol, key symbol, value symbol, ...`.
    parts: &'a [u32],
}

impl<'a> KeyRef<'a> {
    /// The metric name.
    pub(crate) fn metric(&self) -> &'a str {
        self.symbols.get(self.metric_symbol())
    }

    /// The metric's symbol.
    pub(crate) fn metric_symbol(&self) -> u32 {
        self.parts.first().copied().unwrap_or(HOLE)
    }

    /// The tags' `(key symbol, value symbol)` pairs, sorted by key.
    pub(crate) fn tag_symbols(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.parts
            .get(1..)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|p| {
                (
                    p.first().copied().unwrap_or(HOLE),
                    p.get(1).copied().unwrap_or(HOLE),
                )
            })
    }

    /// Number of tags.
    pub(crate) fn tag_count(&self) -> usize {
        self.parts.len().saturating_sub(1) / 2
    }

    /// Tag `i` (in key order), or `("", "")` past the end.
    pub(crate) fn tag(&self, i: usize) -> (&'a str, &'a str) {
        let sym = |j: usize| self.symbols.get(self.parts.get(j).copied().unwrap_or(HOLE));
        (sym(1 + 2 * i), sym(2 + 2 * i))
    }

    /// The tags, sorted by key.
    pub(crate) fn tag_refs(
        &self,
    ) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone + 'a {
        let this = *self;
        (0..self.tag_count()).map(move |i| this.tag(i))
    }

    /// True when this is the series `metric` + `tags` (tags in any order).
    pub(crate) fn matches(&self, metric: &str, tags: &[(&str, &str)]) -> bool {
        self.metric() == metric && key::tags_match(self.tag_count(), |i| self.tag(i), tags)
    }

    /// True when this is the series `metric` + canonical `tags`.
    pub(crate) fn is_canonical<'t>(
        &self,
        metric: &str,
        tags: impl ExactSizeIterator<Item = (&'t str, &'t str)>,
    ) -> bool {
        self.metric() == metric
            && self.tag_count() == tags.len()
            && self.tag_refs().zip(tags).all(|(a, b)| a == b)
    }

    /// True when this is the series `key`.
    pub(crate) fn is(&self, key: &SeriesKey) -> bool {
        self.is_canonical(key.metric(), key.tag_refs())
    }

    /// True when both are the same stored series key (of one table of symbols).
    pub(crate) fn same_as(&self, other: &KeyRef<'_>) -> bool {
        self.parts == other.parts
    }

    /// The key as an owned [`SeriesKey`].
    pub(crate) fn to_key(self) -> SeriesKey {
        SeriesKey::from_canonical(self.metric(), self.tag_refs())
    }
}

impl PackedKeys {
    /// The stored key of series `id`.
    pub(crate) fn get(&self, id: u32) -> Option<KeyRef<'_>> {
        let start = *self.starts.get(id as usize)?;
        if start == HOLE {
            return None;
        }
        let start = start as usize;
        let n = *self.parts.get(start)? as usize;
        let parts = self.parts.get(start + 1..start + 2 + 2 * n)?;
        Some(KeyRef {
            symbols: &self.symbols,
            parts,
        })
    }

    /// True when series `id` is stored.
    pub(crate) fn contains(&self, id: u32) -> bool {
        self.starts.get(id as usize).is_some_and(|&s| s != HOLE)
    }

    /// One past the largest id stored (or set by [`PackedKeys::extend_ids`]).
    pub(crate) fn id_bound(&self) -> usize {
        self.starts.len()
    }

    /// Makes ids below `n` known (as holes where nothing is stored).
    pub(crate) fn extend_ids(&mut self, n: usize) {
        if n > self.starts.len() {
            self.starts.resize(n, HOLE);
        }
    }

    /// The symbol of `name`, if some key uses it.
    pub(crate) fn symbol(&self, name: &str) -> Option<u32> {
        self.symbols.find(name)
    }

    /// The name of symbol `sym`.
    pub(crate) fn name(&self, sym: u32) -> &str {
        self.symbols.get(sym)
    }

    /// Stores `metric` + `tags` (valid; tags in any order, sorted here) as series `id`,
    /// which the caller checked is free and below `RESERVED_ID`. On error (the symbol
    /// table or the packed keys are full) nothing is stored.
    pub(crate) fn store<'a>(
        &mut self,
        id: u32,
        metric: &str,
        tags: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let metric_sym = self.intern_at(0, metric)?;
        let mut pairs = std::mem::take(&mut self.scratch);
        pairs.clear();
        let mut interned = Ok(());
        for (i, (k, v)) in tags.enumerate() {
            let pair = self
                .intern_at(1 + 2 * i, k)
                .and_then(|k| Ok((k, self.intern_at(2 + 2 * i, v)?)));
            match pair {
                Ok(p) => pairs.push(p),
                Err(e) => {
                    interned = Err(e);
                    break;
                }
            }
        }
        let stored = interned.and_then(|()| self.push(id, metric_sym, &mut pairs));
        self.scratch = pairs;
        stored
    }

    fn push(&mut self, id: u32, metric_sym: u32, pairs: &mut [(u32, u32)]) -> Result<()> {
        let symbols = &self.symbols;
        if !pairs.is_sorted_by(|a, b| symbols.get(a.0) < symbols.get(b.0)) {
            pairs.sort_unstable_by(|a, b| symbols.get(a.0).cmp(symbols.get(b.0)));
        }
        let start = u32::try_from(self.parts.len())
            .ok()
            .filter(|&s| s != HOLE)
            .ok_or_else(|| Error::invalid("the catalog's packed keys are full"))?;
        self.parts.push(pairs.len() as u32);
        self.parts.push(metric_sym);
        self.parts.extend(pairs.iter().flat_map(|&(k, v)| [k, v]));
        self.extend_ids(id as usize + 1);
        if let Some(s) = self.starts.get_mut(id as usize) {
            *s = start;
        }
        Ok(())
    }

    /// [`Symbols::intern`] of the name at position `pos` of a key (0 the metric, then
    /// each tag's key and value), first compared with the name at that position in the
    /// previous key stored: series defined one after the other mostly share their
    /// metric, tag keys and many values, and a comparison is cheaper than a probe.
    fn intern_at(&mut self, pos: usize, name: &str) -> Result<u32> {
        if let Some(&sym) = self.recent.get(pos)
            && self.symbols.get(sym) == name
        {
            return Ok(sym);
        }
        let sym = self.symbols.intern(name)?;
        if pos >= self.recent.len() {
            self.recent.resize(pos + 1, HOLE);
        }
        if let Some(slot) = self.recent.get_mut(pos) {
            *slot = sym;
        }
        Ok(sym)
    }

    /// Reserves room for `series` more keys of about `bytes` bytes of names in all.
    pub(crate) fn reserve(&mut self, series: usize, bytes: usize) {
        self.starts.reserve(series);
        self.parts.reserve(series * 4);
        self.symbols.reserve(series, bytes);
    }

    /// Gives back spare capacity (after a bulk load).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.symbols.shrink_to_fit();
        self.parts.shrink_to_fit();
        self.starts.shrink_to_fit();
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.symbols.heap_bytes()
            + (self.parts.capacity() + self.starts.capacity() + self.recent.capacity()) * 4
            + self.scratch.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Against a map of owned keys: keys stored under random ids (tags in any
        /// order, names shared between keys and positions) read back canonical, and
        /// holes stay holes.
        #[test]
        fn stored_keys_read_back_canonical(
            keys in prop::collection::btree_map(
                0u32..200,
                (
                    "[a-c]{1,2}",
                    prop::collection::btree_map("[a-d]{1,2}", "[a-c]{1,2}|v", 0..5),
                    any::<u64>(),
                ),
                0..40,
            ),
        ) {
            let mut packed = PackedKeys::default();
            let mut model: BTreeMap<u32, SeriesKey> = BTreeMap::new();
            for (&id, (metric, tags, seed)) in &keys {
                let mut given: Vec<(&str, &str)> =
                    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let turn = (*seed as usize) % given.len().max(1);
                given.rotate_left(turn);
                packed.store(id, metric, given.iter().copied()).unwrap();
                model.insert(id, SeriesKey::new(metric, &given).unwrap());
            }
            for id in 0..210 {
                let got = packed.get(id);
                prop_assert_eq!(got.map(KeyRef::to_key), model.get(&id).cloned());
                prop_assert_eq!(packed.contains(id), model.contains_key(&id));
                if let (Some(k), Some(want)) = (got, model.get(&id)) {
                    prop_assert!(k.is(want));
                    let mut refs: Vec<(&str, &str)> = want.tag_refs().collect();
                    refs.reverse();
                    prop_assert!(k.matches(want.metric(), &refs));
                    prop_assert_eq!(k.metric_symbol(), packed.symbol(want.metric()).unwrap());
                    for ((ks, vs), (kn, vn)) in k.tag_symbols().zip(want.tag_refs()) {
                        prop_assert_eq!((packed.name(ks), packed.name(vs)), (kn, vn));
                    }
                    for (&other, other_key) in &model {
                        let same = packed.get(other).is_some_and(|o| o.same_as(&k));
                        prop_assert_eq!(same, other_key == want);
                    }
                }
            }
            let bound = model.keys().next_back().map_or(0, |&id| id as usize + 1);
            prop_assert_eq!(packed.id_bound(), bound);
        }
    }
}
