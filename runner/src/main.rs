use clap::Parser;

use buzz::cli::{Cli, Command, NewCommand};
use buzz::commands;

fn main() {
    let cli = Cli::parse();
    buzz::logging::init(cli.verbose, cli.log_format);
    let code = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Check(args) => commands::check::check(args),
        Command::Plugins(args) => commands::plugins::plugins(args),
        Command::Replay(args) => commands::replay::replay(args),
        Command::Reset(args) => commands::reset::reset(args),
        Command::Schema(args) => commands::schema::schema(args),
        Command::New(args) => match args.what {
            NewCommand::Plugin(p) => commands::new_plugin::new_plugin(&p),
        },
    };
    std::process::exit(code);
}
