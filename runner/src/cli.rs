//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::pipeline::Role;

#[derive(Debug, Parser)]
#[command(name = "buzz", version, about = "Run live streaming-data pipelines described in TOML files")]
pub struct Cli {
    /// Log more (debug level); BUZZ_LOG=... sets any filter.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one or more pipelines until stopped (Ctrl-C), or until done.
    Run(RunArgs),
    /// Check pipeline files without running them.
    Check(CheckArgs),
    /// List the plugins found, their ABI and their stages' settings.
    Plugins(PluginsArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Pipeline files (TOML).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    /// Override a setting for this run, e.g. --set source.interval_ms=0.
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,
    /// Stop once a finite source is exhausted and every record reached the
    /// chart (a consumer alone stops once caught up with the transport).
    #[arg(long)]
    pub exit_when_done: bool,
    /// Write a JSON summary of the run here on exit.
    #[arg(long, value_name = "PATH")]
    pub summary: Option<PathBuf>,
    /// Run the producer half, the consumer half, or both.
    #[arg(long, value_enum, default_value = "both")]
    pub role: Role,
    /// Do not watch the pipeline files and plugins for changes.
    #[arg(long)]
    pub no_reload: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Pipeline files (TOML).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    /// Check with these overrides applied, as `buzz run --set` would.
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct PluginsArgs {
    /// Print the catalogue as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also search this folder (BUZZ_PLUGIN_PATH works too).
    #[arg(long = "plugins-dir", value_name = "DIR")]
    pub plugins_dir: Vec<PathBuf>,
}
