//! The `line_chart` stage: a line of y against x (a timestamp, a number or
//! the record's sequence number), with optional markers on flagged records;
//! with `series = "<field>"`, one line per distinct value of that field
//! (at most `max_series`). Memory stays bounded however long it runs (see
//! [`crate::downsample`]).

use std::collections::BTreeMap;

use buzz_sdk::fields::Scalar;
use buzz_sdk::{Chart, ImageFormat, JsonSchema, Record, StageError};
use serde::{Deserialize, Serialize};

use crate::downsample::{Downsampler, Point};
use crate::markers::{Marked, Markers};
use crate::timeaxis::{self, XKind};
use crate::{color, line_draw, settings};

/// `x = "$index"`: plot against the record's sequence number.
pub const INDEX_X: &str = "$index";
const MIN_POINTS: usize = 16;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LineSettings {
    /// Chart title.
    pub title: String,
    /// Text under the x axis.
    pub x_label: String,
    /// Text beside the y axis.
    pub y_label: String,
    /// Field holding x: a timestamp (RFC 3339, "YYYY-MM-DD HH:MM:SS" or
    /// "YYYY-MM-DDTHH:MM:SS", naive times are UTC), epoch milliseconds, or
    /// any number. "$index" plots against the record's sequence number.
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = {"except": ["$index"]}))]
    pub x: String,
    /// Field holding y (a number or numeric string).
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = true))]
    pub y: String,
    /// Name of the line in the legend.
    pub series_name: String,
    /// Field whose value names the line a record belongs to: one line per
    /// distinct value (e.g. "category"), each in its own colour, named in
    /// the legend. Unset: one line.
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = true))]
    pub series: Option<String>,
    /// Most lines drawn with `series`; records of further values are
    /// refused (dead-lettered with the reason), so the chart stays bounded.
    #[schemars(range(min = 1, max = 20))]
    pub max_series: usize,
    /// Field that flags a record for a marker when it is `true` (e.g. "stall").
    #[schemars(extend("x-buzz-reads" = true))]
    pub marker_field: Option<String>,
    /// Text shown at markers and in the legend.
    pub marker_label: String,
    /// Image width in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub width: u32,
    /// Image height in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub height: u32,
    /// Line colour: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = color::schema)]
    pub line_color: String,
    /// Marker colour: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = color::schema)]
    pub marker_color: String,
    /// Most buckets the line is summarised into (at least 16). Every point
    /// is kept until this many have arrived; after that each bucket keeps
    /// the first, last, lowest and highest of its points.
    #[schemars(range(min = 16))]
    pub max_points: usize,
    /// Bottom of the y axis; from the data when unset (e.g. 0 for
    /// sentiment between 0 and 1).
    #[serde(default)]
    pub y_min: Option<f64>,
    /// Top of the y axis; from the data when unset.
    #[serde(default)]
    pub y_max: Option<f64>,
}

impl Default for LineSettings {
    fn default() -> Self {
        LineSettings {
            title: "Line".into(),
            x_label: String::new(),
            y_label: String::new(),
            x: "timestamp".into(),
            y: "value".into(),
            series_name: "value".into(),
            series: None,
            max_series: 10,
            marker_field: None,
            marker_label: "Marker".into(),
            width: 800,
            height: 500,
            line_color: "#1f77b4".into(),
            marker_color: "red".into(),
            max_points: 2000,
            y_min: None,
            y_max: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineFrame {
    pub title: String,
    pub kind: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: XKind,
    pub series: Vec<LineSeries>,
    pub markers: Vec<MarkerPoint>,
    pub total_points: u64,
    pub style: LineStyle,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineSeries {
    pub name: String,
    /// `[x, y]` pairs in x order.
    pub points: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarkerPoint {
    pub x: f64,
    pub y: f64,
    pub label: String,
    /// First of a run of consecutive marked records: only these get text.
    pub run_start: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineStyle {
    pub width: u32,
    pub height: u32,
    pub line_color: String,
    pub marker_color: String,
    pub marker_label: String,
    #[serde(default)]
    pub y_min: Option<f64>,
    #[serde(default)]
    pub y_max: Option<f64>,
    /// One colour per line (a palette) instead of `line_color`.
    #[serde(default)]
    pub split: bool,
}

/// Everything ingested, as saved across a hot reload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LineData {
    line: Downsampler,
    markers: Markers,
    /// Whether the previous point was marked, to find the start of runs.
    previous_marked: bool,
    saw_time: bool,
    saw_number: bool,
    /// With `series`: one line per value (`line` then stays empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    split: BTreeMap<String, Downsampler>,
}

impl LineData {
    /// Points taken so far, over every line.
    fn total(&self) -> u64 {
        self.line.total() + self.split.values().map(Downsampler::total).sum::<u64>()
    }
}

pub struct LineChart {
    title: String,
    x_label: String,
    y_label: String,
    x: String,
    y: String,
    series_name: String,
    series: Option<String>,
    max_series: usize,
    marker_field: Option<String>,
    max_points: usize,
    style: LineStyle,
    data: LineData,
}

impl LineChart {
    fn by_index(&self) -> bool {
        self.x == INDEX_X
    }

    /// The x, y and marker flag fields of a record (x is None for "$index").
    fn fields<'a>(&self, record: &Record<'a>) -> Result<[Option<Scalar<'a>>; 3], String> {
        let (x, y) = (self.x.as_str(), self.y.as_str());
        Ok(match (self.by_index(), self.marker_field.as_deref()) {
            (false, Some(m)) => record.pick([x, y, m])?,
            (false, None) => {
                let [x, y] = record.pick([x, y])?;
                [x, y, None]
            }
            (true, Some(m)) => {
                let [y, m] = record.pick([y, m])?;
                [None, y, m]
            }
            (true, None) => {
                let [y] = record.pick([y])?;
                [None, y, None]
            }
        })
    }

    /// The line a record belongs to: with `series`, its value of that field.
    fn series_of(&self, record: &Record<'_>) -> Result<Option<String>, String> {
        let Some(field) = &self.series else { return Ok(None) };
        let [value] = record.pick([field.as_str()])?;
        let value = value.ok_or_else(|| missing(field))?;
        let name = value.to_text().ok_or_else(|| format!("{field:?} is {}, not a series name", value.kind()))?;
        if !self.data.split.contains_key(name.as_ref()) && self.data.split.len() >= self.max_series {
            return Err(format!(
                "{field:?} is {name:?}, a series past max_series ({}): not drawn; raise max_series to draw it",
                self.max_series
            ));
        }
        Ok(Some(name.into_owned()))
    }

    /// Time only if every x so far was a timestamp (mixed x is just numbers).
    fn x_kind(&self) -> XKind {
        if self.by_index() {
            XKind::Index
        } else if self.data.saw_time && !self.data.saw_number {
            XKind::Time
        } else {
            XKind::Number
        }
    }
}

fn missing(field: &str) -> String {
    format!("record has no {field:?} field")
}

impl Chart for LineChart {
    const TYPE: &'static str = "line_chart";
    const DESCRIPTION: &'static str =
        "Line chart of a value over time (or any x), with markers on flagged records; bounded memory";
    type Settings = LineSettings;
    type Frame = LineFrame;

    fn new(s: LineSettings) -> Result<Self, StageError> {
        settings::field("x", &s.x)?;
        settings::field("y", &s.y)?;
        if let Some(m) = &s.marker_field {
            settings::field("marker_field", m)?;
        }
        if let Some(series) = &s.series {
            settings::field("series", series)?;
        }
        if !(1..=20).contains(&s.max_series) {
            return Err(StageError::setting("max_series", format!("{} is out of range: use 1 to 20", s.max_series)));
        }
        settings::size("width", s.width)?;
        settings::y_bounds(s.y_min, s.y_max)?;
        settings::size("height", s.height)?;
        if s.max_points < MIN_POINTS {
            return Err(StageError::setting(
                "max_points",
                format!("{} is too few: use at least {MIN_POINTS}", s.max_points),
            ));
        }
        let style = LineStyle {
            width: s.width,
            height: s.height,
            line_color: color::setting("line_color", &s.line_color)?,
            marker_color: color::setting("marker_color", &s.marker_color)?,
            marker_label: s.marker_label,
            y_min: s.y_min,
            y_max: s.y_max,
            split: s.series.is_some(),
        };
        Ok(LineChart {
            title: s.title,
            x_label: s.x_label,
            y_label: s.y_label,
            x: s.x,
            y: s.y,
            series_name: s.series_name,
            series: s.series,
            max_series: s.max_series,
            marker_field: s.marker_field,
            max_points: s.max_points,
            style,
            data: LineData {
                line: Downsampler::new(s.max_points),
                markers: Markers::default(),
                previous_marked: false,
                saw_time: false,
                saw_number: false,
                split: BTreeMap::new(),
            },
        })
    }

    fn ingest(&mut self, record: &Record<'_>) -> Result<(), String> {
        let [x, y, mark] = self.fields(record)?;
        let series = self.series_of(record)?;
        let seq = self.data.total();
        let (x, is_time) = if self.by_index() {
            (seq as f64, false)
        } else {
            timeaxis::parse_x(&self.x, &x.ok_or_else(|| missing(&self.x))?)?
        };
        let y_value = y.ok_or_else(|| missing(&self.y))?;
        let y = match y_value.as_f64() {
            Some(y) if y.is_finite() => y,
            Some(_) => return Err(format!("{:?} is not a finite number", self.y)),
            None => return Err(format!("{:?} is {}, not a number", self.y, y_value.kind())),
        };
        let marked = matches!(mark, Some(Scalar::Bool(true)));

        // Only now, with the record known good, does the state change.
        let by_index = self.by_index();
        let data = &mut self.data;
        data.saw_time |= is_time;
        data.saw_number |= !is_time && !by_index;
        let line = match series {
            Some(name) => data.split.entry(name).or_insert_with(|| Downsampler::new(self.max_points)),
            None => &mut data.line,
        };
        line.push(Point(x, y));
        if marked {
            let marker = Marked { seq, x, y, run_start: !data.previous_marked };
            data.markers.push(marker, line.span(), self.max_points);
        }
        data.previous_marked = marked;
        Ok(())
    }

    fn frame(&self) -> LineFrame {
        let mut markers: Vec<MarkerPoint> = self
            .data
            .markers
            .items()
            .iter()
            .map(|m| MarkerPoint { x: m.x, y: m.y, label: self.style.marker_label.clone(), run_start: m.run_start })
            .collect();
        markers.sort_by(|a, b| a.x.total_cmp(&b.x));
        LineFrame {
            title: self.title.clone(),
            kind: "line".into(),
            x_label: self.x_label.clone(),
            y_label: self.y_label.clone(),
            x_axis: self.x_kind(),
            series: match self.series {
                // In name order, so each keeps its colour from frame to frame.
                Some(_) => self
                    .data
                    .split
                    .iter()
                    .map(|(name, line)| LineSeries { name: name.clone(), points: line.points() })
                    .collect(),
                None => vec![LineSeries { name: self.series_name.clone(), points: self.data.line.points() }],
            },
            markers,
            total_points: self.data.total(),
            style: self.style.clone(),
        }
    }

    fn render(frame: &LineFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
        line_draw::render(frame, format)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.data).ok()
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let mut data: LineData = serde_json::from_value(state).map_err(|e| format!("invalid line chart state: {e}"))?;
        // The restyled chart may hold fewer points.
        data.line.set_capacity(self.max_points);
        data.split.values_mut().for_each(|line| line.set_capacity(self.max_points));
        data.markers.fit(data.line.span(), self.max_points);
        self.data = data;
        Ok(())
    }

    /// Points union ordered by x, through this chart's downsampler (so at
    /// most `max_points` buckets); markers union; total points add. With
    /// `x = "$index"` the other's records are numbered after this chart's,
    /// as if one chart had seen this input and then the other's.
    fn merge_state(&mut self, other: serde_json::Value) -> Result<(), String> {
        let other: LineData =
            serde_json::from_value(other).map_err(|e| format!("invalid line chart state to merge: {e}"))?;
        let offset = self.data.total();
        let x_shift = if self.by_index() { offset as f64 } else { 0.0 };
        let data = &mut self.data;
        data.line.merge(&other.line, x_shift);
        for (name, line) in &other.split {
            let mine = data.split.entry(name.clone()).or_insert_with(|| Downsampler::new(self.max_points));
            mine.merge(line, x_shift);
        }
        data.markers.merge(other.markers, offset, x_shift, data.line.span(), self.max_points);
        data.saw_time |= other.saw_time;
        data.saw_number |= other.saw_number;
        Ok(())
    }
}
