//! PNGs are drawn on a thread of their own, at most every `png_interval`
//! and always from the newest frame owed: a PNG costs several times an
//! SVG, and drawing it on the SVG thread held back the next frame viewers
//! wait for (the dashboard shows SVG; the PNG is the file on disk).

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::writer::{Job, draw};
use crate::plugin_host::ImageFormat;

#[derive(Default)]
struct Lane {
    /// The newest frame whose PNG is owed (older ones are skipped).
    job: Option<Job>,
    /// Frames offered so far, and how many of them are on disk (drawn or
    /// skipped for a newer one): `finish` waits until they agree.
    offered: u64,
    settled: u64,
    closed: bool,
}

struct Shared {
    lane: Mutex<Lane>,
    changed: Condvar,
}

pub struct PngLane {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl PngLane {
    pub fn start(path: PathBuf, interval: Duration, name: String) -> std::io::Result<Self> {
        let shared = Arc::new(Shared { lane: Mutex::new(Lane::default()), changed: Condvar::new() });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new().name(name).spawn(move || png_loop(&shared, &path, interval))?
        };
        Ok(PngLane { shared, thread: Some(thread) })
    }

    /// Owes `job`'s PNG, replacing an older frame not drawn yet. A `last`
    /// job is drawn at once, whatever the interval.
    pub fn offer(&self, job: Job) {
        let mut lane = self.shared.lane.lock().expect("png lane poisoned");
        lane.job = Some(job);
        lane.offered += 1;
        drop(lane);
        self.shared.changed.notify_all();
    }

    /// Waits until the PNG of every frame offered so far is on disk.
    pub fn wait_drawn(&self) {
        let mut lane = self.shared.lane.lock().expect("png lane poisoned");
        while lane.settled < lane.offered {
            lane = self.shared.changed.wait(lane).expect("png lane poisoned");
        }
    }
}

/// Draws the PNG still owed, then ends the thread.
impl Drop for PngLane {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.lane.lock().expect("png lane poisoned").closed = true;
            self.shared.changed.notify_all();
            let _ = thread.join();
        }
    }
}

fn png_loop(shared: &Shared, path: &std::path::Path, interval: Duration) {
    let mut last_png: Option<Instant> = None;
    loop {
        let (job, offered) = {
            let mut lane = shared.lane.lock().expect("png lane poisoned");
            loop {
                let urgent = lane.closed || lane.job.as_ref().is_some_and(|j| j.last);
                let wait = last_png.map_or(Duration::ZERO, |t| interval.saturating_sub(t.elapsed()));
                match lane.job.take() {
                    Some(job) if urgent || wait.is_zero() => break (job, lane.offered),
                    Some(job) => {
                        // Not due yet: a newer frame may replace it meanwhile.
                        lane.job = Some(job);
                        lane = shared.changed.wait_timeout(lane, wait).expect("png lane poisoned").0;
                    }
                    None if lane.closed => return,
                    None => lane = shared.changed.wait(lane).expect("png lane poisoned"),
                }
            }
        };
        draw(&job, ImageFormat::Png, path);
        last_png = Some(Instant::now());
        shared.lane.lock().expect("png lane poisoned").settled = offered;
        shared.changed.notify_all();
    }
}
