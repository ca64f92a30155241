//! When records reach a dashboard viewer: a plain server-sent-events client
//! of `/events` (what the page's EventSource reads) and, for comparison, a
//! watcher of the frames as published. The line chart (at most
//! `max_points`, downsampled) may leave a record's own point out, so each
//! frame counts for every record up to its newest point, whose x is its
//! production time in seconds and y its number: the `ticks` source makes
//! them at a steady rate, so record n was produced (y - n) / rate earlier.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use super::support::now_ms;

/// Delays (ms) of the records first covered by a frame received at
/// `arrived`; `seen` is the newest record of the frames before.
struct Delays {
    rate: f64,
    warm_up_until_ms: f64,
    seen: f64,
    delays: Vec<f64>,
}

impl Delays {
    fn frame(&mut self, arrived: f64, newest: Option<[f64; 2]>) {
        let Some([x_seconds, newest]) = newest else { return };
        let mut n = newest;
        while n > self.seen {
            let produced = x_seconds * 1000.0 - (newest - n) * 1000.0 / self.rate;
            if produced > self.warm_up_until_ms {
                self.delays.push(arrived - produced);
            }
            n -= 1.0;
        }
        self.seen = self.seen.max(newest);
    }

    fn sorted(mut self) -> Vec<f64> {
        self.delays.sort_by(f64::total_cmp);
        self.delays
    }
}

/// Reads `/events` until record `records - 1` was seen; sends back the delays.
pub fn on_the_page(address: SocketAddr, records: u64, rate: f64, warm_up_until_ms: f64) -> mpsc::Receiver<Vec<f64>> {
    let (tx, rx) = mpsc::channel();
    let mut stream = TcpStream::connect(address).expect("the dashboard listens");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    std::thread::spawn(move || {
        let mut delays = Delays { rate, warm_up_until_ms, seen: -1.0, delays: Vec::new() };
        let mut event = String::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_string();
                continue;
            }
            let Some(data) = line.strip_prefix("data: ").filter(|_| event == "frame") else { continue };
            let arrived = now_ms();
            let frame: serde_json::Value = serde_json::from_str(data).unwrap();
            delays.frame(arrived, newest_in_svg(frame["svg"].as_str().unwrap_or_default()));
            if delays.seen + 1.0 >= records as f64 {
                break;
            }
        }
        let _ = tx.send(delays.sorted());
    });
    rx
}

/// The same for frames as published by the chart writer.
pub fn published(
    running: &buzz::pipeline::Running,
    records: u64,
    rate: f64,
    warm_up_until_ms: f64,
) -> mpsc::Receiver<Vec<f64>> {
    let (tx, rx) = mpsc::channel();
    let mut frames = running.shared().frames().subscribe();
    std::thread::spawn(move || {
        let mut delays = Delays { rate, warm_up_until_ms, seen: -1.0, delays: Vec::new() };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        while runtime.block_on(frames.changed()).is_ok() {
            let arrived = now_ms();
            let Some(frame) = frames.borrow_and_update().clone() else { continue };
            let frame: serde_json::Value = serde_json::from_slice(&frame.json).unwrap();
            let newest = frame["series"][0]["points"]
                .as_array()
                .and_then(|p| p.last())
                .and_then(|p| Some([p[0].as_f64()?, p[1].as_f64()?]));
            delays.frame(arrived, newest);
            if delays.seen + 1.0 >= records as f64 {
                break;
            }
        }
        let _ = tx.send(delays.sorted());
    });
    rx
}

/// The newest `[x, y]` of the points in a line chart's SVG.
fn newest_in_svg(svg: &str) -> Option<[f64; 2]> {
    let start = svg.find("data-points=\"")? + "data-points=\"".len();
    let json = svg[start..][..svg[start..].find('"')?].replace("&quot;", "\"");
    let points: Vec<(f64, f64, f64, f64)> = serde_json::from_str(&json).ok()?;
    points.into_iter().map(|(_, _, x, y)| [x, y]).max_by(|a, b| a[1].total_cmp(&b[1]))
}
