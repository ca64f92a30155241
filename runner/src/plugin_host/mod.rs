//! The plugin host: finds plugin libraries, checks their ABI and drives
//! their stages through safe handles.
//!
//! The C ABI (the `buzz-abi` crate) ends here: the rest of the runner sees
//! safe views of records ([`RecordView`], [`Records`]) and the values the
//! ABI encodes, re-exported below, and never a raw pointer or an `unsafe`
//! block (the crate root denies `unsafe_code`; only this module and the
//! embedded broker's FFI are allowed it).

mod catalog;
mod host_api;
mod library;
mod registry;
mod stage;

pub use catalog::{Catalog, LookupError, Refused, default_dirs, is_plugin_file};
pub use host_api::{WarningSink, keep_warnings_in};
pub use library::{LoadError, PluginLibrary, StageInfo, load, plugin_name_from_path};
pub use registry::{Loaded, load_current};
pub use stage::{Batch, CallError, ChartRenderer, PluginBytes, StageInstance};

pub use buzz_abi::{
    ABI_VERSION, FfiField, Header, ImageFormat, InputBuffer, Poll, RecordView, Records, RejectView, StageKind,
};
