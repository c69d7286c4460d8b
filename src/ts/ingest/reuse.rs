//! Reusing a vector's allocation across lines whose borrows have different lifetimes.
//!
//! A parsed line hands out `&[(&str, &str)]` tags that borrow that line's text. The
//! vector holding them cannot outlive the line, but allocating a new one per line is
//! the cost this module avoids: the parser keeps an empty `Vec<(&'static str, ...)>`,
//! and each line converts it to its own lifetime and back. The conversion of an empty
//! vector is done with `into_iter().filter_map(..).collect()`, which the standard
//! library performs in place, keeping the allocation (checked by the test below; if a
//! toolchain ever stops doing so, only speed is lost, never correctness).

/// `v`, emptied, as a vector of another element type of the same layout (in practice
/// the same type with other lifetimes), keeping its allocation.
pub(crate) fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::recycle;

    #[test]
    fn recycling_keeps_the_allocation() {
        let mut slot: Vec<(&'static str, &'static str)> = Vec::with_capacity(32);
        let first = slot.as_ptr() as usize;
        for i in 0..4 {
            let text = format!("k{i}=v{i}");
            let mut tags: Vec<(&str, &str)> = recycle(std::mem::take(&mut slot));
            assert_eq!(tags.as_ptr() as usize, first);
            assert!(tags.is_empty());
            tags.push((&text[..2], &text[3..]));
            assert_eq!(tags, [(&*format!("k{i}"), &*format!("v{i}"))]);
            slot = recycle(tags);
        }
        assert_eq!(slot.as_ptr() as usize, first);
        assert_eq!(slot.capacity(), 32);
    }
}
