//! Shared by the benchmarks: paths, settings, temporary pipelines, and the
//! release `buzz` command.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use buzz::config::{self, Override, PipelineSpec};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The buzz app's stages in a pipeline file: messages counted per author,
/// drawn as bars (a `[chart]` table the caller may extend).
pub const COUNT_BY_AUTHOR: &str = r#"[transform]
type = "count_by"
field = "author"
[chart]
type = "bar_chart"
category = "author"
value = "count"
"#;

/// `key=value` settings that keep a run's chart and dead letters in `dir`.
pub fn output_settings(dir: &Path) -> [String; 2] {
    [
        format!("chart.output={}", dir.join("chart").display()),
        format!("dead_letter.path={}", dir.join("dead.jsonl").display()),
    ]
}

/// `key=value` settings parsed as `buzz run --set` parses them.
pub fn overrides(settings: &[String]) -> Vec<Override> {
    settings.iter().map(|s| Override::parse(s).unwrap()).collect()
}

/// Loads the pipeline file at `path` with `key=value` settings.
pub fn load(path: &Path, settings: &[String]) -> PipelineSpec {
    config::load(path, &overrides(settings), &buzz::plugin_host::Catalog::search)
        .unwrap_or_else(|d| panic!("{}: {d}", path.display()))
}

/// Writes `text` as a pipeline file in `dir` and loads it with `settings`.
pub fn pipeline(dir: &Path, name: &str, text: &str, settings: &[String]) -> PipelineSpec {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    load(&path, settings)
}

/// The first `n` payloads `spec`'s source makes, polled 4,096 at a time as
/// the pipeline polls it.
pub fn source_payloads(spec: &PipelineSpec, n: usize) -> Vec<Vec<u8>> {
    let mut source = buzz::pipeline::build_stage(spec, &spec.source).unwrap();
    let mut payloads = Vec::with_capacity(n);
    while payloads.len() < n {
        let batch = source.poll(4096.min(n - payloads.len())).unwrap();
        payloads.extend(batch.records.iter().map(|r| r.payload.to_vec()));
    }
    payloads
}

/// The release `buzz` (cargo build --release --workspace), run at the
/// repository root, its standard output discarded.
pub fn release_buzz() -> Command {
    let mut command = Command::new(repo_root().join("target/release/buzz"));
    command.current_dir(repo_root()).stdout(Stdio::null());
    command
}

/// Pins this process (and the threads it starts from now on) to one core.
pub fn pin_to_one_core() -> bool {
    // SAFETY: a plain CPU set for the calling thread; new threads inherit it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// CPU seconds this process has used (all threads).
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Milliseconds since the Unix epoch, as the `ticks` source stamps records.
pub fn now_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0
}

/// The `p` quantile (0..1) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// A tansu broker for the benchmark's lifetime.
pub struct TansuProcess(Child);

impl TansuProcess {
    /// CPU seconds the broker has used so far (user + system), from
    /// /proc/<pid>/stat.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at 3.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        // SAFETY: sysconf only reads a constant.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks(11) + ticks(12)) / per_second
    }
}

impl Drop for TansuProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `.tools/bin/<binary>` (installed by scripts/setup-test) with
/// `storage`, in `dir` (where SQLite storage keeps its file); `None` if it
/// is not installed. Returns the broker and its address.
pub fn start_tansu(binary: &str, storage: &str, dir: &Path) -> Option<(TansuProcess, String)> {
    let binary = repo_root().join(".tools/bin").join(binary);
    if !binary.exists() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(binary)
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", storage])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some((TansuProcess(child), format!("127.0.0.1:{port}")))
}

#[derive(serde::Deserialize)]
struct LineFrame {
    series: Vec<LineSeries>,
}

#[derive(serde::Deserialize)]
struct LineSeries {
    points: Vec<[f64; 2]>,
}

/// Production-to-frame delays (ms), sorted, of every record that `running`'s
/// line-chart frames show (points of x = production time in seconds, y = the
/// record's sequence number), produced after `warm_up_until_ms`; until
/// `records` were seen or `limit` is up. Taken from the frames as they are
/// published, the way a dashboard viewer gets them.
pub fn frame_delays(
    running: &buzz::pipeline::Running,
    records: u64,
    warm_up_until_ms: f64,
    limit: std::time::Duration,
) -> Vec<f64> {
    let mut frames = running.shared().frames().subscribe();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (mut delays, mut seen) = (Vec::new(), -1.0);
    let deadline = std::time::Instant::now() + limit;
    while seen + 1.0 < records as f64 && std::time::Instant::now() < deadline {
        let wait = std::time::Duration::from_secs(2);
        if !matches!(runtime.block_on(async { tokio::time::timeout(wait, frames.changed()).await }), Ok(Ok(()))) {
            continue;
        }
        let arrived = now_ms();
        let Some(frame) = frames.borrow_and_update().clone() else { continue };
        let mut frame: LineFrame = serde_json::from_slice(&frame.json).unwrap();
        let mut points = frame.series.swap_remove(0).points;
        // One chart's points come in production order; a merged chart's
        // (partitions side by side) do not.
        if !points.is_sorted_by(|a, b| a[1] <= b[1]) {
            points.sort_by(|a, b| a[1].total_cmp(&b[1]));
        }
        for [x_seconds, _] in points.iter().rev().take_while(|p| p[1] > seen) {
            if x_seconds * 1000.0 > warm_up_until_ms {
                delays.push(arrived - x_seconds * 1000.0);
            }
        }
        seen = points.last().map_or(seen, |p| p[1]);
    }
    delays.sort_by(f64::total_cmp);
    delays
}
