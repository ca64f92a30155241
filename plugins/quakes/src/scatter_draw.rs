//! Draws a scatter frame: a dot per point, coloured on the viridis scale
//! when the frame carries colour values, with a small colour key.

use std::ops::Range;

use buzz_sdk::ImageFormat;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axes::{self, TICK_SIZE};
use crate::scatter::ScatterFrame;
use plotkit::axes::{clean, number_label, text as text_style, tick_decimals};
use plotkit::canvas::{self, Draw, err as failed};
use plotkit::colormap::{Colormap, position};

const KEY_WIDTH: i32 = 120;
const KEY_HEIGHT: i32 = 10;

pub fn render(frame: &ScatterFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
    canvas::render(&Drawing(frame), (frame.style.look.width, frame.style.look.height), format)
}

struct Drawing<'a>(&'a ScatterFrame);

/// `fixed`, or the data's extent with a little room around it.
fn axis(fixed: Option<[f64; 2]>, values: impl Iterator<Item = f64>) -> Range<f64> {
    if let Some([lo, hi]) = fixed.filter(|[lo, hi]| lo < hi) {
        return lo..hi;
    }
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.1 };
    lo - pad..hi + pad
}

/// Smallest and largest finite value, if any.
fn extent(values: &[f64]) -> Option<(f64, f64)> {
    values.iter().filter(|v| v.is_finite()).fold(None, |acc, &v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

impl Draw for Drawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<String, String> {
        let frame = self.0;
        let style = &frame.style;
        let (color, background) = (style.look.color()?, style.look.background()?);
        area.fill(&background).map_err(failed)?;
        let (points, values) = match frame.series.first() {
            Some(s) => (s.points.as_slice(), s.values.as_deref()),
            None => (&[][..], None),
        };
        let finite: Vec<(usize, f64, f64)> = points
            .iter()
            .enumerate()
            .filter(|(_, p)| p[0].is_finite() && p[1].is_finite())
            .map(|(i, p)| (i, p[0], p[1]))
            .collect();
        let x = axis(style.x_range, finite.iter().map(|p| p.1));
        let y = axis(style.y_range, finite.iter().map(|p| p.2));
        let texts = (&frame.heading, plotkit::color::ink_for(background));
        let widest =
            [y.start, y.end].map(|v| format!("{v:.1}")).into_iter().max_by_key(String::len).unwrap_or_default();
        let mut plot = axes::plot(area, texts, x, y, &widest)?;
        axes::mesh(&mut plot, texts, 10)?;

        let scale = values.and_then(extent);
        let dot_color = |i: usize| match (values, scale) {
            (Some(values), Some(scale)) => {
                Colormap::VIRIDIS.at(position(values.get(i).copied().unwrap_or(f64::NAN), scale))
            }
            _ => color,
        };
        let radius = style.point_size.clamp(1, 20) as i32;
        plot.draw_series(finite.iter().map(|&(i, x, y)| Circle::new((x, y), radius, dot_color(i).mix(0.85).filled())))
            .map_err(failed)?;

        if let (Some(field), Some(scale)) = (style.color_by.as_deref(), scale) {
            let (right, top) = plot.plotting_area().get_pixel_range();
            colour_key(area, (right.end - KEY_WIDTH - 10, top.start + 8), field, scale, texts.1)?;
        }
        // The dots' positions and values, for the dashboard's tooltip of
        // the dot nearest the pointer.
        let pixels = finite.iter().map(|&(_, x, y)| (plot.backend_coord(&(x, y)), (x, y)));
        Ok(plotkit::tooltip::points_group(&frame.heading.y_label, "number", pixels))
    }
}

/// A gradient bar with the field name and the values at its ends.
fn colour_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (left, top): (i32, i32),
    field: &str,
    (lo, hi): (f64, f64),
    ink: RGBColor,
) -> Result<(), String> {
    let title = text_style(TICK_SIZE, ink).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw_text(&clean(field), &title, (left + KEY_WIDTH / 2, top)).map_err(failed)?;
    let bar_top = top + axes::measure(area, "Ag", TICK_SIZE).1 as i32 + 3;
    for step in 0..KEY_WIDTH {
        let shade = Colormap::VIRIDIS.at(f64::from(step) / f64::from(KEY_WIDTH - 1));
        let column = Rectangle::new([(left + step, bar_top), (left + step + 1, bar_top + KEY_HEIGHT)], shade.filled());
        area.draw(&column).map_err(failed)?;
    }
    let decimals = tick_decimals(&[lo, hi]).min(1);
    let below = bar_top + KEY_HEIGHT + 2;
    let ends = [(left, HPos::Left, lo), (left + KEY_WIDTH, HPos::Right, hi)];
    for (x, anchor, value) in ends {
        let style = text_style(TICK_SIZE, ink).pos(Pos::new(anchor, VPos::Top));
        area.draw_text(&number_label(value, decimals), &style, (x, below)).map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_fit_the_data_unless_fixed() {
        assert_eq!(axis(Some([-180.0, 180.0]), [1.0].into_iter()), -180.0..180.0);
        assert_eq!(axis(None, [0.0, 10.0].into_iter()), -0.5..10.5);
        assert_eq!(axis(None, [20.0].into_iter()), 18.0..22.0);
        assert_eq!(axis(None, std::iter::empty()), 0.0..1.0);
    }

    #[test]
    fn shades_run_from_the_smallest_to_the_largest_value() {
        assert_eq!(extent(&[3.0, f64::NAN, -1.0]), Some((-1.0, 3.0)));
        assert_eq!(position(-1.0, (-1.0, 3.0)), 0.0);
        assert_eq!(position(3.0, (-1.0, 3.0)), 1.0);
        assert_eq!(position(7.0, (7.0, 7.0)), 0.5);
    }
}
