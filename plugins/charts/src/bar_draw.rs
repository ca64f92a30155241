//! Draws a bar frame: bars from zero, category labels (rotated when they
//! don't fit side by side), optional value labels, and for SVG an invisible
//! hover target with a tooltip over each bar.

use std::fmt::Write;
use std::ops::Range;

use buzz_sdk::ImageFormat;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axes::{self, Axes, MARGIN, TICK_GAP, TICK_SIZE, TITLE_SIZE};
use crate::bar::{BarFrame, Colormap};
use crate::canvas::{self, Draw, err};
use crate::color;
use crate::timeaxis::{XAxis, XKind};

/// Bars fill this much of their slot, centred.
const BAR_FILL: f64 = 0.7;
/// Rotated category labels take at most this share of the image height.
const ROTATED_LABEL_SHARE: u32 = 30;

pub fn render(frame: &BarFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
    canvas::render(&BarDrawing(frame), (frame.style.width, frame.style.height), format)
}

struct BarDrawing<'a>(&'a BarFrame);

/// One bar as drawn.
struct Bar<'a> {
    category: &'a str,
    value: f64,
    text: String,
}

impl Draw for BarDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<String, String> {
        let frame = self.0;
        let style = &frame.style;
        let background = color::from_frame("background", &style.background)?;
        let fill = color::from_frame("color", &style.color)?;
        let ink = color::ink_for(background);
        root.fill(&background).map_err(err)?;

        let bars = bars(frame);
        let whole_y = axes::all_whole(bars.iter().map(|b| b.value));
        let axes = Axes { title: &frame.title, x_label: &frame.x_label, y_label: &frame.y_label, ink, whole_y };
        let (width, height) = root.dim_in_pixel();
        let tick_style = axes::text(TICK_SIZE, ink);
        let (lo, hi) = data_range(&bars);

        // Category labels need the plot width, which needs the y labels' width.
        let y_guess = lo..hi + (hi - lo) * 0.1;
        let plot_width = width.saturating_sub(2 * MARGIN + axes::y_area_width(root, &axes, &y_guess));
        let categories: Vec<&str> = bars.iter().map(|b| b.category).collect();
        let labels = CategoryLabels::layout(root, &categories, plot_width, height, &tick_style);

        let value_labels = style.value_labels.then(|| ValueLabels::layout(root, &bars, plot_width, &tick_style));
        let plot_height = height.saturating_sub(2 * MARGIN + TITLE_SIZE as u32 + 10 + labels.height);
        let need = value_labels.as_ref().map_or(0, |v| v.height + 6);
        let y = axes::bounded(with_headroom(lo, hi, need, plot_height), style.y_min, style.y_max);

        let x = 0.0..bars.len().max(1) as f64;
        let mut chart = axes::build(root, &axes, XAxis::new(XKind::Number, x, 0), y, labels.height)?;
        axes::mesh(&mut chart, &axes, 0, &|_| String::new())?;
        if bars.is_empty() {
            axes::waiting_for_data(&chart, ink)?;
        }

        let colors = bar_colors(&bars, style.colormap, fill);
        let offset = (1.0 - BAR_FILL) / 2.0;
        let corners = |i: usize, value: f64| {
            let left = i as f64 + offset;
            [(left, value), (left + BAR_FILL, 0.0)]
        };
        chart
            .draw_series(
                bars.iter()
                    .zip(&colors)
                    .enumerate()
                    .map(|(i, (bar, c))| Rectangle::new(corners(i, bar.value), c.filled())),
            )
            .map_err(err)?;

        let centre = |i: usize, value: f64| chart.backend_coord(&(i as f64 + 0.5, value));
        let baseline = centre(0, chart.y_range().start).1;
        labels.draw(root, &tick_style, |i| (centre(i, 0.0).0, baseline + TICK_GAP as i32 / 2))?;
        if let Some(value_labels) = value_labels {
            value_labels.draw(root, &bars, &tick_style, |i| centre(i, bars[i].value))?;
        }

        let rects = (0..bars.len()).map(|i| {
            let [a, b] = corners(i, bars[i].value);
            (chart.backend_coord(&a), chart.backend_coord(&b))
        });
        Ok(tooltips(&bars, rects))
    }
}

fn bars(frame: &BarFrame) -> Vec<Bar<'_>> {
    let Some(series) = frame.series.first() else {
        return Vec::new();
    };
    let values = &series.values;
    // Integers read better as integers: use decimals only if some value needs them.
    let whole = values.iter().all(|v| v.fract() == 0.0);
    let decimals = if whole { 0 } else { usize::from(frame.style.value_decimals.min(10)) };
    series
        .categories
        .iter()
        .zip(values)
        .filter(|(_, v)| v.is_finite())
        .map(|(category, &value)| Bar { category, value, text: axes::number_label(value, decimals) })
        .collect()
}

/// The value range including zero, so bars start from the axis.
fn data_range(bars: &[Bar]) -> (f64, f64) {
    let lo = bars.iter().map(|b| b.value).fold(0.0, f64::min);
    let hi = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    if lo == hi { (0.0, 1.0) } else { (lo, hi) }
}

/// Grows `lo..hi` (away from zero only) so that `need` pixels of value
/// labels fit beyond the longest bars, plus a small margin.
fn with_headroom(lo: f64, hi: f64, need: u32, plot_height: u32) -> Range<f64> {
    let share = (f64::from(need) / f64::from(plot_height.max(1))).clamp(0.0, 0.5) + 0.04;
    let span = hi - lo;
    if !span.is_finite() {
        return lo..hi;
    }
    // Solve extra = share * (span + extra) so the labels get `share` of the axis.
    let extra = span * share / (1.0 - share);
    let hi = if hi > 0.0 { hi + extra } else { hi };
    let lo = if lo < 0.0 { lo - extra } else { lo };
    lo..hi
}

fn bar_colors(bars: &[Bar], colormap: Colormap, fill: RGBColor) -> Vec<RGBColor> {
    match colormap {
        Colormap::None => vec![fill; bars.len()],
        Colormap::Viridis => {
            let lo = bars.iter().map(|b| b.value).fold(f64::INFINITY, f64::min);
            let hi = bars.iter().map(|b| b.value).fold(f64::NEG_INFINITY, f64::max);
            bars.iter()
                .map(|b| {
                    let t = if hi > lo { (b.value - lo) / (hi - lo) } else { 0.5 };
                    // plotters panics on NaN: keep t finite and in range.
                    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
                    ViridisRGB::get_color(t)
                })
                .collect()
        }
    }
}

/// Where and how the category names go under the bars.
struct CategoryLabels {
    /// Each bar's label, shortened to fit; empty where skipped for room.
    texts: Vec<String>,
    rotated: bool,
    /// Height of the label band below the axis.
    height: u32,
}

impl CategoryLabels {
    fn layout<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        categories: &[&str],
        plot_width: u32,
        image_height: u32,
        style: &TextStyle,
    ) -> Self {
        let text_height = axes::text_size(root, "Ag", style).1;
        let slot = f64::from(plot_width) / categories.len().max(1) as f64;
        let widest = categories.iter().map(|c| axes::text_size(root, c, style).0).max().unwrap_or(0);
        if f64::from(widest) + 6.0 <= slot {
            return CategoryLabels {
                texts: categories.iter().map(|c| axes::clean(c).into_owned()).collect(),
                rotated: false,
                height: text_height + TICK_GAP,
            };
        }
        // Side by side they would overlap: stand them up, cut long names
        // short, and skip some if even upright they are too crowded.
        let max_length = (image_height * ROTATED_LABEL_SHARE / 100).max(20);
        let every = stride(text_height, slot);
        let texts: Vec<String> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| if i % every == 0 { axes::fit(root, c, style, max_length) } else { String::new() })
            .collect();
        let longest = texts.iter().map(|t| axes::text_size(root, t, style).0).max().unwrap_or(0);
        CategoryLabels { texts, rotated: true, height: longest + TICK_GAP }
    }

    /// `anchor(i)` is the pixel just below the axis at bar `i`'s centre.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: &TextStyle,
        anchor: impl Fn(usize) -> (i32, i32),
    ) -> Result<(), String> {
        let style = if self.rotated {
            // Reads bottom to top and ends at the axis.
            style.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Center))
        } else {
            style.pos(Pos::new(HPos::Center, VPos::Top))
        };
        for (i, text) in self.texts.iter().enumerate().filter(|(_, t)| !t.is_empty()) {
            root.draw_text(text, &style, anchor(i)).map_err(err)?;
        }
        Ok(())
    }
}

/// Every how many bars an upright label fits: each needs about its text
/// height of width, so in narrower slots only every n-th bar gets one.
fn stride(text_height: u32, slot: f64) -> usize {
    ((f64::from(text_height) + 2.0) / slot).ceil().max(1.0) as usize
}

/// Values written at the end of each bar: level when they fit the bar's
/// slot, upright when they don't (and then on every n-th bar if crowded).
struct ValueLabels {
    rotated: bool,
    every: usize,
    /// Pixels they reach beyond the bar.
    height: u32,
}

impl ValueLabels {
    fn layout<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        bars: &[Bar],
        plot_width: u32,
        style: &TextStyle,
    ) -> Self {
        let slot = f64::from(plot_width) / bars.len().max(1) as f64;
        let widest = bars.iter().map(|b| axes::text_size(root, &b.text, style).0).max().unwrap_or(0);
        let text_height = axes::text_size(root, "0", style).1;
        if f64::from(widest) + 2.0 <= slot {
            ValueLabels { rotated: false, every: 1, height: text_height }
        } else {
            ValueLabels { rotated: true, every: stride(text_height, slot), height: widest }
        }
    }

    /// `end(i)` is the pixel at the value end of bar `i`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        bars: &[Bar],
        style: &TextStyle,
        end: impl Fn(usize) -> (i32, i32),
    ) -> Result<(), String> {
        for (i, bar) in bars.iter().enumerate().step_by(self.every) {
            let (x, y) = end(i);
            let above = bar.value >= 0.0;
            let (style, y) = match (self.rotated, above) {
                (false, true) => (style.pos(Pos::new(HPos::Center, VPos::Bottom)), y - 3),
                (false, false) => (style.pos(Pos::new(HPos::Center, VPos::Top)), y + 3),
                (true, true) => {
                    (style.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Left, VPos::Center)), y - 3)
                }
                (true, false) => {
                    (style.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Center)), y + 3)
                }
            };
            root.draw_text(&bar.text, &style, (x, y)).map_err(err)?;
        }
        Ok(())
    }
}

/// An SVG group with a transparent rectangle over each bar whose `<title>`
/// a browser shows on hover.
fn tooltips(bars: &[Bar], rects: impl Iterator<Item = ((i32, i32), (i32, i32))>) -> String {
    let mut svg = String::from("<g class=\"buzz-tooltips\">\n");
    for (bar, ((x0, y0), (x1, y1))) in bars.iter().zip(rects) {
        let _ = writeln!(
            svg,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#000" fill-opacity="0"><title>{}: {}</title></rect>"##,
            x0.min(x1),
            y0.min(y1),
            (x1 - x0).abs(),
            (y1 - y0).abs(),
            xml_escape(bar.category),
            bar.text,
        );
    }
    svg.push_str("</g>\n");
    svg
}

pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
