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
    // Above the largest tensor of a step at the presets' batch 16 (pythia-14m's attention
    // probabilities, 16.8 MB), below the size of a non-main arena's heap (64 MB).
    const MMAP_THRESHOLD: c_int = 32 << 20;
    const TRIM_THRESHOLD: c_int = 1 << 30;
    const TOP_PAD: c_int = 64 << 20;
    // SAFETY: mallopt only sets allocator parameters; called first thing in main, before
    // any other thread exists. (Its return value says little: glibc 2.36 accepts any.)
    unsafe {
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        mallopt(M_TOP_PAD, TOP_PAD);
    }
}

/// Other platforms' allocators: left as they are.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// Minor page faults of the calling thread so far (`/proc/thread-self/stat`, field 10).
    fn thread_page_faults() -> u64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name (field 2) is in parentheses and may hold spaces.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(7).unwrap().parse().unwrap()
    }

    #[test]
    fn a_freed_tensor_sized_block_is_reused_without_faulting_in_pages() {
        super::keep_freed_memory();
        const SIZE: usize = 16 << 20; // 4,096 pages of 4 KiB
        drop(std::hint::black_box(vec![1u8; SIZE]));
        let before = thread_page_faults();
        drop(std::hint::black_box(vec![1u8; SIZE]));
        let faults = thread_page_faults() - before;
        // With glibc's defaults the block is mapped afresh: ~4,096 faults.
        assert!(
            faults < 512,
            "{faults} page faults for a reused 16 MB block"
        );
    }
}
