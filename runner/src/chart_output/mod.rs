//! Writing chart frames: drawn on their own thread at a bounded rate from
//! the latest state, and replaced atomically on disk.

mod atomic_write;
mod png_lane;
mod writer;

pub use atomic_write::write_atomic;
pub use writer::{ChartFiles, ChartWriter, FrameSender, RenderedFrame};
