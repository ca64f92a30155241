//! A line with more points than the plot has pixel columns, drawn as one
//! vertical span per column: from the lowest to the highest pixel the line
//! passes through in that column.
//!
//! plotters fills a wide line as one polygon. A dense line, above all one
//! that swings (a replayed saw-tooth), makes that polygon thousands of
//! edges crossing every scanline (66 ms a PNG for the smoker bench's
//! saw-tooth, against 2 ms drawn this way) and its miter joins shoot
//! spikes through the title and the axes. The spans cost a pass over the
//! points and a rectangle per column, and cover the pixels a line of that
//! width would, so the image is the same line without the spikes.

use std::ops::Range;

/// The points of a line that show at the plot's resolution: of each run of
/// points in one pixel column (`column` of a point), the first, lowest,
/// highest and last, in their order (M4). The line through them covers the
/// pixels the whole line does, so a dense line draws (and its SVG and
/// tooltips weigh) a few points per column however many it holds.
pub fn per_column(points: &[(f64, f64)], column: impl Fn(&(f64, f64)) -> i32) -> Vec<(f64, f64)> {
    let mut kept = Vec::new();
    let mut run_start = 0;
    while run_start < points.len() {
        let here = column(&points[run_start]);
        let run_end =
            points[run_start..].iter().position(|p| column(p) != here).map_or(points.len(), |n| run_start + n);
        let run = run_start..run_end;
        let lowest = run.clone().min_by(|&a, &b| points[a].1.total_cmp(&points[b].1)).unwrap_or(run.start);
        let highest = run.clone().max_by(|&a, &b| points[a].1.total_cmp(&points[b].1)).unwrap_or(run.start);
        let mut picked = [run.start, lowest, highest, run.end - 1];
        picked.sort_unstable();
        let mut previous = None;
        for index in picked {
            if previous != Some(index) {
                kept.push(points[index]);
                previous = Some(index);
            }
        }
        run_start = run_end;
    }
    kept
}

/// The pixel rows the line passes through in each column of `columns`,
/// for a line through `pixels` (backend coordinates, in the line's order);
/// `None` for a column it does not reach.
pub fn column_spans(pixels: &[(i32, i32)], columns: Range<i32>) -> Vec<Option<(i32, i32)>> {
    let mut spans: Vec<Option<(i32, i32)>> = vec![None; columns.len()];
    let mut add = |column: i32, y: f64| {
        let Some(span) = usize::try_from(column - columns.start).ok().and_then(|i| spans.get_mut(i)) else {
            return;
        };
        let y = y.round() as i32;
        *span = Some(span.map_or((y, y), |(lo, hi)| (lo.min(y), hi.max(y))));
    };
    let single = pixels.first().filter(|_| pixels.len() == 1).map(|&p| (p, p));
    for ((x0, y0), (x1, y1)) in pixels.windows(2).map(|w| (w[0], w[1])).chain(single) {
        let (x0, y0, x1, y1) = if x0 <= x1 { (x0, y0, x1, y1) } else { (x1, y1, x0, y0) };
        if x0 == x1 {
            add(x0, y0 as f64);
            add(x0, y1 as f64);
            continue;
        }
        // Each column takes the segment's rows over the half pixel either
        // side of its centre, so neighbouring columns meet.
        let y_at = |x: f64| y0 as f64 + (y1 - y0) as f64 * (x - x0 as f64) / (x1 - x0) as f64;
        for column in x0.max(columns.start)..=x1.min(columns.end - 1) {
            let (left, right) = ((column as f64 - 0.5).max(x0 as f64), (column as f64 + 0.5).min(x1 as f64));
            add(column, y_at(left));
            add(column, y_at(right));
        }
    }
    spans
}

/// The corners of a rectangle of `width` pixels covering each column's
/// span, kept inside `rows` (the plot's pixel rows).
pub fn span_corners(
    spans: &[Option<(i32, i32)>],
    columns: Range<i32>,
    rows: Range<i32>,
    width: u32,
) -> Vec<[(i32, i32); 2]> {
    if rows.is_empty() {
        // A plot squeezed to nothing by its labels: nothing to cover.
        return Vec::new();
    }
    let (before, after) = ((width as i32 - 1) / 2, width as i32 / 2);
    let clamp = |y: i32| y.clamp(rows.start, rows.end - 1);
    columns
        .zip(spans)
        .filter_map(|(x, span)| span.map(|(lo, hi)| [(x - before, clamp(lo - before)), (x + after, clamp(hi + after))]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_in_a_column_keeps_its_first_lowest_highest_and_last_point() {
        let points = [(0.0, 5.0), (0.2, 9.0), (0.4, 1.0), (0.6, 4.0), (0.8, 3.0), (1.0, 7.0), (2.0, 6.0), (2.5, 6.0)];
        let kept = per_column(&points, |p| p.0 as i32);
        // Column 0: first 5, highest 9, lowest 1, last 3; column 1 and 2 are
        // a point and a run of two.
        assert_eq!(kept, [(0.0, 5.0), (0.2, 9.0), (0.4, 1.0), (0.8, 3.0), (1.0, 7.0), (2.0, 6.0), (2.5, 6.0)]);
    }

    #[test]
    fn a_thinned_line_covers_the_pixels_of_the_whole_line() {
        // A jagged walk of 5,000 points over 50 pixel columns.
        let mut y = 200.0;
        let points: Vec<(f64, f64)> = (0..5000)
            .map(|i| {
                y += ((i * 7919 % 13) as f64 - 6.0) * 1.7;
                (i as f64 / 100.0, y)
            })
            .collect();
        let pixel = |p: &(f64, f64)| (p.0 as i32, p.1.round() as i32);
        let kept = per_column(&points, |p| pixel(p).0);
        assert!(kept.len() <= 4 * 50, "{} points kept", kept.len());
        let spans = |points: &[(f64, f64)]| column_spans(&points.iter().map(pixel).collect::<Vec<_>>(), 0..50);
        assert_eq!(spans(&kept), spans(&points));
    }

    #[test]
    fn a_column_spans_every_row_the_line_passes_through_there() {
        // Up from row 10 to row 0 and back down, all within column 5.
        let spans = column_spans(&[(5, 10), (5, 0), (5, 8)], 4..7);
        assert_eq!(spans, [None, Some((0, 10)), None]);
    }

    #[test]
    fn neighbouring_columns_meet_on_a_steep_segment() {
        // From (0, 0) to (2, 20): each column covers its half-pixel share.
        let spans = column_spans(&[(0, 0), (2, 20)], 0..3);
        assert_eq!(spans, [Some((0, 5)), Some((5, 15)), Some((15, 20))]);
    }

    #[test]
    fn columns_outside_the_plot_are_left_out() {
        let spans = column_spans(&[(-5, 3), (5, 3)], 0..3);
        assert_eq!(spans, [Some((3, 3)); 3]);
    }

    #[test]
    fn a_lone_point_is_one_column() {
        assert_eq!(column_spans(&[(1, 7)], 0..3), [None, Some((7, 7)), None]);
    }

    #[test]
    fn rectangles_are_as_wide_as_the_line_and_kept_in_the_plot() {
        let corners = span_corners(&[Some((-4, 2)), None, Some((3, 3))], 10..13, 0..100, 2);
        assert_eq!(corners, [[(10, 0), (11, 3)], [(12, 3), (13, 4)]]);
        let corners = span_corners(&[Some((50, 120))], 0..1, 0..100, 3);
        assert_eq!(corners, [[(-1, 49), (1, 99)]]);
        assert!(span_corners(&[Some((5, 6))], 0..1, 40..40, 2).is_empty());
    }
}
