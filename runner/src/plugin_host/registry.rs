//! Every plugin library this process loaded, by file. A file that changed
//! on disk since it was loaded (a plugin crate was rebuilt) is loaded again
//! from a private copy, because the dynamic loader would hand back the
//! already-loaded library for the same path; the old library is never
//! unloaded (unloading Rust libraries that used thread-locals crashes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use super::library::{LoadError, PluginLibrary, load};
use crate::private_dir::{check_private, runtime_base};

/// What identifies one build of a library file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: u64,
}

impl Identity {
    fn of(path: &Path) -> Option<Identity> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Identity {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(&meta),
        })
    }
}

struct Entry {
    identity: Option<Identity>,
    /// The library in use, if any build of this file ever loaded.
    current: Option<Arc<PluginLibrary>>,
    /// The latest build's refusal, while that build is on disk.
    refused: Option<LoadError>,
}

/// The outcome of asking for a file's current library.
#[derive(Debug, Clone)]
pub enum Loaded {
    /// The library, unchanged since it was last asked for.
    Same(Arc<PluginLibrary>),
    /// A new build was loaded (or the file was loaded for the first time).
    New(Arc<PluginLibrary>),
    /// The file's new build was refused; the previous library stays in use.
    Kept(Arc<PluginLibrary>, LoadError),
}

impl Loaded {
    pub fn library(&self) -> &Arc<PluginLibrary> {
        match self {
            Loaded::Same(l) | Loaded::New(l) | Loaded::Kept(l, _) => l,
        }
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Entry>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Entry>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The current library of the file at `path`, loading a new build if the
/// file changed. Errs only when no build of the file ever loaded.
pub fn load_current(path: &Path) -> Result<Loaded, LoadError> {
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let identity = Identity::of(path);
    let mut registry = registry().lock().expect("plugin registry poisoned");
    let entry = registry.entry(key).or_insert(Entry { identity: None, current: None, refused: None });
    if entry.identity.is_some() && entry.identity == identity {
        return match (&entry.current, &entry.refused) {
            (Some(current), None) => Ok(Loaded::Same(current.clone())),
            (Some(current), Some(error)) => Ok(Loaded::Kept(current.clone(), error.clone())),
            (None, Some(error)) => Err(error.clone()),
            (None, None) => unreachable!("an entry with an identity was loaded or refused"),
        };
    }
    entry.identity = identity;
    // The first load reads the file itself; a rebuild is read from a copy.
    let result = match &entry.current {
        None => load(path),
        Some(_) => load_copy(path),
    };
    match (result, &entry.current) {
        (Ok(library), _) => {
            let library = Arc::new(library);
            entry.current = Some(library.clone());
            entry.refused = None;
            Ok(Loaded::New(library))
        }
        (Err(error), Some(current)) => {
            entry.refused = Some(error.clone());
            Ok(Loaded::Kept(current.clone(), error))
        }
        (Err(error), None) => {
            entry.refused = Some(error.clone());
            Err(error)
        }
    }
}

/// Loads a private copy of the file, so the loader cannot return the
/// library it already has for that path. The copy and its directory are
/// removed once loaded (the mapping stays).
fn load_copy(path: &Path) -> Result<PluginLibrary, LoadError> {
    let dir = private_dir().map_err(LoadError::Open)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy = dir.path().join(name);
    std::fs::copy(path, &copy).map_err(|e| LoadError::Open(format!("cannot copy {}: {e}", path.display())))?;
    load(&copy).map(|mut library| {
        library.path = path.to_path_buf();
        library
    })
}

/// A fresh directory for one copy, with a random name and mode 0700: a
/// predictable shared path could be created first by another local user,
/// who could then swap the copy before it is loaded.
fn private_dir() -> Result<tempfile::TempDir, String> {
    let base = runtime_base().map_err(|e| format!("no private place for plugin copies: {e}"))?;
    let dir = tempfile::Builder::new()
        .prefix("buzz-plugins-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(&base)
        .map_err(|e| format!("cannot make a private directory for plugin copies in {}: {e}", base.display()))?;
    check_private(dir.path()).map_err(|e| format!("{e} (for plugin copies)"))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    /// A built plugin: unit tests run from target/<profile>/deps, the plugins are one level up.
    fn built_plugin() -> PathBuf {
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("libbuzz_fixture_relabel.so")
    }

    #[test]
    fn a_rebuild_is_not_copied_into_a_directory_planted_at_a_predictable_path() {
        let work = tempfile::tempdir().unwrap();
        let plugin = work.path().join("libbuzz_fixture_relabel.so");
        std::fs::copy(built_plugin(), &plugin).unwrap();
        assert!(matches!(load_current(&plugin), Ok(Loaded::New(_))));
        // Another local user plants /tmp/buzz-plugins-<pid> with the copies'
        // names linked to a file: a copy written through a link overwrites it.
        let trap = std::env::temp_dir().join(format!("buzz-plugins-{}", std::process::id()));
        std::fs::create_dir_all(&trap).unwrap();
        let victim = work.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        for name in ["libbuzz_fixture_relabel.so", "0-libbuzz_fixture_relabel.so", "1-libbuzz_fixture_relabel.so"] {
            std::os::unix::fs::symlink(&victim, trap.join(name)).unwrap();
        }
        // The plugin is rebuilt: a new file (a new inode) at the same path.
        std::fs::copy(built_plugin(), work.path().join("rebuilt")).unwrap();
        std::fs::rename(work.path().join("rebuilt"), &plugin).unwrap();
        let loaded = load_current(&plugin);
        std::fs::remove_dir_all(&trap).unwrap();
        assert!(matches!(loaded, Ok(Loaded::New(_))), "{loaded:?}");
        assert!(std::fs::read(&victim).unwrap() == b"untouched", "the copy went through the planted link");
    }

    #[test]
    fn copies_go_to_fresh_directories_only_this_user_can_enter() {
        let (a, b) = (private_dir().unwrap(), private_dir().unwrap());
        assert_ne!(a.path(), b.path());
        for dir in [&a, &b] {
            let meta = std::fs::metadata(dir.path()).unwrap();
            assert_eq!(meta.mode() & 0o777, 0o700, "{}", dir.path().display());
            assert_eq!(meta.uid(), crate::private_dir::euid());
            let name = dir.path().file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with("buzz-plugins-") && name != format!("buzz-plugins-{}", std::process::id()));
        }
    }

    #[test]
    fn a_directory_others_can_enter_is_refused() {
        let open = tempfile::tempdir().unwrap();
        std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = check_private(open.path()).unwrap_err();
        assert!(error.contains("other users can access it (mode 755"), "{error}");
        std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        check_private(open.path()).unwrap();
        assert!(check_private(&open.path().join("missing")).is_err());
    }
}
