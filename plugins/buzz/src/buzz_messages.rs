use buzz_sdk::{JsonSchema, Output, Poll, Source, StageError};
use serde::{Deserialize, Serialize};

use crate::pacing::{Pacing, non_empty, words};
use plotkit::random::{Random, SplitMix64};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"fields": ["message", "author"]}))]
pub struct BuzzMessagesSettings {
    /// Milliseconds between messages (the original's BUZZ_INTERVAL_SECONDS
    /// was 3 s); 0 makes them as fast as the pipeline takes them.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// How many messages to make in all (a source resumed from its
    /// checkpoint counts those it made before); absent makes them for ever.
    #[serde(default)]
    pub count: Option<u64>,
    /// Seed for a reproducible run; absent seeds from the clock.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default = "default_authors")]
    pub authors: Vec<String>,
    #[serde(default = "default_actions")]
    pub actions: Vec<String>,
    #[serde(default = "default_topics")]
    pub topics: Vec<String>,
    #[serde(default = "default_adjectives")]
    pub adjectives: Vec<String>,
}

fn default_interval_ms() -> u64 {
    3000
}
fn default_authors() -> Vec<String> {
    words(&["Alice", "Bob", "Charlie", "Eve"])
}
fn default_actions() -> Vec<String> {
    words(&["found", "saw", "tried", "shared", "loved"])
}
fn default_topics() -> Vec<String> {
    words(&["a movie", "a meme", "an app", "a trick", "a story"])
}
fn default_adjectives() -> Vec<String> {
    words(&["amazing", "funny", "boring", "exciting", "weird"])
}

#[derive(Serialize)]
struct BuzzMessage<'a> {
    message: &'a str,
    author: &'a str,
}

/// `{"message": "I just <action> <topic>! It was <adjective>.", "author": ...}`
pub struct BuzzMessages {
    settings: BuzzMessagesSettings,
    pacing: Pacing,
    rng: SplitMix64,
    text: String,
}

impl Source for BuzzMessages {
    const TYPE: &'static str = "buzz_messages";
    const DESCRIPTION: &'static str =
        "Generates buzz messages {\"message\", \"author\"} from word lists, like the original producer.";
    type Settings = BuzzMessagesSettings;

    fn new(settings: BuzzMessagesSettings) -> Result<Self, StageError> {
        non_empty("authors", &settings.authors)?;
        non_empty("actions", &settings.actions)?;
        non_empty("topics", &settings.topics)?;
        non_empty("adjectives", &settings.adjectives)?;
        Ok(BuzzMessages {
            pacing: Pacing { interval_ms: settings.interval_ms, count: settings.count, made: 0 },
            rng: SplitMix64::new(settings.seed),
            settings,
            text: String::new(),
        })
    }

    fn poll(&mut self, max: usize, out: &mut Output) -> Result<Poll, String> {
        use std::fmt::Write;
        for _ in 0..self.pacing.budget(max) {
            let s = &self.settings;
            let (action, topic, adjective) =
                (self.rng.pick(&s.actions), self.rng.pick(&s.topics), self.rng.pick(&s.adjectives));
            self.text.clear();
            let _ = write!(self.text, "I just {action} {topic}! It was {adjective}.");
            let author = self.rng.pick(&s.authors);
            out.emit_json(&BuzzMessage { message: &self.text, author })?;
            self.pacing.made += 1;
        }
        Ok(self.pacing.after_poll())
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "made": self.pacing.made, "rng": self.rng.state() }))
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.pacing.made = state["made"].as_u64().unwrap_or(0);
        if let Some(rng) = state["rng"].as_u64() {
            self.rng = SplitMix64::new(Some(rng));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::TestStage;
    use serde_json::json;

    use super::*;

    #[test]
    fn makes_messages_in_the_original_shape() {
        let mut stage = TestStage::source::<BuzzMessages>(json!({"interval_ms": 0, "count": 50, "seed": 7})).unwrap();
        let out = stage.drain(16).unwrap();
        assert_eq!(out.records.len(), 50);
        for message in out.json() {
            let author = message["author"].as_str().unwrap();
            assert!(["Alice", "Bob", "Charlie", "Eve"].contains(&author));
            let text = message["message"].as_str().unwrap();
            assert!(text.starts_with("I just ") && text.contains("! It was ") && text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn a_seed_makes_the_run_reproducible() {
        let run = || {
            TestStage::source::<BuzzMessages>(json!({"interval_ms": 0, "count": 20, "seed": 3}))
                .unwrap()
                .drain(8)
                .unwrap()
                .json()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn paced_generator_makes_one_per_poll() {
        let mut stage = TestStage::source::<BuzzMessages>(json!({"interval_ms": 3000, "count": 2})).unwrap();
        let (out, poll) = stage.poll(100).unwrap();
        assert_eq!(out.records.len(), 1);
        assert_eq!(poll, Poll::Wait(std::time::Duration::from_secs(3)));
        let (_, poll) = stage.poll(100).unwrap();
        assert_eq!(poll, Poll::Done);
    }

    #[test]
    fn empty_word_list_is_refused_by_name() {
        let err = TestStage::source::<BuzzMessages>(json!({"authors": []})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("authors"));
    }
}
