//! What buzz's chart plugins share, so that a new chart plugin starts from
//! it: the embedded font and crisp PNG text, colour names and parsing,
//! colormaps and a colorbar, text fitting, axes, SVG/PNG output with
//! tooltips; and the seedable generators the data-making sources use.

pub mod axes;
pub mod canvas;
pub mod color;
pub mod colorbar;
pub mod colormap;
mod crisp_text;
pub mod font;
pub mod random;
pub mod tooltip;

/// The plotters this crate draws with, so a chart plugin draws with the
/// same version without naming it in its own Cargo.toml.
pub use plotters;
