//! A JSON-lines copy of everything the catalogue source made, so a run's
//! catalogue can be kept, replayed or checked against the chart.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use buzz_sdk::StageError;
use serde::Serialize;

pub struct Archive {
    path: String,
    out: BufWriter<File>,
}

impl Archive {
    /// Opens `path` for appending (a rebuilt stage after a hot reload must
    /// not wipe what the old one wrote), making its folder if needed.
    pub fn open(path: &str) -> Result<Archive, StageError> {
        let folder = Path::new(path).parent().filter(|f| !f.as_os_str().is_empty());
        if let Some(folder) = folder {
            std::fs::create_dir_all(folder)
                .map_err(|e| StageError::setting("archive_path", format!("cannot make {}: {e}", folder.display())))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| StageError::setting("archive_path", format!("cannot append to {path}: {e}")))?;
        Ok(Archive { path: path.to_string(), out: BufWriter::new(file) })
    }

    pub fn write(&mut self, item: &impl Serialize) -> Result<(), String> {
        serde_json::to_writer(&mut self.out, item)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| format!("cannot write to the archive {}: {e}", self.path))
    }

    /// Called after every poll, so the file is complete whenever the
    /// records it holds have been sent on.
    pub fn flush(&mut self) -> Result<(), String> {
        self.out.flush().map_err(|e| format!("cannot write to the archive {}: {e}", self.path))
    }
}
