//! The `quake_catalog` source: a synthetic but realistic earthquake
//! catalogue. Events arrive as a Poisson process in catalogue time,
//! magnitudes follow the Gutenberg–Richter law, and epicentres and depths
//! come from the world's main seismic belts (see [`crate::regions`]).

use std::time::Duration;

use buzz_sdk::{JsonSchema, Output, Poll, Source, StageError};
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::archive::Archive;
use crate::regions::{self, Region};
use crate::saved;
use plotkit::random::{Pcg32, Random};

const MS_PER_DAY: f64 = 86_400_000.0;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct QuakeCatalogSettings {
    /// Wall-clock milliseconds from one event to the next (0: as fast as
    /// the pipeline takes them).
    pub interval_ms: u64,
    /// Events in the catalogue; none: an endless catalogue.
    pub count: Option<u64>,
    /// Makes the catalogue reproducible; none: a new catalogue each run.
    pub seed: Option<u64>,
    /// When the catalogue starts (RFC 3339); events follow at random
    /// intervals of catalogue time.
    pub start: String,
    /// Average events per day of catalogue time (the world records about
    /// 40 of magnitude 2.5 or more a day).
    #[schemars(range(min = 0.001, max = 1000000.0))]
    pub events_per_day: f64,
    /// Smallest magnitude in the catalogue (its completeness magnitude).
    #[schemars(range(min = -2.0, max = 9.5))]
    pub min_magnitude: f64,
    /// Largest possible magnitude.
    #[schemars(range(min = -1.5, max = 10.0))]
    pub max_magnitude: f64,
    /// Gutenberg–Richter b-value: each magnitude unit up is 10^b times
    /// rarer (about 1 on Earth).
    #[schemars(range(min = 0.3, max = 3.0))]
    pub b_value: f64,
    /// Only these regions (all when empty), e.g. ["Chile-Peru"].
    pub regions: Vec<String>,
    /// A JSON-lines file that every event is also appended to.
    pub archive_path: Option<String>,
}

impl Default for QuakeCatalogSettings {
    fn default() -> Self {
        QuakeCatalogSettings {
            interval_ms: 250,
            count: None,
            seed: None,
            start: "2024-01-01T00:00:00Z".into(),
            events_per_day: 40.0,
            min_magnitude: 2.5,
            max_magnitude: 9.0,
            b_value: 1.0,
            regions: Vec::new(),
            archive_path: None,
        }
    }
}

/// One event, shaped like a row of the USGS catalogue.
#[derive(Debug, Serialize)]
struct Quake {
    id: String,
    time: String,
    latitude: f64,
    longitude: f64,
    depth_km: f64,
    magnitude: f64,
    mag_type: &'static str,
    region: &'static str,
}

/// Saved across a hot reload: the catalogue continues, not restarts.
#[derive(Serialize, Deserialize)]
struct CatalogState {
    made: u64,
    rng: u64,
    clock_ms: i64,
}

pub struct QuakeCatalog {
    settings: QuakeCatalogSettings,
    regions: Vec<&'static Region>,
    rng: Pcg32,
    made: u64,
    /// Catalogue time of the latest event, ms since the epoch.
    clock_ms: i64,
    archive: Option<Archive>,
}

fn check(s: &QuakeCatalogSettings) -> Result<(i64, Vec<&'static Region>), StageError> {
    let start = DateTime::parse_from_rfc3339(&s.start)
        .map_err(|e| StageError::setting("start", format!("{:?} is not an RFC 3339 time: {e}", s.start)))?;
    if !(s.events_per_day > 0.0 && s.events_per_day.is_finite()) {
        return Err(StageError::setting("events_per_day", "must be a positive number"));
    }
    if !(-2.0..=10.0).contains(&s.min_magnitude) || !(-2.0..=10.0).contains(&s.max_magnitude) {
        return Err(StageError::setting("min_magnitude", "magnitudes must lie between -2 and 10"));
    }
    if s.max_magnitude - s.min_magnitude < 0.5 {
        return Err(StageError::setting("max_magnitude", "must be at least 0.5 above min_magnitude"));
    }
    if !(0.3..=3.0).contains(&s.b_value) {
        return Err(StageError::setting("b_value", "use 0.3 to 3 (Earth's is about 1)"));
    }
    let regions = regions::select(&s.regions).map_err(|unknown| {
        let known: Vec<&str> = regions::REGIONS.iter().map(|r| r.name).collect();
        StageError::setting("regions", format!("unknown region {unknown:?}; the regions are {}", known.join(", ")))
    })?;
    Ok((start.timestamp_millis(), regions))
}

/// Rounded to `decimals` places, as catalogues report their values.
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The magnitude type a network would report at this size.
fn magnitude_type(magnitude: f64) -> &'static str {
    if magnitude < 4.0 {
        "ml"
    } else if magnitude < 5.5 {
        "mb"
    } else {
        "mww"
    }
}

impl QuakeCatalog {
    fn next_quake(&mut self) -> Result<Quake, String> {
        let s = &self.settings;
        let gap_ms = self.rng.exponential(MS_PER_DAY / s.events_per_day);
        self.clock_ms = self.clock_ms.saturating_add(gap_ms.round() as i64);
        let region = regions::pick(&self.regions, &mut self.rng);
        let (latitude, longitude, depth_km) = region.hypocentre(&mut self.rng);
        // Catalogues report magnitudes to a tenth; the last tenth below
        // max_magnitude still rounds into range.
        let magnitude = round(self.rng.gutenberg_richter(s.min_magnitude, s.max_magnitude, s.b_value), 1)
            .clamp(round(s.min_magnitude, 1), round(s.max_magnitude, 1));
        let time = DateTime::from_timestamp_millis(self.clock_ms)
            .ok_or_else(|| format!("catalogue time {} ms is out of range", self.clock_ms))?
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        self.made += 1;
        Ok(Quake {
            id: format!("bz{:08}", self.made),
            time,
            latitude: round(latitude, 3),
            longitude: round(longitude, 3),
            depth_km: round(depth_km, 1),
            magnitude,
            mag_type: magnitude_type(magnitude),
            region: region.name,
        })
    }
}

impl Source for QuakeCatalog {
    const TYPE: &'static str = "quake_catalog";
    const DESCRIPTION: &'static str = "Generates a realistic synthetic earthquake catalogue {id, time, latitude, longitude, depth_km, magnitude, mag_type, region}: Gutenberg–Richter magnitudes, Poisson arrivals, depths by tectonic setting.";
    type Settings = QuakeCatalogSettings;

    fn new(settings: QuakeCatalogSettings) -> Result<Self, StageError> {
        let (clock_ms, regions) = check(&settings)?;
        let archive = settings.archive_path.as_deref().map(Archive::open).transpose()?;
        Ok(QuakeCatalog { rng: Pcg32::new(settings.seed), settings, regions, made: 0, clock_ms, archive })
    }

    fn poll(&mut self, max: usize, out: &mut Output) -> Result<Poll, String> {
        let paced = self.settings.interval_ms > 0;
        let left = self.settings.count.map_or(u64::MAX, |count| count.saturating_sub(self.made));
        let batch = if paced { 1 } else { max.max(1) as u64 }.min(left);
        for _ in 0..batch {
            let quake = self.next_quake()?;
            let payload = serde_json::to_vec(&quake).map_err(|e| e.to_string())?;
            // Keyed by region, so one region's events keep their order on
            // a partitioned transport.
            out.emit_with(&payload, Some(quake.region.as_bytes()), Some(self.clock_ms));
            if let Some(archive) = &mut self.archive {
                archive.write(&quake)?;
            }
        }
        if let Some(archive) = &mut self.archive {
            archive.flush()?;
        }
        Ok(if self.settings.count.is_some_and(|count| self.made >= count) {
            Poll::Done
        } else if paced {
            Poll::Wait(Duration::from_millis(self.settings.interval_ms))
        } else {
            Poll::Ready
        })
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        saved::save(&CatalogState { made: self.made, rng: self.rng.state(), clock_ms: self.clock_ms })
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let state: CatalogState = saved::load(state, "catalogue position")?;
        self.made = state.made;
        self.rng = Pcg32::resume(state.rng);
        self.clock_ms = state.clock_ms;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::TestStage;
    use serde_json::{Value, json};

    use super::*;

    fn catalogue(settings: Value) -> Vec<Value> {
        TestStage::source::<QuakeCatalog>(settings).unwrap().drain(64).unwrap().json()
    }

    #[test]
    fn events_look_like_catalogue_rows() {
        let quakes = catalogue(json!({"interval_ms": 0, "count": 2000, "seed": 11}));
        assert_eq!(quakes.len(), 2000);
        let mut previous = String::new();
        for (i, q) in quakes.iter().enumerate() {
            assert_eq!(q["id"], format!("bz{:08}", i + 1));
            let m = q["magnitude"].as_f64().unwrap();
            assert!((2.5..=9.0).contains(&m), "{q}");
            assert_eq!(round(m, 1), m, "magnitudes are reported to a tenth");
            let depth = q["depth_km"].as_f64().unwrap();
            assert!((0.5..=690.0).contains(&depth), "{q}");
            assert!((-90.0..=90.0).contains(&q["latitude"].as_f64().unwrap()));
            assert!((-180.0..=180.0).contains(&q["longitude"].as_f64().unwrap()));
            assert!(regions::REGIONS.iter().any(|r| q["region"] == r.name), "{q}");
            assert_eq!(q["mag_type"], magnitude_type(m));
            let time = q["time"].as_str().unwrap().to_string();
            assert!(time.starts_with("2024-") && time.ends_with('Z'), "{time}");
            assert!(time >= previous, "times only move forward");
            previous = time;
        }
        // About 40 a day: 2000 events span about 50 days.
        let last = DateTime::parse_from_rfc3339(&previous).unwrap().timestamp_millis();
        let days = (last - DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().timestamp_millis()) as f64
            / MS_PER_DAY;
        assert!((44.0..56.0).contains(&days), "{days} days");
        // Small events dominate: Gutenberg–Richter with b = 1.
        let small = quakes.iter().filter(|q| q["magnitude"].as_f64().unwrap() < 3.5).count();
        assert!(small > 1700, "{small} of 2000 below M3.5");
    }

    #[test]
    fn a_seed_reproduces_the_catalogue_and_records_carry_time_and_region() {
        let settings = json!({"interval_ms": 0, "count": 50, "seed": 4, "regions": ["Chile-Peru"]});
        assert_eq!(catalogue(settings.clone()), catalogue(settings.clone()));
        let out = TestStage::source::<QuakeCatalog>(settings).unwrap().drain(10).unwrap();
        for record in &out.records {
            assert_eq!(record.key.as_deref(), Some(b"Chile-Peru".as_slice()));
            let quake: Value = serde_json::from_slice(&record.payload).unwrap();
            let time = DateTime::parse_from_rfc3339(quake["time"].as_str().unwrap()).unwrap();
            assert_eq!(record.timestamp_ms, Some(time.timestamp_millis()));
        }
    }

    #[test]
    fn a_restored_catalogue_continues_where_it_stopped() {
        let settings = json!({"interval_ms": 0, "count": 30, "seed": 8});
        let whole = catalogue(settings.clone());
        let mut first = TestStage::source::<QuakeCatalog>(settings.clone()).unwrap();
        let (head, _) = first.poll(10).unwrap();
        let mut second = TestStage::source::<QuakeCatalog>(settings).unwrap();
        second.restore_state(first.save_state().unwrap()).unwrap();
        let tail = second.drain(64).unwrap();
        let joined: Vec<Value> = head.json().into_iter().chain(tail.json()).collect();
        assert_eq!(joined, whole);
    }

    #[test]
    fn paced_catalogue_makes_one_event_per_poll() {
        let mut stage = TestStage::source::<QuakeCatalog>(json!({"interval_ms": 100, "count": 2})).unwrap();
        let (out, poll) = stage.poll(500).unwrap();
        assert_eq!((out.records.len(), poll), (1, Poll::Wait(Duration::from_millis(100))));
        assert_eq!(stage.poll(500).unwrap().1, Poll::Done);
    }

    #[test]
    fn the_archive_holds_exactly_what_was_sent() {
        let dir = std::env::temp_dir().join(format!("buzz-quakes-archive-{}", std::process::id()));
        let path = dir.join("nested/catalogue.jsonl");
        let mut stage =
            TestStage::source::<QuakeCatalog>(json!({"interval_ms": 0, "count": 40, "seed": 2, "archive_path": path}))
                .unwrap();
        let sent = stage.drain(16).unwrap().json();
        let archived: Vec<Value> =
            std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(archived, sent);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let refused = |settings: Value| TestStage::source::<QuakeCatalog>(settings).err().unwrap();
        assert_eq!(refused(json!({"start": "yesterday"})).setting.as_deref(), Some("start"));
        assert_eq!(refused(json!({"events_per_day": 0.0})).setting.as_deref(), Some("events_per_day"));
        assert_eq!(
            refused(json!({"min_magnitude": 5.0, "max_magnitude": 5.2})).setting.as_deref(),
            Some("max_magnitude")
        );
        assert_eq!(refused(json!({"b_value": 5.0})).setting.as_deref(), Some("b_value"));
        let unknown = refused(json!({"regions": ["Atlantis"]}));
        assert_eq!(unknown.setting.as_deref(), Some("regions"));
        assert!(unknown.message.contains("Chile-Peru"), "{}", unknown.message);
    }
}
