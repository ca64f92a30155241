//! buzz: run live streaming-data pipelines described in TOML files.
//!
//! A pipeline names a source, a transport, a transform and a chart. Sources,
//! transforms and charts are plugins (cdylibs loaded at run time through a
//! versioned C ABI, see `buzz-sdk`); transports belong to the runner.

pub mod chart_output;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod logging;
pub mod pipeline;
pub mod plugin_host;
pub(crate) mod private_dir;
pub mod reload;
pub(crate) mod state;
pub mod transport;
