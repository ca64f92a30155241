//! The `buzz` subcommands.

mod chart_colors;
pub mod check;
pub mod new_plugin;
pub mod plugins;
pub mod replay;
pub mod reset;
pub mod run;
pub mod schema;
mod text_wrap;
mod two_terminals;

use crate::config::{Diagnostics, Override};

/// Parses `--set` arguments, printing problems.
fn parse_overrides(args: &[String]) -> Result<Vec<Override>, Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut overrides = Vec::new();
    for arg in args {
        match Override::parse(arg) {
            Ok(o) => overrides.push(o),
            Err(e) => errors.push(e),
        }
    }
    errors.into_result(overrides)
}
