//! Keeps freed memory in the process for reuse.
//!
//! A training step allocates and frees tens of megabytes (activations, gradients, column
//! matrices). glibc hands blocks that large straight back to the kernel, so every step paid
//! for hundreds of thousands of fresh page faults. Serving them from the heap and not trimming
//! it lets each step reuse the last step's pages.

/// Raises glibc's thresholds so large blocks come from (and stay in) the heap.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists, and the values are within glibc's documented ranges.
    unsafe {
        const MB: libc::c_int = 1 << 20;
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 * MB);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * MB);
    }
}
