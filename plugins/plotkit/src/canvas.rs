//! Turns a chart's drawing code into SVG or PNG bytes. Both formats go
//! through plotters, so each chart draws once for either.

use std::ops::RangeInclusive;

use buzz_sdk::{ImageFormat, StageError};
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};

use crate::crisp_text::CrispText;
use crate::font;

/// Image sizes outside this range are refused: smaller leaves no room for
/// the axes, larger makes PNG buffers of hundreds of megabytes.
pub const SIZES: RangeInclusive<u32> = 100..=4096;

/// Checks the width or height setting `name`.
pub fn check_size(name: &str, pixels: u32) -> Result<(), StageError> {
    if SIZES.contains(&pixels) {
        Ok(())
    } else {
        Err(StageError::setting(
            name,
            format!("{pixels} pixels is out of range: use {} to {}", SIZES.start(), SIZES.end()),
        ))
    }
}

/// A chart that can draw itself on any plotters backend.
pub trait Draw {
    /// Draws onto `root` (already sized); returns SVG markup to append to
    /// the image (tooltips), or an empty string.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<String, String>;
}

/// Any plotters error as a message.
pub fn err(e: impl std::fmt::Display) -> String {
    format!("drawing failed: {e}")
}

pub fn render(chart: &impl Draw, (width, height): (u32, u32), format: ImageFormat) -> Result<Vec<u8>, String> {
    // The frame may have been edited by hand: check before allocating.
    if !SIZES.contains(&width) || !SIZES.contains(&height) {
        return Err(format!("frame size {width}x{height} is out of range ({SIZES:?} pixels)"));
    }
    font::ensure_registered()?;
    match format {
        ImageFormat::Svg => svg(chart, width, height),
        ImageFormat::Png => png(chart, width, height),
    }
}

fn svg(chart: &impl Draw, width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    let extra = {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let extra = chart.draw(&root)?;
        root.present().map_err(err)?;
        extra
    };
    if let Some(end) = out.rfind("</svg>") {
        out.insert_str(end, &extra);
    }
    Ok(out.into_bytes())
}

fn png(chart: &impl Draw, width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = CrispText::new(BitMapBackend::with_buffer(&mut rgb, (width, height)))?.into_drawing_area();
        chart.draw(&root)?;
        root.present().map_err(err)?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Charts are flat colours: fast compression is nearly as small.
    encoder.set_compression(png::Compression::Fast);
    let encode_err = |e: png::EncodingError| format!("PNG encoding failed: {e}");
    let mut writer = encoder.write_header().map_err(encode_err)?;
    writer.write_image_data(&rgb).map_err(encode_err)?;
    writer.finish().map_err(encode_err)?;
    Ok(out)
}
