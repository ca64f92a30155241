//! Writing chart frames: drawn on their own thread at a bounded rate from
//! the latest state, and replaced atomically on disk.

mod png_lane;
mod writer;

pub use writer::{ChartFiles, ChartWriter, Drawing, FrameSender, RenderedFrame};
