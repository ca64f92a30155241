//! Chart stages for buzz: `bar_chart` (latest value per category) and
//! `line_chart` (a value over time with markers, in bounded memory). Both
//! draw SVG and PNG with plotters through the shared `plotkit` crate.

pub mod bar;
mod bar_draw;
mod dense_line;
pub mod downsample;
pub mod line;
mod line_draw;
mod markers;
mod settings;
pub mod timeaxis;

// The shared parts, under the names the chart modules use.
use plotkit::{axes, canvas, color};

pub use bar::BarChart;
pub use line::LineChart;

buzz_sdk::export_plugin! {
    name: "charts",
    stages: [buzz_sdk::chart::<BarChart>(), buzz_sdk::chart::<LineChart>()],
}
