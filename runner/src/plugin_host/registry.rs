//! Every plugin library this process loaded, by file. A file that changed
//! on disk since it was loaded (a plugin crate was rebuilt) is loaded again
//! from a private copy, because the dynamic loader would hand back the
//! already-loaded library for the same path; the old library is never
//! unloaded (unloading Rust libraries that used thread-locals crashes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use super::library::{LoadError, PluginLibrary, load};

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
/// library it already has for that path. The copy is removed once loaded
/// (its mapping stays).
fn load_copy(path: &Path) -> Result<PluginLibrary, LoadError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("buzz-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| LoadError::Open(format!("cannot make {}: {e}", dir.display())))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy = dir.join(format!("{}-{name}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::copy(path, &copy).map_err(|e| LoadError::Open(format!("cannot copy {}: {e}", path.display())))?;
    let loaded = load(&copy).map(|mut library| {
        library.path = path.to_path_buf();
        library
    });
    let _ = std::fs::remove_file(&copy);
    loaded
}
