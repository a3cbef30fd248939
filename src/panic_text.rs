//! The message a panic carried, for reports that outlive it.

use std::any::Any;

/// The text of a panic's payload: the `&str` or `String` that `panic!` was given, or a
/// placeholder for any other payload.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_formatted_messages_are_read() {
        let literal = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_text(&*literal), "plain");
        let formatted = std::panic::catch_unwind(|| panic!("step {}", 7)).unwrap_err();
        assert_eq!(panic_text(&*formatted), "step 7");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_text(&*other), "a panic without a message");
    }
}
