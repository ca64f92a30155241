//! What the runner offers plugins: a logging callback into `tracing`.

use std::sync::OnceLock;

use buzz_sdk::abi::{ABI_VERSION, FfiSlice, HostApi, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_TRACE, LOG_WARN};
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

unsafe extern "C" fn host_log(level: u32, target: FfiSlice, message: FfiSlice) {
    // Nothing may unwind back into the plugin.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: the plugin passes slices valid for the call.
        let (target, message) = unsafe { (target.as_bytes(), message.as_bytes()) };
        let target = String::from_utf8_lossy(target);
        let message = String::from_utf8_lossy(message);
        match level {
            LOG_ERROR => tracing::error!(target: "buzz::plugin", plugin = %target, "{message}"),
            LOG_WARN => tracing::warn!(target: "buzz::plugin", plugin = %target, "{message}"),
            LOG_INFO => tracing::info!(target: "buzz::plugin", plugin = %target, "{message}"),
            LOG_DEBUG => tracing::debug!(target: "buzz::plugin", plugin = %target, "{message}"),
            _ => tracing::trace!(target: "buzz::plugin", plugin = %target, "{message}"),
        }
    });
}
