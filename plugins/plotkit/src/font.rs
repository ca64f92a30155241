//! The one font all chart text uses, embedded so a PNG looks the same on
//! every machine whatever fonts it has installed.

use std::sync::OnceLock;

use plotters::style::FontStyle;

/// The family name every text style asks for. SVG viewers resolve it to
/// their own sans-serif; PNG text is drawn with the embedded DejaVu Sans.
pub const FAMILY: &str = "sans-serif";

/// DejaVu Sans; its licence is fonts/LICENSE-DejaVu.txt.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Registers the font with plotters once. plotters' ab_glyph support
/// silently draws nothing for an unregistered family, so a failure here is
/// reported rather than ignored. Text sizes are measured with this font for
/// SVG too, so every render calls it.
pub fn ensure_registered() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the embedded DejaVu Sans font could not be loaded".to_string())
        })
        .clone()
}
