//! Cache prefetch hints: start loading the line holding an address before the code
//! that needs it runs, so that several misses overlap. A hint changes nothing the
//! program can see; elsewhere than x86-64 it does nothing.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{_MM_HINT_ET0, _MM_HINT_T0, _mm_prefetch};

/// Starts loading the cache line holding `p`, to be read.
#[inline(always)]
pub(crate) fn for_read(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    hint::<_MM_HINT_T0>(p);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Starts loading the cache line holding `p`, to be written (`prefetchw`; a CPU
/// without it treats the instruction as a no-op).
#[inline(always)]
pub(crate) fn for_write(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    hint::<_MM_HINT_ET0>(p);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn hint<const HINT: i32>(p: *const u8) {
    // SAFETY: a prefetch is only a hint: it never faults and changes no state the
    // program can see, whatever the address; `sse` is part of the x86-64 baseline.
    unsafe { _mm_prefetch::<HINT>(p.cast()) };
}
