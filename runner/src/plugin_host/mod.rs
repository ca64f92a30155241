//! The plugin host: finds plugin libraries, checks their ABI and drives
//! their stages through safe handles.

mod catalog;
mod host_api;
mod library;
mod registry;
mod stage;

pub use catalog::{Catalog, LookupError, Refused, default_dirs, is_plugin_file};
pub use host_api::{WarningSink, keep_warnings_in};
pub use library::{LoadError, PluginLibrary, StageInfo, load, plugin_name_from_path};
pub use registry::{Loaded, load_current};
pub use stage::{Batch, CallError, ChartRenderer, ImageFormat, PluginBytes, PollStatus, StageInstance};
