//! Colormaps by name: every gradient plotters offers, so a setting such as
//! `colormap = "copper"` picks one and a misspelt name is answered with
//! the closest one and the whole list.

use plotters::style::colors::colormaps::{BlackWhite, Bone, Copper, MandelbrotHSL, ViridisRGB, VulcanoHSL};
use plotters::style::{Color, RGBColor};

/// A colour for each position from 0 to 1.
type Gradient = fn(f64) -> RGBColor;

/// The names a `colormap` setting accepts, each with plotters' map.
/// ("none" is not here: it is a chart's way of saying "no colormap".)
const MAPS: &[(&str, Gradient)] = &[
    ("viridis", |t| ViridisRGB::get_color(t)),
    ("blackwhite", |t| BlackWhite::get_color(t)),
    ("bone", |t| Bone::get_color(t)),
    ("copper", |t| Copper::get_color(t)),
    ("mandelbrot", |t| rgb(MandelbrotHSL::get_color(t))),
    ("vulcano", |t| rgb(VulcanoHSL::get_color(t))),
];

fn rgb(color: impl Color) -> RGBColor {
    let (r, g, b) = color.to_backend_color().rgb;
    RGBColor(r, g, b)
}

/// A colormap: a gradient from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colormap(usize);

impl Colormap {
    pub const VIRIDIS: Colormap = Colormap(0);

    /// Every name, in a fixed order (viridis first).
    pub fn names() -> impl Iterator<Item = &'static str> {
        MAPS.iter().map(|(name, _)| *name)
    }

    pub fn by_name(name: &str) -> Option<Colormap> {
        MAPS.iter().position(|(known, _)| *known == name).map(Colormap)
    }

    /// `name`, or a message with the closest name and the whole list.
    pub fn parse(name: &str) -> Result<Colormap, String> {
        Colormap::by_name(name).ok_or_else(|| {
            let list: Vec<String> = Colormap::names().map(|n| format!("{n:?}")).collect();
            let hint = closest(name).map(|n| format!(" (did you mean {n:?}?)")).unwrap_or_default();
            format!("{name:?} is not a colormap{hint}: use one of {}", list.join(", "))
        })
    }

    pub fn name(self) -> &'static str {
        MAPS[self.0].0
    }

    /// The colour at `t` (clamped to 0..=1; NaN is the middle, as
    /// plotters panics on it).
    pub fn at(self, t: f64) -> RGBColor {
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
        (MAPS[self.0].1)(t)
    }
}

/// The known name nearest `name` by edit distance, if any is near.
fn closest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    Colormap::names()
        .map(|known| (edit_distance(&name, known), known))
        .filter(|&(distance, known)| distance <= known.len() / 2 || known.starts_with(&name) && !name.is_empty())
        .min()
        .map(|(_, known)| known)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Where `value` sits on a map spanning `lo..=hi`, 0 to 1: clamped
/// outside the span, the middle when the span is empty.
pub fn position(value: f64, (lo, hi): (f64, f64)) -> f64 {
    let t = if hi > lo { (value - lo) / (hi - lo) } else { 0.5 };
    if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_a_gradient() {
        for name in Colormap::names() {
            let map = Colormap::by_name(name).unwrap();
            assert_eq!(map.name(), name);
            // (Hue maps come back round to their first colour at 1.)
            assert_ne!(map.at(0.0), map.at(0.5), "{name}");
            assert_eq!(map.at(f64::NAN), map.at(0.5), "{name}");
        }
        assert_eq!(Colormap::VIRIDIS.at(0.0), RGBColor(68, 1, 84));
    }

    #[test]
    fn a_wrong_name_gets_the_closest_and_the_list() {
        let err = Colormap::parse("copperr").unwrap_err();
        assert!(err.contains("did you mean \"copper\"?"), "{err}");
        assert!(
            err.contains("\"viridis\", \"blackwhite\", \"bone\", \"copper\", \"mandelbrot\", \"vulcano\""),
            "{err}"
        );
        assert!(!Colormap::parse("zzz").unwrap_err().contains("did you mean"));
    }

    #[test]
    fn positions_are_clamped() {
        assert_eq!(position(0.42, (0.0, 1.0)), 0.42);
        assert_eq!(position(-1.0, (0.0, 1.0)), 0.0);
        assert_eq!(position(7.0, (7.0, 7.0)), 0.5);
    }
}
