//! glibc's allocator, tuned for training: keep freed tensor memory for reuse.
//!
//! The CPU backend allocates and frees every activation and gradient of a step (up to
//! ~17 MB each at pythia-14m's batch 16 x 256). With glibc's defaults, blocks above the
//! mmap threshold are mapped and unmapped per tensor, and the top of the heap is handed
//! back to the kernel whenever it is free, so each step faults in (and the kernel
//! zeroes) hundreds of MB of fresh pages: ~11% of a step in `perf` (issue 14). Serving
//! blocks up to 32 MB from the heap and never trimming it keeps them mapped.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() {
    use std::ffi::c_int;
    // From glibc's <malloc.h>.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_TOP_PAD: c_int = -2;
    const M_MMAP_THRESHOLD: c_int = -3;
    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    // The largest mmap threshold glibc accepts on 64-bit (half its 64 MB heap size).
    const MMAP_THRESHOLD: c_int = 32 << 20;
    const TRIM_THRESHOLD: c_int = 1 << 30;
    const TOP_PAD: c_int = 64 << 20;
    // SAFETY: mallopt only sets allocator parameters; called first thing in main, before
    // any other thread exists. A rejected value (return 0) leaves glibc's default.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        mallopt(M_TOP_PAD, TOP_PAD);
    }
}

/// Other platforms' allocators: left as they are.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}
