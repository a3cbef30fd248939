//! The dashboard's threads give way to the training threads.
//!
//! On a machine with as many cores as training threads, every frame the dashboard draws
//! preempts one of them, and at the step's next fork-join barrier the others wait for it: a
//! millisecond of drawing costs a millisecond of every core. At a lower priority the
//! dashboard's threads mostly run in the gaps instead: while a worker waits at a barrier,
//! between steps, while the trainer sends its events.
//!
//! Linux only; elsewhere, and where a call fails, a thread keeps its priority.

/// How many nice levels the dashboard's threads go below the process's: enough that waking
/// up does not preempt a training thread, few enough that on a busy machine a frame still
/// gets its share of a core.
pub const NICE_BELOW_TRAINING: i32 = 10;

/// The highest nice value Linux has (the lowest priority).
#[cfg(target_os = "linux")]
const LOWEST: i32 = 19;

/// Lowers the calling thread's scheduling priority [`NICE_BELOW_TRAINING`] levels (to nice 19
/// at most). Threads it starts afterwards inherit the lower priority, and an unprivileged
/// process cannot raise it again: call it only on threads that start no training.
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
        let lower = (nice + NICE_BELOW_TRAINING).min(LOWEST);
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, lower);
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
