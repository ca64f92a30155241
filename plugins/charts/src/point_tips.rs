//! A line chart's points as data attributes on an empty SVG group, from
//! which the dashboard shows the values of the point nearest the pointer:
//! each point is `[pixel x, pixel y, x, y]`; `data-x-kind` says how to show x.

use crate::timeaxis::XKind;
use plotkit::tooltip::xml_escape;

pub fn point_tips(series: &str, x_kind: XKind, points: impl Iterator<Item = ((i32, i32), (f64, f64))>) -> String {
    let points: Vec<(i32, i32, f64, f64)> = points.map(|((px, py), (x, y))| (px, py, x, y)).collect();
    let json = serde_json::to_string(&points).unwrap_or_default();
    let kind = serde_json::to_value(x_kind).ok().and_then(|k| k.as_str().map(str::to_string)).unwrap_or_default();
    format!(
        "<g class=\"buzz-points\" data-series=\"{}\" data-x-kind=\"{kind}\" data-points=\"{}\"/>\n",
        xml_escape(series),
        xml_escape(&json)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_become_pixel_and_value_pairs_in_one_attribute() {
        let svg = point_tips("a \"b\" <c>", XKind::Time, [((10, 20), (1.5, 2.0))].into_iter());
        assert_eq!(
            svg,
            "<g class=\"buzz-points\" data-series=\"a &quot;b&quot; &lt;c&gt;\" data-x-kind=\"time\" data-points=\"[[10,20,1.5,2.0]]\"/>\n"
        );
    }
}
