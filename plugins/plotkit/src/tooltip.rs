//! Hover texts for SVG charts: a transparent rectangle over each drawn
//! item whose `<title>` a browser shows on hover (the dashboard reads them
//! too). PNG has no such thing.

use std::fmt::Write;

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
    fn tooltips_are_escaped_rectangles() {
        let group = svg_group(&[Tooltip { from: (10, 50), to: (4, 20), text: "M<3 & \u{7}".into() }]);
        assert!(group.starts_with("<g class=\"buzz-tooltips\">"), "{group}");
        assert!(group.contains(
            "<rect x=\"4\" y=\"20\" width=\"6\" height=\"30\" fill=\"#000\" fill-opacity=\"0\"><title>M&lt;3 &amp; \u{FFFD}</title></rect>"
        ));
    }
}
