//! Hot reload: edits to a running pipeline's file, and rebuilt plugin
//! libraries, take effect at once with nothing lost; an invalid edit is
//! reported (`file:line:col`) and the old pipeline keeps running.

mod diff;
mod reloader;
mod watch;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use diff::PipelineDiff;
pub use reloader::{Outcome, Reloader};
pub use watch::Trigger;

use crate::config::{Override, PipelineSpec};
use crate::pipeline::PipelineHandle;
use crate::plugin_host::{Loaded, load_current};

/// Quiet time that ends a burst of file events (an editor's save is several).
const FILE_QUIET: Duration = Duration::from_millis(30);
/// Quiet time for plugin folders (a build writes and links the library in steps).
const PLUGIN_QUIET: Duration = Duration::from_millis(300);

/// Watches a running pipeline's file and plugins, reloading on change,
/// until the pipeline stops.
pub fn spawn(
    path: &Path,
    overrides: &[Override],
    spec: PipelineSpec,
    handle: PipelineHandle,
) -> std::io::Result<JoinHandle<()>> {
    let (tx, rx) = mpsc::channel();
    let file_watcher = watch::watch_file(path, tx.clone()).map_err(std::io::Error::other)?;
    let plugin_watcher = watch::watch_plugins(&plugin_dirs(&spec), tx).map_err(std::io::Error::other)?;
    let mut reloader = Reloader::new(path, overrides, spec, handle.clone());
    std::thread::Builder::new().name(format!("{}-reload", handle.shared().name)).spawn(move || {
        let _watchers = (file_watcher, plugin_watcher);
        tracing::debug!(pipeline = %handle.shared().name, "watching {} and its plugins for changes", reloader_path(&reloader).display());
        while let Some(burst) = next_burst(&rx, &handle) {
            handle_burst(&mut reloader, &handle, burst);
        }
    })
}

fn reloader_path(reloader: &Reloader) -> &Path {
    &reloader.spec().file.path
}

/// Folders of the plugin libraries the pipeline uses.
fn plugin_dirs(spec: &PipelineSpec) -> Vec<PathBuf> {
    let dirs: BTreeSet<PathBuf> = spec.stages().filter_map(|s| s.plugin.path.parent().map(Path::to_path_buf)).collect();
    dirs.into_iter().collect()
}

/// Waits for a trigger, then gathers the rest of its burst. `None` once the
/// pipeline has stopped.
fn next_burst(rx: &Receiver<Trigger>, handle: &PipelineHandle) -> Option<Vec<Trigger>> {
    let first = loop {
        if handle.shared().stop.is_stopped() {
            return None;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(trigger) => break trigger,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    };
    let mut burst = vec![first];
    loop {
        let quiet = if burst.iter().any(|t| matches!(t, Trigger::Plugin(..))) { PLUGIN_QUIET } else { FILE_QUIET };
        match rx.recv_timeout(quiet) {
            Ok(trigger) => burst.push(trigger),
            Err(_) => return Some(burst),
        }
    }
}

fn handle_burst(reloader: &mut Reloader, handle: &PipelineHandle, burst: Vec<Trigger>) {
    let noticed = burst.iter().map(Trigger::at).min().unwrap_or_else(Instant::now);
    let mut plugins_changed = false;
    let plugins: BTreeSet<PathBuf> =
        burst.iter().filter_map(|t| if let Trigger::Plugin(p, _) = t { Some(p.clone()) } else { None }).collect();
    let in_use: Vec<&str> = reloader.spec().stages().map(|s| s.plugin.name.as_str()).collect();
    let mut refusals = Vec::new();
    for path in plugins {
        match load_current(&path) {
            Ok(Loaded::New(library)) => {
                tracing::info!(pipeline = %handle.shared().name, "plugin {} rebuilt: loaded version {} from {}", library.name, library.version, path.display());
                plugins_changed = true;
            }
            Ok(Loaded::Kept(kept, error)) if in_use.contains(&kept.name.as_str()) => {
                refusals.push(format!("plugin {} ({}) was rebuilt, but the new build is refused: it {error}; the loaded version keeps running", kept.name, path.display()));
            }
            _ => {}
        }
    }
    for refusal in refusals {
        reloader.refuse(refusal, noticed);
    }
    let file_changed = burst.iter().any(|t| matches!(t, Trigger::File(_)));
    if file_changed || plugins_changed {
        reloader.reload(noticed, plugins_changed);
    }
}
