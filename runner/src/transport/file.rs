//! The file transport: the producer appends one JSON record per line; the
//! consumer tails the file from its saved position, so a consumer started
//! late (or restarted) misses nothing and counts nothing twice.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use buzz_sdk::abi::FfiRecord;

use super::offset_store::OffsetStore;
use super::{EndMark, Position, RecordBatch, TransportError, TransportReader, TransportState, TransportWriter};
use crate::config::{FileTransport, StartAt};

/// How often a consumer's position is saved while it runs (and always on close).
const SAVE_EVERY: Duration = Duration::from_millis(200);
/// Bytes read from the file per system call.
const READ_CHUNK: usize = 256 * 1024;

fn io_error(action: &str, path: &Path, e: std::io::Error) -> TransportError {
    TransportError(format!("cannot {action} {}: {e}", path.display()))
}

/// Appends records to the file.
pub struct FileWriter {
    path: PathBuf,
    file: File,
    buffer: Vec<u8>,
}

impl FileWriter {
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error("create folder", dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_error("open for appending", path, e))?;
        Ok(FileWriter { path: path.to_path_buf(), file, buffer: Vec::new() })
    }
}

impl TransportWriter for FileWriter {
    fn send(&mut self, records: &[FfiRecord], rejected: &mut Vec<(usize, String)>) -> Result<(), TransportError> {
        self.buffer.clear();
        for (i, record) in records.iter().enumerate() {
            // SAFETY: records come from a live plugin output.
            let payload = unsafe { record.payload.as_bytes() };
            if payload.contains(&b'\n') {
                rejected
                    .push((i, "record contains a line break; the file transport carries one record per line".into()));
            } else if payload.trim_ascii().is_empty() {
                rejected.push((i, "record is empty".into()));
            } else {
                self.buffer.extend_from_slice(payload);
                self.buffer.push(b'\n');
            }
        }
        // One write per batch: with O_APPEND, lines of concurrent producers
        // do not interleave.
        self.file.write_all(&self.buffer).map_err(|e| io_error("append to", &self.path, e))
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.file.flush().map_err(|e| io_error("flush", &self.path, e))
    }

    fn end_mark(&self) -> EndMark {
        EndMark::File(self.file.metadata().map(|m| m.len()).unwrap_or(0))
    }
}

/// Tails the file from the saved position.
pub struct FileReader {
    path: PathBuf,
    file: Option<File>,
    store: OffsetStore,
    start: StartAt,
    poll: Duration,
    /// Bytes read but not yet turned into records; `buffer[cursor..]` is
    /// unconsumed and starts at file offset `buffer_offset`.
    buffer: Vec<u8>,
    cursor: usize,
    buffer_offset: u64,
    /// Offset just after the last record handed out by `read`.
    pending: u64,
    /// Offset just after the last committed record.
    committed: u64,
    saved: u64,
    last_save: Instant,
    state: TransportState,
}

impl FileReader {
    pub fn open(spec: &FileTransport) -> Result<Self, TransportError> {
        let store = OffsetStore::for_file(&spec.path, &spec.group);
        let mut reader = FileReader {
            path: spec.path.clone(),
            file: None,
            store,
            start: spec.start,
            poll: spec.poll,
            buffer: Vec::new(),
            cursor: 0,
            buffer_offset: 0,
            pending: 0,
            committed: 0,
            saved: 0,
            last_save: Instant::now(),
            state: TransportState::Waiting(format!("waiting for {} to appear", spec.path.display())),
        };
        reader.try_open()?;
        Ok(reader)
    }

    /// Opens the file once it exists and seeks to where this consumer starts.
    fn try_open(&mut self) -> Result<bool, TransportError> {
        if self.file.is_some() {
            return Ok(true);
        }
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error("open", &self.path, e)),
        };
        let len = file.metadata().map_err(|e| io_error("inspect", &self.path, e))?.len();
        let start = match self.store.load() {
            Some(saved) if saved <= len => saved,
            Some(saved) => {
                tracing::warn!(
                    file = %self.path.display(),
                    "{} is shorter ({len} bytes) than the saved position ({saved}); it was replaced, so reading starts from its beginning",
                    self.path.display()
                );
                0
            }
            None => match self.start {
                StartAt::Beginning => 0,
                StartAt::End => len,
            },
        };
        file.seek(SeekFrom::Start(start)).map_err(|e| io_error("seek in", &self.path, e))?;
        tracing::info!(file = %self.path.display(), offset = start, "reading file transport");
        self.file = Some(file);
        self.buffer_offset = start;
        self.pending = start;
        self.committed = start;
        self.saved = start;
        self.state = TransportState::Connected;
        Ok(true)
    }

    /// Reads more bytes; 0 when there are none yet.
    fn read_more(&mut self) -> Result<usize, TransportError> {
        if !self.try_open()? {
            return Ok(0);
        }
        if self.cursor > 0 && self.cursor * 2 >= self.buffer.len() {
            self.buffer.drain(..self.cursor);
            self.buffer_offset += self.cursor as u64;
            self.cursor = 0;
        }
        let file = self.file.as_mut().expect("opened above");
        let end = self.buffer_offset + self.buffer.len() as u64;
        let len = file.metadata().map_err(|e| io_error("inspect", &self.path, e))?.len();
        if len < end {
            tracing::warn!(file = %self.path.display(), "{} was truncated; reading starts again from its beginning", self.path.display());
            file.seek(SeekFrom::Start(0)).map_err(|e| io_error("seek in", &self.path, e))?;
            self.buffer.clear();
            self.cursor = 0;
            self.buffer_offset = 0;
            self.pending = 0;
            self.committed = 0;
            return Ok(0);
        }
        let old = self.buffer.len();
        self.buffer.resize(old + READ_CHUNK, 0);
        let n = file.read(&mut self.buffer[old..]).map_err(|e| io_error("read", &self.path, e))?;
        self.buffer.truncate(old + n);
        Ok(n)
    }

    /// Moves complete lines from the buffer into the batch.
    fn take_lines(&mut self, batch: &mut RecordBatch, max: usize) {
        while batch.len() < max {
            let rest = &self.buffer[self.cursor..];
            let Some(newline) = rest.iter().position(|&b| b == b'\n') else { break };
            let line_offset = self.buffer_offset + self.cursor as u64;
            let mut line = &rest[..newline];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if !line.trim_ascii().is_empty() {
                batch.push_payload(line, Position::File { offset: line_offset });
            }
            self.cursor += newline + 1;
            self.pending = self.buffer_offset + self.cursor as u64;
        }
    }

    fn save(&mut self) -> Result<(), TransportError> {
        if self.committed != self.saved {
            self.store.save(self.committed).map_err(|e| io_error("save the read position to", self.store.path(), e))?;
            self.saved = self.committed;
        }
        self.last_save = Instant::now();
        Ok(())
    }
}

impl TransportReader for FileReader {
    fn read(&mut self, batch: &mut RecordBatch, max: usize, wait: Duration) -> Result<(), TransportError> {
        batch.clear();
        let deadline = Instant::now() + wait;
        loop {
            self.take_lines(batch, max);
            if !batch.is_empty() {
                return Ok(());
            }
            if self.read_more()? > 0 {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            std::thread::sleep(self.poll.min(deadline - now));
        }
    }

    fn commit(&mut self) -> Result<(), TransportError> {
        self.committed = self.pending;
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save()?;
        }
        Ok(())
    }

    fn reached(&self, mark: &EndMark) -> bool {
        match mark {
            EndMark::File(end) => self.committed >= *end,
            EndMark::Kafka(_) | EndMark::Sequence(_) => false,
        }
    }

    fn caught_up(&mut self) -> bool {
        let Some(file) = &self.file else { return false };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let has_line = self.buffer[self.cursor..].contains(&b'\n');
        !has_line && self.buffer_offset + self.buffer.len() as u64 >= len && self.committed == self.pending
    }

    fn close(&mut self) -> Result<(), TransportError> {
        self.save()
    }

    fn state(&self) -> TransportState {
        self.state.clone()
    }

    fn lag(&self) -> Option<String> {
        let len = self.file.as_ref()?.metadata().ok()?.len();
        Some(format!("{} bytes", len.saturating_sub(self.committed)))
    }

    fn describe_position(&self, position: Position) -> serde_json::Value {
        match position {
            Position::File { offset } => serde_json::json!({ "file": self.path, "offset": offset }),
            other => serde_json::json!(format!("{other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::abi::{FfiSlice, NO_TIMESTAMP};

    use super::*;

    fn record(payload: &[u8]) -> FfiRecord {
        FfiRecord {
            payload: FfiSlice::new(payload),
            key: FfiSlice::NONE,
            timestamp_ms: NO_TIMESTAMP,
            headers: std::ptr::null(),
            header_count: 0,
        }
    }

    fn spec(path: &Path) -> FileTransport {
        FileTransport {
            path: path.to_path_buf(),
            start: StartAt::Beginning,
            group: "test".into(),
            poll: Duration::from_millis(5),
        }
    }

    fn read_all(reader: &mut FileReader) -> Vec<String> {
        let mut batch = RecordBatch::default();
        let mut lines = Vec::new();
        loop {
            reader.read(&mut batch, 3, Duration::from_millis(20)).unwrap();
            if batch.is_empty() {
                return lines;
            }
            lines.extend((0..batch.len()).map(|i| String::from_utf8(batch.payload(i).to_vec()).unwrap()));
            reader.commit().unwrap();
        }
    }

    #[test]
    fn a_consumer_started_after_the_producer_reads_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut writer = FileWriter::open(&path).unwrap();
        let payloads: Vec<Vec<u8>> = (0..10).map(|i| format!("{{\"n\":{i}}}").into_bytes()).collect();
        let records: Vec<_> = payloads.iter().map(|p| record(p)).collect();
        let mut rejected = Vec::new();
        writer.send(&records, &mut rejected).unwrap();
        assert!(rejected.is_empty());
        let mut reader = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut reader).len(), 10);
        assert!(reader.reached(&writer.end_mark()));
        assert!(reader.caught_up());
    }

    #[test]
    fn a_restarted_consumer_continues_where_it_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"n\":1}\n{\"n\":2}\n").unwrap();
        let mut first = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut first), ["{\"n\":1}", "{\"n\":2}"]);
        first.close().unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"n\":3}\n").unwrap();
        let mut second = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut second), ["{\"n\":3}"]);
    }

    #[test]
    fn partial_lines_wait_for_their_end_and_blank_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"a\":1}\n\n{\"b\":").unwrap();
        let mut reader = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut reader), ["{\"a\":1}"]);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"2}\r\n").unwrap();
        assert_eq!(read_all(&mut reader), ["{\"b\":2}"]);
    }

    #[test]
    fn records_with_line_breaks_are_refused_by_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = FileWriter::open(&dir.path().join("t.jsonl")).unwrap();
        let mut rejected = Vec::new();
        writer.send(&[record(b"{\"a\":\n1}"), record(b"{}")], &mut rejected).unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].0, 0);
    }

    #[test]
    fn a_missing_file_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.jsonl");
        let mut reader = FileReader::open(&spec(&path)).unwrap();
        assert!(matches!(reader.state(), TransportState::Waiting(_)));
        assert!(read_all(&mut reader).is_empty());
        std::fs::write(&path, "{}\n").unwrap();
        assert_eq!(read_all(&mut reader), ["{}"]);
        assert_eq!(reader.state(), TransportState::Connected);
    }
}
