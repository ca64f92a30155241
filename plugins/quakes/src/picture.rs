//! From a chart's drawing code to SVG or PNG bytes. Both formats go
//! through plotters, so each chart draws once; PNG text uses a font
//! embedded in the plugin, so it looks the same on every machine.

use std::fmt::Write;
use std::sync::OnceLock;

use buzz_sdk::ImageFormat;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::style::SIZES;

/// The family all text asks for: SVG viewers use their own sans-serif,
/// PNG text is drawn with the embedded DejaVu Sans.
pub const FONT: &str = "sans-serif";

/// DejaVu Sans; its licence is fonts/LICENSE-DejaVu.txt.
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// A hover text over a rectangle of the image (SVG only).
pub struct Tooltip {
    pub from: (i32, i32),
    pub to: (i32, i32),
    pub text: String,
}

/// A chart that draws itself on any plotters backend.
pub trait Picture {
    fn size(&self) -> (u32, u32);

    /// Draws the whole image; returns the tooltips to add in SVG.
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Vec<Tooltip>, String>;
}

/// A plotters error as a message.
pub fn failed(e: impl std::fmt::Display) -> String {
    format!("drawing failed: {e}")
}

pub fn text_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&color)
}

pub fn encode(picture: &impl Picture, format: ImageFormat) -> Result<Vec<u8>, String> {
    let (width, height) = picture.size();
    // A frame can be edited by hand: check before allocating pixels.
    if !SIZES.contains(&width) || !SIZES.contains(&height) {
        return Err(format!("image size {width}x{height} is out of range {SIZES:?}"));
    }
    register_font()?;
    match format {
        ImageFormat::Svg => {
            let mut svg = String::new();
            let tooltips = paint(picture, SVGBackend::with_string(&mut svg, (width, height)))?;
            let end = svg.rfind("</svg>").ok_or("plotters wrote no </svg>")?;
            svg.insert_str(end, &tooltip_group(&tooltips));
            Ok(svg.into_bytes())
        }
        ImageFormat::Png => {
            let mut pixels = vec![0u8; 3 * width as usize * height as usize];
            paint(picture, BitMapBackend::with_buffer(&mut pixels, (width, height)))?;
            png_bytes(width, height, &pixels).map_err(|e| format!("PNG encoding failed: {e}"))
        }
    }
}

/// Draws on `backend` and finishes the image (for a bitmap, fills the
/// buffer it borrows).
fn paint<DB: DrawingBackend>(picture: &impl Picture, backend: DB) -> Result<Vec<Tooltip>, String> {
    let area = backend.into_drawing_area();
    let tooltips = picture.paint(&area)?;
    area.present().map_err(failed)?;
    Ok(tooltips)
}

/// plotters draws no text at all for a family it has not been given, so
/// registering is checked, once per process.
fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS)
            .map_err(|_| "the embedded DejaVu Sans font could not be read".to_string())
    })
    .clone()
}

fn png_bytes(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_compression(png::Compression::Fast);
    let mut image = encoder.write_header()?;
    image.write_image_data(rgb)?;
    image.finish()?;
    Ok(bytes)
}

/// Transparent rectangles whose `<title>` browsers show on hover.
fn tooltip_group(tooltips: &[Tooltip]) -> String {
    let mut group = String::from("<g class=\"buzz-tooltips\" fill=\"#000\" fill-opacity=\"0\">\n");
    for tip in tooltips {
        let (x, y) = (tip.from.0.min(tip.to.0), tip.from.1.min(tip.to.1));
        let (w, h) = ((tip.to.0 - tip.from.0).abs().max(1), (tip.to.1 - tip.from.1).abs().max(1));
        let _ = writeln!(
            group,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"><title>{}</title></rect>",
            escape(&tip.text)
        );
    }
    group + "</g>\n"
}

/// Text safe inside an XML element.
pub fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            // XML 1.0 allows no control characters but these.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tooltips_are_escaped_rectangles() {
        let group = tooltip_group(&[Tooltip { from: (10, 50), to: (4, 20), text: "M<3 & \u{7}".into() }]);
        assert!(
            group.contains("<rect x=\"4\" y=\"20\" width=\"6\" height=\"30\"><title>M&lt;3 &amp;  </title></rect>")
        );
    }
}
