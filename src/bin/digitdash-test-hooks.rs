//! `digitdash` with the test-only switches of `digitdash::test_hooks` (cargo feature
//! `test-hooks`). Only the tests that need it build it; it is never part of a normal build.

#[path = "../main.rs"]
mod digitdash_main;

fn main() -> std::process::ExitCode {
    digitdash_main::main()
}
