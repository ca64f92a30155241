//! The frames this plugin's charts made last, kept typed beside their
//! JSON. The runner draws a frame on its chart thread from the JSON the
//! stage wrote; parsing it back cost about half of drawing it (a smoker
//! line of 2,000 buckets and 1,000 stall markers: BENCHMARKS.md, section
//! 1). A kept frame is used only for the very bytes it was written as, so
//! a frame from elsewhere (a checkpoint, a merged view) is parsed as before.

use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

/// Frames kept: one per chart of a few branches drawn in turn.
const KEPT: usize = 4;
/// Larger frames are not kept: their copies would cost more memory than
/// their parse costs time.
const MAX_BYTES: usize = 4 << 20;

struct Kept {
    bytes: Vec<u8>,
    frame: Arc<dyn Any + Send + Sync>,
}

static FRAMES: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// Keeps `frame`, which was written as `bytes`.
pub(crate) fn keep<F: Any + Send + Sync>(bytes: &[u8], frame: F) {
    if bytes.len() > MAX_BYTES {
        return;
    }
    let mut kept = FRAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if kept.len() == KEPT {
        kept.remove(0);
    }
    kept.push(Kept { bytes: bytes.to_vec(), frame: Arc::new(frame) });
}

/// The frame of type `F` written as exactly `bytes`, if it is kept.
pub(crate) fn find<F: Any + Send + Sync>(bytes: &[u8]) -> Option<Arc<F>> {
    let kept = FRAMES.lock().unwrap_or_else(PoisonError::into_inner);
    kept.iter().rev().filter(|k| k.bytes == bytes).find_map(|k| k.frame.clone().downcast::<F>().ok())
}

/// Held by the tests that keep frames: the kept frames are the whole
/// process's, and `cargo test` runs tests on threads side by side.
#[cfg(test)]
pub(crate) static TEST_LOCK: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_found_only_for_its_own_bytes_and_type_while_it_is_among_the_latest() {
        let _alone = TEST_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        keep(b"frame-cache-test-1", 1u32);
        keep(b"frame-cache-test-2", String::from("two"));
        assert_eq!(find::<u32>(b"frame-cache-test-1").as_deref(), Some(&1));
        assert_eq!(find::<String>(b"frame-cache-test-2").as_deref().map(String::as_str), Some("two"));
        assert!(find::<u32>(b"frame-cache-test-2").is_none(), "same bytes, another type");
        assert!(find::<u32>(b"frame-cache-test-3").is_none(), "bytes never kept");

        for i in 0..KEPT as u64 {
            keep(format!("frame-cache-test-later-{i}").as_bytes(), i);
        }
        assert!(find::<u32>(b"frame-cache-test-1").is_none(), "only the latest are kept");
        assert_eq!(find::<u64>(b"frame-cache-test-later-0").as_deref(), Some(&0));
    }
}
