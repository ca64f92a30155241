use std::fs::{File, OpenOptions};
use std::io::Write;

use buzz_sdk::{JsonSchema, Output, Poll, Source, StageError};
use serde::{Deserialize, Serialize};

use crate::pacing::{Pacing, non_empty, words};
use plotkit::random::{Random, SplitMix64};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectMessagesSettings {
    /// Milliseconds between messages (the original's PROJECT_INTERVAL_SECONDS
    /// was 5 s); 0 makes them as fast as the pipeline takes them.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// How many messages to make in all (a source resumed from its
    /// checkpoint counts those it made before); absent makes them for ever.
    #[serde(default)]
    pub count: Option<u64>,
    /// Seed for a reproducible run; absent seeds from the clock.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Also append every message to this JSON-lines file, as the original
    /// producer did (absent: don't).
    #[serde(default)]
    pub archive_path: Option<String>,
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
    5000
}
fn default_authors() -> Vec<String> {
    words(&["Alice", "Bob", "Charlie", "Eve"])
}
fn default_actions() -> Vec<String> {
    words(&["found", "saw", "tried", "shared", "loved"])
}
fn default_topics() -> Vec<String> {
    words(&["a movie", "a meme", "an app", "a trick", "a story", "Python", "JavaScript", "recipe", "travel", "game"])
}
fn default_adjectives() -> Vec<String> {
    words(&["amazing", "funny", "boring", "exciting", "weird"])
}

/// Keyword -> category, checked in this order (as the original did).
const KEYWORD_CATEGORIES: [(&str, &str); 7] = [
    ("meme", "humor"),
    ("Python", "tech"),
    ("JavaScript", "tech"),
    ("recipe", "food"),
    ("travel", "travel"),
    ("movie", "entertainment"),
    ("game", "gaming"),
];

/// The keyword the message mentions and its category ("other" for none).
pub fn categorize(message: &str) -> (&'static str, &'static str) {
    KEYWORD_CATEGORIES.iter().find(|(keyword, _)| message.contains(keyword)).copied().unwrap_or(("other", "other"))
}

#[derive(Serialize)]
struct ProjectMessage<'a> {
    message: &'a str,
    author: &'a str,
    timestamp: &'a str,
    category: &'a str,
    sentiment: f64,
    keyword_mentioned: &'a str,
    message_length: usize,
}

/// The custom app's richer messages.
pub struct ProjectMessages {
    settings: ProjectMessagesSettings,
    pacing: Pacing,
    rng: SplitMix64,
    archive: Option<File>,
    text: String,
    line: Vec<u8>,
}

impl Source for ProjectMessages {
    const TYPE: &'static str = "project_messages";
    const DESCRIPTION: &'static str = "Generates the custom app's messages {message, author, timestamp, category, sentiment, keyword_mentioned, message_length}.";
    type Settings = ProjectMessagesSettings;

    fn new(settings: ProjectMessagesSettings) -> Result<Self, StageError> {
        non_empty("authors", &settings.authors)?;
        non_empty("actions", &settings.actions)?;
        non_empty("topics", &settings.topics)?;
        non_empty("adjectives", &settings.adjectives)?;
        let archive = match &settings.archive_path {
            None => None,
            Some(path) => {
                if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StageError::setting("archive_path", format!("cannot create folder {}: {e}", dir.display()))
                    })?;
                }
                let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    StageError::setting("archive_path", format!("cannot open {path:?} for appending: {e}"))
                })?;
                Some(file)
            }
        };
        Ok(ProjectMessages {
            pacing: Pacing { interval_ms: settings.interval_ms, count: settings.count, made: 0 },
            rng: SplitMix64::new(settings.seed),
            settings,
            archive,
            text: String::new(),
            line: Vec::new(),
        })
    }

    fn poll(&mut self, max: usize, out: &mut Output) -> Result<Poll, String> {
        use std::fmt::Write as _;
        let timestamp = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
        self.line.clear();
        for _ in 0..self.pacing.budget(max) {
            let s = &self.settings;
            let (action, topic, adjective) =
                (self.rng.pick(&s.actions), self.rng.pick(&s.topics), self.rng.pick(&s.adjectives));
            self.text.clear();
            let _ = write!(self.text, "I just {action} {topic}! It was {adjective}.");
            let (keyword, category) = categorize(topic);
            let message = ProjectMessage {
                message: &self.text,
                author: self.rng.pick(&s.authors).as_str(),
                timestamp: &timestamp,
                category,
                sentiment: (self.rng.unit() * 100.0).round() / 100.0,
                keyword_mentioned: keyword,
                message_length: self.text.chars().count(),
            };
            out.emit_json(&message)?;
            if self.archive.is_some() {
                serde_json::to_writer(&mut self.line, &message).map_err(|e| e.to_string())?;
                self.line.push(b'\n');
            }
            self.pacing.made += 1;
        }
        if let Some(archive) = &mut self.archive {
            archive
                .write_all(&self.line)
                .map_err(|e| format!("cannot append to {:?}: {e}", self.settings.archive_path))?;
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
    fn categories_follow_the_keyword() {
        assert_eq!(categorize("I just saw a meme! It was weird."), ("meme", "humor"));
        assert_eq!(categorize("I just tried Python! It was fun."), ("Python", "tech"));
        assert_eq!(categorize("I just found an app! It was ok."), ("other", "other"));
    }

    #[test]
    fn messages_have_every_field_and_are_archived() {
        let dir = std::env::temp_dir().join(format!("buzz-project-{}", std::process::id()));
        let archive = dir.join("live.jsonl");
        let mut stage = TestStage::source::<ProjectMessages>(
            json!({"interval_ms": 0, "count": 30, "seed": 1, "archive_path": archive}),
        )
        .unwrap();
        let messages = stage.drain(7).unwrap().json();
        assert_eq!(messages.len(), 30);
        for m in &messages {
            let text = m["message"].as_str().unwrap();
            assert_eq!(m["message_length"], json!(text.chars().count()));
            assert_eq!(m["category"], json!(categorize(text).1));
            let sentiment = m["sentiment"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&sentiment));
            assert_eq!(m["timestamp"].as_str().unwrap().len(), "2025-01-01 10:00:00".len());
        }
        let archived: Vec<serde_json::Value> =
            std::fs::read_to_string(&archive).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(archived, messages);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
