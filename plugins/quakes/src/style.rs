//! What the charts' look settings may hold: image sizes and colours,
//! checked when the stage is built so that every frame can be drawn.

use buzz_sdk::StageError;
use plotkit::{canvas, color};
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

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
        canvas::check_size("width", width)?;
        canvas::check_size("height", height)?;
        Ok(Look {
            width,
            height,
            color: color::setting("color", color)?,
            background: color::setting("background", background)?,
        })
    }

    pub fn color(&self) -> Result<RGBColor, String> {
        color::from_frame("color", &self.color)
    }

    pub fn background(&self) -> Result<RGBColor, String> {
        color::from_frame("background", &self.background)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_look_is_checked_and_normalised() {
        let look = Look::new(640, 480, "#F80", "#000").unwrap();
        assert_eq!((look.color.as_str(), look.background.as_str()), ("#ff8800", "#000000"));
        assert_eq!(color::ink_for(look.background().unwrap()), RGBColor(240, 240, 240));
        assert_eq!(Look::new(640, 480, "navy", "White").unwrap().color, "#000080");
        assert_eq!(Look::new(50, 480, "#fff", "#fff").unwrap_err().setting.as_deref(), Some("width"));
        assert_eq!(Look::new(640, 5000, "#fff", "#fff").unwrap_err().setting.as_deref(), Some("height"));
        let err = Look::new(640, 480, "#fff", "navvy").unwrap_err();
        assert_eq!(err.setting.as_deref(), Some("background"));
        assert!(err.message.contains("#rrggbb"));
    }
}
