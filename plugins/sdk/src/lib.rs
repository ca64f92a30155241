//! # buzz plugin SDK
//!
//! Write buzz stages in safe Rust: implement [`Source`], [`Transform`] or
//! [`Chart`] for a type, then export them with [`export_plugin!`]:
//!
//! ```ignore
//! buzz_sdk::export_plugin! {
//!     name: "smoker",
//!     stages: [buzz_sdk::transform::<StallDetection>()],
//! }
//! ```
//!
//! Build the crate as a `cdylib` named `buzz_plugin_<name>` and the runner
//! finds it. All unsafe FFI glue lives in this crate; [`abi`] documents the
//! C ABI it speaks, and [`testing`] drives a stage exactly as the runner does.

/// The C ABI: the `buzz-abi` crate, which the runner speaks too.
pub use buzz_abi as abi;
pub mod categories;
pub mod fields;
mod frame_cache;
mod glue;
mod logging;
mod output;
mod panics;
mod record;
mod stage;
pub mod testing;

pub use glue::{Plugin, StageEntry, chart, declaration, source, transform};
pub use output::Output;
pub use record::{Header, Record};
pub use stage::{Chart, ImageFormat, Poll, Settings, Source, StageError, StageKind, Transform};

// Re-exported so plugins use the same versions as the SDK.
pub use log;
pub use schemars;
pub use schemars::JsonSchema;
pub use serde;
pub use serde_json;

/// Exports a plugin: its name (the crate version is taken from Cargo) and
/// its stages, each made with [`source`], [`transform`] or [`chart`].
#[macro_export]
macro_rules! export_plugin {
    (name: $name:expr, stages: [$($stage:expr),* $(,)?] $(,)?) => {
        #[doc(hidden)]
        pub struct BuzzPluginExport;

        impl $crate::Plugin for BuzzPluginExport {
            const NAME: &'static str = $name;
            const VERSION: &'static str = env!("CARGO_PKG_VERSION");
            const STAGES: &'static [$crate::StageEntry] = &[$($stage),*];
        }

        /// The declaration the buzz runner looks for.
        #[unsafe(no_mangle)]
        pub static BUZZ_PLUGIN_DECLARATION: $crate::abi::PluginDeclaration =
            $crate::declaration::<BuzzPluginExport>();
    };
}
