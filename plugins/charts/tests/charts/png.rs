use buzz_sdk::ImageFormat;
use buzz_sdk::testing::TestStage;
use serde_json::json;

use crate::{bar_chart, feed, keep, line_chart};

/// Decodes a PNG into (width, height, RGB bytes).
pub fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Dark pixels in rows `rows` of an RGB image `width` wide.
fn dark_pixels(rgb: &[u8], width: u32, rows: std::ops::Range<u32>) -> usize {
    rgb.chunks(3)
        .enumerate()
        .filter(|(i, _)| rows.contains(&(*i as u32 / width)))
        .filter(|(_, p)| p.iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 100)
        .count()
}

fn png_of(stage: &TestStage, name: &str) -> (u32, u32, Vec<u8>) {
    let bytes = stage.render(ImageFormat::Png).unwrap();
    keep(name, &bytes);
    decode(&bytes)
}

#[test]
fn png_has_the_configured_size_and_the_embedded_font_draws_the_title() {
    let mut chart = bar_chart(json!({"title": "Commits per author", "width": 640, "height": 400})).unwrap();
    feed(&mut chart, [("Alice", 12), ("Bob", 3)].map(|(c, v)| json!({"category": c, "value": v})));
    let (width, height, rgb) = png_of(&chart, "bar.png");
    assert_eq!((width, height), (640, 400));
    // The title band is dark text on white: only a font can put it there.
    let title = dark_pixels(&rgb, width, 0..45);
    assert!(title > 150, "only {title} dark pixels where the title should be");

    let untitled = bar_chart(json!({"title": "", "width": 640, "height": 400})).unwrap();
    let (_, _, rgb) = png_of(&untitled, "bar-untitled.png");
    assert_eq!(dark_pixels(&rgb, width, 0..12), 0, "no title, no text at the top");
}

#[test]
fn line_png_renders_with_markers() {
    let mut chart = line_chart(json!({"x": "$index", "marker_field": "stall", "marker_label": "Stall Detected",
                                      "title": "Smoker", "width": 900, "height": 450}))
    .unwrap();
    feed(
        &mut chart,
        (0..300).map(|i| json!({"value": (i as f64 / 20.0).sin() * 10.0, "stall": (100..140).contains(&i)})),
    );
    let (width, height, rgb) = png_of(&chart, "line.png");
    assert_eq!((width, height), (900, 450));
    assert!(dark_pixels(&rgb, width, 0..40) > 50);
    // The stall is a light red span (white through red at 18%), its label red.
    let shaded = rgb.chunks(3).filter(|p| p[0] > 240 && (190..230).contains(&p[1]) && p[1] == p[2]).count();
    assert!(shaded > 20_000, "the stall's span: {shaded} pixels");
    let red = rgb.chunks(3).filter(|p| p[0] > 200 && p[1] < 60 && p[2] < 60).count();
    assert!(red > 50, "the stall's label in red: {red} pixels");
}

#[test]
fn empty_charts_render_in_both_formats() {
    for stage in [bar_chart(json!({})).unwrap(), line_chart(json!({})).unwrap()] {
        let svg = String::from_utf8(stage.render(ImageFormat::Svg).unwrap()).unwrap();
        assert!(svg.contains("</svg>"));
        let (w, h, rgb) = decode(&stage.render(ImageFormat::Png).unwrap());
        assert_eq!((w, h), (800, 500));
        assert!(dark_pixels(&rgb, w, 0..45) > 50, "the title is drawn");
    }
}

/// Pixels of the default line colour (#1f77b4) in each row of an RGB image.
fn line_pixels_per_row(rgb: &[u8], width: u32) -> Vec<usize> {
    rgb.chunks(3 * width as usize)
        .map(|row| row.chunks(3).filter(|p| p[0] == 0x1f && p[1] == 0x77 && p[2] == 0xb4).count())
        .collect()
}

#[test]
fn a_dense_swinging_line_fills_its_band_and_stays_inside_the_plot() {
    // A saw-tooth of 24 readings replayed 2,000 times, the smoker bench's
    // shape (more teeth than pixel columns): plotters' wide-line polygon
    // shot miter spikes from each turn through the title and below the axis.
    let mut chart = line_chart(json!({"x": "$index", "title": "Saw-tooth", "width": 800, "height": 500})).unwrap();
    feed(&mut chart, (0..48_000).map(|i| json!({"value": 70.0 + (i % 24) as f64 * 3.0})));
    let (width, height, rgb) = png_of(&chart, "line-sawtooth.png");
    let rows = line_pixels_per_row(&rgb, width);
    assert_eq!(rows[..45].iter().sum::<usize>(), 0, "line pixels in the title band");
    assert_eq!(rows[height as usize - 30..].iter().sum::<usize>(), 0, "line pixels under the x axis");
    // Every column holds whole teeth: mid-height the band is solid.
    let middle = rows[height as usize / 2];
    assert!(middle > 600, "{middle} line pixels across the middle row");
}

#[test]
fn a_dense_smooth_line_stays_a_thin_line() {
    // More points than pixel columns, drawn column by column: a slow wave
    // must still be a line two or three pixels thick, not a band.
    let mut chart = line_chart(json!({"x": "$index", "width": 800, "height": 500})).unwrap();
    feed(&mut chart, (0..20_000).map(|i| json!({"value": (i as f64 / 4000.0).sin()})));
    let (width, _, rgb) = png_of(&chart, "line-dense-smooth.png");
    let columns: Vec<usize> = (0..width as usize)
        .map(|x| rgb.chunks(3 * width as usize).filter(|row| row[3 * x..3 * x + 3] == [0x1f, 0x77, 0xb4]).count())
        .collect();
    let drawn: Vec<usize> = columns.into_iter().filter(|&n| n > 0).collect();
    assert!(drawn.len() > 600, "the line crosses the plot: {} columns", drawn.len());
    let thickest = drawn.iter().max().unwrap();
    assert!(*thickest <= 12, "a column {thickest} pixels thick");
}
