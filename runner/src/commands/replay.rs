//! `buzz replay [DEADLETTERS] --into PIPELINE`: send dead letters (fixed by
//! hand, or after fixing the stage that refused them) back into a
//! pipeline's transport, with their keys and timestamps (transports send
//! no headers), so no record is ever lost for good. They come from a file,
//! or by default from the pipeline's own dead-letter output: its file or
//! its Kafka topic.
//! `--export FILE` writes them out instead, to be fixed and replayed.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::cli::ReplayArgs;
use crate::config::{self, DeadLetterTarget};
use crate::pipeline::DeadLetterLine;
use crate::plugin_host::{Catalog, RecordView};
use crate::transport::kafka::read_topic;
use crate::transport::{SendProgress, open_writer};

/// One dead letter's record, decoded.
struct Letter {
    payload: Vec<u8>,
    key: Option<Vec<u8>>,
    timestamp_ms: Option<i64>,
}

fn decode(line: &DeadLetterLine) -> Result<Letter, String> {
    Ok(Letter {
        payload: line.payload_bytes()?,
        key: line.key.as_ref().map(|k| k.0.to_vec()),
        timestamp_ms: line.timestamp_ms,
    })
}

pub fn replay(args: ReplayArgs) -> i32 {
    match run(&args) {
        Ok(message) => {
            println!("{message}");
            0
        }
        Err(message) => {
            eprintln!("{message}");
            1
        }
    }
}

fn run(args: &ReplayArgs) -> Result<String, String> {
    let overrides = super::parse_overrides(&args.set).map_err(|d| d.to_string())?;
    let spec = config::load(&args.into, &overrides, &Catalog::search).map_err(|d| d.to_string())?;
    let target = match &args.dead_letters {
        Some(path) => DeadLetterTarget::File(path.clone()),
        None => spec.dead_letter.clone(),
    };
    let entries = read_entries(&target, args.stage.as_deref())?;
    if let Some(export) = &args.export {
        return export_entries(&entries.letters, export).map(|()| {
            format!(
                "saved {} dead letters from {} to {}: fix them, then `buzz replay {} --into {}`",
                entries.letters.len(),
                target.describe(),
                export.display(),
                export.display(),
                args.into.display()
            )
        });
    }
    let mut skipped = entries.skipped;
    let mut letters = Vec::new();
    for Entry { at, line, .. } in &entries.letters {
        let decoded = match line {
            Ok(line) if line.replayable == Some(false) => {
                eprintln!(
                    "{at}: skipped: the chart refused it, so it is the transform's output, not a record of the input"
                );
                skipped += 1;
                continue;
            }
            Ok(line) => decode(line),
            Err(e) => Err(e.clone()),
        };
        match decoded {
            Ok(letter) => letters.push(letter),
            Err(e) => {
                eprintln!("{at}: skipped: the dead letter {e}");
                skipped += 1;
            }
        }
    }
    let mut writer = open_writer(&spec.transport).map_err(|e| format!("transport: {e}"))?;
    let records: Vec<RecordView<'_>> = letters
        .iter()
        .map(|l| RecordView { key: l.key.as_deref(), timestamp_ms: l.timestamp_ms, ..RecordView::bytes(&l.payload) })
        .collect();
    let mut progress = SendProgress::default();
    writer.send(&records, &mut progress).map_err(|e| format!("transport: {e}"))?;
    let rejected = progress.rejected;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while let Err(e) = writer.flush() {
        if std::time::Instant::now() > deadline {
            return Err(format!("the transport did not take the records: {e}"));
        }
    }
    let mut failed = Vec::new();
    writer.take_failed(&mut failed);
    for (index, reason) in &rejected {
        eprintln!("record {} was not sent: {reason}", index + 1);
    }
    let sent = records.len() - rejected.len() - failed.len();
    let kept = match target {
        DeadLetterTarget::File(_) => "they are still in the dead-letter file: remove them once the pipeline took them",
        DeadLetterTarget::Kafka(_) => "they stay in the dead-letter topic: replaying it again sends them again",
    };
    let skipped = match skipped {
        0 => String::new(),
        n => format!(" ({n} skipped, each said above)"),
    };
    Ok(format!(
        "replayed {sent} of {} dead letters{skipped} from {} into {}; {kept}",
        records.len(),
        target.describe(),
        spec.transport.describe()
    ))
}

/// One dead letter, with where it is.
struct Entry {
    at: String,
    /// As read, for `--export` (with any fields a user added by hand).
    raw: Json,
    /// Decoded, or why it cannot be.
    line: Result<DeadLetterLine<'static>, String>,
}

/// What a dead-letter file or topic holds.
struct Entries {
    /// The dead letters (only those of the stage asked for; a letter that
    /// cannot be decoded is kept, to be reported).
    letters: Vec<Entry>,
    /// Lines that are not dead letters (each reported on stderr).
    skipped: usize,
}

/// The dead letters (only those of `stage`, if given), each with where it
/// is; a line that is not one is reported and skipped, not fatal.
fn read_entries(target: &DeadLetterTarget, stage: Option<&str>) -> Result<Entries, String> {
    let lines: Vec<(String, Vec<u8>)> = match target {
        DeadLetterTarget::File(path) => {
            let text =
                std::fs::read(path).map_err(|e| format!("{}: cannot read the dead letters: {e}", path.display()))?;
            text.split(|b| *b == b'\n')
                .enumerate()
                .filter(|(_, line)| !line.trim_ascii().is_empty())
                .map(|(number, line)| (format!("{}:{}", path.display(), number + 1), line.to_vec()))
                .collect()
        }
        DeadLetterTarget::Kafka(spec) => read_topic(spec)
            .map_err(|e| format!("dead letters: {e}"))?
            .into_iter()
            .map(|record| (record.position, record.payload))
            .collect(),
    };
    let mut entries = Entries { letters: Vec::new(), skipped: 0 };
    for (at, line) in lines {
        match serde_json::from_slice::<Json>(&line) {
            Ok(raw) => {
                let line = DeadLetterLine::deserialize(&raw).map_err(|e| format!("cannot be read: {e}"));
                let wanted = match &line {
                    Ok(line) => stage.is_none_or(|s| line.stage.as_deref() == Some(s)),
                    Err(_) => true,
                };
                if wanted {
                    entries.letters.push(Entry { at, raw, line });
                }
            }
            Err(e) => {
                eprintln!("{at}: skipped: not a dead letter (JSON): {e}");
                entries.skipped += 1;
            }
        }
    }
    Ok(entries)
}

/// Writes the dead letters as JSON lines, the file format `buzz replay` reads.
fn export_entries(entries: &[Entry], path: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: cannot write the dead letters: {e}", path.display());
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    for entry in entries {
        serde_json::to_writer(&mut file, &entry.raw).map_err(|e| fail(e.into()))?;
        file.write_all(b"\n").map_err(fail)?;
    }
    file.flush().map_err(fail)
}
