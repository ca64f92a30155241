//! The file transport: the producer appends one JSON record per line; the
//! consumer tails the file from its checkpoint, so a consumer started late
//! (or restarted, or killed) misses nothing and counts nothing twice.
//!
//! A file replaced under a consumer (deleted and written again, rotated,
//! truncated) is read again from its beginning, as `tail -F` does.
//!
//! Checkpoints live beside the file: `<file>.<group>.checkpoint` holds the
//! consumer's state, the byte offset it stands for and which file that
//! offset is in, and `<file>.source.checkpoint` the source's position with
//! the file's length when it was saved. Both are replaced atomically and
//! fsynced.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::long_line::LongLine;
use super::read_positions::{self, ReadPosition};
use super::{
    EndMark, Lag, Position, RecordBatch, SendProgress, TransportError, TransportReader, TransportState,
    TransportWriter, Unread,
};
use crate::config::{FileTransport, Fsync, StartAt};
use crate::plugin_host::RecordView;
use crate::state::{self, FORMAT_VERSION, SavedState, SourceCheckpoint, StageState, TaskCheckpoint};

/// Bytes read from the file per system call.
const READ_CHUNK: usize = 256 * 1024;

fn io_error(action: &str, path: &Path, e: std::io::Error) -> TransportError {
    TransportError(format!("cannot {action} {}: {e}", path.display()))
}

/// Appends records to the file.
pub struct FileWriter {
    path: PathBuf,
    file: File,
    fsync: Fsync,
    /// When the lines written since were last forced to disk.
    synced_at: Instant,
    buffer: Vec<u8>,
    /// Records a resumed source sends again that the last run had already
    /// written after its checkpoint: skipped, not written twice.
    skip: u64,
}

/// `<file><suffix>` beside the file.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Where the source's checkpoint of a file transport lives.
pub fn source_checkpoint_path(path: &Path) -> PathBuf {
    beside(path, ".source.checkpoint")
}

/// Where a consumer group's checkpoint of a file transport lives.
pub fn checkpoint_path(path: &Path, group: &str) -> PathBuf {
    beside(path, &format!(".{group}.checkpoint"))
}

/// Line ends in `file` from `from` to its end, and where the last one ends.
fn count_lines_after(file: &mut File, from: u64) -> std::io::Result<(u64, u64)> {
    file.seek(SeekFrom::Start(from))?;
    let (mut lines, mut last_end, mut offset) = (0, from, from);
    let mut chunk = vec![0; READ_CHUNK];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            return Ok((lines, last_end));
        }
        for (i, _) in chunk[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            lines += 1;
            last_end = offset + i as u64 + 1;
        }
        offset += n as u64;
    }
}

impl FileWriter {
    pub fn open(path: &Path, fsync: Fsync) -> Result<Self, TransportError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error("create folder", dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_error("open for appending", path, e))?;
        Ok(FileWriter { path: path.to_path_buf(), file, fsync, synced_at: Instant::now(), buffer: Vec::new(), skip: 0 })
    }

    /// Forces the lines written so far to disk.
    fn sync(&mut self) -> Result<(), TransportError> {
        self.file.sync_data().map_err(|e| io_error("sync", &self.path, e))?;
        self.synced_at = Instant::now();
        Ok(())
    }

    /// Syncs when the policy says it is time.
    fn sync_by_policy(&mut self) -> Result<(), TransportError> {
        match self.fsync {
            Fsync::Always => self.sync(),
            Fsync::Interval(every) if self.synced_at.elapsed() >= every => self.sync(),
            Fsync::Interval(_) | Fsync::Never => Ok(()),
        }
    }

    fn len(&self) -> Result<u64, TransportError> {
        Ok(self.file.metadata().map_err(|e| io_error("inspect", &self.path, e))?.len())
    }

    /// A file whose last line has no end (a producer died while writing
    /// it) gets one, so the fragment is read (and dead-lettered) alone
    /// instead of glued to the next record.
    fn end_torn_line(&mut self) -> Result<(), TransportError> {
        let len = self.len()?;
        if len == 0 {
            return Ok(());
        }
        let mut last = [0u8];
        let mut reader = File::open(&self.path).map_err(|e| io_error("open", &self.path, e))?;
        reader
            .seek(SeekFrom::Start(len - 1))
            .and_then(|_| reader.read_exact(&mut last))
            .map_err(|e| io_error("read", &self.path, e))?;
        if last[0] != b'\n' {
            tracing::warn!(file = %self.path.display(), "{} ends in a partial line (a producer stopped mid-write); ending it so it stands alone", self.path.display());
            self.file.write_all(b"\n").map_err(|e| io_error("append to", &self.path, e))?;
        }
        Ok(())
    }

    /// Skips what the last run wrote after its checkpoint: its complete
    /// lines are counted (the resumed source sends them again, to be
    /// skipped) and a torn last line, which that source will send again
    /// whole, is cut off. Only bytes after the checkpoint are touched, and
    /// no consumer has read past the last line end.
    fn skip_after(&mut self, written: u64) -> Result<bool, TransportError> {
        let len = self.len()?;
        if len < written {
            tracing::warn!(file = %self.path.display(), "{} is shorter ({len} bytes) than when the source was checkpointed ({written}): it was replaced, so the source starts from its beginning", self.path.display());
            return Ok(false);
        }
        let mut reader = File::open(&self.path).map_err(|e| io_error("open", &self.path, e))?;
        let (lines, last_end) = count_lines_after(&mut reader, written).map_err(|e| io_error("read", &self.path, e))?;
        if last_end < len {
            tracing::warn!(file = %self.path.display(), "removing a partial last line of {} bytes (the producer stopped mid-write; the record is sent again whole)", len - last_end);
            self.file.set_len(last_end).map_err(|e| io_error("truncate", &self.path, e))?;
        }
        if lines > 0 {
            tracing::info!(file = %self.path.display(), "the source resumes from its checkpoint; its first {lines} records are already in the file and are not written again");
        }
        self.skip = lines;
        Ok(true)
    }
}

impl TransportWriter for FileWriter {
    fn send(&mut self, records: &[RecordView<'_>], progress: &mut SendProgress) -> Result<(), TransportError> {
        self.buffer.clear();
        let (mut rejected, mut skip) = (Vec::new(), self.skip);
        for (i, record) in records.iter().enumerate().skip(progress.taken) {
            let payload = record.payload;
            if payload.contains(&b'\n') {
                rejected
                    .push((i, "record contains a line break; the file transport carries one record per line".into()));
            } else if payload.trim_ascii().is_empty() {
                rejected.push((i, "record is empty".into()));
            } else if skip > 0 {
                skip -= 1;
            } else {
                self.buffer.extend_from_slice(payload);
                self.buffer.push(b'\n');
            }
        }
        // One write per batch: with O_APPEND, lines of concurrent producers
        // do not interleave. The batch is taken whole or not at all.
        self.file.write_all(&self.buffer).map_err(|e| io_error("append to", &self.path, e))?;
        self.skip = skip;
        progress.rejected.append(&mut rejected);
        progress.taken = records.len();
        // After the batch is taken: a failed sync is retried by the next
        // send (or checkpoint), never by writing the batch again.
        self.sync_by_policy()
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.file.flush().map_err(|e| io_error("flush", &self.path, e))
    }

    fn end_mark(&self) -> EndMark {
        EndMark::File(self.file.metadata().map(|m| m.len()).unwrap_or(0))
    }

    fn unread(&self) -> Option<Unread> {
        let read_to = read_positions::read_to(&self.path)?;
        Some(Unread { records: 0, bytes: self.len().ok()?.saturating_sub(read_to) })
    }

    fn resume_source(
        &mut self,
        source_type: &str,
        meaning: &Option<Value>,
    ) -> Result<Option<SavedState>, TransportError> {
        let path = source_checkpoint_path(&self.path);
        let saved = state::read_json(&path, SourceCheckpoint::decode).map_err(TransportError)?;
        let Some(saved) = saved.filter(|s| s.source.describes(source_type, meaning)) else {
            self.end_torn_line()?;
            return Ok(None);
        };
        let written = saved.transport["length"].as_u64().unwrap_or(0);
        if !self.skip_after(written)? {
            self.end_torn_line()?;
            return Ok(None);
        }
        Ok(saved.source.state)
    }

    fn checkpoint_source(&mut self, source: StageState) -> Result<(), TransportError> {
        if self.skip > 0 {
            // The file is ahead of the source until the skipping is done:
            // the previous checkpoint still stands for both.
            return Ok(());
        }
        // The lines the checkpoint counts must be on disk before it is.
        self.sync()?;
        let checkpoint = SourceCheckpoint {
            format: FORMAT_VERSION,
            source,
            transport: json!({ "length": self.len()? }),
            saved_at_ms: state::now_ms(),
        };
        let path = source_checkpoint_path(&self.path);
        let bytes = serde_json::to_vec(&checkpoint).expect("checkpoints encode");
        state::write_durable(&path, &bytes).map_err(|e| io_error("save the source checkpoint to", &path, e))
    }
}

/// Bytes before a checkpoint's position that it records a hash of.
const FINGERPRINT_BYTES: u64 = 4096;

/// Which file a file checkpoint's position is in (Unix only). ext4 gives a
/// file made after a deletion the deleted file's inode at once, so device
/// and inode alone do not tell a restarted consumer that its file was
/// replaced: the creation time (where the file system keeps one) and a
/// hash of the bytes before the position do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    /// Nanoseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    born: Option<u128>,
    /// FNV-1a of the bytes (up to [`FINGERPRINT_BYTES`]) before the position.
    before: String,
}

/// Device and inode of an open file or a path, as `tail -F` compares them.
fn device_and_inode(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

impl FileIdentity {
    /// `file`'s identity with the bytes before `next`.
    fn of(file: &File, next: u64) -> std::io::Result<Option<FileIdentity>> {
        let meta = file.metadata()?;
        let Some((dev, ino)) = device_and_inode(&meta) else { return Ok(None) };
        let born = meta.created().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos());
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let from = next.saturating_sub(FINGERPRINT_BYTES);
            let mut bytes = vec![0; (next - from) as usize];
            // At an offset: the reader's own position stays where it is.
            file.read_exact_at(&mut bytes, from)?;
            let hash =
                bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
            Ok(Some(FileIdentity { dev, ino, born, before: format!("{hash:016x}") }))
        }
        #[cfg(not(unix))]
        {
            let _ = (dev, ino, born, next);
            Ok(None)
        }
    }
}

/// Why `file` (`len` bytes) is not the file `saved` was taken of, if it is not.
fn replaced_since(saved: &TaskCheckpoint, file: &File, len: u64) -> Option<String> {
    let next = saved.next as u64;
    if len < next {
        return Some(format!("is shorter ({len} bytes) than its checkpoint's position ({next})"));
    }
    // A checkpoint from before identities were kept (or `buzz reset`'s) has none.
    let then: FileIdentity = serde_json::from_value(saved.input.clone()?).ok()?;
    let now = FileIdentity::of(file, next).ok()??;
    if (then.dev, then.ino) != (now.dev, now.ino) {
        Some(format!(
            "is another file than at its checkpoint (device and inode {}:{}, not {}:{})",
            now.dev, now.ino, then.dev, then.ino
        ))
    } else if then.born.zip(now.born).is_some_and(|(then, now)| then != now) {
        Some("is another file than at its checkpoint (created since, with the old one's inode)".into())
    } else if then.before != now.before {
        Some("holds other bytes before its checkpoint's position (a new file that got the old one's inode)".into())
    } else {
        None
    }
}

/// Tails the file from the checkpoint.
pub struct FileReader {
    path: PathBuf,
    file: Option<File>,
    checkpoint_path: PathBuf,
    /// The checkpoint found at open, until the file is opened.
    saved: Option<TaskCheckpoint>,
    /// The checkpoint reading resumed from, until the consumer takes it.
    restored: Option<TaskCheckpoint>,
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
    /// Device and inode of the open file: another file at the path replaced it.
    identity: Option<(u64, u64)>,
    state: TransportState,
    /// Longer lines are skipped, not buffered (`max_record_bytes`).
    max_line: u64,
    /// The line being skipped, whose end is not read yet.
    long_line: Option<LongLine>,
    /// `committed`, for a producer of this file in this process.
    read_to: ReadPosition,
}

impl FileReader {
    pub fn open(spec: &FileTransport) -> Result<Self, TransportError> {
        let checkpoint_path = checkpoint_path(&spec.path, &spec.group);
        let saved = state::read_json(&checkpoint_path, TaskCheckpoint::decode).map_err(TransportError)?;
        let mut reader = FileReader {
            path: spec.path.clone(),
            file: None,
            checkpoint_path,
            saved,
            restored: None,
            start: spec.start,
            poll: spec.poll,
            buffer: Vec::new(),
            cursor: 0,
            buffer_offset: 0,
            pending: 0,
            committed: 0,
            identity: None,
            state: TransportState::Waiting(format!("waiting for {} to appear", spec.path.display())),
            max_line: u64::MAX,
            long_line: None,
            read_to: ReadPosition::register(&spec.path),
        };
        reader.try_open()?;
        Ok(reader)
    }

    /// Opens the file once it exists and seeks to where this consumer starts.
    fn try_open(&mut self) -> Result<bool, TransportError> {
        if self.file.is_some() {
            return Ok(true);
        }
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error("open", &self.path, e)),
        };
        let len = file.metadata().map_err(|e| io_error("inspect", &self.path, e))?.len();
        let start = match self.saved.take() {
            Some(saved) => match replaced_since(&saved, &file, len) {
                None => {
                    let next = saved.next as u64;
                    self.restored = Some(saved);
                    next
                }
                Some(why) => {
                    // The old file's records are in the state; the new
                    // file's are added to them.
                    tracing::warn!(
                        file = %self.path.display(),
                        "{} {why}: it was replaced, so reading starts from its beginning; the chart keeps what it had",
                        self.path.display()
                    );
                    self.restored = Some(TaskCheckpoint { next: 0, input: None, ..saved });
                    0
                }
            },
            None => match self.start {
                StartAt::Beginning => 0,
                StartAt::End => len,
            },
        };
        self.start_reading(file, start)?;
        Ok(true)
    }

    /// Reads `file` from `start` on.
    fn start_reading(&mut self, mut file: File, start: u64) -> Result<(), TransportError> {
        file.seek(SeekFrom::Start(start)).map_err(|e| io_error("seek in", &self.path, e))?;
        tracing::info!(file = %self.path.display(), offset = start, "reading file transport");
        self.identity = file.metadata().ok().as_ref().and_then(device_and_inode);
        self.file = Some(file);
        self.buffer.clear();
        self.cursor = 0;
        self.buffer_offset = start;
        self.pending = start;
        self.committed = start;
        self.long_line = None;
        self.read_to.set(start);
        self.state = TransportState::Connected;
        Ok(())
    }

    /// As `tail -F` does: once the open file is read to its end, a file now
    /// at its path with another device or inode (it was deleted and
    /// written again, or rotated) is read from its start. An unfinished
    /// last line of the old file will never be finished: it goes into
    /// `batch` alone. True if it switched.
    fn follow_new_file(&mut self, batch: &mut RecordBatch) -> Result<bool, TransportError> {
        let Some(open) = self.identity else { return Ok(false) };
        // No file at the path (deleted, not yet written again): wait for one.
        let Ok(now) = std::fs::metadata(&self.path) else { return Ok(false) };
        if device_and_inode(&now) == Some(open) {
            return Ok(false);
        }
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error("open", &self.path, e)),
        };
        let rest = &self.buffer[self.cursor..];
        if let Some(long) = self.long_line.take() {
            long.refuse_into(batch, self.max_line);
        } else if !rest.trim_ascii().is_empty() {
            batch.push_payload(rest, Position::File { offset: self.buffer_offset + self.cursor as u64 });
        }
        tracing::warn!(
            file = %self.path.display(),
            "{} is another file now (device and inode differ: it was replaced or rotated); reading the new one from its beginning, the chart keeps what it had",
            self.path.display()
        );
        self.start_reading(file, 0)?;
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
        if len < end && len >= self.pending {
            // Only an unfinished last line was cut (a restarted producer
            // removes the one its killed predecessor left): read on from
            // its start, which every byte before it in the buffer precedes.
            file.seek(SeekFrom::Start(self.pending)).map_err(|e| io_error("seek in", &self.path, e))?;
            self.buffer.clear();
            self.cursor = 0;
            self.buffer_offset = self.pending;
            self.long_line = None;
            return Ok(0);
        }
        if len < end {
            tracing::warn!(file = %self.path.display(), "{} was truncated; reading starts again from its beginning", self.path.display());
            file.seek(SeekFrom::Start(0)).map_err(|e| io_error("seek in", &self.path, e))?;
            self.buffer.clear();
            self.cursor = 0;
            self.buffer_offset = 0;
            self.pending = 0;
            self.committed = 0;
            self.read_to.set(0);
            self.long_line = None;
            return Ok(0);
        }
        let old = self.buffer.len();
        self.buffer.resize(old + READ_CHUNK, 0);
        let n = file.read(&mut self.buffer[old..]).map_err(|e| io_error("read", &self.path, e))?;
        self.buffer.truncate(old + n);
        Ok(n)
    }

    /// Moves complete lines from the buffer into the batch. A line over
    /// `max_line` is skipped as it is read (the buffer then holds at most
    /// `max_line` and a read chunk) and refused once its end is found; the
    /// position stays at its start until then.
    fn take_lines(&mut self, batch: &mut RecordBatch, max: usize) {
        while batch.len() < max {
            let rest = &self.buffer[self.cursor..];
            let line_offset = self.buffer_offset + self.cursor as u64;
            let found = rest.iter().position(|&b| b == b'\n');
            let newline = match (&mut self.long_line, found) {
                (Some(long), None) => {
                    long.skipped(rest.len());
                    self.cursor = self.buffer.len();
                    break;
                }
                (Some(long), Some(newline)) => {
                    long.skipped(newline);
                    self.long_line.take().expect("skipping").refuse_into(batch, self.max_line);
                    newline
                }
                (None, None) => {
                    if rest.len() as u64 > self.max_line {
                        self.long_line = Some(LongLine::new(line_offset, rest));
                        self.cursor = self.buffer.len();
                    }
                    break;
                }
                (None, Some(newline)) => {
                    let mut line = &rest[..newline];
                    if line.last() == Some(&b'\r') {
                        line = &line[..line.len() - 1];
                    }
                    if line.len() as u64 > self.max_line {
                        LongLine::new(line_offset, line).refuse_into(batch, self.max_line);
                    } else if !line.trim_ascii().is_empty() {
                        batch.push_payload(line, Position::File { offset: line_offset });
                    }
                    newline
                }
            };
            self.cursor += newline + 1;
            self.pending = self.buffer_offset + self.cursor as u64;
        }
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
            if self.follow_new_file(batch)? {
                if !batch.is_empty() {
                    return Ok(());
                }
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
        self.read_to.set(self.committed);
        Ok(())
    }

    fn reached(&self, mark: &EndMark) -> bool {
        match mark {
            EndMark::File(end) => self.committed >= *end,
            EndMark::Kafka(_) | EndMark::Sequence(_) => false,
        }
    }

    /// Read to the end of a file that has records: a consumer started
    /// before its producer waits for them.
    fn caught_up(&mut self) -> bool {
        let Some(file) = &self.file else { return false };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            return false;
        }
        let has_line = self.buffer[self.cursor..].contains(&b'\n');
        !has_line && self.buffer_offset + self.buffer.len() as u64 >= len && self.committed == self.pending
    }

    fn close(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    fn state(&self) -> TransportState {
        self.state.clone()
    }

    fn limit_record_bytes(&mut self, max: u64) {
        self.max_line = max;
    }

    fn lag(&self) -> Option<Lag> {
        let len = self.file.as_ref()?.metadata().ok()?.len();
        Some(Lag::Bytes(len.saturating_sub(self.committed)))
    }

    fn describe_position(&self, position: Position) -> serde_json::Value {
        match position {
            Position::File { offset } => serde_json::json!({ "file": self.path, "offset": offset }),
            other => serde_json::json!(format!("{other:?}")),
        }
    }

    fn position(&self, partition: i32) -> Option<i64> {
        (partition == 0 && self.file.is_some()).then_some(self.committed as i64)
    }

    fn take_restored(&mut self) -> Vec<TaskCheckpoint> {
        self.restored.take().into_iter().collect()
    }

    fn keeps_checkpoints(&self) -> bool {
        true
    }

    fn save_checkpoints(&mut self, checkpoints: &[TaskCheckpoint]) -> Result<(), TransportError> {
        let Some(checkpoint) = checkpoints.iter().find(|c| c.partition == 0) else { return Ok(()) };
        let mut checkpoint = checkpoint.clone();
        if let Some(file) = &self.file {
            // Which file the position is in, for a restarted consumer to check.
            let identity =
                FileIdentity::of(file, checkpoint.next as u64).map_err(|e| io_error("read", &self.path, e))?;
            checkpoint.input = identity.map(|i| serde_json::to_value(i).expect("identities encode"));
        }
        let bytes = serde_json::to_vec(&checkpoint).expect("checkpoints encode");
        state::write_durable(&self.checkpoint_path, &bytes)
            .map_err(|e| io_error("save the checkpoint to", &self.checkpoint_path, e))
    }
}

/// Follows a consumer's checkpoint file instead of reading the data
/// (`--role view`): the chart as that consumer last saved it.
pub struct CheckpointView {
    path: PathBuf,
    checkpoint_path: PathBuf,
    latest: Option<TaskCheckpoint>,
    modified: Option<std::time::SystemTime>,
}

impl CheckpointView {
    pub fn open(spec: &FileTransport) -> Self {
        CheckpointView {
            path: spec.path.clone(),
            checkpoint_path: checkpoint_path(&spec.path, &spec.group),
            latest: None,
            modified: None,
        }
    }
}

impl TransportReader for CheckpointView {
    fn read(&mut self, batch: &mut RecordBatch, _max: usize, wait: Duration) -> Result<(), TransportError> {
        batch.clear();
        std::thread::sleep(wait.min(Duration::from_millis(50)));
        Ok(())
    }

    fn commit(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    fn reached(&self, _mark: &EndMark) -> bool {
        false
    }

    fn caught_up(&mut self) -> bool {
        let len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        self.latest.as_ref().is_some_and(|c| c.next as u64 >= len)
    }

    fn close(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    fn state(&self) -> TransportState {
        match &self.latest {
            Some(_) => TransportState::Connected,
            None => TransportState::Waiting(format!("waiting for a checkpoint in {}", self.checkpoint_path.display())),
        }
    }

    fn describe_position(&self, position: Position) -> serde_json::Value {
        serde_json::json!(format!("{position:?}"))
    }

    fn poll_peers(&mut self) -> bool {
        let modified = std::fs::metadata(&self.checkpoint_path).and_then(|m| m.modified()).ok();
        if modified.is_none() || modified == self.modified {
            return false;
        }
        match state::read_json(&self.checkpoint_path, TaskCheckpoint::decode) {
            Ok(latest) => {
                self.modified = modified;
                self.latest = latest;
                true
            }
            Err(e) => {
                tracing::warn!("{e}");
                false
            }
        }
    }

    fn peer_checkpoints(&self) -> Vec<TaskCheckpoint> {
        self.latest.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(payload: &[u8]) -> RecordView<'_> {
        RecordView::bytes(payload)
    }

    fn spec(path: &Path) -> FileTransport {
        FileTransport {
            path: path.to_path_buf(),
            start: StartAt::Beginning,
            group: "test".into(),
            poll: Duration::from_millis(5),
            fsync: Fsync::Interval(Duration::from_secs(1)),
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
        let mut writer = FileWriter::open(&path, Fsync::Never).unwrap();
        let payloads: Vec<Vec<u8>> = (0..10).map(|i| format!("{{\"n\":{i}}}").into_bytes()).collect();
        let records: Vec<_> = payloads.iter().map(|p| record(p)).collect();
        let mut progress = SendProgress::default();
        writer.send(&records, &mut progress).unwrap();
        assert!(progress.rejected.is_empty());
        let mut reader = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut reader).len(), 10);
        assert!(reader.reached(&writer.end_mark()));
        assert!(reader.caught_up());
    }

    #[test]
    fn a_restarted_consumer_continues_at_its_checkpoint_with_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"n\":1}\n{\"n\":2}\n").unwrap();
        let mut first = FileReader::open(&spec(&path)).unwrap();
        assert!(first.take_restored().is_empty());
        assert_eq!(read_all(&mut first), ["{\"n\":1}", "{\"n\":2}"]);
        let next = first.position(0).unwrap();
        let state = StageState { type_name: "count_by".into(), state: Some((&json!({"n": 2})).into()), meaning: None };
        let checkpoint = TaskCheckpoint { transform: Some(state), ..TaskCheckpoint::empty(0, next) };
        first.save_checkpoints(std::slice::from_ref(&checkpoint)).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"n\":3}\n").unwrap();
        let mut second = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut second), ["{\"n\":3}"]);
        let restored = second.take_restored();
        assert_eq!(restored.len(), 1);
        assert_eq!((restored[0].next, &restored[0].transform), (checkpoint.next, &checkpoint.transform));
    }

    #[test]
    fn a_file_replaced_under_a_reader_is_read_from_its_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"n\":1}\n{\"n\":").unwrap();
        let mut reader = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut reader), ["{\"n\":1}"]);
        // Deleted and written again: the old file's unfinished line comes
        // alone, then the new file from its start.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "{\"m\":1}\n{\"m\":2}\n").unwrap();
        assert_eq!(read_all(&mut reader), ["{\"n\":", "{\"m\":1}", "{\"m\":2}"]);
        assert_eq!(reader.position(0), Some(16));
    }

    #[test]
    fn a_consumer_restarted_on_a_replaced_file_reads_it_from_its_beginning_with_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"n\":1}\n{\"n\":2}\n").unwrap();
        let mut first = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut first).len(), 2);
        let state =
            Some(StageState { type_name: "count_by".into(), state: Some((&json!({"n": 2})).into()), meaning: None });
        let next = first.position(0).unwrap();
        first
            .save_checkpoints(&[TaskCheckpoint { transform: state.clone(), ..TaskCheckpoint::empty(0, next) }])
            .unwrap();
        drop(first);
        // A longer file in its place (on ext4, with the same inode).
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "{\"m\":1}\n{\"m\":2}\n{\"m\":3}\n").unwrap();
        let mut second = FileReader::open(&spec(&path)).unwrap();
        assert_eq!(read_all(&mut second), ["{\"m\":1}", "{\"m\":2}", "{\"m\":3}"]);
        let restored = second.take_restored();
        assert_eq!((restored[0].next, &restored[0].transform), (0, &state), "the state is kept, the position is not");
    }

    #[test]
    fn a_writer_resumed_from_its_checkpoint_skips_what_was_written_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let payloads: Vec<Vec<u8>> = (0..5).map(|i| format!("{{\"n\":{i}}}").into_bytes()).collect();
        let records: Vec<_> = payloads.iter().map(|p| record(p)).collect();
        let mut first = FileWriter::open(&path, Fsync::Never).unwrap();
        assert_eq!(first.resume_source("s", &None).unwrap(), None);
        first.send(&records[..2], &mut SendProgress::default()).unwrap();
        first
            .checkpoint_source(StageState {
                type_name: "s".into(),
                state: Some((&json!({"sent": 2})).into()),
                meaning: None,
            })
            .unwrap();
        first.send(&records[2..4], &mut SendProgress::default()).unwrap();
        // Killed mid-write: half of record 4.
        first.file.write_all(b"{\"n\"").unwrap();
        drop(first);
        let mut second = FileWriter::open(&path, Fsync::Never).unwrap();
        assert_eq!(second.resume_source("s", &None).unwrap(), Some((&json!({"sent": 2})).into()));
        second.send(&records[2..], &mut SendProgress::default()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().collect::<Vec<_>>(), ["{\"n\":0}", "{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"]);
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
    fn a_line_over_the_limit_is_skipped_as_read_and_refused_with_its_length_once_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, format!("{{\"a\":1}}\n{}", "x".repeat(3 * READ_CHUNK))).unwrap();
        let mut reader = FileReader::open(&spec(&path)).unwrap();
        reader.limit_record_bytes(2000);
        assert_eq!(read_all(&mut reader), ["{\"a\":1}"]);
        assert!(reader.buffer.capacity() <= 2 * READ_CHUNK, "the long line is not buffered");
        assert_eq!(reader.position(0), Some(8), "the position stays at the skipped line's start");
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"xx\n{\"b\":2}\n").unwrap();
        let mut batch = RecordBatch::default();
        reader.read(&mut batch, 10, Duration::from_millis(20)).unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.payload(0), "x".repeat(1024).as_bytes());
        assert_eq!(batch.position(0), Position::File { offset: 8 });
        let length = 3 * READ_CHUNK + 2;
        assert_eq!(
            batch.refusal(0).unwrap(),
            format!(
                "line is {length} bytes, more than max_record_bytes (2000); skipped (its first 1024 bytes are kept here)"
            )
        );
        assert_eq!((batch.payload(1), batch.refusal(1)), (&b"{\"b\":2}"[..], None));
    }

    #[test]
    fn records_with_line_breaks_are_refused_by_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = FileWriter::open(&dir.path().join("t.jsonl"), Fsync::Never).unwrap();
        let mut progress = SendProgress::default();
        writer.send(&[record(b"{\"a\":\n1}"), record(b"{}")], &mut progress).unwrap();
        assert_eq!(progress.rejected.len(), 1);
        assert_eq!(progress.rejected[0].0, 0);
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
