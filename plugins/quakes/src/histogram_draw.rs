//! Draws a histogram frame: touching bars over their bins, on a linear or
//! logarithmic count axis, the mean as a vertical line, values outside
//! the bins noted in a corner, and a tooltip per bar in SVG.

use buzz_sdk::ImageFormat;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axes::{self, Plot, TICK_SIZE};
use crate::histogram::HistogramFrame;
use crate::style::Heading;
use plotkit::axes::{clean, number_label, text as text_style, tick_decimals};
use plotkit::canvas::{self, Draw, err as failed};
use plotkit::tooltip::{self, Tooltip};

/// Where log-scale bars start: below 1, so a bin counted once shows.
const LOG_FLOOR: f64 = 0.5;

pub fn render(frame: &HistogramFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
    canvas::render(&Drawing(frame), (frame.style.look.width, frame.style.look.height), format)
}

struct Drawing<'a>(&'a HistogramFrame);

/// The bins as drawn: (from, to, count).
fn bins(frame: &HistogramFrame) -> Result<Vec<(f64, f64, u64)>, String> {
    let Some(series) = frame.series.first() else { return Ok(Vec::new()) };
    if series.edges.len() != series.counts.len() + 1 {
        return Err(format!("frame has {} edges for {} bins", series.edges.len(), series.counts.len()));
    }
    Ok(series.edges.windows(2).zip(&series.counts).map(|(edge, &count)| (edge[0], edge[1], count)).collect())
}

impl Draw for Drawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<String, String> {
        let frame = self.0;
        let background = frame.style.look.background()?;
        area.fill(&background).map_err(failed)?;
        let bins = bins(frame)?;
        let x = match (bins.first(), bins.last()) {
            (Some(first), Some(last)) if first.0.is_finite() && last.1.is_finite() && first.0 < last.1 => {
                first.0..last.1
            }
            _ => 0.0..1.0,
        };
        let peak = bins.iter().map(|b| b.2).max().unwrap_or(0).max(1) as f64;
        let texts = (&frame.heading, plotkit::color::ink_for(background));
        let widest = format!("{peak:.0}0");
        let tooltips = if frame.style.log_y {
            let plot = axes::plot(area, texts, x, (LOG_FLOOR..peak * 2.0).log_scale(), &widest)?;
            self.bars(area, plot, texts, &bins, LOG_FLOOR)?
        } else {
            let plot = axes::plot(area, texts, x, 0.0..peak * 1.08, &widest)?;
            self.bars(area, plot, texts, &bins, 0.0)?
        };
        Ok(tooltip::svg_group(&tooltips))
    }
}

impl Drawing<'_> {
    /// Everything inside the axes; `floor` is where bars start.
    fn bars<DB: DrawingBackend, Y: Ranged<ValueType = f64> + ValueFormatter<f64>>(
        &self,
        area: &DrawingArea<DB, Shift>,
        mut plot: Plot<'_, DB, Y>,
        texts: (&Heading, RGBColor),
        bins: &[(f64, f64, u64)],
        floor: f64,
    ) -> Result<Vec<Tooltip>, String> {
        let frame = self.0;
        let look = &frame.style.look;
        let (fill, background) = (look.color()?, look.background()?);
        axes::mesh(&mut plot, texts, 10)?;
        let ink = texts.1;
        let shown = || bins.iter().filter(|b| b.2 as f64 > floor);
        plot.draw_series(
            shown().map(|&(from, to, count)| Rectangle::new([(from, floor), (to, count as f64)], fill.filled())),
        )
        .map_err(failed)?;
        // A thin gap in the background colour keeps neighbouring bars apart.
        plot.draw_series(
            shown().map(|&(from, to, count)| {
                Rectangle::new([(from, floor), (to, count as f64)], background.stroke_width(1))
            }),
        )
        .map_err(failed)?;

        let (x_range, top) = (plot.x_range(), plot.y_range().end);
        let label_style = text_style(TICK_SIZE, ink).pos(Pos::new(HPos::Left, VPos::Top));
        for marker in frame.markers.iter().filter(|m| x_range.contains(&m.x)) {
            plot.draw_series(std::iter::once(PathElement::new(
                vec![(marker.x, floor), (marker.x, top)],
                ink.mix(0.8).stroke_width(2),
            )))
            .map_err(failed)?;
            let (x, y) = plot.backend_coord(&(marker.x, top));
            area.draw_text(&clean(&marker.label), &label_style, (x + 5, y + 4)).map_err(failed)?;
        }
        if frame.underflow + frame.overflow > 0 {
            let note = format!("outside the bins: {} below, {} above", frame.underflow, frame.overflow);
            let (x, y) = plot.backend_coord(&(x_range.end, top));
            let style = text_style(TICK_SIZE, ink).pos(Pos::new(HPos::Right, VPos::Top));
            area.draw_text(&note, &style, (x - 5, y + 4)).map_err(failed)?;
        }

        let decimals = tick_decimals(&bins.iter().flat_map(|b| [b.0, b.1]).collect::<Vec<_>>());
        Ok(shown()
            .map(|&(from, to, count)| Tooltip {
                from: plot.backend_coord(&(from, floor)),
                to: plot.backend_coord(&(to, count as f64)),
                text: format!("{}–{}: {count}", number_label(from, decimals), number_label(to, decimals)),
            })
            .collect())
    }
}
