//! Threads that show training give way to the threads that train.
//!
//! On a machine with as many cores as training threads, every frame the dashboard draws on a
//! core a rayon worker needs holds up the other workers too, at the step's next fork-join
//! barrier: a millisecond of drawing costs a millisecond of every core. A few nice levels
//! lower, the dashboard's threads (and a `watch` reading another process's run) get a smaller
//! share of a contended core and rarely preempt a worker when they wake, so they mostly run
//! where a core has a gap: a worker waiting at a barrier or yielding, the step's serial parts.
//!
//! Linux only; elsewhere, and where a call fails, a thread keeps its priority.

/// How many nice levels the dashboard's threads go below the process's: enough that waking
/// up rarely preempts a training thread, few enough that on a busy machine a frame still gets
/// a share of a core (about a tenth of one against a busy nice-0 thread).
pub const NICE_BELOW_TRAINING: i32 = 10;

/// The highest nice value Linux has (the lowest priority).
const LOWEST: i32 = 19;

/// The nice value a thread at `nice` goes to when it yields to training:
/// [`NICE_BELOW_TRAINING`] levels lower, 19 at most (Linux's lowest priority).
pub fn below_training(nice: i32) -> i32 {
    (nice + NICE_BELOW_TRAINING).min(LOWEST)
}

/// Lowers the calling thread's scheduling priority to [`below_training`] its own. Threads it
/// starts afterwards inherit the lower priority, rayon's global pool too if this thread is the
/// one that first uses it, and an unprivileged process cannot raise it again: call it only on
/// threads that neither train nor start training.
pub fn yield_to_training() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid` has no preconditions; `getpriority` and `setpriority` on the calling
    // thread's own id read and change only that thread's nice value, and report failure
    // through their return value and `errno`.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
        if nice == -1 && *libc::__errno_location() != 0 {
            return;
        }
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, below_training(nice));
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of the calling thread.
    fn own_nice() -> i32 {
        // SAFETY: as in `yield_to_training`.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn a_thread_that_yields_goes_ten_below_and_the_others_keep_their_priority() {
        let base = own_nice();
        let (lowered, inherited) = std::thread::spawn(|| {
            yield_to_training();
            let lowered = own_nice();
            let inherited = std::thread::spawn(own_nice).join().unwrap();
            (lowered, inherited)
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (base + NICE_BELOW_TRAINING).min(LOWEST));
        assert_eq!(
            inherited, lowered,
            "a thread started afterwards inherits it"
        );
        assert_eq!(own_nice(), base, "only the calling thread changes");
    }
}
