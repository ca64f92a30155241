//! The `histogram` chart: how many records had a value in each of a fixed
//! set of bins (magnitudes, say). Memory is the bins, however long it runs.

use buzz_sdk::log;
use buzz_sdk::{Chart, ImageFormat, JsonSchema, Record, StageError};
use serde::{Deserialize, Serialize};

use crate::histogram_draw;
use crate::saved;
use crate::style::{Heading, Look};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HistogramSettings {
    /// Chart title.
    pub title: String,
    /// Text under the x axis.
    pub x_label: String,
    /// Text beside the y axis.
    pub y_label: String,
    /// The numeric field counted (a number or numeric string).
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = true))]
    pub field: String,
    /// Lower edge of the first bin.
    pub min: f64,
    /// Upper edge of the last bin (which includes it).
    pub max: f64,
    /// Number of equal bins between `min` and `max`.
    #[schemars(range(min = 1, max = 1000))]
    pub bins: usize,
    /// Logarithmic count axis: a Gutenberg–Richter (or any power-law)
    /// distribution draws as a straight slope.
    pub log_y: bool,
    /// Mark the mean of every value seen with a line.
    pub mean_marker: bool,
    /// Image width in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub width: u32,
    /// Image height in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub height: u32,
    /// Bar colour: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = plotkit::color::schema)]
    pub color: String,
    /// Background colour: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = plotkit::color::schema)]
    pub background: String,
}

impl Default for HistogramSettings {
    fn default() -> Self {
        HistogramSettings {
            title: "Histogram".into(),
            x_label: String::new(),
            y_label: "Count".into(),
            field: "value".into(),
            min: 0.0,
            max: 10.0,
            bins: 20,
            log_y: false,
            mean_marker: true,
            width: 800,
            height: 500,
            color: "#4c72b0".into(),
            background: "#ffffff".into(),
        }
    }
}

/// What a frame is drawn from (and what `<output>.json` holds).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistogramFrame {
    #[serde(flatten)]
    pub heading: Heading,
    pub kind: String,
    pub series: Vec<HistogramSeries>,
    pub markers: Vec<ValueMarker>,
    /// Every value counted, including those outside the bins.
    pub total: u64,
    /// Values below `min` and above `max`: counted, not drawn.
    pub underflow: u64,
    pub overflow: u64,
    pub style: HistogramStyle,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistogramSeries {
    pub name: String,
    /// `bins + 1` edges; bin i is [edges[i], edges[i + 1]).
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// A vertical line at a value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValueMarker {
    pub x: f64,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistogramStyle {
    #[serde(flatten)]
    pub look: Look,
    pub log_y: bool,
}

/// The counts: all the state there is, saved across a hot reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tally {
    min: f64,
    max: f64,
    counts: Vec<u64>,
    underflow: u64,
    overflow: u64,
    /// Of every value, for the mean.
    sum: f64,
}

enum Place {
    Below,
    Bin(usize),
    Above,
}

/// A value this close to an edge, in bins, counts as on it: decimal data
/// (magnitude 2.7 in bins of 0.1) then lands in the bin it reads as
/// starting, whatever binary rounding did to it.
const EDGE_TOLERANCE: f64 = 1e-9;

impl Tally {
    fn new(min: f64, max: f64, bins: usize) -> Self {
        Tally { min, max, counts: vec![0; bins], underflow: 0, overflow: 0, sum: 0.0 }
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.underflow + self.overflow
    }

    /// Bins are [edge, next edge); the last one also holds `max`.
    fn place(&self, value: f64) -> Place {
        let bins = self.counts.len();
        let position = (value - self.min) / (self.max - self.min) * bins as f64;
        let nudged = position + EDGE_TOLERANCE;
        if nudged < 0.0 {
            Place::Below
        } else if (nudged as usize) < bins {
            Place::Bin(nudged as usize)
        } else if position <= bins as f64 + EDGE_TOLERANCE {
            Place::Bin(bins - 1)
        } else {
            Place::Above
        }
    }

    fn add(&mut self, value: f64, times: u64) {
        match self.place(value) {
            Place::Below => self.underflow += times,
            Place::Bin(i) => self.counts[i] += times,
            Place::Above => self.overflow += times,
        }
    }

    fn edge(&self, i: usize) -> f64 {
        let edge = self.min + (self.max - self.min) * i as f64 / self.counts.len() as f64;
        // 2.7, not 2.7000000000000002, in the frame.
        (edge * 1e9).round() / 1e9
    }

    /// These counts in other bins: each old bin's count moves to the new
    /// bin holding its centre (exact when the bins are unchanged).
    fn rebinned(&self, min: f64, max: f64, bins: usize) -> Tally {
        let mut tally = Tally::new(min, max, bins);
        for (i, &count) in self.counts.iter().enumerate() {
            tally.add((self.edge(i) + self.edge(i + 1)) / 2.0, count);
        }
        // Values outside the old range stay outside: their side is known,
        // their place in the new bins is not.
        tally.underflow += self.underflow;
        tally.overflow += self.overflow;
        tally.sum = self.sum;
        tally
    }
}

pub struct Histogram {
    heading: Heading,
    field: String,
    mean_marker: bool,
    style: HistogramStyle,
    tally: Tally,
}

impl Chart for Histogram {
    const TYPE: &'static str = "histogram";
    const DESCRIPTION: &'static str =
        "Histogram of a numeric field in fixed bins (e.g. earthquake magnitudes), optionally on a log count axis";
    type Settings = HistogramSettings;
    type Frame = HistogramFrame;

    fn new(s: HistogramSettings) -> Result<Self, StageError> {
        if s.field.is_empty() {
            return Err(StageError::setting("field", "name the numeric field to count"));
        }
        if !(s.min.is_finite() && s.max.is_finite() && s.min < s.max) {
            return Err(StageError::setting(
                "max",
                format!("the range {}..{} is empty: max must exceed min", s.min, s.max),
            ));
        }
        if !(1..=1000).contains(&s.bins) {
            return Err(StageError::setting("bins", "use 1 to 1000 bins"));
        }
        let look = Look::new(s.width, s.height, &s.color, &s.background)?;
        Ok(Histogram {
            tally: Tally::new(s.min, s.max, s.bins),
            heading: Heading { title: s.title, x_label: s.x_label, y_label: s.y_label },
            field: s.field,
            mean_marker: s.mean_marker,
            style: HistogramStyle { look, log_y: s.log_y },
        })
    }

    fn ingest(&mut self, record: &Record<'_>) -> Result<(), String> {
        let [value] = record.pick([self.field.as_str()])?;
        let value = value.ok_or_else(|| format!("record has no {:?} field", self.field))?;
        let number = value
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{:?} is {}, not a finite number", self.field, value.kind()))?;
        self.tally.add(number, 1);
        self.tally.sum += number;
        Ok(())
    }

    fn frame(&self) -> HistogramFrame {
        let tally = &self.tally;
        let total = tally.total();
        let markers = if self.mean_marker && total > 0 {
            let mean = tally.sum / total as f64;
            vec![ValueMarker { x: mean, label: format!("mean {mean:.2}") }]
        } else {
            Vec::new()
        };
        HistogramFrame {
            heading: self.heading.clone(),
            kind: "histogram".into(),
            series: vec![HistogramSeries {
                name: self.field.clone(),
                edges: (0..=tally.counts.len()).map(|i| tally.edge(i)).collect(),
                counts: tally.counts.clone(),
            }],
            markers,
            total,
            underflow: tally.underflow,
            overflow: tally.overflow,
            style: self.style.clone(),
        }
    }

    fn render(frame: &HistogramFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
        histogram_draw::render(frame, format)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        saved::save(&self.tally)
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let saved: Tally = saved::load(state, "histogram counts")?;
        let (min, max, bins) = (self.tally.min, self.tally.max, self.tally.counts.len());
        if (saved.min, saved.max, saved.counts.len()) != (min, max, bins) {
            log::warn!(
                "histogram bins changed from {} in {}..{} to {bins} in {min}..{max}: counts moved by bin centre",
                saved.counts.len(),
                saved.min,
                saved.max
            );
        }
        self.tally = saved.rebinned(min, max, bins);
        Ok(())
    }

    /// Bin counts, underflow, overflow and the sum (for the mean) add. Counts
    /// from other bins are first moved to this chart's bins by bin centre, as
    /// a restore does, with a warning.
    fn merge_state(&mut self, other: serde_json::Value) -> Result<(), String> {
        let other: Tally = saved::load(other, "histogram counts to merge")?;
        if !(other.min.is_finite() && other.max.is_finite() && other.min < other.max) || other.counts.is_empty() {
            return Err(format!(
                "invalid histogram counts to merge: {} bins in {}..{} is no bin layout",
                other.counts.len(),
                other.min,
                other.max
            ));
        }
        let (min, max, bins) = (self.tally.min, self.tally.max, self.tally.counts.len());
        if (other.min, other.max, other.counts.len()) != (min, max, bins) {
            log::warn!(
                "merging histogram counts in {} bins in {}..{} into {bins} in {min}..{max}: counts moved by bin centre",
                other.counts.len(),
                other.min,
                other.max
            );
        }
        let other = other.rebinned(min, max, bins);
        let tally = &mut self.tally;
        for (count, more) in tally.counts.iter_mut().zip(other.counts) {
            *count += more;
        }
        tally.underflow += other.underflow;
        tally.overflow += other.overflow;
        tally.sum += other.sum;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::{Value, json};

    use super::*;

    fn histogram(settings: Value, values: &[Value]) -> TestStage {
        let mut stage = TestStage::chart::<Histogram>(settings).unwrap();
        let records: Vec<TestRecord> = values.iter().map(|v| TestRecord::json(json!({"value": v}))).collect();
        let out = stage.process(&records).unwrap();
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        stage
    }

    #[test]
    fn counts_land_in_half_open_bins_and_the_last_bin_holds_max() {
        let stage = histogram(
            json!({"min": 0, "max": 4, "bins": 4}),
            &[json!(0), 0.99.into(), 1.into(), 3.5.into(), 4.into(), (-0.1).into(), 4.01.into()],
        );
        let frame = stage.frame().unwrap();
        assert_eq!(frame["kind"], "histogram");
        assert_eq!(frame["series"][0]["edges"], json!([0.0, 1.0, 2.0, 3.0, 4.0]));
        assert_eq!(frame["series"][0]["counts"], json!([2, 1, 0, 2]));
        assert_eq!(
            (frame["underflow"].clone(), frame["overflow"].clone(), frame["total"].clone()),
            (json!(1), json!(1), json!(7))
        );
        assert_eq!(frame["markers"][0]["x"].as_f64().unwrap(), (0.99 + 1.0 + 3.5 + 4.0 - 0.1 + 4.01) / 7.0);
    }

    #[test]
    fn decimal_values_on_edges_go_to_the_bin_they_start() {
        // 2.5 + 0.1 * k is rarely exact in binary; every tenth must still
        // land in its own bin.
        let tenths: Vec<Value> = (0..60).map(|k| json!(format!("{:.1}", 2.5 + 0.1 * k as f64))).collect();
        let stage = histogram(json!({"min": 2.5, "max": 8.5, "bins": 60}), &tenths);
        assert_eq!(stage.frame().unwrap()["series"][0]["counts"], json!(vec![1; 60]));
    }

    #[test]
    fn bad_values_are_dead_lettered_and_not_counted() {
        let mut stage = TestStage::chart::<Histogram>(json!({"field": "magnitude"})).unwrap();
        let out = stage
            .process(&[
                TestRecord::json(json!({"magnitude": "strong"})),
                TestRecord::json(json!({"depth": 3})),
                TestRecord::json(json!({"magnitude": 3.2})),
            ])
            .unwrap();
        let reasons: Vec<&str> = out.rejects.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["\"magnitude\" is a string, not a finite number", "record has no \"magnitude\" field"]);
        assert_eq!(stage.frame().unwrap()["total"], 1);
    }

    #[test]
    fn counts_survive_a_restyle_and_move_when_the_bins_change() {
        let old = histogram(json!({"min": 0, "max": 4, "bins": 4}), &[json!(0.5), 1.5.into(), 1.6.into(), 9.into()]);
        let mut same = TestStage::chart::<Histogram>(json!({"min": 0, "max": 4, "bins": 4, "log_y": true})).unwrap();
        same.restore_state(old.save_state().unwrap()).unwrap();
        assert_eq!(same.frame().unwrap()["series"], old.frame().unwrap()["series"]);
        assert_eq!(same.frame().unwrap()["style"]["log_y"], true);
        let mut coarser = TestStage::chart::<Histogram>(json!({"min": 0, "max": 4, "bins": 2})).unwrap();
        coarser.restore_state(old.save_state().unwrap()).unwrap();
        let frame = coarser.frame().unwrap();
        assert_eq!(frame["series"][0]["counts"], json!([3, 0]));
        assert_eq!((frame["overflow"].clone(), frame["total"].clone()), (json!(1), json!(4)));
    }

    #[test]
    fn merged_partial_histograms_add_their_counts_and_means() {
        let settings = json!({"min": 0, "max": 4, "bins": 4});
        let values: Vec<Value> = [0.5, 1.5, 1.25, 9.0, 3.75, -1.0, 1.5, 2.5].iter().map(|&v| json!(v)).collect();
        let one = histogram(settings.clone(), &values);
        let mut a = histogram(settings.clone(), &values[..3]);
        let b = histogram(settings, &values[3..]);
        a.merge_state(b.save_state().unwrap()).unwrap();
        assert_eq!(a.frame().unwrap(), one.frame().unwrap());
        let frame = a.frame().unwrap();
        assert_eq!(frame["series"][0]["counts"], json!([1, 3, 1, 1]));
        assert_eq!((frame["underflow"].clone(), frame["overflow"].clone()), (json!(1), json!(1)));
        assert_eq!(frame["markers"][0]["x"], json!(19.0 / 8.0));
    }

    #[test]
    fn counts_in_other_bins_move_by_centre_when_merged_and_bad_counts_are_refused() {
        let mut fine = histogram(json!({"min": 0, "max": 4, "bins": 4}), &[json!(0.5)]);
        let coarse = histogram(json!({"min": 0, "max": 4, "bins": 2}), &[json!(0.5), 2.5.into(), 3.5.into()]);
        fine.merge_state(coarse.save_state().unwrap()).unwrap();
        // The coarse bins' centres are 1 and 3.
        assert_eq!(fine.frame().unwrap()["series"][0]["counts"], json!([1, 1, 0, 2]));
        assert_eq!(fine.frame().unwrap()["total"], 4);

        let before = fine.save_state();
        let mut empty = coarse.save_state().unwrap();
        empty["counts"] = json!([]);
        let error = fine.merge_state(empty).unwrap_err();
        assert!(error.contains("is no bin layout"), "{error}");
        assert!(fine.merge_state(json!({"counts": "many"})).is_err());
        assert_eq!(fine.save_state(), before, "a refused merge changes nothing");
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let refused = |s: Value| TestStage::chart::<Histogram>(s).err().unwrap().setting;
        assert_eq!(refused(json!({"min": 5, "max": 5})).as_deref(), Some("max"));
        assert_eq!(refused(json!({"bins": 0})).as_deref(), Some("bins"));
        assert_eq!(refused(json!({"color": "blurple"})).as_deref(), Some("color"));
        assert_eq!(refused(json!({"width": 20})).as_deref(), Some("width"));
    }
}
