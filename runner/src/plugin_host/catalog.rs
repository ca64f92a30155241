//! Finding plugins: the search path, and which plugin provides which stage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::library::{LoadError, PluginLibrary, StageInfo, plugin_name_from_path};
use super::registry::{Loaded, load_current};

/// A library that was refused, and why.
#[derive(Debug, Clone)]
pub struct Refused {
    pub path: PathBuf,
    pub error: LoadError,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "plugin {} ({}) {}", plugin_name_from_path(&self.path), self.path.display(), self.error)
    }
}

/// True for file names buzz loads as plugins: `libbuzz_plugin_<name>.so`
/// (or the platform's equivalent).
pub fn is_plugin_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    let prefix = format!("{}buzz_plugin_", std::env::consts::DLL_PREFIX);
    name.starts_with(&prefix) && name.ends_with(std::env::consts::DLL_SUFFIX)
}

/// Where `scripts/install` puts the plugins under its prefix, beside the
/// `bin` folder that holds `buzz`.
const INSTALLED_PLUGINS: &str = "lib/buzz/plugins";

/// The default search path: `BUZZ_PLUGIN_PATH`, then the folder of the
/// `buzz` executable (the workspace's build output), then the installed
/// plugins' folder beside it.
pub fn default_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("BUZZ_PLUGIN_PATH")
        .map(|p| std::env::split_paths(&p).filter(|d| !d.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        // Test binaries live in target/<profile>/deps; plugins one level up.
        if exe_dir.ends_with("deps") {
            dirs.extend(exe_dir.parent().map(Path::to_path_buf));
        }
        let installed = exe_dir.parent().map(|prefix| prefix.join(INSTALLED_PLUGINS));
        dirs.push(exe_dir);
        dirs.extend(installed.filter(|d| d.is_dir()));
    }
    dirs
}

/// The plugins found in a search path, in search order.
#[derive(Debug, Default)]
pub struct Catalog {
    pub dirs: Vec<PathBuf>,
    pub plugins: Vec<Arc<PluginLibrary>>,
    pub refused: Vec<Refused>,
}

/// Why a stage type could not be resolved.
#[derive(Debug, Clone)]
pub enum LookupError {
    Unknown,
    Ambiguous(Vec<String>),
}

impl Catalog {
    /// Scans `dirs` in order; the first plugin of a given name wins.
    pub fn discover(dirs: Vec<PathBuf>) -> Catalog {
        let mut catalog = Catalog { dirs: Vec::new(), plugins: Vec::new(), refused: Vec::new() };
        for dir in dirs {
            catalog.scan(&dir);
            catalog.dirs.push(dir);
        }
        catalog
    }

    /// Scans `first`, then the default search path ([`default_dirs`]).
    pub fn search(first: Vec<PathBuf>) -> Catalog {
        let mut dirs = first;
        dirs.extend(default_dirs());
        Catalog::discover(dirs)
    }

    fn scan(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::debug!(dir = %dir.display(), "plugin folder not readable; skipped");
            return;
        };
        let mut files: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_plugin_file(p)).collect();
        files.sort();
        for path in files {
            let plugin = load_current(&path).map(|loaded| {
                if let Loaded::Kept(kept, error) = &loaded {
                    tracing::warn!(
                        "plugin {} at {} was rebuilt but the new build is refused: it {error}; version {} stays in use",
                        kept.name,
                        path.display(),
                        kept.version
                    );
                }
                loaded.library().clone()
            });
            match plugin {
                Ok(plugin) if self.plugins.iter().any(|p| p.name == plugin.name) => {
                    tracing::debug!(plugin = %plugin.name, path = %path.display(), "plugin already found earlier in the search path; skipped");
                }
                Ok(plugin) => self.plugins.push(plugin),
                Err(error) => {
                    tracing::warn!("refused {}", Refused { path: path.clone(), error: error.clone() });
                    self.refused.push(Refused { path, error });
                }
            }
        }
    }

    /// The plugin and stage for `type` (`"line_chart"`, or `"charts/line_chart"`
    /// to pick one plugin's stage when several offer the name).
    pub fn lookup(&self, type_name: &str) -> Result<(Arc<PluginLibrary>, &StageInfo), LookupError> {
        let (plugin_name, stage_name) = match type_name.split_once('/') {
            Some((p, s)) => (Some(p), s),
            None => (None, type_name),
        };
        let matches: Vec<(&Arc<PluginLibrary>, &StageInfo)> = self
            .plugins
            .iter()
            .filter(|p| plugin_name.is_none_or(|n| p.name == n))
            .filter_map(|p| p.stage(stage_name).map(|s| (p, s)))
            .collect();
        match matches.as_slice() {
            [] => Err(LookupError::Unknown),
            [(plugin, stage)] => Ok(((*plugin).clone(), stage)),
            many => {
                Err(LookupError::Ambiguous(many.iter().map(|(p, s)| format!("{}/{}", p.name, s.type_name)).collect()))
            }
        }
    }

    /// Every stage type on offer (for "did you mean").
    pub fn stage_types(&self) -> Vec<&str> {
        self.plugins.iter().flat_map(|p| p.stages.iter().map(|s| s.type_name.as_str())).collect()
    }

    /// "searched: a, b" for error messages.
    pub fn searched(&self) -> String {
        self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
    }
}
