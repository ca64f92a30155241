//! Starting a pipeline over (`buzz reset`): the consumers' checkpoints
//! (state and positions) and the source's position, wherever this
//! transport keeps them, are cleared. By default the consumers start again
//! at the transport's current end with an empty chart; `reread` makes them
//! chart everything it holds again, from empty.

use super::kafka::changelog::Changelog;
use super::{TransportError, file, kafka};
use crate::config::{Brokers, FileTransport, KafkaTransport, TransportSpec};
use crate::state::{self, TaskCheckpoint};

/// Clears the transport's checkpoints and its source's position; says what
/// it cleared.
pub fn reset(spec: &TransportSpec, reread: bool) -> Result<String, TransportError> {
    match spec {
        TransportSpec::File(f) => reset_file(f, reread),
        TransportSpec::Kafka(k) if k.brokers == Brokers::Embedded => {
            Ok("nothing to clear: the embedded broker keeps its topics and checkpoints only while its process runs, so every run starts over".into())
        }
        TransportSpec::Kafka(k) => reset_kafka(k, reread),
        TransportSpec::Memory(_) => Ok("nothing to clear: the memory transport keeps no state between runs".into()),
    }
}

fn remove(path: &std::path::Path) -> Result<bool, TransportError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(TransportError(format!("cannot remove {}: {e}", path.display()))),
    }
}

fn reset_file(spec: &FileTransport, reread: bool) -> Result<String, TransportError> {
    let checkpoint = file::checkpoint_path(&spec.path, &spec.group);
    let source = remove(&file::source_checkpoint_path(&spec.path))?;
    let consumer = if reread {
        let removed = remove(&checkpoint)?;
        format!(
            "{} of consumer group {}; the next run charts all of {} again",
            if removed { "cleared the state and position" } else { "no checkpoint" },
            spec.group,
            spec.path.display()
        )
    } else {
        let end = std::fs::metadata(&spec.path).map_or(0, |m| m.len());
        let bytes = serde_json::to_vec(&TaskCheckpoint::empty(0, end as i64)).expect("checkpoints encode");
        state::write_durable(&checkpoint, &bytes)
            .map_err(|e| TransportError(format!("cannot write {}: {e}", checkpoint.display())))?;
        format!(
            "cleared the state of consumer group {}: its chart starts empty, at the end of {} ({end} bytes not charted)",
            spec.group,
            spec.path.display()
        )
    };
    let source = if source {
        "cleared the source's position: it starts from its beginning"
    } else {
        "the source had no saved position"
    };
    Ok(format!("{consumer}; {source}"))
}

fn reset_kafka(spec: &KafkaTransport, reread: bool) -> Result<String, TransportError> {
    let bootstrap = kafka::bootstrap(spec)?;
    let mut changelog = Changelog::open(spec, &bootstrap)?;
    changelog.catch_up(std::time::Duration::from_secs(30))?;
    let ends = kafka::partition_ends(spec)?;
    let consumer = if reread {
        changelog.delete_tasks(ends.keys().copied())?;
        format!(
            "cleared the state and positions of consumer group {}; the next run charts all of topic {} again",
            spec.group, spec.topic
        )
    } else {
        let empty: Vec<TaskCheckpoint> = ends.iter().map(|(p, end)| TaskCheckpoint::empty(*p, *end)).collect();
        changelog.save_tasks(&empty)?;
        let behind: i64 = ends.values().sum();
        format!(
            "cleared the state of consumer group {}: its chart starts empty, at the end of topic {}'s {} partitions ({behind} records not charted)",
            spec.group,
            spec.topic,
            ends.len()
        )
    };
    let had_source = changelog.source().is_some();
    changelog.save_source(None)?;
    let source = if had_source {
        "cleared the source's position: it starts from its beginning"
    } else {
        "the source had no saved position"
    };
    Ok(format!("{consumer}; {source} (changelog topic {})", changelog.topic()))
}
