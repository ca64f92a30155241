//! X values of a line chart: numbers or timestamps, and an x axis whose
//! ticks fall on whole seconds, minutes, hours or days when it shows time.

use std::ops::Range;

use buzz_sdk::fields::Scalar;
use chrono::{DateTime, NaiveDateTime};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use serde::{Deserialize, Serialize};

/// What the x values are, so render can label the axis to suit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XKind {
    /// Epoch seconds, from timestamps or epoch milliseconds.
    Time,
    Number,
    /// The record's sequence number (`x = "$index"`).
    Index,
}

impl XKind {
    /// Its name as frames spell it ("time", "number", "index").
    pub fn name(self) -> &'static str {
        match self {
            XKind::Time => "time",
            XKind::Number => "number",
            XKind::Index => "index",
        }
    }
}

/// Numbers above this are epoch milliseconds (1e11 s would be the year 5138).
const EPOCH_MS_THRESHOLD: f64 = 1e11;

/// Reads an x value: `(value, is_time)`. Numbers are used as they are,
/// except epoch milliseconds, which become seconds; strings must be
/// timestamps.
pub fn parse_x(field: &str, value: &Scalar<'_>) -> Result<(f64, bool), String> {
    match value {
        Scalar::Num(n) if !n.is_finite() => Err(format!("\"{field}\" is not a finite number")),
        Scalar::Num(n) if *n > EPOCH_MS_THRESHOLD => Ok((n / 1000.0, true)),
        Scalar::Num(n) => Ok((*n, false)),
        Scalar::Str(s) => parse_timestamp(s).map(|t| (t, true)).ok_or_else(|| {
            format!(
                "\"{field}\" is {s:?}, which is not a timestamp (RFC 3339, \"YYYY-MM-DD HH:MM:SS\" or \"YYYY-MM-DDTHH:MM:SS\") or a number"
            )
        }),
        other => Err(format!("\"{field}\" is {}, not a timestamp or a number", other.kind())),
    }
}

/// Epoch seconds of an RFC 3339 timestamp, or of "YYYY-MM-DD HH:MM:SS" /
/// "YYYY-MM-DDTHH:MM:SS" (fractional seconds allowed) read as UTC.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let text = text.trim();
    let utc = match parse_plain(text) {
        Some(t) => t.and_utc(),
        None => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => t.to_utc(),
            Err(_) => ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())?
                .and_utc(),
        },
    };
    Some(utc.timestamp() as f64 + f64::from(utc.timestamp_subsec_nanos()) / 1e9)
}

/// The common shape, `YYYY-MM-DD HH:MM:SS[.f]` (or with a `T`), read
/// directly: once per record, chrono's format-string parser cost a tenth
/// of a fast consumer's time. Anything else is left to chrono.
fn parse_plain(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let shaped =
        b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && matches!(b[10], b' ' | b'T') && b[13] == b':' && b[16] == b':';
    if !shaped {
        return None;
    }
    let number = |range: Range<usize>| {
        b[range].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(20..b.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?.and_hms_nano_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        nanos,
    )
}

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86400.0;

/// Tick spacings a reader finds natural, in seconds.
const TIME_STEPS: &[f64] = &[
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    30.0,
    MINUTE,
    2.0 * MINUTE,
    5.0 * MINUTE,
    10.0 * MINUTE,
    15.0 * MINUTE,
    30.0 * MINUTE,
    HOUR,
    2.0 * HOUR,
    3.0 * HOUR,
    6.0 * HOUR,
    12.0 * HOUR,
    DAY,
    2.0 * DAY,
    7.0 * DAY,
    14.0 * DAY,
    30.0 * DAY,
    91.0 * DAY,
    182.0 * DAY,
    365.0 * DAY,
];

/// An f64 x axis; when it shows time its ticks are on round times (UTC).
#[derive(Clone)]
pub struct XAxis {
    linear: RangedCoordf64,
    /// Tick spacing in seconds, for time axes.
    time_step: Option<f64>,
    /// Decimals of number ticks.
    decimals: usize,
}

impl XAxis {
    /// `ticks` is the most labels the axis has room for.
    pub fn new(kind: XKind, range: Range<f64>, ticks: usize) -> Self {
        let span = range.end - range.start;
        let time_step = (kind == XKind::Time && span.is_finite()).then(|| {
            let ticks = ticks.max(1) as f64;
            TIME_STEPS
                .iter()
                .copied()
                .find(|step| span / step <= ticks)
                .unwrap_or_else(|| (span / ticks / DAY).ceil() * DAY)
        });
        XAxis { decimals: crate::axes::range_decimals(range.clone(), ticks), linear: range.into(), time_step }
    }

    /// The text of a tick at `x`.
    pub fn label(&self, x: f64) -> String {
        let Some(step) = self.time_step else {
            return crate::axes::number_label(x, self.decimals);
        };
        let Some(time) = DateTime::from_timestamp(x.floor() as i64, 0) else {
            return crate::axes::number_label(x, self.decimals);
        };
        let range = self.linear.range();
        let format = if range.end - range.start > 2.0 * DAY {
            "%m-%d %H:%M"
        } else if step < MINUTE {
            "%H:%M:%S"
        } else {
            "%H:%M"
        };
        time.format(format).to_string()
    }
}

impl Ranged for XAxis {
    // Render always passes `XAxis::label` as the formatter.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let Some(step) = self.time_step else {
            return self.linear.key_points(hint);
        };
        let range = self.linear.range();
        let max = hint.max_num_points();
        // Multiples of the step from the epoch land on round UTC times.
        let mut tick = (range.start / step).ceil() * step;
        let mut ticks = Vec::new();
        while tick <= range.end && ticks.len() < max {
            ticks.push(tick);
            tick += step;
        }
        ticks
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_timestamp_format() {
        let t = 1_700_000_000.0; // 2023-11-14T22:13:20Z
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Some(t));
        assert_eq!(parse_timestamp("2023-11-14T23:13:20+01:00"), Some(t));
        assert_eq!(parse_timestamp("2023-11-14 22:13:20"), Some(t));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20"), Some(t));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.5"), Some(t + 0.5));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.250Z"), Some(t + 0.25));
        assert_eq!(parse_timestamp("2023-11-14 22:13:20.125"), Some(t + 0.125));
        assert_eq!(parse_timestamp("2023-11-14 22:13:20.000000001"), Some(t + 1e-9));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2023-13-14 22:13:20"), None);
        assert_eq!(parse_timestamp("2023-11-14 25:13:20"), None);
        assert_eq!(parse_timestamp("2023-11-14 22:13:2x"), None);
        assert_eq!(parse_timestamp("2023-11-14 22:13:20."), None);
    }

    #[test]
    fn epoch_milliseconds_become_seconds() {
        assert_eq!(parse_x("t", &Scalar::Num(1_700_000_000_000.0)), Ok((1_700_000_000.0, true)));
        assert_eq!(parse_x("t", &Scalar::Num(42.0)), Ok((42.0, false)));
        assert!(parse_x("t", &Scalar::Bool(true)).unwrap_err().contains("a boolean"));
    }

    #[test]
    fn time_ticks_are_round_and_labelled() {
        let start = 1_700_000_000.0; // 22:13:20
        let axis = XAxis::new(XKind::Time, start..start + 3600.0, 8);
        let ticks = axis.key_points(8usize);
        assert!(!ticks.is_empty() && ticks.len() <= 8);
        assert!(ticks.iter().all(|t| t % 600.0 == 0.0), "{ticks:?}");
        assert_eq!(axis.label(ticks[0]), "22:20");

        let short = XAxis::new(XKind::Time, start..start + 50.0, 8);
        assert_eq!(short.label(start), "22:13:20");
        let long = XAxis::new(XKind::Time, start..start + 5.0 * DAY, 8);
        assert_eq!(long.label(start), "11-14 22:13");
    }
}
