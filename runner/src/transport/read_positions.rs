//! How far the file transport's consumer in this process has read each
//! file, so that a producer appending to the same file in this process can
//! wait for it instead of running gigabytes ahead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Not read from yet (the file is not open).
const UNKNOWN: u64 = u64::MAX;

fn positions() -> &'static Mutex<HashMap<PathBuf, Weak<AtomicU64>>> {
    static POSITIONS: OnceLock<Mutex<HashMap<PathBuf, Weak<AtomicU64>>>> = OnceLock::new();
    POSITIONS.get_or_init(Default::default)
}

/// A reader's published position in its file; gone with the reader.
pub struct ReadPosition(Arc<AtomicU64>);

impl ReadPosition {
    pub fn register(path: &Path) -> ReadPosition {
        let position = Arc::new(AtomicU64::new(UNKNOWN));
        let mut all = positions().lock().expect("read positions poisoned");
        all.retain(|_, p| p.strong_count() > 0);
        all.insert(path.to_path_buf(), Arc::downgrade(&position));
        ReadPosition(position)
    }

    pub fn set(&self, offset: u64) {
        self.0.store(offset, Ordering::Relaxed);
    }
}

/// Where this process's consumer of `path` has read to, if one reads it.
pub fn read_to(path: &Path) -> Option<u64> {
    let all = positions().lock().expect("read positions poisoned");
    let offset = all.get(path)?.upgrade()?.load(Ordering::Relaxed);
    (offset != UNKNOWN).then_some(offset)
}
