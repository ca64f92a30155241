//! CSS-style colour strings: "#1f77b4", "#f00" or a common name, the
//! same for every chart, and the text colour that reads on a background.

use buzz_sdk::StageError;
use plotters::style::RGBColor;

/// The CSS names people actually write in a pipeline file. Chart plugins
/// publish this list in their settings schemas (see `schema`).
pub const NAMES: &[(&str, (u8, u8, u8))] = &[
    ("black", (0, 0, 0)),
    ("white", (255, 255, 255)),
    ("red", (255, 0, 0)),
    ("green", (0, 128, 0)),
    ("lime", (0, 255, 0)),
    ("blue", (0, 0, 255)),
    ("yellow", (255, 255, 0)),
    ("orange", (255, 165, 0)),
    ("purple", (128, 0, 128)),
    ("magenta", (255, 0, 255)),
    ("fuchsia", (255, 0, 255)),
    ("cyan", (0, 255, 255)),
    ("aqua", (0, 255, 255)),
    ("pink", (255, 192, 203)),
    ("brown", (165, 42, 42)),
    ("gray", (128, 128, 128)),
    ("grey", (128, 128, 128)),
    ("lightgray", (211, 211, 211)),
    ("lightgrey", (211, 211, 211)),
    ("darkgray", (169, 169, 169)),
    ("darkgrey", (169, 169, 169)),
    ("silver", (192, 192, 192)),
    ("navy", (0, 0, 128)),
    ("teal", (0, 128, 128)),
    ("maroon", (128, 0, 0)),
    ("olive", (128, 128, 0)),
    ("gold", (255, 215, 0)),
    ("steelblue", (70, 130, 180)),
    ("skyblue", (135, 206, 235)),
    ("darkblue", (0, 0, 139)),
    ("darkred", (139, 0, 0)),
    ("darkgreen", (0, 100, 0)),
    ("crimson", (220, 20, 60)),
    ("tomato", (255, 99, 71)),
    ("coral", (255, 127, 80)),
    ("salmon", (250, 128, 114)),
    ("indigo", (75, 0, 130)),
    ("violet", (238, 130, 238)),
    ("turquoise", (64, 224, 208)),
    ("beige", (245, 245, 220)),
    ("ivory", (255, 255, 240)),
    ("whitesmoke", (245, 245, 245)),
];

/// Parses a colour, or says nothing (the caller knows which setting it was).
pub fn parse(text: &str) -> Option<RGBColor> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix('#') {
        return parse_hex(hex);
    }
    let lower = text.to_ascii_lowercase();
    NAMES.iter().find(|(name, _)| *name == lower).map(|&(_, (r, g, b))| RGBColor(r, g, b))
}

fn parse_hex(hex: &str) -> Option<RGBColor> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).ok();
    let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    match hex.len() {
        3 => Some(RGBColor(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
        6 => Some(RGBColor(pair(0)?, pair(2)?, pair(4)?)),
        _ => None,
    }
}

/// Checks a colour setting and returns it normalised to "#rrggbb", so the
/// frame carries one spelling and render never meets a name it can't read.
pub fn setting(name: &str, text: &str) -> Result<String, StageError> {
    parse(text).map(hex).ok_or_else(|| {
        StageError::setting(
            name,
            format!(
                "{text:?} is not a colour: use #rgb, #rrggbb or a CSS name such as \"red\" or \"steelblue\" \
                 (`buzz plugins --colors` lists the names)"
            ),
        )
    })
}

/// Reads a colour back from a frame.
pub fn from_frame(what: &str, text: &str) -> Result<RGBColor, String> {
    parse(text).ok_or_else(|| format!("frame style {what} {text:?} is not a colour"))
}

pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Black or white, whichever contrasts more with `background` by the
/// WCAG 2 contrast ratio (relative luminance of linear sRGB): the text
/// and axis colour of every chart.
pub fn ink_for(background: RGBColor) -> RGBColor {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let RGBColor(r, g, b) = background;
    let luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    let against_black = (luminance + 0.05) / 0.05;
    let against_white = 1.05 / (luminance + 0.05);
    if against_black >= against_white { RGBColor(20, 20, 20) } else { RGBColor(240, 240, 240) }
}

/// Marks a colour setting's JSON Schema with the names it accepts, as
/// `examples` (an annotation: hex colours stay valid), so `buzz plugins
/// --colors` and editors can list them. Use with
/// `#[schemars(transform = plotkit::color::schema)]`.
pub fn schema(schema: &mut schemars::Schema) {
    let names: Vec<&str> = NAMES.iter().map(|(name, _)| *name).collect();
    schema.insert("examples".into(), names.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_names() {
        assert_eq!(parse("#1f77b4"), Some(RGBColor(0x1f, 0x77, 0xb4)));
        assert_eq!(parse("#F00"), Some(RGBColor(255, 0, 0)));
        assert_eq!(parse(" Red "), Some(RGBColor(255, 0, 0)));
        assert_eq!(parse("grey"), parse("gray"));
        for bad in ["", "#", "#12", "#12345", "#1234567", "#ggg", "#é12", "rouge", "rgb(1,2,3)"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn normalises_to_hex() {
        assert_eq!(setting("color", "red").unwrap(), "#ff0000");
        let err = setting("color", "blurple").unwrap_err();
        assert_eq!(err.setting.as_deref(), Some("color"));
        assert!(err.message.contains("blurple"));
    }

    #[test]
    fn ink_contrasts_with_the_background() {
        assert_eq!(ink_for(RGBColor(0, 0, 0)), RGBColor(240, 240, 240));
        assert_eq!(ink_for(RGBColor(0xf4, 0xf1, 0xde)), RGBColor(20, 20, 20));
        // Mid-grey reads better with black text.
        assert_eq!(ink_for(RGBColor(128, 128, 128)), RGBColor(20, 20, 20));
    }
}
