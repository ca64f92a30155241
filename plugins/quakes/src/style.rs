//! What the charts' look settings may hold: image sizes and colours,
//! checked when the stage is built so that every frame can be drawn.

use std::ops::RangeInclusive;

use buzz_sdk::StageError;
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

/// Smaller leaves no room for axes; larger makes PNGs of hundreds of MB.
pub const SIZES: RangeInclusive<u32> = 100..=4096;

/// The texts around a chart, as carried in its frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heading {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
}

/// How a chart looks, as carried in its frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Look {
    pub width: u32,
    pub height: u32,
    /// Bars or points, "#rrggbb".
    pub color: String,
    /// "#rrggbb".
    pub background: String,
}

impl Look {
    /// Checks the look settings, naming the one at fault.
    pub fn new(width: u32, height: u32, color: &str, background: &str) -> Result<Look, StageError> {
        for (name, pixels) in [("width", width), ("height", height)] {
            if !SIZES.contains(&pixels) {
                return Err(StageError::setting(
                    name,
                    format!("{pixels} pixels is out of range: use {} to {}", SIZES.start(), SIZES.end()),
                ));
            }
        }
        Ok(Look {
            width,
            height,
            color: hex_setting("color", color)?,
            background: hex_setting("background", background)?,
        })
    }

    pub fn color(&self) -> Result<RGBColor, String> {
        rgb(&self.color).ok_or_else(|| format!("frame colour {:?} is not #rrggbb", self.color))
    }

    pub fn background(&self) -> Result<RGBColor, String> {
        rgb(&self.background).ok_or_else(|| format!("frame background {:?} is not #rrggbb", self.background))
    }
}

/// "#rgb" or "#rrggbb" (any case) as a colour.
pub fn rgb(text: &str) -> Option<RGBColor> {
    let digits = text.trim().strip_prefix('#')?;
    let value = u32::from_str_radix(digits, 16).ok().filter(|_| digits.bytes().all(|b| b.is_ascii_hexdigit()))?;
    match digits.len() {
        // Each digit doubled: #f80 is #ff8800.
        3 => Some(RGBColor(((value >> 8) & 0xf) as u8 * 17, ((value >> 4) & 0xf) as u8 * 17, (value & 0xf) as u8 * 17)),
        6 => Some(RGBColor((value >> 16) as u8, (value >> 8) as u8, value as u8)),
        _ => None,
    }
}

/// The colour setting `name` normalised to "#rrggbb".
fn hex_setting(name: &str, text: &str) -> Result<String, StageError> {
    let RGBColor(r, g, b) = rgb(text)
        .ok_or_else(|| StageError::setting(name, format!("{text:?} is not a colour: write it as #rgb or #rrggbb")))?;
    Ok(format!("#{r:02x}{g:02x}{b:02x}"))
}

/// Black or white, whichever contrasts more with `background` by the
/// WCAG 2 contrast ratio (relative luminance of linear sRGB).
pub fn ink(background: RGBColor) -> RGBColor {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_hex() {
        assert_eq!(rgb("#f80"), Some(RGBColor(255, 136, 0)));
        assert_eq!(rgb("#1F77b4"), Some(RGBColor(0x1f, 0x77, 0xb4)));
        for bad in ["", "#", "f80", "#ff", "#12345", "#gg0000", "red", "#+12"] {
            assert_eq!(rgb(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_look_is_checked_and_normalised() {
        let look = Look::new(640, 480, "#F80", "#000").unwrap();
        assert_eq!((look.color.as_str(), look.background.as_str()), ("#ff8800", "#000000"));
        assert_eq!(ink(look.background().unwrap()), RGBColor(240, 240, 240));
        assert_eq!(ink(RGBColor(0xf4, 0xf1, 0xde)), RGBColor(20, 20, 20));
        // Mid-grey reads better with black text.
        assert_eq!(ink(RGBColor(128, 128, 128)), RGBColor(20, 20, 20));
        assert_eq!(Look::new(50, 480, "#fff", "#fff").unwrap_err().setting.as_deref(), Some("width"));
        assert_eq!(Look::new(640, 5000, "#fff", "#fff").unwrap_err().setting.as_deref(), Some("height"));
        let err = Look::new(640, 480, "#fff", "navy").unwrap_err();
        assert_eq!(err.setting.as_deref(), Some("background"));
        assert!(err.message.contains("#rrggbb"));
    }
}
