//! The command line.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;
use crate::pipeline::Role;

#[derive(Debug, Parser)]
#[command(name = "buzz", version, about = "Run live streaming-data pipelines described in TOML files")]
pub struct Cli {
    /// Log more (debug level); BUZZ_LOG=... sets any filter.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// How log lines are written: for people, or one JSON object per line
    /// for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "BUZZ_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
impl ValueEnum for LogFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[LogFormat::Text, LogFormat::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            LogFormat::Text => PossibleValue::new("text").help("Aligned text, coloured on a terminal"),
            LogFormat::Json => {
                PossibleValue::new("json").help("One JSON object per line: timestamp, level, fields (message included)")
            }
        })
    }
}

/// `--role`.
impl ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &[Role::Produce, Role::Consume, Role::Both, Role::View]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self {
            Role::Produce => "Source -> transport only",
            Role::Consume => "Transport -> transform -> chart only",
            Role::Both => "Both halves in one process",
            Role::View => {
                "No half: serve the chart of the whole input from the checkpoints the consumers of the group save"
            }
        };
        Some(PossibleValue::new(self.name()).help(help))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one or more pipelines until stopped (Ctrl-C), or until done.
    Run(RunArgs),
    /// Check pipeline files without running them.
    Check(CheckArgs),
    /// List the plugins found, their ABI and their stages' settings.
    Plugins(PluginsArgs),
    /// Create something new: a plugin crate.
    New(NewArgs),
    /// Send dead letters (fixed by hand, say) back into a pipeline.
    Replay(ReplayArgs),
    /// Start pipelines over: clear their checkpoints (chart state and
    /// positions) and their source's position, and say what was cleared.
    Reset(ResetArgs),
    /// Print the JSON Schema of pipeline files (schemas/pipeline.schema.json).
    Schema(SchemaArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    #[command(subcommand)]
    pub what: NewCommand,
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A plugin crate with a source, a transform and a chart, their tests
    /// and a pipeline, ready to build and run.
    Plugin(NewPluginArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewPluginArgs {
    /// The plugin's name: lower-case letters, digits and underscores,
    /// starting with a letter (e.g. `weather`). Its stages are named after it.
    pub name: String,
    /// Make the crate in DIR/NAME. Default: plugins/NAME when run at the
    /// root of the buzz workspace, else ./NAME.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The buzz-sdk crate (a buzz checkout's plugins/sdk) a crate outside
    /// the workspace builds against. Default: <prefix>/lib/buzz/sdk beside
    /// this binary, else the checkout holding it, else the one it was built
    /// from; with none of them, buzz says to pass --sdk.
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
    /// The buzz-plotkit crate (a buzz checkout's plugins/plotkit) the
    /// chart of a crate outside the workspace draws with. Default: the one
    /// beside the SDK (plugins/plotkit, or lib/buzz/plotkit when installed).
    #[arg(long, value_name = "PATH")]
    pub plotkit: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Pipeline files (TOML).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    /// Override a setting for this run, e.g. --set source.interval_ms=0.
    /// A key with dots in it is quoted, as in TOML dotted keys:
    /// --set 'transport.properties."sasl.mechanism"=SCRAM-SHA-256'.
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
    /// Serve the live dashboard here: a port (0 picks a free one), an
    /// address (127.0.0.1:8080), or "off". Default: the pipeline file's
    /// [dashboard] listen, else 127.0.0.1:8080 (or a free port if taken).
    #[arg(long, value_name = "ADDR", env = "BUZZ_HTTP")]
    pub http: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Pipeline files (TOML).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    /// Check with these overrides applied, as `buzz run --set` would
    /// (quote keys with dots: transport.properties."security.protocol"=SSL).
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
    /// List only the stages of this kind (transports are built into the runner).
    #[arg(long, value_enum)]
    pub kind: Option<StageFilter>,
    /// List the colour names and colormaps the charts accept instead.
    #[arg(long, conflicts_with = "kind")]
    pub colors: bool,
}

/// `buzz plugins --kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StageFilter {
    Source,
    Transform,
    Chart,
    Transport,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// A dead-letter file (JSON lines, as buzz writes them). Default: the
    /// pipeline's own dead-letter output, its file or its Kafka topic.
    pub dead_letters: Option<PathBuf>,
    /// The pipeline whose transport the records go into.
    #[arg(long)]
    pub into: PathBuf,
    /// Replay only the dead letters of this stage (source, transport, transform, chart).
    #[arg(long)]
    pub stage: Option<String>,
    /// Override settings of the pipeline, as `buzz run --set` (quote keys
    /// with dots: transport.properties."security.protocol"=SSL).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,
    /// Write the dead letters to this JSON-lines file instead of replaying
    /// them: to fix them by hand (say, from a Kafka topic), then replay the file.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// Pipeline files (TOML).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    /// Override settings of the pipeline, as `buzz run --set` (quote keys
    /// with dots: transport.properties."security.protocol"=SSL).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,
    /// Chart everything the transport already holds again, from an empty
    /// state (default: start empty at its current end, so the next run
    /// charts only what comes next).
    #[arg(long)]
    pub reread: bool,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Write the schema here instead of printing it.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also search this folder for plugins.
    #[arg(long = "plugins-dir", value_name = "DIR")]
    pub plugins_dir: Vec<PathBuf>,
}
