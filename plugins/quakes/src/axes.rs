//! The frame both quake charts share around their data: title, axes with
//! ticks and grid, and the axis descriptions, on any y scale (the
//! histogram's may be logarithmic). Text helpers come from `plotkit`.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use plotkit::axes::{self as kit, clean, text as text_style};
use plotkit::canvas::err as failed;

use crate::style::Heading;

const MARGIN: u32 = 16;
pub const TITLE_SIZE: f64 = 24.0;
pub const LABEL_SIZE: f64 = 17.0;
pub const TICK_SIZE: f64 = 14.0;

pub type Plot<'a, DB, Y> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// Builds the plot area for `x` by `y`, leaving room for the title, the
/// tick labels (`widest_y_tick` is the longest y tick text) and the
/// axis descriptions, all written in `ink`.
pub fn plot<'a, DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
    area: &'a DrawingArea<DB, Shift>,
    (heading, ink): (&Heading, RGBColor),
    x: Range<f64>,
    y: Y,
    widest_y_tick: &str,
) -> Result<Plot<'a, DB, Y::CoordDescType>, String> {
    let text_height = |text: &str, size: f64| measure(area, text, size).1;
    let description = |text: &str| if text.is_empty() { 0 } else { text_height(text, LABEL_SIZE) + 8 };
    let tick_width = measure(area, widest_y_tick, TICK_SIZE).0;
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(MARGIN)
        .x_label_area_size(text_height("0", TICK_SIZE) + 14 + description(&heading.x_label))
        .y_label_area_size(tick_width + 14 + description(&heading.y_label));
    if !heading.title.is_empty() {
        builder.caption(clean(&heading.title), text_style(TITLE_SIZE, ink));
    }
    builder.build_cartesian_2d(x, y).map_err(failed)
}

/// Draws the axes, a light grid, tick labels and the descriptions.
/// `x_ticks` is at most how many x ticks to label.
pub fn mesh<DB: DrawingBackend, Y: Ranged<ValueType = f64> + ValueFormatter<f64>>(
    plot: &mut Plot<'_, DB, Y>,
    (heading, ink): (&Heading, RGBColor),
    x_ticks: usize,
) -> Result<(), String> {
    const Y_TICKS: usize = 8;
    let spec = plot.as_coord_spec();
    let x_decimals = kit::tick_decimals(&spec.x_spec().key_points(x_ticks));
    let y_decimals = kit::tick_decimals(&spec.y_spec().key_points(Y_TICKS));
    let x_tick = move |v: &f64| kit::number_label(*v, x_decimals);
    let y_tick = move |v: &f64| kit::number_label(*v, y_decimals);
    let mut mesh = plot.configure_mesh();
    mesh.x_labels(x_ticks)
        .y_labels(Y_TICKS)
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .label_style(text_style(TICK_SIZE, ink))
        .axis_desc_style(text_style(LABEL_SIZE, ink))
        .axis_style(ink)
        .bold_line_style(ink.mix(0.1))
        .max_light_lines(0);
    if !heading.x_label.is_empty() {
        mesh.x_desc(clean(&heading.x_label));
    }
    if !heading.y_label.is_empty() {
        mesh.y_desc(clean(&heading.y_label));
    }
    mesh.draw().map_err(failed)
}

/// Width and height of `text` in pixels at font `size` ((0, 0) if unknown).
pub fn measure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, size: f64) -> (u32, u32) {
    kit::text_size(area, text, &kit::text(size, BLACK))
}
