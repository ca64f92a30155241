//! Plugin logs reach the runner's `tracing` output through the host's
//! logging callback. Plugin authors just use the `log` macros
//! (re-exported as `buzz_sdk::log`).

use std::sync::OnceLock;

use crate::abi::{FfiSlice, HostApi, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_TRACE, LOG_WARN};

type LogFn = unsafe extern "C" fn(level: u32, target: FfiSlice, message: FfiSlice);

struct HostLogger {
    log: LogFn,
}

static LOGGER: OnceLock<HostLogger> = OnceLock::new();

pub(crate) fn install(host: &HostApi) {
    let logger = LOGGER.get_or_init(|| HostLogger { log: host.log });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(match host.max_log_level {
            0 => log::LevelFilter::Off,
            LOG_ERROR => log::LevelFilter::Error,
            LOG_WARN => log::LevelFilter::Warn,
            LOG_INFO => log::LevelFilter::Info,
            LOG_DEBUG => log::LevelFilter::Debug,
            _ => log::LevelFilter::Trace,
        });
    }
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => LOG_ERROR,
            log::Level::Warn => LOG_WARN,
            log::Level::Info => LOG_INFO,
            log::Level::Debug => LOG_DEBUG,
            log::Level::Trace => LOG_TRACE,
        };
        let message = record.args().to_string();
        let target = record.target();
        // SAFETY: the callback comes from the host, which outlives every
        // plugin it loads; the slices are valid for the call.
        unsafe { (self.log)(level, FfiSlice::new(target.as_bytes()), FfiSlice::new(message.as_bytes())) };
    }

    fn flush(&self) {}
}
