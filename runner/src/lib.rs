//! buzz: run live streaming-data pipelines described in TOML files.
//!
//! A pipeline names a source, a transport, a transform and a chart. Sources,
//! transforms and charts are plugins (cdylibs loaded at run time through a
//! versioned C ABI, see `buzz-abi`); transports belong to the runner.
//!
//! No `unsafe` outside the plugin host and the few librdkafka calls rdkafka
//! has no safe binding for (the embedded broker, sending without lingering):
//! the C ABI ends in `plugin_host`, which hands the rest safe views of records.
#![deny(unsafe_code)]

pub mod atomic_write;
pub mod chart_output;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod logging;
pub mod pipeline;
// Loads libraries and calls their C functions: the only way in is unsafe.
#[allow(unsafe_code)]
pub mod plugin_host;
pub(crate) mod private_dir;
pub mod reload;
pub(crate) mod state;
pub(crate) mod throttle;
pub mod transport;
