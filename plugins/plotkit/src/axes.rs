//! Text measuring and fitting, number labels, and the frame of a chart:
//! title, axes, tick labels and axis descriptions, sized from the text
//! they actually hold.

use std::borrow::Cow;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::canvas::err;
use crate::font;

pub const MARGIN: u32 = 14;
// plotters font sizes; the pixel height is about size / 1.24.
pub const TITLE_SIZE: f64 = 26.0;
pub const DESC_SIZE: f64 = 18.0;
pub const TICK_SIZE: f64 = 15.0;
/// Room between tick labels and the axis (plotters puts labels two tick
/// lengths away) plus a little air.
pub const TICK_GAP: u32 = 14;

/// The texts around a chart and the colour they are drawn in.
pub struct Axes<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub ink: RGBColor,
    /// Every y value is a whole number (counts): no ticks between them.
    pub whole_y: bool,
}

/// Whether every one of `values` is a whole number (true when there are none).
pub fn all_whole(mut values: impl Iterator<Item = f64>) -> bool {
    values.all(|v| v.fract() == 0.0)
}

pub type Chart2d<'a, DB, X> = ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>;

pub fn text(size: f64, color: RGBColor) -> TextStyle<'static> {
    (font::FAMILY, size).into_font().color(&color)
}

/// Pixel size of `text`; (0, 0) if it cannot be measured.
pub fn text_size<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, text: &str, style: &TextStyle) -> (u32, u32) {
    root.estimate_text_size(text, style).unwrap_or((0, 0))
}

/// `text` with control characters (tabs, bells, ...) as spaces: they draw
/// nothing useful and are not allowed in SVG.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// `text`, cleaned and cut short with an ellipsis so it fits in
/// `max_width` pixels.
pub fn fit<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, text: &str, style: &TextStyle, max_width: u32) -> String {
    let text = clean(text);
    if text_size(root, &text, style).0 <= max_width {
        return text.into_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    // Binary search for the longest prefix that fits with the ellipsis.
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().chain(['…'].iter()).collect();
        if text_size(root, &candidate, style).0 <= max_width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 {
        return String::new();
    }
    chars[..lo].iter().chain(['…'].iter()).collect()
}

/// Decimals needed to write every one of `ticks` exactly (at most 6).
pub fn tick_decimals(ticks: &[f64]) -> usize {
    (0..6)
        .find(|&d| {
            let scale = 10f64.powi(d as i32);
            ticks.iter().all(|t| {
                let scaled = t * scale;
                (scaled - scaled.round()).abs() < 1e-6
            })
        })
        .unwrap_or(6)
}

/// Decimals for the ticks plotters puts on `range` when asked for `count`.
pub fn range_decimals(range: Range<f64>, count: usize) -> usize {
    tick_decimals(&RangedCoordf64::from(range).key_points(count))
}

/// A number as a label: fixed decimals, or scientific notation once it
/// would be too long to read (1e300 has 301 digits).
pub fn number_label(value: f64, decimals: usize) -> String {
    if value.abs() >= 1e12 {
        return format!("{value:.2e}");
    }
    let text = format!("{value:.decimals$}");
    // "-0" and "-0.00" read as noise.
    if text.trim_start_matches('-').bytes().all(|b| b == b'0' || b == b'.') {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// How many y ticks a plot this tall gets.
fn y_tick_count(plot_height: u32) -> usize {
    (plot_height / 45).clamp(2, 10) as usize
}

/// The y tick count to ask plotters for: `wanted`, or for whole-number
/// data the most, up to `wanted`, whose ticks all fall on whole numbers
/// (a count of 1 gets ticks 0 and 1, not 0, 0.2 ... 1).
fn y_ticks_for(range: Range<f64>, wanted: usize, whole: bool) -> usize {
    if !whole {
        return wanted;
    }
    (1..=wanted)
        .rev()
        .find(|&n| {
            let ticks = RangedCoordf64::from(range.clone()).key_points(n);
            !ticks.is_empty() && tick_decimals(&ticks) == 0
        })
        .unwrap_or(wanted)
}

/// A data range grown a little on both sides (or around a single value),
/// so nothing sits on the frame. Never empty, never infinite.
pub fn padded(lo: f64, hi: f64, fraction: f64) -> Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return 0.0..1.0;
    }
    let span = hi - lo;
    if span == 0.0 {
        let pad = (lo.abs() * 0.1).max(1.0);
        return lo - pad..hi + pad;
    }
    if !span.is_finite() {
        return lo..hi;
    }
    let pad = span * fraction;
    lo - pad..hi + pad
}

/// `range` with the ends the user fixed (`y_min`, `y_max`); the computed
/// range where fixing them would leave nothing to show.
pub fn bounded(range: Range<f64>, y_min: Option<f64>, y_max: Option<f64>) -> Range<f64> {
    let fixed = y_min.unwrap_or(range.start)..y_max.unwrap_or(range.end);
    if fixed.start < fixed.end { fixed } else { range }
}

/// Width of the y tick labels plus the y axis description.
pub fn y_area_width<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, axes: &Axes, y: &Range<f64>) -> u32 {
    let style = text(TICK_SIZE, axes.ink);
    // The plot will be roughly this tall: close enough to pick decimals.
    let decimals = range_decimals(y.clone(), y_tick_count(root.dim_in_pixel().1 * 7 / 10));
    let widest = [y.start, y.end, (y.start + y.end) / 2.0]
        .iter()
        .map(|v| text_size(root, &number_label(*v, decimals), &style).0)
        .max()
        .unwrap_or(0);
    let desc =
        if axes.y_label.is_empty() { 0 } else { text_size(root, axes.y_label, &text(DESC_SIZE, axes.ink)).1 + 8 };
    let cap = root.dim_in_pixel().0 * 35 / 100;
    (widest + TICK_GAP + desc).min(cap)
}

/// Builds the chart: caption, label areas (`x_ticks_height` is what the x
/// tick labels need), and the plotting area mapped to `x` and `y`.
pub fn build<'a, DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    root: &'a DrawingArea<DB, Shift>,
    axes: &Axes,
    x: X,
    y: Range<f64>,
    x_ticks_height: u32,
) -> Result<Chart2d<'a, DB, X>, String> {
    let (width, height) = root.dim_in_pixel();
    let title_style = text(TITLE_SIZE, axes.ink);
    let title = fit(root, axes.title, &title_style, width.saturating_sub(2 * MARGIN));
    let desc =
        if axes.x_label.is_empty() { 0 } else { text_size(root, axes.x_label, &text(DESC_SIZE, axes.ink)).1 + 8 };
    let x_area = (x_ticks_height + desc).min(height * 40 / 100);
    let y_area = y_area_width(root, axes, &y);

    let mut builder = ChartBuilder::on(root);
    builder.margin(MARGIN).x_label_area_size(x_area).y_label_area_size(y_area);
    if !title.is_empty() {
        builder.caption(title, title_style);
    }
    builder.build_cartesian_2d(x, RangedCoordf64::from(y)).map_err(err)
}

/// Draws axes, grid and labels. `x_ticks` = 0 leaves the x axis unlabelled
/// (the bar chart labels its own categories).
pub fn mesh<DB: DrawingBackend, X: Ranged<ValueType = f64> + ValueFormatter<f64>>(
    chart: &mut Chart2d<'_, DB, X>,
    axes: &Axes,
    x_ticks: usize,
    x_label: &dyn Fn(&f64) -> String,
) -> Result<(), String> {
    let y_ticks = y_ticks_for(chart.y_range(), y_tick_count(chart.plotting_area().dim_in_pixel().1), axes.whole_y);
    let decimals = range_decimals(chart.y_range(), y_ticks);
    let y_label = move |v: &f64| number_label(*v, decimals);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(x_ticks)
        .y_labels(y_ticks)
        .x_label_formatter(x_label)
        .y_label_formatter(&y_label)
        .label_style(text(TICK_SIZE, axes.ink))
        .axis_desc_style(text(DESC_SIZE, axes.ink))
        .axis_style(axes.ink)
        .bold_line_style(axes.ink.mix(0.12))
        .max_light_lines(0);
    if x_ticks == 0 {
        mesh.disable_x_mesh();
    }
    if !axes.x_label.is_empty() {
        mesh.x_desc(clean(axes.x_label));
    }
    if !axes.y_label.is_empty() {
        mesh.y_desc(clean(axes.y_label));
    }
    mesh.draw().map_err(err)
}

/// What an empty plot shows, in its middle.
pub const WAITING: &str = "waiting for data";

/// Says in the middle of the plot of `chart` that no data has come yet.
pub fn waiting_for_data<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    chart: &Chart2d<'_, DB, X>,
    ink: RGBColor,
) -> Result<(), String> {
    let plot = chart.plotting_area().strip_coord_spec();
    let (w, h) = plot.dim_in_pixel();
    let style = text(DESC_SIZE, ink).pos(Pos::new(HPos::Center, VPos::Center));
    plot.draw(&Text::new(WAITING, ((w / 2) as i32, (h / 2) as i32), style)).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_have_the_decimals_their_ticks_need() {
        assert_eq!(tick_decimals(&[0.0, 20.0, 40.0]), 0);
        assert_eq!(tick_decimals(&[0.0, 0.25, 0.5]), 2);
        assert_eq!(tick_decimals(&[0.1, 0.2, 0.3]), 1);
        assert_eq!(tick_decimals(&[1e300, 2e300]), 0);
        assert_eq!(tick_decimals(&[1.0 / 3.0]), 6);
        assert_eq!(tick_decimals(&[2.5, 3.0, 3.5]), 1);
        assert_eq!(tick_decimals(&[2.75, 3.0]), 2);
        assert_eq!(range_decimals(0.0..7.9, 5), 0);
        assert_eq!(number_label(0.5, 1), "0.5");
        assert_eq!(number_label(-0.0001, 1), "0.0");
        assert_eq!(number_label(1e300, 0), "1.00e300");
        assert_eq!(number_label(3.0, 1), "3.0");
        assert_eq!(clean("a\nb"), "a b");
    }

    #[test]
    fn whole_number_data_gets_whole_number_ticks() {
        let ticks =
            |range: Range<f64>, whole| RangedCoordf64::from(range.clone()).key_points(y_ticks_for(range, 10, whole));
        assert_eq!(tick_decimals(&ticks(0.0..1.1, false)), 1, "plotters' own choice has tenths");
        let whole = ticks(0.0..1.1, true);
        assert_eq!(tick_decimals(&whole), 0);
        assert!(whole.contains(&0.0) && whole.contains(&1.0), "{whole:?}");
        assert_eq!(ticks(0.0..2000.0, true).len(), ticks(0.0..2000.0, false).len(), "large counts keep their ticks");
        assert!(all_whole([1.0, 2.0, 40.0].into_iter()));
        assert!(!all_whole([1.0, 2.5].into_iter()));
    }

    #[test]
    fn padded_ranges_are_never_empty() {
        assert_eq!(padded(5.0, 5.0, 0.05), 4.0..6.0);
        assert_eq!(padded(0.0, 10.0, 0.1), -1.0..11.0);
        assert_eq!(padded(f64::NAN, 1.0, 0.1), 0.0..1.0);
        let huge = padded(-f64::MAX, f64::MAX, 0.1);
        assert!(huge.start < huge.end);
    }
}
