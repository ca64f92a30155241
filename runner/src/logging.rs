//! Log output: `tracing` to stderr, filtered by `BUZZ_LOG` (or `RUST_LOG`),
//! info by default. Plugin logs arrive here through the host API.
//!
//! Colours only on a terminal (and never with `NO_COLOR`), so a log file or
//! a collector never gets escape codes; `--log-format json` writes one JSON
//! object per line. A filter that does not parse is reported, not dropped.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, filter};

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Aligned text, coloured on a terminal.
    Text,
    /// One JSON object per line: timestamp, level, fields (message included).
    Json,
}

pub fn init(verbose: bool, format: LogFormat) {
    let default = if verbose { "debug" } else { "info" };
    let asked = std::env::var("BUZZ_LOG")
        .map(|v| ("BUZZ_LOG", v))
        .or_else(|_| std::env::var("RUST_LOG").map(|v| ("RUST_LOG", v)));
    let (filter, refused) = match asked {
        Ok((name, value)) => match EnvFilter::try_new(&value) {
            Ok(filter) => (filter, None),
            Err(e) => (
                EnvFilter::new(default),
                Some(format!("{name}={value:?} is not a valid log filter ({e}); logging at {default} instead")),
            ),
        },
        Err(_) => (EnvFilter::new(default), None),
    };
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.finish().with(without_second_close()).try_init(),
        LogFormat::Json => builder.json().finish().with(without_second_close()).try_init(),
    };
    if let Some(refused) = refused {
        tracing::warn!("{refused}");
    }
}

/// Drops the one error rust-rdkafka logs when its drop closes a consumer
/// that buzz has already closed (`close_consumer`: rust-rdkafka's own close
/// waits in 100 ms steps). It is the only error its consumer module logs.
pub fn without_second_close<S: Subscriber>() -> impl Layer<S> {
    filter::filter_fn(|meta| {
        !(meta.target() == "rdkafka::consumer::base_consumer" && *meta.level() == tracing::Level::ERROR)
    })
}
