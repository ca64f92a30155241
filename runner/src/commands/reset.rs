//! `buzz reset`: start a pipeline over. Its consumers' checkpoints (state
//! and positions) and its source's position are cleared, and it says what
//! it cleared. By default the next run charts only what comes next (the
//! consumers start at the transport's current end with an empty chart);
//! `--reread` charts everything the transport holds again, from empty.

use crate::cli::ResetArgs;
use crate::config;
use crate::plugin_host::Catalog;
use crate::transport;

pub fn reset(args: ResetArgs) -> i32 {
    let overrides = match super::parse_overrides(&args.set) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let mut code = 0;
    for path in &args.pipelines {
        let spec = match config::load(path, &overrides, &Catalog::search) {
            Ok(spec) => spec,
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                code = 1;
                continue;
            }
        };
        match transport::reset(&spec.transport, args.reread) {
            Ok(what) => println!("{}: {what}", spec.name),
            Err(e) => {
                eprintln!("{}: cannot reset: {e}", spec.name);
                code = 1;
            }
        }
    }
    code
}
