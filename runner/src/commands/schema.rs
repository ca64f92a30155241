//! `buzz schema`: print the JSON Schema of pipeline files for the plugins
//! found (the project keeps it as schemas/pipeline.schema.json).

use crate::cli::SchemaArgs;
use crate::config::pipeline_schema::pipeline_schema;
use crate::plugin_host::Catalog;

pub fn schema(args: SchemaArgs) -> i32 {
    let schema = pipeline_schema(&Catalog::search(args.plugins_dir.clone()));
    let text = serde_json::to_string_pretty(&schema).expect("JSON encodes") + "\n";
    match &args.output {
        Some(path) => match crate::atomic_write::write_atomic(path, text.as_bytes()) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("cannot write {}: {e}", path.display());
                1
            }
        },
        None => {
            print!("{text}");
            0
        }
    }
}
