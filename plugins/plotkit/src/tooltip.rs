//! Hover texts for SVG charts: a transparent rectangle over each drawn
//! item whose `<title>` a browser shows on hover (the dashboard reads them
//! too). PNG has no such thing.

use std::fmt::Write;

/// Points as data attributes on an empty SVG group, from which the
/// dashboard shows the values of the point nearest the pointer (line and
/// scatter charts): each point is `[pixel x, pixel y, x, y]`; `x_kind`
/// ("time" or "number") says how the page shows x. Points that are not
/// finite are left out (JSON has no word for them).
pub fn points_group(series: &str, x_kind: &str, points: impl Iterator<Item = ((i32, i32), (f64, f64))>) -> String {
    let mut svg = format!(
        "<g class=\"buzz-points\" data-series=\"{}\" data-x-kind=\"{}\" data-points=\"[",
        xml_escape(series),
        xml_escape(x_kind)
    );
    // Drawn every frame for every point shown, so written straight into the
    // attribute: numbers and `[],.-e` need no XML escaping, and ryu writes
    // each f64 so that it reads back exactly (`{:?}` does too, at several
    // times the cost).
    let mut number = ryu::Buffer::new();
    let mut first = true;
    for ((px, py), (x, y)) in points.filter(|(_, (x, y))| x.is_finite() && y.is_finite()) {
        if !std::mem::take(&mut first) {
            svg.push(',');
        }
        let _ = write!(svg, "[{px},{py},");
        svg.push_str(number.format_finite(x));
        svg.push(',');
        svg.push_str(number.format_finite(y));
        svg.push(']');
    }
    svg.push_str("]\"/>\n");
    svg
}

/// A hover text over a rectangle of the image, corners in pixels.
pub struct Tooltip {
    pub from: (i32, i32),
    pub to: (i32, i32),
    pub text: String,
}

/// The SVG group to append before `</svg>`.
pub fn svg_group(tooltips: &[Tooltip]) -> String {
    let mut svg = String::from("<g class=\"buzz-tooltips\">\n");
    for Tooltip { from: (x0, y0), to: (x1, y1), text } in tooltips {
        let _ = writeln!(
            svg,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#000" fill-opacity="0"><title>{}</title></rect>"##,
            x0.min(x1),
            y0.min(y1),
            (x1 - x0).abs(),
            (y1 - y0).abs(),
            xml_escape(text),
        );
    }
    svg.push_str("</g>\n");
    svg
}

/// Text safe inside an XML element or attribute.
pub fn xml_escape(text: &str) -> String {
    // Most text (labels, numbers) has nothing to escape: one byte scan.
    let plain = |b: &u8| b.is_ascii() && !b.is_ascii_control() && !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'');
    if text.as_bytes().iter().all(plain) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_become_pixel_and_value_pairs_in_one_attribute() {
        let points = [((10, 20), (1.5, 2.0)), ((11, 21), (f64::NAN, 1.0))];
        assert_eq!(
            points_group("a \"b\" <c>", "time", points.into_iter()),
            "<g class=\"buzz-points\" data-series=\"a &quot;b&quot; &lt;c&gt;\" data-x-kind=\"time\" data-points=\"[[10,20,1.5,2.0]]\"/>\n"
        );
    }

    #[test]
    fn tooltips_are_escaped_rectangles() {
        let group = svg_group(&[Tooltip { from: (10, 50), to: (4, 20), text: "M<3 & \u{7}".into() }]);
        assert!(group.starts_with("<g class=\"buzz-tooltips\">"), "{group}");
        assert!(group.contains(
            "<rect x=\"4\" y=\"20\" width=\"6\" height=\"30\" fill=\"#000\" fill-opacity=\"0\"><title>M&lt;3 &amp; \u{FFFD}</title></rect>"
        ));
    }
}
