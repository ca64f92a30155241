//! Log output: `tracing` to stderr, filtered by `BUZZ_LOG` (or `RUST_LOG`),
//! info by default. Plugin logs arrive here through the host API.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = std::env::var("BUZZ_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .map(EnvFilter::new)
        .unwrap_or_else(|_| EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}
