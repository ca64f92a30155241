//! The dead-letter output: every record a stage could not handle, with the
//! original bytes, the stage, the reason and where it came from.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value as Json;

use super::dead_letter_line::{Bytes, DeadLetterLine};
use crate::config::{DeadLetterTarget, TransportSpec};
use crate::plugin_host::RecordView;
use crate::transport::{self, RecordBatch, SendProgress, TransportReader, TransportWriter};

/// One record that could not be processed.
pub struct DeadLetter<'a> {
    /// `source`, `transport`, `transform` (`transform[1]`... in a chain)
    /// or `chart`.
    pub stage: &'a str,
    pub stage_type: &'a str,
    /// The branch whose stage refused it (pipelines with named branches).
    pub branch: Option<&'a str>,
    pub reason: &'a str,
    pub panicked: bool,
    pub payload: &'a [u8],
    pub key: Option<&'a [u8]>,
    pub timestamp_ms: Option<i64>,
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
    /// Where the record sits in its transport.
    pub position: Option<Json>,
}

impl<'a> DeadLetter<'a> {
    pub fn new(stage: &'a str, stage_type: &'a str, reason: &'a str, payload: &'a [u8]) -> Self {
        DeadLetter {
            stage,
            stage_type,
            branch: None,
            reason,
            panicked: false,
            payload,
            key: None,
            timestamp_ms: None,
            headers: Vec::new(),
            position: None,
        }
    }

    pub fn in_branch(mut self, branch: Option<&'a str>) -> Self {
        self.branch = branch;
        self
    }

    pub fn panicked(mut self, panicked: bool) -> Self {
        self.panicked = panicked;
        self
    }

    /// The record's key, timestamp, headers and position, from the batch it came in.
    pub fn from_batch(mut self, batch: &'a RecordBatch, index: usize, reader: &dyn TransportReader) -> Self {
        self.key = batch.key(index);
        self.timestamp_ms = batch.timestamp_ms(index);
        self.headers = batch.headers(index).collect();
        self.position = Some(reader.describe_position(batch.position(index)));
        self
    }
}

fn borrowed(bytes: &[u8]) -> Bytes<'_> {
    Bytes(std::borrow::Cow::Borrowed(bytes))
}

/// A JSON-lines file of dead letters, created on the first one.
pub struct DeadLetters {
    pipeline: String,
    sink: Mutex<Sink>,
    count: AtomicU64,
}

impl DeadLetters {
    pub fn new(target: &DeadLetterTarget, pipeline: &str) -> Self {
        DeadLetters {
            pipeline: pipeline.to_string(),
            sink: Mutex::new(Sink { target: target.clone(), file: None, topic: None, held: Vec::new() }),
            count: AtomicU64::new(0),
        }
    }

    /// Where dead letters go, in words.
    pub fn describe(&self) -> String {
        self.sink.lock().expect("dead letters poisoned").target.describe()
    }

    /// Sends the next dead letters elsewhere (a reload changed it).
    pub fn set_target(&self, target: &DeadLetterTarget) {
        let mut sink = self.sink.lock().expect("dead letters poisoned");
        if sink.target != *target {
            sink.flush();
            // Letters the old output refused go to the new one.
            let held = std::mem::take(&mut sink.held);
            *sink = Sink { target: target.clone(), file: None, topic: None, held };
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn write(&self, letter: DeadLetter<'_>) {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = DeadLetterLine {
            time: Some(time.into()),
            pipeline: Some(self.pipeline.as_str().into()),
            stage: Some(letter.stage.into()),
            stage_type: Some(letter.stage_type.into()),
            reason: Some(letter.reason.into()),
            branch: letter.branch.map(Into::into),
            panicked: letter.panicked,
            // What the chart refused is the transform's output, which the
            // pipeline's input cannot take: `buzz replay` skips it.
            replayable: (letter.stage == "chart").then_some(false),
            key: letter.key.map(borrowed),
            timestamp_ms: letter.timestamp_ms,
            headers: letter.headers.iter().map(|&(name, value)| (borrowed(name), value.map(borrowed))).collect(),
            position: letter.position,
            ..DeadLetterLine::default()
        }
        .with_payload(letter.payload);
        self.count.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(stage = letter.stage, reason = letter.reason, "record sent to the dead letters");
        let line = serde_json::to_vec(&line).expect("dead letters encode");
        let mut sink = self.sink.lock().expect("dead letters poisoned");
        sink.held.push(line);
        if let Err(e) = sink.write_held() {
            tracing::error!(
                "cannot write dead letters to {}: {e}; {} held in memory, and the pipeline waits until they are written",
                sink.target.describe(),
                sink.held.len()
            );
        }
    }

    /// Why dead letters are held in memory (their output refused them),
    /// after one more try to write them; `None` once they are all written.
    /// A pipeline must not move past records while this says why.
    pub fn held(&self) -> Option<String> {
        let mut sink = self.sink.lock().expect("dead letters poisoned");
        // Asked after every batch: nothing to describe in the usual case.
        if sink.held.is_empty() {
            return None;
        }
        let e = sink.write_held().err()?;
        Some(format!("cannot write dead letters to {}: {e}", sink.target.describe()))
    }

    pub fn flush(&self) {
        self.sink.lock().expect("dead letters poisoned").flush();
    }

    /// Makes every dead letter so far durable (on disk, or acknowledged by
    /// the broker), before a checkpoint moves the position past them.
    pub fn sync(&self) -> Result<(), String> {
        self.sink.lock().expect("dead letters poisoned").sync()
    }
}

/// The dead-letter file or topic, opened on the first dead letter.
struct Sink {
    target: DeadLetterTarget,
    file: Option<BufWriter<File>>,
    topic: Option<Box<dyn TransportWriter>>,
    /// Letters not written yet (the output refused them), oldest first.
    held: Vec<Vec<u8>>,
}

impl Sink {
    /// Writes the held letters in order, keeping those it could not.
    fn write_held(&mut self) -> std::io::Result<()> {
        let mut lines = std::mem::take(&mut self.held).into_iter();
        while let Some(line) = lines.next() {
            if let Err(e) = self.append(&line) {
                self.held.push(line);
                self.held.extend(lines);
                return Err(e);
            }
        }
        Ok(())
    }

    fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        match &self.target {
            DeadLetterTarget::File(path) => {
                if self.file.is_none() {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)?;
                    }
                    let opened = OpenOptions::new().create(true).append(true).open(path)?;
                    self.file = Some(BufWriter::new(opened));
                }
                // The line and its newline in one write: a crash between
                // two writes would glue the next letter onto this one.
                self.file.as_mut().expect("opened above").write_all(&[line, b"\n"].concat())
            }
            DeadLetterTarget::Kafka(spec) => {
                if self.topic.is_none() {
                    let transport = TransportSpec::Kafka(spec.clone());
                    self.topic = Some(transport::open_writer(&transport).map_err(std::io::Error::other)?);
                }
                let writer = self.topic.as_mut().expect("opened above");
                let mut progress = SendProgress::default();
                writer.send(&[RecordView::bytes(line)], &mut progress).map_err(std::io::Error::other)?;
                if let Some((_, reason)) = progress.rejected.pop() {
                    // Refused for good (too large, say): holding it would
                    // stop the pipeline for ever.
                    tracing::error!(
                        "{} refused a dead letter ({reason}); it is only in this log line: {}",
                        self.target.describe(),
                        String::from_utf8_lossy(line)
                    );
                }
                Ok(())
            }
        }
    }

    fn sync(&mut self) -> Result<(), String> {
        let target = self.target.describe();
        let failed = |e: &dyn std::fmt::Display| format!("cannot save dead letters to {target}: {e}");
        self.write_held().map_err(|e| failed(&e))?;
        match (self.file.as_mut(), self.topic.as_mut()) {
            (Some(file), _) => file.flush().and_then(|_| file.get_ref().sync_data()).map_err(|e| failed(&e)),
            (_, Some(topic)) => topic.flush().map_err(|e| failed(&e)),
            _ => Ok(()),
        }
    }

    fn flush(&mut self) {
        let result = match (self.file.as_mut(), self.topic.as_mut()) {
            (Some(file), _) => file.flush().map_err(|e| e.to_string()),
            (_, Some(topic)) => topic.flush().map_err(|e| e.to_string()),
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::error!("cannot flush dead letters to {}: {e}", self.target.describe());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_letter_is_one_whole_line_and_a_chart_letter_says_it_cannot_be_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.jsonl");
        let letters = DeadLetters::new(&DeadLetterTarget::File(path.clone()), "p");
        letters.write(DeadLetter::new("transport", "file", "not JSON", b"{oops"));
        letters.write(DeadLetter::new("chart", "bar_chart", "no category", br#"{"count":1}"#));
        letters.sync().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<Json> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["payload"], "{oops");
        assert!(lines[0].get("replayable").is_none());
        assert_eq!(lines[1]["replayable"], false);
    }
}
