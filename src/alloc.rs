//! Keeps freed memory in the process for reuse.
//!
//! A training step allocates and frees tens of megabytes (activations, gradients, column
//! matrices). glibc hands blocks that large straight back to the kernel, so every step paid
//! for hundreds of thousands of fresh page faults. Serving them from the heap and not trimming
//! it lets each step reuse the last step's pages. One heap serves every thread: a step runs
//! on whichever of the pool's threads takes it (`model::threads`), and with a heap per thread
//! each kept its own copy of a step's blocks (a benchmark's peak at batch 128: 302-325 MB with
//! a heap per thread, 175-181 MB with one, at the same speed).

/// Raises glibc's thresholds so large blocks come from (and stay in) the heap.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists, and the values are within glibc's documented ranges.
    unsafe {
        const MB: libc::c_int = 1 << 20;
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 * MB);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * MB);
        // One heap for every thread (see the module's note).
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
