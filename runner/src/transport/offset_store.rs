//! A consumer's saved position in a file transport, written atomically.

use std::path::{Path, PathBuf};

use crate::chart_output::write_atomic;

pub struct OffsetStore {
    path: PathBuf,
}

impl OffsetStore {
    /// `<data file>.<group>.offset` beside the data file.
    pub fn for_file(data: &Path, group: &str) -> Self {
        let mut name = data.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(format!(".{group}.offset"));
        OffsetStore { path: data.with_file_name(name) }
    }

    pub fn load(&self) -> Option<u64> {
        std::fs::read_to_string(&self.path).ok()?.trim().parse().ok()
    }

    pub fn save(&self, offset: u64) -> std::io::Result<()> {
        write_atomic(&self.path, offset.to_string().as_bytes())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
