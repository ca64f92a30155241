use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use buzz_sdk::{JsonSchema, Output, Poll, Source, StageError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"fields": ["seq", "ts_ms"]}))]
pub struct TicksSettings {
    /// Records per second (kept on average, in small bursts).
    #[serde(default = "default_rate")]
    #[schemars(range(min = 0.001, max = 10000000.0))]
    pub rate_per_s: f64,
    /// How many records to make in all (a source resumed from its
    /// checkpoint counts those it made before); absent makes them for ever.
    #[serde(default)]
    pub count: Option<u64>,
}

fn default_rate() -> f64 {
    10.0
}

const MIN_WAIT: Duration = Duration::from_millis(1);

#[derive(Serialize)]
struct Tick {
    seq: u64,
    /// Production time, in milliseconds since the Unix epoch.
    ts_ms: f64,
}

/// `{"seq": n, "ts_ms": production time}` at a steady rate.
pub struct Ticks {
    settings: TicksSettings,
    started: Instant,
    made: u64,
}

impl Ticks {
    fn now_ms() -> f64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

impl Source for Ticks {
    const TYPE: &'static str = "ticks";
    const DESCRIPTION: &'static str =
        "Numbered records {\"seq\", \"ts_ms\"} at a steady rate, stamped with their production time.";
    type Settings = TicksSettings;

    fn new(settings: TicksSettings) -> Result<Self, StageError> {
        if !(settings.rate_per_s > 0.0 && settings.rate_per_s.is_finite()) {
            return Err(StageError::setting("rate_per_s", "must be a positive number of records per second"));
        }
        Ok(Ticks { settings, started: Instant::now(), made: 0 })
    }

    fn poll(&mut self, max: usize, out: &mut Output) -> Result<Poll, String> {
        // As many as are due by now (never more than `max` or the count).
        let due = (self.started.elapsed().as_secs_f64() * self.settings.rate_per_s) as u64 + 1;
        let left = self.settings.count.map_or(u64::MAX, |c| c - self.made);
        let n = due.saturating_sub(self.made).min(max as u64).min(left);
        for _ in 0..n {
            let ts_ms = Self::now_ms();
            out.emit_json(&Tick { seq: self.made, ts_ms })?;
            self.made += 1;
        }
        if self.settings.count.is_some_and(|c| self.made >= c) {
            return Ok(Poll::Done);
        }
        // At least a millisecond between bursts: polling every record's own
        // turn (100 µs at 10,000/s) kept a core busy with the source alone,
        // and each record is stamped when it is made, so its latency counts
        // from there whatever the burst.
        let next = Duration::from_secs_f64((self.made as f64) / self.settings.rate_per_s);
        Ok(Poll::Wait(next.saturating_sub(self.started.elapsed()).max(MIN_WAIT)))
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "made": self.made }))
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.made = state["made"].as_u64().unwrap_or(0);
        // Keep the rate from here on rather than catching up a burst.
        self.started = Instant::now() - Duration::from_secs_f64(self.made as f64 / self.settings.rate_per_s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::TestStage;
    use serde_json::json;

    use super::*;

    #[test]
    fn numbered_stamped_records_at_the_rate() {
        let mut stage = TestStage::source::<Ticks>(json!({"rate_per_s": 1000.0, "count": 50})).unwrap();
        let started = std::time::Instant::now();
        let mut records = Vec::new();
        loop {
            let (out, poll) = stage.poll(1024).unwrap();
            records.extend(out.json());
            match poll {
                Poll::Done => break,
                Poll::Wait(d) => std::thread::sleep(d),
                Poll::Ready => {}
            }
        }
        assert_eq!(records.len(), 50);
        assert!(records.iter().enumerate().all(|(i, r)| r["seq"] == json!(i)));
        assert!(records[49]["ts_ms"].as_f64().unwrap() >= records[0]["ts_ms"].as_f64().unwrap());
        // 50 records at 1000/s take about 49 ms: the rate holds.
        assert!(started.elapsed() >= Duration::from_millis(45));
    }

    #[test]
    fn a_rate_must_be_positive() {
        let err = TestStage::source::<Ticks>(json!({"rate_per_s": 0.0})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("rate_per_s"));
    }
}
