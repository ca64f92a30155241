//! What the runner offers plugins: a logging callback into `tracing`, and
//! each pipeline's latest plugin warning for the dashboard.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};

use buzz_abi::{ABI_VERSION, FfiSlice, HostApi, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_TRACE, LOG_WARN};
use tracing::level_filters::LevelFilter;

/// The host API handed to every plugin at `init`; lives for the process.
pub fn host_api() -> &'static HostApi {
    static API: OnceLock<HostApi> = OnceLock::new();
    API.get_or_init(|| HostApi {
        abi_version: ABI_VERSION,
        max_log_level: match LevelFilter::current() {
            LevelFilter::OFF => 0,
            LevelFilter::ERROR => LOG_ERROR,
            LevelFilter::WARN => LOG_WARN,
            LevelFilter::INFO => LOG_INFO,
            LevelFilter::DEBUG => LOG_DEBUG,
            _ => LOG_TRACE,
        },
        log: host_log,
    })
}

/// The latest warning a pipeline's plugin stages logged.
pub type WarningSink = Arc<Mutex<Option<String>>>;

thread_local! {
    /// Stages are called on their pipeline's threads, so a warning logged
    /// during a call belongs to the pipeline that runs on this thread.
    static WARNINGS: RefCell<Option<WarningSink>> = const { RefCell::new(None) };
}

/// Keeps warnings that plugins log on this thread from now on in `sink`.
pub fn keep_warnings_in(sink: WarningSink) {
    WARNINGS.with(|w| *w.borrow_mut() = Some(sink));
}

fn keep_warning(message: &str) {
    WARNINGS.with(|w| {
        if let Some(sink) = &*w.borrow() {
            *sink.lock().expect("warnings poisoned") = Some(message.to_string());
        }
    });
}

unsafe extern "C" fn host_log(level: u32, target: FfiSlice, message: FfiSlice) {
    // Nothing may unwind back into the plugin.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: the plugin passes slices valid for the call.
        let (target, message) = unsafe { (target.as_bytes(), message.as_bytes()) };
        let target = String::from_utf8_lossy(target);
        let message = String::from_utf8_lossy(message);
        if level <= LOG_WARN {
            keep_warning(&message);
        }
        match level {
            LOG_ERROR => tracing::error!(target: "buzz::plugin", plugin = %target, "{message}"),
            LOG_WARN => tracing::warn!(target: "buzz::plugin", plugin = %target, "{message}"),
            LOG_INFO => tracing::info!(target: "buzz::plugin", plugin = %target, "{message}"),
            LOG_DEBUG => tracing::debug!(target: "buzz::plugin", plugin = %target, "{message}"),
            _ => tracing::trace!(target: "buzz::plugin", plugin = %target, "{message}"),
        }
    });
}
