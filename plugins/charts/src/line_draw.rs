//! Draws a line frame: the (already downsampled) line, a dot at each
//! marker, the marker text at the start of each run of markers where it
//! doesn't crowd the previous one, and a legend. A chart split into
//! series draws one line per series, each in its own colour, all listed in
//! the legend.

use buzz_sdk::ImageFormat;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axes::{self, Axes, Chart2d, MARGIN, TICK_GAP, TICK_SIZE};
use crate::canvas::{self, Draw, err};
use crate::color;
use crate::dense_line;
use crate::line::{LineFrame, MarkerPoint};
use crate::timeaxis::{XAxis, XKind};

const MARKER_RADIUS: i32 = 4;
const LINE_WIDTH: u32 = 2;

/// The colours of split lines, in series order (Tableau 10: distinct, and
/// told apart by most colour-blind viewers); past ten series they come
/// round again.
const SERIES_COLORS: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

pub fn render(frame: &LineFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
    canvas::render(&LineDrawing { frame, format }, (frame.style.width, frame.style.height), format)
}

struct LineDrawing<'a> {
    frame: &'a LineFrame,
    format: ImageFormat,
}

impl Draw for LineDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<String, String> {
        let frame = self.frame;
        let style = &frame.style;
        let line_color = color::from_frame("line_color", &style.line_color)?;
        let marker_color = color::from_frame("marker_color", &style.marker_color)?;
        let ink = color::ink_for(WHITE);
        root.fill(&WHITE).map_err(err)?;

        let lines: Vec<(&str, Vec<(f64, f64)>)> =
            frame.series.iter().map(|s| (s.name.as_str(), finite(s.points.iter().map(|p| (p[0], p[1]))))).collect();
        let markers: Vec<&MarkerPoint> = frame.markers.iter().filter(|m| m.x.is_finite() && m.y.is_finite()).collect();
        let all = || lines.iter().flat_map(|(_, p)| p.iter().copied()).chain(markers.iter().map(|m| (m.x, m.y)));
        let x = x_range(frame.x_axis, all().map(|p| p.0));
        let (y_lo, y_hi) = extent(all().map(|p| p.1));
        let y = axes::bounded(axes::padded(y_lo, y_hi, 0.08), style.y_min, style.y_max);

        let whole_y = axes::all_whole(all().map(|p| p.1));
        let axes = Axes { title: &frame.title, x_label: &frame.x_label, y_label: &frame.y_label, ink, whole_y };
        let tick_style = axes::text(TICK_SIZE, ink);
        // As many x ticks as their labels leave room for.
        let probe = XAxis::new(frame.x_axis, x.clone(), 10);
        let label_width =
            [x.start, x.end].iter().map(|v| axes::text_size(root, &probe.label(*v), &tick_style).0).max().unwrap_or(0);
        let plot_width = root.dim_in_pixel().0.saturating_sub(2 * MARGIN + axes::y_area_width(root, &axes, &y));
        let ticks = (plot_width / (label_width + 40)).clamp(2, 12) as usize;
        let x_axis = XAxis::new(frame.x_axis, x, ticks);
        let tick_height = axes::text_size(root, "0", &tick_style).1 + TICK_GAP;

        let mut chart = axes::build(root, &axes, x_axis.clone(), y, tick_height)?;
        axes::mesh(&mut chart, &axes, ticks, &|v| x_axis.label(*v))?;

        // A run of marked records (a stall) is a shaded span under the line,
        // which stays visible; a lone marked record is a dot on it.
        let runs = marker_runs(&markers);
        let shade = marker_color.mix(SPAN_OPACITY);
        let y_span = chart.y_range();
        let spans: Vec<Rectangle<(f64, f64)>> = runs
            .iter()
            .filter(|run| run.len() > 1)
            .map(|run| Rectangle::new([(run[0].x, y_span.start), (run[run.len() - 1].x, y_span.end)], shade.filled()))
            .collect();
        let has_spans = !spans.is_empty();
        chart.draw_series(spans).map_err(err)?;

        // A line denser than the pixel columns is drawn (and tipped) through
        // the few points per column that show.
        let plot_columns = chart.plotting_area().get_pixel_range().0.len();
        let shown: Vec<Shown<'_>> = lines
            .iter()
            .map(|(name, points)| {
                let dense = points.len() > plot_columns;
                let points =
                    if dense { dense_line::per_column(points, |p| chart.backend_coord(p).0) } else { points.clone() };
                Shown { name, points, dense }
            })
            .collect();
        for (index, Shown { name, points, dense }) in shown.iter().enumerate() {
            let color = if style.split { SERIES_COLORS[index % SERIES_COLORS.len()] } else { line_color };
            let line_style = color.stroke_width(LINE_WIDTH);
            // SVG keeps a path: the browser strokes it, with its own joins.
            let drawn = if self.format == ImageFormat::Png && *dense {
                draw_dense(root, &chart, points, color)?;
                chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            } else {
                chart.draw_series(std::iter::once(PathElement::new(points.clone(), line_style)))
            };
            drawn
                .map_err(err)?
                .label(axes::clean(name))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line_style));
            if let [only] = points[..] {
                // A lone point draws no line: show it as a dot.
                chart.draw_series(std::iter::once(Circle::new(only, 3, color.filled()))).map_err(err)?;
            }
        }

        if lines.iter().all(|(_, p)| p.is_empty()) && markers.is_empty() {
            axes::waiting_for_data(&chart, ink)?;
        }
        // The legend lists only what is drawn: no stall entry without stalls.
        let dot = marker_color.filled();
        // Dots on the same pixel as the one before draw nothing new: one is
        // drawn (a long smoker session's thousand stalls share ~700 pixels).
        let mut last_pixel = None;
        let lone: Vec<Circle<(f64, f64), i32>> = runs
            .iter()
            .filter(|run| run.len() == 1)
            .map(|run| (run[0].x, run[0].y))
            .filter(|point| {
                let pixel = chart.backend_coord(point);
                last_pixel.replace(pixel) != Some(pixel)
            })
            .map(|point| Circle::new(point, MARKER_RADIUS, dot))
            .collect();
        let dots = chart.draw_series(lone).map_err(err)?;
        if has_spans {
            // Listed after the line (drawn before it, so it stays under it).
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
                .map_err(err)?
                .label(axes::clean(&style.marker_label))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], shade.filled()));
        } else if !markers.is_empty() {
            dots.label(axes::clean(&style.marker_label))
                .legend(move |(x, y)| Circle::new((x + 10, y), MARKER_RADIUS, dot));
        }
        marker_labels(root, &chart, &markers, &axes::text(TICK_SIZE, marker_color))?;

        let corner = legend_corner(all(), &chart.x_range(), &chart.y_range());
        chart
            .configure_series_labels()
            .position(corner)
            .background_style(WHITE.mix(0.85))
            .border_style(ink.mix(0.3))
            .label_font(tick_style)
            .draw()
            .map_err(err)?;
        // One group of point positions per series, for the page's tooltips.
        let tips = shown.iter().map(|Shown { name, points, .. }| {
            let pixels = points.iter().map(|p| (chart.backend_coord(p), *p));
            plotkit::tooltip::points_group(name, frame.x_axis.name(), pixels)
        });
        Ok(tips.collect())
    }
}

/// A line as drawn: all its points, or the few per pixel column that show
/// when it is `dense` (more points than columns).
struct Shown<'a> {
    name: &'a str,
    points: Vec<(f64, f64)>,
    dense: bool,
}

/// A line with more points than pixel columns, as one span per column
/// (see `dense_line`), inside the plot.
fn draw_dense<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart2d<'_, DB, XAxis>,
    points: &[(f64, f64)],
    color: RGBColor,
) -> Result<(), String> {
    let (columns, rows) = chart.plotting_area().get_pixel_range();
    let pixels: Vec<(i32, i32)> = points.iter().map(|p| chart.backend_coord(p)).collect();
    let spans = dense_line::column_spans(&pixels, columns.clone());
    for corners in dense_line::span_corners(&spans, columns, rows, LINE_WIDTH) {
        root.draw(&Rectangle::new(corners, color.filled())).map_err(err)?;
    }
    Ok(())
}

/// How strongly a marked span is shaded: the line shows through.
const SPAN_OPACITY: f64 = 0.18;

/// Markers in runs of consecutive marked records (each run starts at a
/// marker flagged `run_start`).
fn marker_runs<'m>(markers: &[&'m MarkerPoint]) -> Vec<Vec<&'m MarkerPoint>> {
    let mut runs: Vec<Vec<&MarkerPoint>> = Vec::new();
    for marker in markers {
        match runs.last_mut() {
            Some(run) if !marker.run_start => run.push(marker),
            _ => runs.push(vec![marker]),
        }
    }
    runs
}

/// The corner of the plot with the fewest data points under where the
/// legend would go, so it hides as little as possible.
fn legend_corner(
    points: impl Iterator<Item = (f64, f64)>,
    x: &std::ops::Range<f64>,
    y: &std::ops::Range<f64>,
) -> SeriesLabelPosition {
    // The legend covers roughly this share of the plot's width and height.
    let (w, h) = (0.35, 0.25);
    let mut counts = [0usize; 4];
    for (px, py) in points {
        let fx = (px - x.start) / (x.end - x.start);
        let fy = (py - y.start) / (y.end - y.start);
        let (left, right, low, high) = (fx <= w, fx >= 1.0 - w, fy <= h, fy >= 1.0 - h);
        for (i, inside) in [high && right, high && left, low && right, low && left].into_iter().enumerate() {
            counts[i] += usize::from(inside);
        }
    }
    let corners = [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::LowerLeft,
    ];
    // min_by_key keeps the first of equals: upper right unless it is busier.
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners[best].clone()
}

fn finite(points: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    points.filter(|(x, y)| x.is_finite() && y.is_finite()).collect()
}

/// Smallest and largest of `values` ((0, 1) when there are none).
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo <= hi { (lo, hi) } else { (0.0, 1.0) }
}

fn x_range(kind: XKind, xs: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = extent(xs);
    if kind == XKind::Time && lo == hi {
        // One instant: show the minute around it, not years.
        return lo - 30.0..hi + 30.0;
    }
    axes::padded(lo, hi, 0.01)
}

/// The marker text beside the first marker of each run, skipping any that
/// would overlap the text before it (markers come in x order).
fn marker_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart2d<'_, DB, XAxis>,
    markers: &[&MarkerPoint],
    style: &TextStyle,
) -> Result<(), String> {
    let (plot_x, plot_y) = chart.plotting_area().get_pixel_range();
    let max_width = (plot_x.end - plot_x.start).max(0) as u32 / 2;
    let gap = MARKER_RADIUS + 3;
    let mut previous_end = i32::MIN;
    // Labels are nearly always the same text: measure it once.
    let mut measured: Option<(&str, String, u32, u32)> = None;
    for marker in markers.iter().filter(|m| m.run_start && !m.label.is_empty()) {
        if measured.as_ref().is_none_or(|(label, ..)| *label != marker.label) {
            let text = axes::fit(root, &marker.label, style, max_width);
            let (w, h) = axes::text_size(root, &text, style);
            measured = Some((&marker.label, text, w, h));
        }
        let Some((_, text, w, h)) = &measured else {
            continue;
        };
        let (w, h) = (*w as i32, *h as i32);
        let (px, py) = chart.backend_coord(&(marker.x, marker.y));
        // Right of the marker, or left of it at the right edge.
        let left = if px + gap + w <= plot_x.end { px + gap } else { px - gap - w };
        if left < previous_end + 4 {
            continue;
        }
        // Above the marker, or below it at the top edge.
        let top = if py - gap - h >= plot_y.start { py - gap - h } else { py + gap };
        // A light backing keeps the text readable over the line and dots.
        let backing = Rectangle::new([(left - 2, top - 1), (left + w + 2, top + h + 1)], WHITE.mix(0.8).filled());
        root.draw(&backing).map_err(err)?;
        root.draw_text(text, &style.pos(Pos::new(HPos::Left, VPos::Top)), (left, top)).map_err(err)?;
        previous_end = left + w;
    }
    Ok(())
}
