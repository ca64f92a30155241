//! A new data set and new kinds of chart for buzz, written entirely as a
//! plugin: a synthetic earthquake catalogue (`quake_catalog`), a focal
//! depth classifier (`depth_class`), and `histogram` and `scatter` charts
//! drawn to SVG and PNG with plotters through the shared `plotkit` crate.

mod archive;
mod axes;
pub mod catalog;
pub mod depth_class;
pub mod histogram;
mod histogram_draw;
mod regions;
mod saved;
pub mod scatter;
mod scatter_draw;
mod style;

pub use catalog::QuakeCatalog;
pub use depth_class::DepthClass;
pub use histogram::Histogram;
pub use scatter::Scatter;

buzz_sdk::export_plugin! {
    name: "quakes",
    stages: [
        buzz_sdk::source::<QuakeCatalog>(),
        buzz_sdk::transform::<DepthClass>(),
        buzz_sdk::chart::<Histogram>(),
        buzz_sdk::chart::<Scatter>(),
    ],
}
