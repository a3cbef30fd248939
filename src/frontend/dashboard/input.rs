//! Keyboard and resize events, read on their own thread and passed over a channel.
//!
//! The dashboard's thread never calls crossterm's `poll`: when the terminal goes away under a
//! running program, crossterm 0.29's reader can spin inside `poll` without returning
//! (crossterm-rs/crossterm#793). Here only this thread can be caught in that; the frame loop
//! keeps its rhythm, notices the lost terminal when drawing fails, and winds down.

use std::io;
use std::thread;

use flume::Receiver;
use ratatui::crossterm::event::{self, Event};

/// Starts the thread named `input` that forwards terminal events until reading fails or the
/// receiver is dropped.
pub fn spawn() -> io::Result<Receiver<Event>> {
    let (sender, receiver) = flume::unbounded();
    thread::Builder::new().name("input".into()).spawn(move || {
        while let Ok(event) = event::read() {
            if sender.send(event).is_err() {
                break;
            }
        }
    })?;
    Ok(receiver)
}
