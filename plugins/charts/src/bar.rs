//! The `bar_chart` stage: one bar per category, holding the latest value
//! seen for it (upstream transforms send running totals).

use std::collections::HashMap;

use buzz_sdk::categories::{self, CategoryLimit, OTHER};
use buzz_sdk::fields::Scalar;
use buzz_sdk::{Chart, ImageFormat, JsonSchema, Record, StageError};
use plotkit::colormap::Colormap;
use serde::{Deserialize, Serialize};

use crate::{bar_draw, color, settings};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BarSettings {
    /// Chart title.
    pub title: String,
    /// Text under the x axis.
    pub x_label: String,
    /// Text beside the y axis.
    pub y_label: String,
    /// Field holding each bar's category (a string, number or boolean).
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = true))]
    pub category: String,
    /// Field holding each bar's value (a number or numeric string). The
    /// latest value per category wins.
    #[schemars(extend("x-buzz-state" = true))]
    #[schemars(extend("x-buzz-reads" = true))]
    pub value: String,
    /// Image width in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub width: u32,
    /// Image height in pixels.
    #[schemars(range(min = 100, max = 4096))]
    pub height: u32,
    /// Bar colour: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = color::schema)]
    pub color: String,
    /// Background colour: #rgb, #rrggbb or a CSS name.
    #[schemars(transform = color::schema)]
    pub background: String,
    /// "none": every bar in `color`; or a colormap ("viridis", "copper",
    /// ...): each bar coloured by its value, with a colorbar beside the
    /// plot. The gradient spans `color_domain`, or the current smallest to
    /// largest value when that is unset.
    #[schemars(transform = colormap_schema)]
    pub colormap: String,
    /// The values at the two ends of the colormap, e.g. [0.0, 1.0] for
    /// sentiment: fixed, so a colour means the same value in every frame.
    /// Values outside take the end colours.
    #[serde(default)]
    pub color_domain: Option<[f64; 2]>,
    /// Write each bar's value above it.
    pub value_labels: bool,
    /// Decimals of value labels; when every value is whole they are written
    /// as integers.
    #[schemars(range(max = 10))]
    pub value_decimals: u8,
    /// Show only the N largest bars (at least 1); all when unset.
    #[schemars(range(min = 1))]
    pub top: Option<u64>,
    /// Bar order: "none" (first seen), "value" (largest first) or
    /// "category" (alphabetical).
    #[schemars(extend("enum" = ["none", "value", "category"]))]
    pub sort: String,
    /// Most bars kept; values for further categories are added up in one
    /// bar named "other" (with a warning), so untrusted data cannot grow the
    /// chart without bound. An upstream `count_by` or `average_by` folds
    /// exactly with its own `max_categories`; here "other" sums the values
    /// records brought, right for values that add (1 per record).
    #[schemars(range(min = 1))]
    pub max_categories: usize,
    /// Bottom of the y axis; from the data when unset (e.g. 0 for
    /// sentiment between 0 and 1).
    #[serde(default)]
    pub y_min: Option<f64>,
    /// Top of the y axis; from the data when unset.
    #[serde(default)]
    pub y_max: Option<f64>,
}

impl Default for BarSettings {
    fn default() -> Self {
        BarSettings {
            title: "Counts".into(),
            x_label: String::new(),
            y_label: String::new(),
            category: "category".into(),
            value: "value".into(),
            width: 800,
            height: 500,
            color: "#1f77b4".into(),
            background: "white".into(),
            colormap: NO_COLORMAP.into(),
            color_domain: None,
            value_labels: false,
            value_decimals: 2,
            top: None,
            sort: "none".into(),
            max_categories: categories::DEFAULT_MAX_CATEGORIES,
            y_min: None,
            y_max: None,
        }
    }
}

/// The `colormap` value for bars all in `color`.
const NO_COLORMAP: &str = "none";

/// `colormap` may be "none" or any shared colormap's name.
fn colormap_schema(schema: &mut schemars::Schema) {
    let names: Vec<&str> = std::iter::once(NO_COLORMAP).chain(Colormap::names()).collect();
    schema.insert("enum".into(), names.into());
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Value,
    Category,
}

/// What a frame is drawn from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BarFrame {
    pub title: String,
    pub kind: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<BarSeries>,
    pub markers: Vec<serde_json::Value>,
    pub style: BarStyle,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BarSeries {
    pub name: String,
    pub categories: Vec<String>,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BarStyle {
    pub width: u32,
    pub height: u32,
    pub color: String,
    pub background: String,
    /// "none" or a colormap name.
    pub colormap: String,
    #[serde(default)]
    pub color_domain: Option<[f64; 2]>,
    pub value_labels: bool,
    pub value_decimals: u8,
    #[serde(default)]
    pub y_min: Option<f64>,
    #[serde(default)]
    pub y_max: Option<f64>,
}

pub struct BarChart {
    title: String,
    x_label: String,
    y_label: String,
    category: String,
    value: String,
    top: Option<usize>,
    sort: Sort,
    style: BarStyle,
    /// Bars in first-seen order, and where each category sits.
    bars: Vec<(String, f64)>,
    index: HashMap<String, usize>,
    limit: CategoryLimit,
}

/// Saved across a hot reload: the bars in first-seen order.
#[derive(Serialize, Deserialize)]
struct BarState {
    bars: Vec<(String, f64)>,
}

impl BarChart {
    fn bar(&self, record: &Record<'_>) -> Result<(String, f64), String> {
        let [category, value] = record.pick([self.category.as_str(), self.value.as_str()])?;
        let category = category.ok_or_else(|| format!("record has no {:?} field", self.category))?;
        let name = category
            .to_text()
            .ok_or_else(|| format!("{:?} is {}, not a category name", self.category, category.kind()))?;
        let value = value.ok_or_else(|| format!("record has no {:?} field", self.value))?;
        let number = value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| not_a_number(&self.value, &value))?;
        Ok((name.into_owned(), number))
    }

    /// Sets a category's bar to `value`; a category past the limit adds it
    /// to "other" instead. `add` adds to any bar (merging states).
    fn set(&mut self, name: &str, value: f64, add: bool) {
        let known = self.index.contains_key(name);
        let kept = self.limit.name(name, known, self.bars.len());
        let add = add || kept != name;
        match self.index.get(kept) {
            Some(&i) if add => self.bars[i].1 += value,
            Some(&i) => self.bars[i].1 = value,
            None => {
                self.index.insert(kept.to_string(), self.bars.len());
                self.bars.push((kept.to_string(), value));
            }
        }
    }

    /// The bars to show, after `top` and `sort`.
    fn shown(&self) -> Vec<&(String, f64)> {
        let mut shown: Vec<&(String, f64)> = self.bars.iter().collect();
        if let Some(top) = self.top.filter(|&top| top < shown.len()) {
            // The N largest, ties going to the first seen, still in first-seen order.
            let mut order: Vec<usize> = (0..shown.len()).collect();
            order.sort_by(|&a, &b| shown[b].1.total_cmp(&shown[a].1));
            order.truncate(top);
            order.sort_unstable();
            shown = order.into_iter().map(|i| &self.bars[i]).collect();
        }
        match self.sort {
            Sort::None => {}
            Sort::Value => shown.sort_by(|a, b| b.1.total_cmp(&a.1)),
            Sort::Category => shown.sort_by_cached_key(|bar| (bar.0.to_lowercase(), bar.0.clone())),
        }
        shown
    }
}

fn not_a_number(field: &str, value: &Scalar<'_>) -> String {
    match value {
        Scalar::Str(s) => format!("{field:?} is {s:?}, not a number"),
        Scalar::Num(_) => format!("{field:?} is not a finite number"),
        other => format!("{field:?} is {}, not a number", other.kind()),
    }
}

impl Chart for BarChart {
    const TYPE: &'static str = "bar_chart";
    const DESCRIPTION: &'static str = "Bar chart of the latest value per category (e.g. running counts per author)";
    type Settings = BarSettings;
    type Frame = BarFrame;

    fn new(s: BarSettings) -> Result<Self, StageError> {
        settings::field("category", &s.category)?;
        settings::field("value", &s.value)?;
        settings::size("width", s.width)?;
        settings::size("height", s.height)?;
        if s.colormap != NO_COLORMAP {
            Colormap::parse(&s.colormap).map_err(|e| StageError::setting("colormap", e))?;
        }
        if let Some([lo, hi]) = s.color_domain
            && !(lo.is_finite() && hi.is_finite() && lo < hi)
        {
            return Err(StageError::setting("color_domain", format!("[{lo}, {hi}] is not a range: use [low, high]")));
        }
        let sort = settings::choice(
            "sort",
            &s.sort,
            &[("none", Sort::None), ("value", Sort::Value), ("category", Sort::Category)],
        )?;
        settings::y_bounds(s.y_min, s.y_max)?;
        if s.value_decimals > 10 {
            return Err(StageError::setting("value_decimals", "use 0 to 10 decimals"));
        }
        if s.max_categories == 0 {
            return Err(StageError::setting("max_categories", "keep at least 1 bar"));
        }
        let top = match s.top {
            Some(0) => {
                return Err(StageError::setting("top", "show at least 1 bar, or leave `top` unset for all"));
            }
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => None,
        };
        let style = BarStyle {
            width: s.width,
            height: s.height,
            color: color::setting("color", &s.color)?,
            background: color::setting("background", &s.background)?,
            colormap: s.colormap,
            color_domain: s.color_domain,
            value_labels: s.value_labels,
            value_decimals: s.value_decimals,
            y_min: s.y_min,
            y_max: s.y_max,
        };
        Ok(BarChart {
            title: s.title,
            x_label: s.x_label,
            y_label: s.y_label,
            category: s.category,
            value: s.value,
            top,
            sort,
            style,
            bars: Vec::new(),
            index: HashMap::new(),
            limit: CategoryLimit::new(s.max_categories, "bar_chart categories"),
        })
    }

    fn ingest(&mut self, record: &Record<'_>) -> Result<(), String> {
        let (name, value) = self.bar(record)?;
        self.set(&name, value, false);
        Ok(())
    }

    fn frame(&self) -> BarFrame {
        let shown = self.shown();
        BarFrame {
            title: self.title.clone(),
            kind: "bar".into(),
            x_label: self.x_label.clone(),
            y_label: self.y_label.clone(),
            series: vec![BarSeries {
                name: self.value.clone(),
                categories: shown.iter().map(|bar| bar.0.clone()).collect(),
                values: shown.iter().map(|bar| bar.1).collect(),
            }],
            markers: Vec::new(),
            style: self.style.clone(),
        }
    }

    fn render(frame: &BarFrame, format: ImageFormat) -> Result<Vec<u8>, String> {
        bar_draw::render(frame, format)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(BarState { bars: self.bars.clone() }).ok()
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let state: BarState = serde_json::from_value(state).map_err(|e| format!("invalid bar chart state: {e}"))?;
        self.bars.clear();
        self.index.clear();
        for (name, value) in state.bars {
            // A smaller limit than the saved chart's folds bars into "other":
            // its saved value adds to them.
            self.set(&name, value, name == OTHER);
        }
        Ok(())
    }

    /// Bars add per category; a category only one side has keeps its value,
    /// the other's new ones following this chart's in their first-seen
    /// order. Right for counts and sums (`count_by`'s running totals);
    /// values that do not add, such as averages, are merged upstream
    /// (`average_by` merges by sum and count).
    fn merge_state(&mut self, other: serde_json::Value) -> Result<(), String> {
        let other: BarState =
            serde_json::from_value(other).map_err(|e| format!("invalid bar chart state to merge: {e}"))?;
        for (name, value) in other.bars {
            self.set(&name, value, true);
        }
        Ok(())
    }
}
