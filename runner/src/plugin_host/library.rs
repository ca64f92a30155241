//! Loading one plugin library and checking its declaration before calling
//! anything in it.

use std::fmt;
use std::path::{Path, PathBuf};

use buzz_abi::{
    ABI_VERSION, DECLARATION_SYMBOL, ErrorReport, FfiBuf, FfiSlice, MAGIC, PluginDeclaration, STATUS_OK, StageKind,
};
use serde::Deserialize;

use super::host_api::host_api;

/// One stage a plugin offers, as its `describe` call said.
#[derive(Debug, Clone, Deserialize)]
pub struct StageInfo {
    #[serde(rename = "type")]
    pub type_name: String,
    pub kind: StageKind,
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the stage's settings.
    pub settings: serde_json::Value,
}

#[derive(Deserialize)]
struct Description {
    stages: Vec<StageInfo>,
}

/// A loaded, checked plugin library. Never unloaded: unloading Rust
/// libraries that used thread-locals crashes, and hot reload loads a copy.
pub struct PluginLibrary {
    pub name: String,
    pub version: String,
    pub sdk_version: String,
    pub abi_version: u32,
    /// The file found in the search path.
    pub path: PathBuf,
    pub stages: Vec<StageInfo>,
    pub(super) decl: &'static PluginDeclaration,
}

impl fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginLibrary").field("name", &self.name).field("path", &self.path).finish()
    }
}

impl PluginLibrary {
    pub fn stage(&self, type_name: &str) -> Option<&StageInfo> {
        self.stages.iter().find(|s| s.type_name == type_name)
    }
}

/// Why a library was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    Open(String),
    NotAPlugin,
    BadMagic,
    AbiMismatch { found: u32 },
    BadDeclarationSize { found: u32 },
    Init(String),
    Describe(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Open(e) => write!(f, "cannot be loaded: {e}"),
            LoadError::NotAPlugin => write!(
                f,
                "is not a buzz plugin: it exports no {} symbol (build it with buzz_sdk::export_plugin!)",
                String::from_utf8_lossy(&DECLARATION_SYMBOL[..DECLARATION_SYMBOL.len() - 1])
            ),
            LoadError::BadMagic => write!(f, "is not a buzz plugin: its declaration has the wrong magic number"),
            LoadError::AbiMismatch { found } => write!(
                f,
                "was built for plugin ABI {found}, this runner speaks ABI {ABI_VERSION}; rebuild the plugin against this version of buzz-sdk"
            ),
            LoadError::BadDeclarationSize { found } => write!(
                f,
                "has a declaration of {found} bytes where ABI {ABI_VERSION} needs {}; rebuild the plugin against this version of buzz-sdk",
                std::mem::size_of::<PluginDeclaration>()
            ),
            LoadError::Init(e) => write!(f, "failed to initialise: {e}"),
            LoadError::Describe(e) => write!(f, "failed to describe its stages: {e}"),
        }
    }
}

/// `libbuzz_plugin_smoker.so` -> `smoker`: how a library is named in
/// messages before (or without) reading its declaration.
pub fn plugin_name_from_path(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = file.strip_prefix(std::env::consts::DLL_PREFIX).unwrap_or(&file);
    let stem = stem.strip_suffix(std::env::consts::DLL_SUFFIX).unwrap_or(stem);
    let stem = stem.split_once('.').map_or(stem, |(s, _)| s);
    stem.strip_prefix("buzz_plugin_").unwrap_or(stem).to_string()
}

/// Loads the library at `path`, checks its declaration and asks it to describe itself.
pub fn load(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: loading runs the library's initialisers; buzz plugins have
    // none beyond Rust's, and only files named like plugins are loaded.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| LoadError::Open(e.to_string()))?;
    // SAFETY: we only take the address of the symbol here.
    let symbol =
        unsafe { library.get::<*const PluginDeclaration>(DECLARATION_SYMBOL) }.map_err(|_| LoadError::NotAPlugin)?;
    let decl: *const PluginDeclaration = *symbol;
    // SAFETY: the first three fields are the stable header every ABI
    // version shares; nothing else is read before they check out.
    let (magic, abi_version, size) = unsafe {
        (
            std::ptr::read_unaligned(std::ptr::addr_of!((*decl).magic)),
            std::ptr::read_unaligned(std::ptr::addr_of!((*decl).abi_version)),
            std::ptr::read_unaligned(std::ptr::addr_of!((*decl).declaration_size)),
        )
    };
    if magic != MAGIC {
        return Err(LoadError::BadMagic);
    }
    if abi_version != ABI_VERSION {
        return Err(LoadError::AbiMismatch { found: abi_version });
    }
    if (size as usize) < std::mem::size_of::<PluginDeclaration>() {
        return Err(LoadError::BadDeclarationSize { found: size });
    }
    // Never unloaded (see PluginLibrary), so the declaration lives for ever.
    std::mem::forget(library);
    // SAFETY: header checked; the library stays loaded for the process.
    let decl: &'static PluginDeclaration = unsafe { &*decl };

    // SAFETY: the declaration's functions follow the ABI we just checked.
    let status = unsafe { (decl.init)(host_api()) };
    if status != STATUS_OK {
        return Err(LoadError::Init(format!("init returned status {status}")));
    }
    let mut out = FfiBuf::EMPTY;
    // SAFETY: as above; `out` is a valid buffer for the plugin to fill.
    let status = unsafe { (decl.describe)(&mut out) };
    if status != STATUS_OK {
        return Err(LoadError::Describe(format!("describe returned status {status}")));
    }
    let description: Description =
        serde_json::from_slice(out.as_bytes()).map_err(|e| LoadError::Describe(format!("invalid description: {e}")))?;
    // SAFETY: the strings in the declaration are static data of the library.
    let text = |s: FfiSlice| String::from_utf8_lossy(unsafe { s.as_bytes() }).into_owned();
    Ok(PluginLibrary {
        name: text(decl.plugin_name),
        version: text(decl.plugin_version),
        sdk_version: text(decl.sdk_version),
        abi_version,
        path: path.to_path_buf(),
        stages: description.stages,
        decl,
    })
}

/// Reads an error buffer filled by a failed call.
pub(super) fn read_report(err: &FfiBuf) -> ErrorReport {
    serde_json::from_slice(err.as_bytes()).unwrap_or_else(|_| ErrorReport {
        message: String::from_utf8_lossy(err.as_bytes()).into_owned(),
        setting: None,
    })
}
