//! Chart stages for buzz: `bar_chart` (latest value per category) and
//! `line_chart` (a value over time with markers, in bounded memory). Both
//! draw SVG and PNG with plotters, using an embedded font for PNG text.

mod axes;
pub mod bar;
mod bar_draw;
mod canvas;
mod color;
mod crisp_text;
pub mod downsample;
mod fonts;
pub mod line;
mod line_draw;
mod markers;
mod point_tips;
mod settings;
pub mod timeaxis;

pub use bar::BarChart;
pub use line::LineChart;

buzz_sdk::export_plugin! {
    name: "charts",
    stages: [buzz_sdk::chart::<BarChart>(), buzz_sdk::chart::<LineChart>()],
}
