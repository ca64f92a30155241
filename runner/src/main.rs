use clap::Parser;

use buzz::cli::{Cli, Command};
use buzz::commands;

fn main() {
    let cli = Cli::parse();
    buzz::logging::init(cli.verbose);
    let code = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Check(args) => commands::check::check(args),
        Command::Plugins(args) => commands::plugins::plugins(args),
    };
    std::process::exit(code);
}
