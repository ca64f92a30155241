//! The values the ABI's integers and JSON encode, each with its one
//! encoding and decoding.

use std::fmt;
use std::time::Duration;

use crate::{FORMAT_PNG, FORMAT_SVG, POLL_DONE, POLL_READY, POLL_WAIT};

/// The three kinds of plugin stage (`"kind"` in a plugin's description).
/// Transports belong to the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageKind {
    Source,
    Transform,
    Chart,
}

impl fmt::Display for StageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StageKind::Source => "source",
            StageKind::Transform => "transform",
            StageKind::Chart => "chart",
        })
    }
}

/// What a source says after a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Call again as soon as the records are sent on.
    Ready,
    /// Nothing more for now: call again after this long.
    Wait(Duration),
    /// Exhausted: no more records, ever.
    Done,
}

impl Poll {
    /// `FfiOutput::poll` and `FfiOutput::wait_ms`.
    pub fn to_ffi(self) -> (u32, u64) {
        match self {
            Poll::Ready => (POLL_READY, 0),
            Poll::Wait(d) => (POLL_WAIT, d.as_millis().min(u64::MAX as u128) as u64),
            Poll::Done => (POLL_DONE, 0),
        }
    }

    /// The inverse of [`Poll::to_ffi`]; an unknown code reads as ready.
    pub fn from_ffi(poll: u32, wait_ms: u64) -> Poll {
        match poll {
            POLL_DONE => Poll::Done,
            POLL_WAIT => Poll::Wait(Duration::from_millis(wait_ms)),
            _ => Poll::Ready,
        }
    }
}

/// Image formats a chart can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    pub fn to_ffi(self) -> u32 {
        match self {
            ImageFormat::Svg => FORMAT_SVG,
            ImageFormat::Png => FORMAT_PNG,
        }
    }

    pub fn from_ffi(format: u32) -> Option<ImageFormat> {
        match format {
            FORMAT_SVG => Some(ImageFormat::Svg),
            FORMAT_PNG => Some(ImageFormat::Png),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_and_formats_survive_their_encoding() {
        for poll in [Poll::Ready, Poll::Wait(Duration::from_millis(250)), Poll::Done] {
            let (code, wait_ms) = poll.to_ffi();
            assert_eq!(Poll::from_ffi(code, wait_ms), poll);
        }
        for format in [ImageFormat::Svg, ImageFormat::Png] {
            assert_eq!(ImageFormat::from_ffi(format.to_ffi()), Some(format));
        }
        assert_eq!(ImageFormat::from_ffi(7), None);
    }
}
