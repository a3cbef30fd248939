//! The trainer thread driven in process: a config for a workspace, and waiting for events.

use std::time::Duration;

use digitdash::cli::{resolve_config, RunArgs};
use digitdash::config::Config;
use digitdash::train::Event;

use super::Workspace;

/// How long the trainer may stay silent before the test calls it hung (a step on the tiny
/// data takes milliseconds; this only keeps a hang from blocking the suite).
pub const SILENCE_GUARD: Duration = Duration::from_secs(300);

/// The workspace's settings (its config file and tiny data) with `steps` steps.
pub fn config(ws: &Workspace, steps: u64) -> Config {
    let args = RunArgs {
        config: Some(ws.config()),
        data_dir: Some(ws.data_dir()),
        steps: Some(steps),
        ..Default::default()
    };
    resolve_config(&args).expect("the workspace's config")
}

/// Takes events until one satisfies `want`; returns them all, that one last. A failure of the
/// trainer fails the test.
pub fn recv_until(events: &flume::Receiver<Event>, want: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let event = events
            .recv_timeout(SILENCE_GUARD)
            .expect("the trainer went quiet");
        if let Event::Failed(message) = &event {
            panic!("trainer failed: {message}");
        }
        let done = want(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// Takes events until the next shared weights and returns them.
pub fn next_weights(events: &flume::Receiver<Event>) -> digitdash::train::messages::Weights {
    match recv_until(events, |e| matches!(e, Event::Weights(_))).pop() {
        Some(Event::Weights(w)) => w,
        _ => unreachable!("recv_until ends with the event asked for"),
    }
}
