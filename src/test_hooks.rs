//! Switches that only the tests' own build has (cargo feature `test-hooks`); a normal build
//! does not contain this module.
//!
//! `DIGITDASH_TEST_PANIC_AT_STEP=N` makes the trainer thread panic as it starts step `N`, so a
//! test can check what the program does when the trainer crashes.

/// The environment variable naming the step at which the trainer panics.
pub const PANIC_AT_STEP: &str = "DIGITDASH_TEST_PANIC_AT_STEP";

/// The message of the panic [`before_step`] raises at `step`.
pub fn panic_message(step: u64) -> String {
    format!("test hook: the trainer panics at step {step}")
}

/// Called by the trainer before it takes step `step` (1 for the first): panics when
/// [`PANIC_AT_STEP`] names that step.
pub fn before_step(step: u64) {
    let wanted = std::env::var(PANIC_AT_STEP)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if wanted == Some(step) {
        panic!("{}", panic_message(step));
    }
}
