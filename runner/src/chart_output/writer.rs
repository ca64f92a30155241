//! The chart writer thread: takes the newest frame (older ones not yet
//! drawn are skipped), draws its SVG, writes `<base>.svg/.json` atomically
//! and publishes the frame; its PNG goes to the PNG lane (`png_lane`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::png_lane::PngLane;
use crate::atomic_write::write_atomic;
use crate::plugin_host::{ChartRenderer, ImageFormat, PluginBytes};

/// The three files of a chart.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChartFiles {
    pub svg: PathBuf,
    pub png: PathBuf,
    pub json: PathBuf,
}

impl ChartFiles {
    pub fn for_base(base: &Path) -> Self {
        let with = |ext: &str| {
            let mut name = base.as_os_str().to_os_string();
            name.push(ext);
            PathBuf::from(name)
        };
        ChartFiles { svg: with(".svg"), png: with(".png"), json: with(".json") }
    }
}

/// The latest drawn frame, for viewers (the dashboard).
#[derive(Clone)]
pub struct RenderedFrame {
    /// Counts up with every frame drawn, across writers (reloads).
    pub sequence: u64,
    pub svg: Arc<Vec<u8>>,
    pub json: Arc<Vec<u8>>,
    /// Draws this frame in other formats on demand (a PNG download).
    pub renderer: ChartRenderer,
    /// How long drawing this frame's SVG and writing its files took, and
    /// all frames' so far (with `sequence`, for an average).
    pub draw_time: Duration,
    pub draw_time_total: Duration,
}

/// Where drawn frames are published; viewers keep a receiver. Publishing
/// never waits for a viewer, and a slow one just skips to the newest frame.
pub type FrameSender = tokio::sync::watch::Sender<Option<RenderedFrame>>;

pub(super) struct Job {
    frame: PluginBytes,
    renderer: ChartRenderer,
    /// The final frame: drawn in every format before `finish` returns.
    pub(super) last: bool,
}

#[derive(Default)]
struct Slot {
    job: Option<Job>,
    /// Frames written so far (for `finish` to wait on).
    written: u64,
    submitted: u64,
    closed: bool,
    /// How long the latest frame took to draw and write, and when it was done.
    last_draw: Duration,
    done_at: Option<Instant>,
}

struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
    frames: FrameSender,
}

/// What the chart writer says about drawing, for the frame clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct Drawing {
    /// Every frame handed to it is drawn.
    pub idle: bool,
    /// How long its latest frame took to draw and write.
    pub last_draw: Duration,
    /// How long it has been idle since (zero while it draws).
    pub rested: Duration,
}

/// Hands frames to the writer thread.
pub struct ChartWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    files: ChartFiles,
}

impl ChartWriter {
    pub fn start(base: &Path, png_interval: Duration, pipeline: &str, frames: FrameSender) -> std::io::Result<Self> {
        let files = ChartFiles::for_base(base);
        if let Some(dir) = files.svg.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let shared = Arc::new(Shared { slot: Mutex::new(Slot::default()), changed: Condvar::new(), frames });
        let png = PngLane::start(files.png.clone(), png_interval, format!("{pipeline}-png"))?;
        let thread = {
            let shared = shared.clone();
            let files = files.clone();
            std::thread::Builder::new()
                .name(format!("{pipeline}-chart"))
                .spawn(move || draw_loop(&shared, &files, png))?
        };
        Ok(ChartWriter { shared, thread: Some(thread), files })
    }

    pub fn files(&self) -> &ChartFiles {
        &self.files
    }

    /// Queues a frame; a frame still waiting is replaced (only the newest matters).
    pub fn submit(&self, frame: PluginBytes, renderer: ChartRenderer) {
        self.put(Job { frame, renderer, last: false });
    }

    /// Draws the final frame (PNG included) and waits until it is on disk.
    pub fn finish(self, frame: PluginBytes, renderer: ChartRenderer) {
        let target = self.put(Job { frame, renderer, last: true });
        let mut slot = self.shared.slot.lock().expect("chart slot poisoned");
        while slot.written < target {
            slot = self.shared.changed.wait(slot).expect("chart slot poisoned");
        }
        // Dropping `self` then closes the slot and joins the thread.
    }

    /// Ends with the frames already given (the chart has not changed
    /// since): draws what is queued, and the last frame's PNG if it was
    /// skipped, and waits until they are on disk. (What dropping it does;
    /// named for the call site.)
    pub fn close(self) {
        drop(self);
    }

    /// Whether the thread is idle and what its latest frame cost (for the
    /// frame clock, which draws back to back only while frames are cheap).
    pub fn drawing(&self) -> Drawing {
        let slot = self.shared.slot.lock().expect("chart slot poisoned");
        let idle = slot.written == slot.submitted;
        let rested = match slot.done_at {
            Some(done) if idle => done.elapsed(),
            Some(_) => Duration::ZERO,
            None => Duration::MAX,
        };
        Drawing { idle, last_draw: slot.last_draw, rested }
    }

    fn put(&self, job: Job) -> u64 {
        let mut slot = self.shared.slot.lock().expect("chart slot poisoned");
        if slot.job.replace(job).is_none() {
            slot.submitted += 1;
        }
        let target = slot.submitted;
        drop(slot);
        self.shared.changed.notify_all();
        target
    }
}

/// Closes the slot: the thread draws what is queued (and an owed PNG),
/// then ends; waits for it.
impl Drop for ChartWriter {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.slot.lock().expect("chart slot poisoned").closed = true;
            self.shared.changed.notify_all();
            let _ = thread.join();
        }
    }
}

/// Dropping `png` at the end draws the PNG still owed and waits for it.
fn draw_loop(shared: &Shared, files: &ChartFiles, png: PngLane) {
    loop {
        let job = {
            let mut slot = shared.slot.lock().expect("chart slot poisoned");
            loop {
                if let Some(job) = slot.job.take() {
                    break job;
                }
                if slot.closed {
                    return;
                }
                slot = shared.changed.wait(slot).expect("chart slot poisoned");
            }
        };
        let started = Instant::now();
        let mut draw_time = Duration::ZERO;
        if let Some(svg) = draw(&job, ImageFormat::Svg, &files.svg) {
            if let Err(e) = write_atomic(&files.json, &job.frame) {
                tracing::error!("cannot write {}: {e}; the previous file is kept", files.json.display());
            }
            draw_time = started.elapsed();
            // Numbered (and timed) after the last published frame, not from
            // 1: a writer restarted by a reload must not reuse the numbers
            // viewers (the dashboard's PNG cache) have already seen.
            shared.frames.send_modify(|last| {
                let (sequence, total) = last.as_ref().map_or((0, Duration::ZERO), |f| (f.sequence, f.draw_time_total));
                *last = Some(RenderedFrame {
                    sequence: sequence + 1,
                    svg: Arc::new(svg.to_vec()),
                    json: Arc::new(job.frame.to_vec()),
                    renderer: job.renderer.clone(),
                    draw_time,
                    draw_time_total: total + draw_time,
                });
            });
        }
        let last = job.last;
        png.offer(job);
        if last {
            png.wait_drawn();
        }
        let mut slot = shared.slot.lock().expect("chart slot poisoned");
        slot.written += 1;
        slot.last_draw = draw_time;
        slot.done_at = Some(Instant::now());
        drop(slot);
        shared.changed.notify_all();
    }
}

/// Draws one image and writes it; errors are logged and the old file kept.
pub(super) fn draw(job: &Job, format: ImageFormat, path: &Path) -> Option<PluginBytes> {
    let image = match job.renderer.render(&job.frame, format) {
        Ok(image) => image,
        Err(e) => {
            tracing::error!("chart plugin failed to draw {}: {e}", path.display());
            return None;
        }
    };
    if let Err(e) = write_atomic(path, &image) {
        tracing::error!("cannot write {}: {e}; the previous file is kept", path.display());
    }
    Some(image)
}
