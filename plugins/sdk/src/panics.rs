//! Turning a caught panic into a message that says what and where.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook so
    /// the message can name the file and line.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the default hook (which prints to stderr) with one that records
/// the location and logs through the host. Each plugin library has its own
/// copy of std, so this only affects panics raised inside this plugin.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            log::debug!("panic at {}", location.as_deref().unwrap_or("unknown location"));
            LAST_LOCATION.with(|last| *last.borrow_mut() = location);
        }));
    });
}

/// "message (at src/lib.rs:12)" from a caught panic payload.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    };
    match LAST_LOCATION.with(|last| last.borrow_mut().take()) {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    }
}
