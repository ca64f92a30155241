use std::fs::File;
use std::io::BufReader;
use std::time::Duration;

use buzz_sdk::{Output, Poll, Source, StageError};

use crate::row_json::RowEncoder;
use crate::settings::{ColumnType, CsvReplaySettings};

/// Replays a CSV file row by row.
pub struct CsvReplay {
    settings: CsvReplaySettings,
    reader: csv::Reader<BufReader<File>>,
    encoder: RowEncoder,
    row: csv::ByteRecord,
    scratch: Vec<u8>,
    /// Rows handed on (or dead-lettered) in the current loop.
    position: u64,
    /// Loops finished so far.
    loops_done: u64,
    /// `row` holds the next row, read ahead but not sent yet.
    ahead: bool,
}

impl CsvReplay {
    fn open(settings: &CsvReplaySettings) -> Result<(csv::Reader<BufReader<File>>, RowEncoder), StageError> {
        let file = File::open(&settings.path).map_err(|e| {
            StageError::setting(
                "path",
                format!("cannot open CSV file {:?}: {e}; check the path (relative paths start at the directory buzz runs in)", settings.path),
            )
        })?;
        let delimiter = match settings.delimiter.as_bytes() {
            [d] => *d,
            _ => {
                return Err(StageError::setting(
                    "delimiter",
                    "must be exactly one ASCII character, such as \",\" or \";\"",
                ));
            }
        };
        let mut reader =
            csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(BufReader::new(file));
        let headers = reader
            .byte_headers()
            .map_err(|e| {
                StageError::setting("path", format!("cannot read the header row of {:?}: {e}", settings.path))
            })?
            .clone();
        let names: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
        for column in &settings.required {
            if !names.contains(column) {
                return Err(StageError::setting(
                    "required",
                    format!("{:?} has no column {column:?}; its header has: {}", settings.path, names.join(", ")),
                ));
            }
        }
        for column in settings.types.keys() {
            if !names.contains(column) {
                return Err(StageError::setting(
                    "types",
                    format!("{:?} has no column {column:?}; its header has: {}", settings.path, names.join(", ")),
                ));
            }
        }
        let encoder = RowEncoder::new(&headers, |name| settings.types.get(name).copied().unwrap_or(ColumnType::Auto));
        Ok((reader, encoder))
    }

    /// Makes sure `self.row` holds a row not yet sent; false at the end.
    fn fill(&mut self) -> Result<bool, String> {
        if !self.ahead {
            self.ahead = self.next_row()?;
        }
        Ok(self.ahead)
    }

    fn send_row(&mut self, out: &mut Output) {
        self.ahead = false;
        self.position += 1;
        self.scratch.clear();
        if let Err(reason) = self.encoder.encode(&self.row, &mut self.scratch) {
            let line = self.row.position().map_or(0, |p| p.line());
            let delimiter = [self.settings.delimiter.as_bytes()[0]];
            let raw = self.row.iter().collect::<Vec<_>>().join(&delimiter[..]);
            out.dead_letter(&raw, format!("{}:{line}: {reason}", self.settings.path));
        } else {
            out.emit_with(&self.scratch, None, None);
        }
    }

    /// Reads the next row, starting the next loop at the end of the file.
    /// `Ok(false)` when every loop is done.
    fn next_row(&mut self) -> Result<bool, String> {
        loop {
            match self.reader.read_byte_record(&mut self.row) {
                Ok(true) => return Ok(true),
                Ok(false) => {
                    self.loops_done += 1;
                    if self.settings.loops != 0 && self.loops_done >= self.settings.loops {
                        return Ok(false);
                    }
                    let (reader, _) = Self::open(&self.settings).map_err(|e| e.to_string())?;
                    self.reader = reader;
                    self.position = 0;
                    if self.encoder.columns() == 0 {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(format!("cannot read {:?}: {e}", self.settings.path)),
            }
        }
    }
}

impl Source for CsvReplay {
    const TYPE: &'static str = "csv_replay";
    const DESCRIPTION: &'static str = "Replays the rows of a CSV file as JSON objects keyed by the header row.";
    type Settings = CsvReplaySettings;

    fn new(settings: CsvReplaySettings) -> Result<Self, StageError> {
        let (reader, encoder) = Self::open(&settings)?;
        Ok(CsvReplay {
            settings,
            reader,
            encoder,
            row: csv::ByteRecord::new(),
            scratch: Vec::new(),
            position: 0,
            loops_done: 0,
            ahead: false,
        })
    }

    fn poll(&mut self, max: usize, out: &mut Output) -> Result<Poll, String> {
        let paced = self.settings.interval_ms > 0;
        let budget = if paced { 1 } else { max.max(1) };
        for _ in 0..budget {
            if !self.fill()? {
                return Ok(Poll::Done);
            }
            self.send_row(out);
        }
        // Look ahead so the end of the file is reported with the last row,
        // not one interval later.
        if !self.fill()? {
            return Ok(Poll::Done);
        }
        Ok(if paced { Poll::Wait(Duration::from_millis(self.settings.interval_ms)) } else { Poll::Ready })
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "row": self.position, "loop": self.loops_done }))
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let row = state["row"].as_u64().unwrap_or(0);
        self.loops_done = state["loop"].as_u64().unwrap_or(0);
        for _ in 0..row {
            if !self.next_row()? {
                break;
            }
        }
        self.position = row;
        self.ahead = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use buzz_sdk::testing::TestStage;
    use serde_json::json;

    use super::*;

    fn csv_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    fn stage(file: &tempfile::NamedTempFile, extra: serde_json::Value) -> Result<TestStage, StageError> {
        let mut settings = json!({ "path": file.path(), "interval_ms": 0 });
        settings.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        TestStage::source::<CsvReplay>(settings)
    }

    #[test]
    fn rows_become_json_objects_with_numbers_typed() {
        let file = csv_file("timestamp,temperature\n2025-01-01 10:00:00,70.4\n2025-01-01 10:01:00,71\n");
        let out = stage(&file, json!({})).unwrap().drain(100).unwrap();
        assert_eq!(
            out.json(),
            vec![
                json!({"timestamp": "2025-01-01 10:00:00", "temperature": 70.4}),
                json!({"timestamp": "2025-01-01 10:01:00", "temperature": 71}),
            ]
        );
        assert!(out.rejects.is_empty());
    }

    #[test]
    fn paced_source_sends_one_row_per_poll_and_reports_the_end_with_the_last() {
        let file = csv_file("a\n1\n2\n");
        let mut stage = stage(&file, json!({"interval_ms": 50})).unwrap();
        let (first, poll) = stage.poll(10).unwrap();
        assert_eq!(first.records.len(), 1);
        assert_eq!(poll, Poll::Wait(Duration::from_millis(50)));
        let (second, poll) = stage.poll(10).unwrap();
        assert_eq!(second.json(), vec![json!({"a": 2})]);
        assert_eq!(poll, Poll::Done);
    }

    #[test]
    fn ragged_rows_and_bad_numbers_go_to_dead_letters() {
        let file = csv_file("t,temp\n1,70.1\n2\n3,warm\n4,70.3\n");
        let out = stage(&file, json!({"types": {"temp": "number"}})).unwrap().drain(100).unwrap();
        assert_eq!(out.records.len(), 2);
        assert_eq!(out.rejects.len(), 2);
        assert!(out.rejects[0].reason.contains("row has 1 fields, the header has 2"), "{:?}", out.rejects[0]);
        assert_eq!(out.rejects[0].payload.as_deref(), Some(&b"2"[..]));
        assert!(out.rejects[1].reason.contains("column temp: \"warm\" is not a number"), "{:?}", out.rejects[1]);
        assert!(out.rejects[1].reason.contains(":4:"), "names the line: {:?}", out.rejects[1]);
    }

    #[test]
    fn missing_required_column_and_missing_file_name_the_setting() {
        let file = csv_file("timestamp,temp\n1,2\n");
        let err = stage(&file, json!({"required": ["temperature"]})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("required"));
        assert!(err.message.contains("no column \"temperature\""), "{}", err.message);

        let err = TestStage::source::<CsvReplay>(json!({"path": "/nonexistent/x.csv"})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("path"));
    }

    #[test]
    fn loops_replay_the_file_and_state_resumes_mid_file() {
        let file = csv_file("n\n1\n2\n3\n");
        let out = stage(&file, json!({"loops": 2})).unwrap().drain(100).unwrap();
        assert_eq!(out.records.len(), 6);

        let mut first = stage(&file, json!({})).unwrap();
        let (batch, _) = first.poll(2).unwrap();
        assert_eq!(batch.records.len(), 2);
        let state = first.save_state().unwrap();
        let mut resumed = stage(&file, json!({})).unwrap();
        resumed.restore_state(state).unwrap();
        assert_eq!(resumed.drain(100).unwrap().json(), vec![json!({"n": 3})]);
    }
}
