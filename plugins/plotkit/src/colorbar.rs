//! A colorbar: the colormap as an upright gradient beside the plot, with
//! ticks and values, so a colour can be read back as a number. It goes in
//! a strip to the right of the plot, outside the data area.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axes::{self, MARGIN, TICK_SIZE};
use crate::canvas::err;
use crate::colormap::Colormap;

/// Width of the gradient, and the room left of it and between it and its labels.
const BAR_WIDTH: i32 = 14;
const GAP: i32 = 12;
const TICK_LENGTH: i32 = 4;
const TICKS: usize = 6;
/// Colour steps in the gradient.
const BANDS: i32 = 64;

pub struct Colorbar {
    pub map: Colormap,
    /// The values at the bottom and top of the gradient.
    pub domain: (f64, f64),
    pub ink: RGBColor,
}

impl Colorbar {
    /// The tick values and their labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        let (lo, hi) = self.domain;
        let ticks = if hi > lo { RangedCoordf64::from(lo..hi).key_points(TICKS) } else { vec![lo] };
        let decimals = axes::tick_decimals(&ticks);
        ticks.into_iter().map(|t| (t, axes::number_label(t, decimals))).collect()
    }

    /// Pixels the strip needs beside the plot.
    pub fn width<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> u32 {
        let style = axes::text(TICK_SIZE, self.ink);
        let widest = self.ticks().iter().map(|(_, label)| axes::text_size(root, label, &style).0).max().unwrap_or(0);
        (GAP + BAR_WIDTH + TICK_LENGTH + 3) as u32 + widest + MARGIN
    }

    /// Draws in `strip` (from `width`) beside a plot spanning the pixel
    /// rows `rows` (the gradient runs over the same rows).
    pub fn draw<DB: DrawingBackend>(&self, strip: &DrawingArea<DB, Shift>, rows: Range<i32>) -> Result<(), String> {
        // `rows` are the image's; the strip draws from its own corner.
        let shift = strip.get_base_pixel().1;
        let left = GAP;
        let (top, bottom) = (rows.start - shift, rows.end.max(rows.start + 1) - shift);
        let (lo, hi) = self.domain;
        let height = f64::from(bottom - top);
        // Bands of a few pixels, bottom band at `lo`: smooth to the eye, and
        // a few dozen SVG elements rather than one per pixel row. Polygons,
        // not rectangles, so an SVG's rectangles are still just the data.
        let bands = (bottom - top).clamp(1, BANDS);
        for band in 0..bands {
            let (y0, y1) = (bottom - (bottom - top) * band / bands, bottom - (bottom - top) * (band + 1) / bands);
            let t = (f64::from(band) + 0.5) / f64::from(bands);
            let corners = vec![(left, y1), (left + BAR_WIDTH, y1), (left + BAR_WIDTH, y0), (left, y0)];
            strip.draw(&Polygon::new(corners, self.map.at(t).filled())).map_err(err)?;
        }
        let (right, foot) = (left + BAR_WIDTH, bottom - 1);
        let frame =
            PathElement::new(vec![(left, top), (right, top), (right, foot), (left, foot), (left, top)], self.ink);
        strip.draw(&frame).map_err(err)?;
        let style = axes::text(TICK_SIZE, self.ink).pos(Pos::new(HPos::Left, VPos::Center));
        for (value, label) in self.ticks() {
            let t = if hi > lo { (value - lo) / (hi - lo) } else { 0.5 };
            let y = bottom - (t * height).round() as i32;
            strip.draw(&PathElement::new(vec![(right, y), (right + TICK_LENGTH, y)], self.ink)).map_err(err)?;
            strip.draw_text(&label, &style, (right + TICK_LENGTH + 3, y)).map_err(err)?;
        }
        Ok(())
    }
}
