//! Running a pass on the rayon pool's own threads.
//!
//! A parallel loop started from a thread outside the pool hands its work to the pool and puts
//! the caller to sleep until the loop is done, then wakes it: two thread switches a loop, and
//! a training step runs dozens of loops (each layer's, each tensor's update). Started on a
//! thread of the pool, the loops share their work between the pool's threads directly. On the
//! 2-vCPU Xeon a step's median fell by about a tenth at batch 50 and 128 (the README's Speed
//! section has the figures). Inference over batches of 1,000 did not gain: one forward pass
//! has few loops for its size.

/// Runs `f` on a thread of the current rayon pool (the global one when called from outside
/// any pool; on the calling thread when it is already one of a pool's) and returns what it
/// returns. Thread-local state that `f` sets or reads is that thread's.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_runs_on_a_pool_thread_and_its_result_comes_back() {
        assert!(rayon::current_thread_index().is_none(), "a test thread");
        let (index, sum) = on_pool(|| {
            use rayon::prelude::*;
            (
                rayon::current_thread_index(),
                (0..1000u64).into_par_iter().sum::<u64>(),
            )
        });
        assert!(index.is_some(), "ran outside the pool");
        assert_eq!(sum, 499_500);
        // Inside a pool it stays on the same thread.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            let here = rayon::current_thread_index();
            assert_eq!(on_pool(rayon::current_thread_index), here);
        });
    }
}
