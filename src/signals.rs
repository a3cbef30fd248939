//! Termination signals: the first asks for a graceful stop, a second quits at once.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

/// Installs handlers for SIGINT, SIGTERM and SIGHUP. The returned cell holds the number of
/// the first signal received (0 until then). A second signal exits with `128 + signal`.
pub fn install() -> std::io::Result<Arc<AtomicUsize>> {
    let received = Arc::new(AtomicUsize::new(0));
    let asked_once = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // Order matters: the shutdown check runs before this signal marks `asked_once`.
        flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&asked_once))?;
        flag::register(signal, Arc::clone(&asked_once))?;
        flag::register_usize(signal, Arc::clone(&received), signal as usize)?;
    }
    Ok(received)
}
