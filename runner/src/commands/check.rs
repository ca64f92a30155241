//! `buzz check`: validate pipelines without running them. Exit 0, or 1 with
//! one `file:line:col: message` per problem.

use crate::cli::CheckArgs;
use crate::config;
use crate::pipeline;
use crate::plugin_host::Catalog;

pub fn check(args: CheckArgs) -> i32 {
    let overrides = match super::parse_overrides(&args.set) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let mut failed = false;
    for path in &args.pipelines {
        let result =
            config::load(path, &overrides, &Catalog::search).and_then(|spec| pipeline::check(&spec).map(|()| spec));
        match result {
            Ok(spec) => println!("{}: ok ({})", path.display(), spec.outline()),
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                failed = true;
            }
        }
    }
    i32::from(failed)
}
