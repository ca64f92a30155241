//! PNG downloads. Drawing a PNG costs far more than serving one, and every
//! render runs on the cores the pipelines use: each frame is drawn at most
//! once (concurrent downloads of it wait for that render), and at most
//! `MAX_RENDERS` are drawn at a time across the dashboard.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use tokio::sync::{OnceCell, Semaphore};

use crate::chart_output::RenderedFrame;
use crate::plugin_host::ImageFormat;

/// PNG renders at once: one core at most, whatever the number of downloads.
pub const MAX_RENDERS: usize = 1;

type Png = Result<Bytes, String>;

/// A frame and its PNG, drawn by the first download that asks for it.
type Cached = (RenderedFrame, Arc<OnceCell<Png>>);

pub struct Pngs {
    /// The newest frame asked for, per chart (by `BranchFrames::id`).
    cached: Mutex<HashMap<u64, Option<Cached>>>,
    permits: Arc<Semaphore>,
    counts: Arc<Counts>,
}

impl Default for Pngs {
    fn default() -> Self {
        Pngs { cached: Mutex::default(), permits: Arc::new(Semaphore::new(MAX_RENDERS)), counts: Arc::default() }
    }
}

/// What `/api/renders` reports.
#[derive(Default)]
pub struct Counts {
    /// PNGs drawn for downloads.
    renders: AtomicU64,
    in_flight: AtomicU64,
    /// The most drawn at once so far.
    peak_in_flight: AtomicU64,
}

impl Pngs {
    /// The PNG of chart `chart`'s current frame (or a newer one already
    /// asked for), drawn once per frame.
    pub async fn png(&self, chart: u64, frame: RenderedFrame) -> Png {
        let (frame, cell) = {
            let mut all = self.cached.lock().expect("png cache poisoned");
            let cached = all.entry(chart).or_default();
            // Frame sequences only grow, so a newer cached frame serves too.
            if cached.as_ref().is_none_or(|(c, _)| c.sequence < frame.sequence) {
                *cached = Some((frame, Arc::default()));
            }
            cached.clone().expect("just filled")
        };
        cell.get_or_init(|| self.render(frame)).await.clone()
    }

    async fn render(&self, frame: RenderedFrame) -> Png {
        let permit = self.permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let counts = self.counts.clone();
        // The permit and count move into the blocking task: a download that
        // goes away does not free the slot while its render still runs.
        let drawn = tokio::task::spawn_blocking(move || {
            let now = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            counts.peak_in_flight.fetch_max(now, Ordering::SeqCst);
            counts.renders.fetch_add(1, Ordering::SeqCst);
            let png = frame.renderer.render(&frame.json, ImageFormat::Png).map(|b| Bytes::copy_from_slice(&b));
            counts.in_flight.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            png
        })
        .await;
        match drawn {
            Ok(Ok(png)) => Ok(png),
            Ok(Err(e)) => Err(format!("the chart plugin failed to draw a PNG: {e}")),
            Err(e) => Err(format!("drawing failed: {e}")),
        }
    }

    pub fn counts(&self) -> serde_json::Value {
        let c = &self.counts;
        serde_json::json!({
            "png_renders": c.renders.load(Ordering::SeqCst),
            "png_renders_in_flight": c.in_flight.load(Ordering::SeqCst),
            "png_renders_peak": c.peak_in_flight.load(Ordering::SeqCst),
            "png_render_limit": MAX_RENDERS,
        })
    }
}
