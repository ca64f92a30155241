//! Noticing edits: the pipeline file (editors save by rewriting it in place
//! or by renaming a temporary file over it, so its folder is watched) and
//! the plugin libraries in use (a rebuilt crate replaces its library).

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Instant;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::plugin_host::is_plugin_file;

/// Something that may need a reload, and when it was noticed.
#[derive(Debug, Clone)]
pub enum Trigger {
    File(Instant),
    Plugin(PathBuf, Instant),
}

impl Trigger {
    pub fn at(&self) -> Instant {
        match self {
            Trigger::File(at) | Trigger::Plugin(_, at) => *at,
        }
    }
}

fn touches(event: &Event) -> bool {
    matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any)
}

/// Watches `file` (through its folder) and sends a trigger for each change.
pub fn watch_file(file: &Path, triggers: Sender<Trigger>) -> notify::Result<RecommendedWatcher> {
    let name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    let dir = match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        if let Ok(event) = event
            && touches(&event)
            && event.paths.iter().any(|p| p.file_name() == Some(name.as_os_str()))
        {
            let _ = triggers.send(Trigger::File(Instant::now()));
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// Watches folders for plugin libraries being replaced.
pub fn watch_plugins(dirs: &[PathBuf], triggers: Sender<Trigger>) -> notify::Result<RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        if let Ok(event) = event
            && touches(&event)
        {
            for path in event.paths.iter().filter(|p| is_plugin_file(p)) {
                let _ = triggers.send(Trigger::Plugin(path.clone(), Instant::now()));
            }
        }
    })?;
    for dir in dirs {
        if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!("cannot watch plugin folder {} for rebuilt plugins: {e}", dir.display());
        }
    }
    Ok(watcher)
}
