//! The charts drawn through the SDK's test harness: real SVG and PNG from
//! a catalogue the source made.

use buzz_plugin_quakes::histogram::HistogramFrame;
use buzz_plugin_quakes::{Histogram, QuakeCatalog, Scatter};
use buzz_sdk::testing::{TestRecord, TestStage};
use buzz_sdk::{Chart, ImageFormat};
use serde_json::{Value, json};

fn catalogue(count: u64) -> Vec<TestRecord> {
    let mut source = TestStage::source::<QuakeCatalog>(json!({"interval_ms": 0, "count": count, "seed": 21})).unwrap();
    source.drain(256).unwrap().records
}

fn chart_of(stage: Result<TestStage, buzz_sdk::StageError>, records: &[TestRecord]) -> TestStage {
    let mut stage = stage.unwrap();
    let out = stage.process(records).unwrap();
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    stage
}

/// (width, height, RGB pixels) of a PNG.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

/// Pixels much darker than the background in the top `rows` rows: the
/// title, which only the embedded font can draw.
fn dark_pixels_on_top(pixels: &[u8], width: u32, rows: u32) -> usize {
    pixels
        .chunks(3)
        .take((width * rows) as usize)
        .filter(|p| p.iter().map(|&c| u32::from(c)).sum::<u32>() < 200)
        .count()
}

fn svg(stage: &TestStage) -> String {
    let svg = String::from_utf8(stage.render(ImageFormat::Svg).unwrap()).unwrap();
    assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "not a whole SVG");
    svg
}

#[test]
fn a_magnitude_histogram_draws_with_title_tooltips_and_the_size_asked_for() {
    let settings = json!({"title": "Magnitudes", "field": "magnitude", "min": 2.5, "max": 8.5, "bins": 30,
                          "log_y": true, "width": 640, "height": 400, "x_label": "Magnitude"});
    let stage = chart_of(TestStage::chart::<Histogram>(settings), &catalogue(3000));
    let frame: Value = stage.frame().unwrap();
    let counts: Vec<u64> = serde_json::from_value(frame["series"][0]["counts"].clone()).unwrap();
    assert_eq!(
        counts.iter().sum::<u64>() + frame["underflow"].as_u64().unwrap() + frame["overflow"].as_u64().unwrap(),
        3000
    );
    assert!(counts[0] > counts[5] && counts[5] > counts[10], "Gutenberg–Richter: fewer as magnitudes grow: {counts:?}");

    let svg = svg(&stage);
    assert!(svg.contains("Magnitudes") && svg.contains("Magnitude"));
    assert!(svg.contains(&format!("<title>2.5–2.7: {}</title>", counts[0])), "no tooltip for the first bin");
    assert!(svg.contains("mean "), "the mean marker is labelled");

    let (width, height, pixels) = decode(&stage.render(ImageFormat::Png).unwrap());
    assert_eq!((width, height), (640, 400));
    assert!(dark_pixels_on_top(&pixels, width, 40) > 50, "no title text in the PNG");
}

#[test]
fn a_histogram_with_nothing_yet_still_draws() {
    let stage = TestStage::chart::<Histogram>(json!({"log_y": true})).unwrap();
    assert!(svg(&stage).contains("Histogram"));
    let stage = TestStage::chart::<Histogram>(json!({})).unwrap();
    assert_eq!(decode(&stage.render(ImageFormat::Png).unwrap()).0, 800);
}

#[test]
fn an_epicentre_map_draws_every_kept_point_with_a_colour_key() {
    let settings = json!({"title": "Epicentres", "x": "longitude", "y": "latitude", "color_by": "depth_km",
                          "x_range": [-180, 180], "y_range": [-90, 90], "max_points": 500, "background": "#102030"});
    let stage = chart_of(TestStage::chart::<Scatter>(settings), &catalogue(800));
    let frame = stage.frame().unwrap();
    assert_eq!(frame["series"][0]["points"].as_array().unwrap().len(), 500);
    assert_eq!(frame["total"], 800);
    let svg = svg(&stage);
    assert!(svg.contains("Epicentres") && svg.contains("depth_km"));
    assert_eq!(svg.matches("<circle").count(), 500);
    // Each dot's position and values, for the dashboard's nearest-dot
    // tooltip: the same 500 points the frame keeps.
    let tips = svg.split("class=\"buzz-points\"").nth(1).expect("no point data for tooltips");
    let data = tips.split("data-points=\"").nth(1).unwrap().split('"').next().unwrap();
    let tips: Vec<[f64; 4]> = serde_json::from_str(data).unwrap();
    let points = frame["series"][0]["points"].as_array().unwrap();
    assert_eq!(tips.len(), points.len());
    for (tip, point) in tips.iter().zip(points) {
        assert_eq!([tip[2], tip[3]], [point[0].as_f64().unwrap(), point[1].as_f64().unwrap()]);
    }
    let (width, height, pixels) = decode(&stage.render(ImageFormat::Png).unwrap());
    assert_eq!((width, height), (800, 500));
    // On a dark background the text is light: the title band is not flat.
    let top: Vec<&[u8]> = pixels.chunks(3).take(800 * 40).collect();
    assert!(top.iter().filter(|p| p[0] > 200).count() > 50, "no light title text in the PNG");
}

#[test]
fn a_hand_edited_frame_that_cannot_be_drawn_is_an_error_not_a_panic() {
    let stage = TestStage::chart::<Histogram>(json!({})).unwrap();
    let mut frame = stage.frame().unwrap();
    frame["series"][0]["edges"] = json!([0.0, 1.0]);
    let frame: HistogramFrame = serde_json::from_value(frame).unwrap();
    let err = Histogram::render(&frame, ImageFormat::Svg).unwrap_err();
    assert!(err.contains("edges"), "{err}");
}

/// The blank column runs between the ink of the title in the top `rows`
/// rows of a PNG: the gaps between its letters (and words).
fn title_gaps(pixels: &[u8], width: u32, rows: u32) -> Vec<u32> {
    let inked = |x: u32| {
        (0..rows)
            .any(|y| pixels[3 * (y * width + x) as usize..][..3].iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 170)
    };
    let columns: Vec<bool> = (0..width).map(inked).collect();
    let (first, last) = (columns.iter().position(|&c| c).unwrap(), columns.iter().rposition(|&c| c).unwrap());
    let mut gaps = Vec::new();
    let mut run = 0;
    for &ink in &columns[first..=last] {
        if ink {
            if run > 0 {
                gaps.push(run);
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    gaps
}

/// PNG text goes through plotkit's letter-by-letter layout: plotters' own
/// drops each letter's side bearing, so "Magnitude" read "Magnitu de".
#[test]
fn plotkit_png_titles_have_even_letter_spacing() {
    let stage = TestStage::chart::<Histogram>(json!({"title": "Magnitude", "width": 640, "height": 400})).unwrap();
    let (width, _, pixels) = decode(&stage.render(ImageFormat::Png).unwrap());
    let gaps = title_gaps(&pixels, width, 40);
    let (narrowest, widest) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
    assert!(gaps.len() >= 6 && widest - narrowest <= 1, "uneven letter gaps {gaps:?}");
}
