//! The `scatter` chart: one dot per record at (x, y), optionally coloured
//! by a third field (epicentres coloured by depth, say). Memory is
//! bounded: it keeps the latest `max_points` records.

use std::collections::VecDeque;

use buzz_sdk::fields::Scalar;
use buzz_sdk::{Chart, ImageFormat, JsonSchema, Record, StageError};
use serde::{Deserialize, Serialize};

use crate::saved;
use crate::scatter_draw;
use crate::style::{Heading, Look};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScatterSettings {
    /// Chart title.
    pub title: String,
    /// Text under the x axis.
    pub x_label: String,
    /// Text beside the y axis.
    pub y_label: String,
    /// The numeric field plotted across.
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = true))]
    pub x: String,
    /// The numeric field plotted up.
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = true))]
    pub y: String,
    /// A numeric field that colours each dot on the viridis scale (dark
    /// for its smallest value, yellow for its largest); none: all in `color`.
    #[schemars(extend("x-buzz-reads" = true))]
    pub color_by: Option<String>,
    /// Fixed x axis limits, e.g. [-180, 180]; none: fit the data.
    pub x_range: Option<[f64; 2]>,
    /// Fixed y axis limits, e.g. [-90, 90]; none: fit the data.
    pub y_range: Option<[f64; 2]>,
    /// Most dots kept: the latest ones.
    #[schemars(range(min = 10, max = 100000))]
    pub max_points: usize,
    /// Dot radius in pixels.
    #[schemars(range(min = 1, max = 20))]
    pub point_size: u32,
    /// Image width in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub width: u32,
    /// Image height in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub height: u32,
    /// Dot colour without `color_by`: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = plotkit::color::schema)]
    pub color: String,
    /// Background colour: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = plotkit::color::schema)]
    pub background: String,
}

impl Default for ScatterSettings {
    fn default() -> Self {
        ScatterSettings {
            title: "Scatter".into(),
            x_label: String::new(),
            y_label: String::new(),
            x: "x".into(),
            y: "y".into(),
            color_by: None,
            x_range: None,
            y_range: None,
            max_points: 5000,
            point_size: 3,
            width: 800,
            height: 500,
            color: "#1f77b4".into(),
            background: "#ffffff".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScatterFrame {
    #[serde(flatten)]
    pub heading: Heading,
    pub kind: String,
    pub series: Vec<ScatterSeries>,
    /// None: every dot is data.
    pub markers: Vec<serde_json::Value>,
    /// Records ever plotted; the latest `max_points` are in `series`.
    pub total: u64,
    pub style: ScatterStyle,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScatterSeries {
    pub name: String,
    /// `[x, y]`, oldest first.
    pub points: Vec<[f64; 2]>,
    /// The `color_by` value of each point (absent without `color_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScatterStyle {
    #[serde(flatten)]
    pub look: Look,
    pub point_size: u32,
    pub x_range: Option<[f64; 2]>,
    pub y_range: Option<[f64; 2]>,
    /// The field the colours stand for, for the colour key.
    pub color_by: Option<String>,
}

/// (x, y, colour value).
type Dot = (f64, f64, Option<f64>);

/// Saved across a hot reload.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Dots {
    /// Oldest first.
    latest: VecDeque<Dot>,
    total: u64,
}

pub struct Scatter {
    heading: Heading,
    x: String,
    y: String,
    max_points: usize,
    style: ScatterStyle,
    dots: Dots,
}

fn number(field: &str, value: Option<Scalar<'_>>) -> Result<f64, String> {
    let value = value.ok_or_else(|| format!("record has no {field:?} field"))?;
    value
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{field:?} is {}, not a finite number", value.kind()))
}

fn axis_range(name: &str, range: Option<[f64; 2]>) -> Result<Option<[f64; 2]>, StageError> {
    match range {
        Some([lo, hi]) if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
            Err(StageError::setting(name, format!("[{lo}, {hi}] is empty: write [smallest, largest]")))
        }
        range => Ok(range),
    }
}

impl Scatter {
    fn keep(&mut self, dot: Dot) {
        if self.dots.latest.len() == self.max_points {
            self.dots.latest.pop_front();
        }
        self.dots.latest.push_back(dot);
    }
}

impl Chart for Scatter {
    const TYPE: &'static str = "scatter";
    const DESCRIPTION: &'static str = "Scatter plot of two numeric fields (e.g. epicentres), optionally coloured by a third; keeps the latest max_points";
    type Settings = ScatterSettings;
    type Frame = ScatterFrame;

    fn new(s: ScatterSettings) -> Result<Self, StageError> {
        for (name, field) in [("x", Some(&s.x)), ("y", Some(&s.y)), ("color_by", s.color_by.as_ref())] {
            if field.is_some_and(String::is_empty) {
                return Err(StageError::setting(name, "the field name is empty"));
            }
        }
        if !(10..=100_000).contains(&s.max_points) {
            return Err(StageError::setting("max_points", "keep 10 to 100000 points"));
        }
        if !(1..=20).contains(&s.point_size) {
            return Err(StageError::setting("point_size", "use a radius of 1 to 20 pixels"));
        }
        let style = ScatterStyle {
            look: Look::new(s.width, s.height, &s.color, &s.background)?,
            point_size: s.point_size,
            x_range: axis_range("x_range", s.x_range)?,
            y_range: axis_range("y_range", s.y_range)?,
            color_by: s.color_by,
        };
        Ok(Scatter {
            heading: Heading { title: s.title, x_label: s.x_label, y_label: s.y_label },
            x: s.x,
            y: s.y,
            max_points: s.max_points,
            style,
            dots: Dots::default(),
        })
    }

    fn ingest(&mut self, record: &Record<'_>) -> Result<(), String> {
        let (x, y) = (self.x.as_str(), self.y.as_str());
        let dot = match self.style.color_by.as_deref() {
            Some(c) => {
                let [xv, yv, cv] = record.pick([x, y, c])?;
                (number(x, xv)?, number(y, yv)?, Some(number(c, cv)?))
            }
            None => {
                let [xv, yv] = record.pick([x, y])?;
                (number(x, xv)?, number(y, yv)?, None)
            }
        };
        self.keep(dot);
        self.dots.total += 1;
        Ok(())
    }

    fn frame(&self) -> ScatterFrame {
        let latest = &self.dots.latest;
        let values = self.style.color_by.as_ref().map(|_| latest.iter().map(|d| d.2.unwrap_or(f64::NAN)).collect());
        ScatterFrame {
            heading: self.heading.clone(),
            kind: "scatter".into(),
            series: vec![ScatterSeries {
                name: self.y.clone(),
                points: latest.iter().map(|d| [d.0, d.1]).collect(),
                values,
            }],
            markers: Vec::new(),
            total: self.dots.total,
            style: self.style.clone(),
        }
    }

    fn render(frame: &ScatterFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
        scatter_draw::render(frame, format)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        saved::save(&self.dots)
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let saved: Dots = saved::load(state, "scatter points")?;
        // Dots without a colour value cannot be coloured: a restyle that
        // adds `color_by` starts afresh, keeping only the total.
        let usable = self.style.color_by.is_none() || saved.latest.iter().all(|d| d.2.is_some());
        self.dots = Dots { latest: VecDeque::new(), total: saved.total };
        for dot in saved.latest.into_iter().filter(|_| usable) {
            self.keep(dot);
        }
        Ok(())
    }

    /// The union of both sides' points, keeping the latest `max_points`.
    /// Neither side knows when the other's points came, so they are ordered
    /// as if both inputs were spread evenly over the same time: each point
    /// at its place in its own side's whole input (point i of n as i / n),
    /// this chart's first among equals. Totals add. A chart with `color_by`
    /// refuses points without colour values.
    fn merge_state(&mut self, other: serde_json::Value) -> Result<(), String> {
        let other: Dots = saved::load(other, "scatter points to merge")?;
        if let Some(field) = &self.style.color_by
            && other.latest.iter().any(|d| d.2.is_none())
        {
            return Err(format!(
                "cannot merge scatter points without {field:?} values into a chart coloured by {field:?}"
            ));
        }
        let ours = std::mem::take(&mut self.dots);
        let (a, b) = (placed(&ours), placed(&other));
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let take_ours = j == b.len() || (i < a.len() && a[i].0 <= b[j].0);
            let dot = if take_ours { a[i].1 } else { b[j].1 };
            if take_ours {
                i += 1;
            } else {
                j += 1;
            }
            self.keep(dot);
        }
        self.dots.total = ours.total + other.total;
        Ok(())
    }
}

/// Each kept dot with its place in its chart's whole input, 0 to 1: the
/// latest n of t records are at (t - n + 1) / t ..= 1.
fn placed(dots: &Dots) -> Vec<(f64, Dot)> {
    let n = dots.latest.len() as u64;
    let t = dots.total.max(n);
    dots.latest.iter().enumerate().map(|(k, &dot)| ((t - n + k as u64 + 1) as f64 / t as f64, dot)).collect()
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::{Value, json};

    use super::*;

    fn feed(stage: &mut TestStage, records: impl IntoIterator<Item = Value>) {
        let records: Vec<TestRecord> = records.into_iter().map(TestRecord::json).collect();
        let out = stage.process(&records).unwrap();
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    }

    fn map() -> Value {
        json!({"x": "longitude", "y": "latitude", "color_by": "depth_km", "max_points": 10})
    }

    #[test]
    fn keeps_the_latest_points_with_their_colour_values() {
        let mut stage = TestStage::chart::<Scatter>(map()).unwrap();
        feed(&mut stage, (0..25).map(|i| json!({"longitude": i, "latitude": -i, "depth_km": i * 10})));
        let frame = stage.frame().unwrap();
        assert_eq!(frame["kind"], "scatter");
        assert_eq!(frame["total"], 25);
        let series = &frame["series"][0];
        let expected: Vec<Value> = (15..25).map(|i| json!([i as f64, -i as f64])).collect();
        assert_eq!(series["points"], json!(expected));
        assert_eq!(series["values"], json!((15..25).map(|i| (i * 10) as f64).collect::<Vec<_>>()));
        assert_eq!(frame["style"]["color_by"], "depth_km");
    }

    #[test]
    fn records_missing_a_field_are_dead_lettered() {
        let mut stage = TestStage::chart::<Scatter>(map()).unwrap();
        let out = stage
            .process(&[
                TestRecord::json(json!({"longitude": 1, "latitude": 2})),
                TestRecord::json(json!({"longitude": "east", "latitude": 2, "depth_km": 1})),
            ])
            .unwrap();
        let reasons: Vec<&str> = out.rejects.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["record has no \"depth_km\" field", "\"longitude\" is a string, not a finite number"]);
        assert_eq!(stage.frame().unwrap()["total"], 0);
    }

    #[test]
    fn a_smaller_restyle_keeps_the_newest_points() {
        let mut old = TestStage::chart::<Scatter>(json!({"max_points": 20})).unwrap();
        feed(&mut old, (0..20).map(|i| json!({"x": i, "y": i})));
        let mut new = TestStage::chart::<Scatter>(json!({"max_points": 10, "title": "Restyled"})).unwrap();
        new.restore_state(old.save_state().unwrap()).unwrap();
        let frame = new.frame().unwrap();
        assert_eq!(frame["series"][0]["points"][0], json!([10.0, 10.0]));
        assert_eq!((frame["total"].clone(), frame["title"].clone()), (json!(20), json!("Restyled")));
    }

    #[test]
    fn merged_partial_scatters_hold_the_union_of_their_points() {
        let mut a = TestStage::chart::<Scatter>(json!({})).unwrap();
        feed(&mut a, (0..3).map(|i| json!({"x": i, "y": 0})));
        let mut b = TestStage::chart::<Scatter>(json!({})).unwrap();
        feed(&mut b, (0..2).map(|i| json!({"x": i, "y": 1})));
        a.merge_state(b.save_state().unwrap()).unwrap();
        let frame = a.frame().unwrap();
        assert_eq!(frame["total"], 5);
        // Interleaved by place in each input: a at 1/3, 2/3, 1; b at 1/2, 1.
        assert_eq!(frame["series"][0]["points"], json!([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [1.0, 1.0]]));
    }

    #[test]
    fn merged_scatters_keep_the_latest_max_points_of_both() {
        let mut a = TestStage::chart::<Scatter>(map()).unwrap();
        feed(&mut a, (0..20).map(|i| json!({"longitude": i, "latitude": 0, "depth_km": 1})));
        let mut b = TestStage::chart::<Scatter>(map()).unwrap();
        feed(&mut b, (100..105).map(|i| json!({"longitude": i, "latitude": 1, "depth_km": 2})));
        a.merge_state(b.save_state().unwrap()).unwrap();
        let frame = a.frame().unwrap();
        assert_eq!(frame["total"], 25);
        // a keeps 10..20 of 20 (places 0.55..1), b all 5 (0.2..1): the 10
        // latest places, equal places this chart's first.
        let xs: Vec<f64> =
            frame["series"][0]["points"].as_array().unwrap().iter().map(|p| p[0].as_f64().unwrap()).collect();
        assert_eq!(xs, [12.0, 13.0, 14.0, 15.0, 103.0, 16.0, 17.0, 18.0, 19.0, 104.0]);
        assert_eq!(frame["series"][0]["values"].as_array().unwrap().len(), 10);
    }

    #[test]
    fn points_without_colour_values_are_not_merged_into_a_coloured_scatter() {
        let mut coloured = TestStage::chart::<Scatter>(map()).unwrap();
        feed(&mut coloured, [json!({"longitude": 1, "latitude": 2, "depth_km": 3})]);
        let mut plain = TestStage::chart::<Scatter>(json!({})).unwrap();
        feed(&mut plain, [json!({"x": 1, "y": 2})]);
        let before = coloured.save_state();
        let error = coloured.merge_state(plain.save_state().unwrap()).unwrap_err();
        assert_eq!(
            error,
            "cannot merge scatter points without \"depth_km\" values into a chart coloured by \"depth_km\""
        );
        assert_eq!(coloured.save_state(), before);
        // The other way round the colour values are just kept.
        plain.merge_state(coloured.save_state().unwrap()).unwrap();
        assert_eq!(plain.frame().unwrap()["total"], 2);
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let refused = |s: Value| TestStage::chart::<Scatter>(s).err().unwrap().setting;
        assert_eq!(refused(json!({"x_range": [5, 1]})).as_deref(), Some("x_range"));
        assert_eq!(refused(json!({"max_points": 1})).as_deref(), Some("max_points"));
        assert_eq!(refused(json!({"point_size": 0})).as_deref(), Some("point_size"));
        assert_eq!(refused(json!({"color_by": ""})).as_deref(), Some("color_by"));
    }
}
