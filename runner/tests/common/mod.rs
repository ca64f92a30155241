//! Helpers shared by the integration tests: run the real `buzz` binary
//! against the real plugins built in this workspace.
#![allow(dead_code)]

pub mod broker;
pub mod browser;
pub mod logs;
pub mod project;
pub mod runs;
pub mod tls;
pub mod toml_file;
pub mod watched;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use watched::{Watched, wait_for};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runner is inside the workspace").to_path_buf()
}

/// The folder holding `buzz` and the plugin libraries.
pub fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_buzz")).parent().expect("binary has a folder").to_path_buf()
}

/// Where the tests build crates made by `buzz new plugin`: one folder for
/// every run, so only the first compiles their dependencies.
pub fn scaffold_target() -> PathBuf {
    repo_root().join("target/scaffold-test")
}

/// `cargo ARGS` in `crate_dir`, building into [`scaffold_target`].
pub fn cargo_in(crate_dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .current_dir(crate_dir)
        .args(args)
        .env("CARGO_TARGET_DIR", scaffold_target())
        .output()
        .expect("cargo runs")
}

/// Fails with instructions if the plugins were not built alongside `buzz`.
pub fn require_plugins() {
    let charts =
        build_dir().join(format!("{}buzz_plugin_charts{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    assert!(
        charts.exists(),
        "plugins are not built in {}: run `cargo build --workspace` before the tests (scripts/test does)",
        build_dir().display()
    );
}

/// Every pipeline file that ships in `pipelines/`, named here on purpose:
/// a test that walks the folder must find exactly these.
pub const SHIPPED_PIPELINES: [&str; 9] = [
    "buzz-batches.toml",
    "buzz-file.toml",
    "buzz-kafka.toml",
    "buzz-styled.toml",
    "buzz-top3.toml",
    "project.toml",
    "quakes-map.toml",
    "quakes.toml",
    "smoker.toml",
];

/// The names of the `.toml` files in `pipelines/`, sorted.
pub fn shipped_pipeline_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Variables the shipped pipelines read (`${KAFKA_BROKERS:-embedded}`...):
/// a test sets the ones it means to, never inherits them from the shell
/// (a `KAFKA_BROKERS` there would send every test to one fixed topic).
const PIPELINE_VARIABLES: [&str; 8] = [
    "KAFKA_BROKERS",
    "BUZZ_INTERVAL_MS",
    "PROJECT_INTERVAL_MS",
    "QUAKES_INTERVAL_MS",
    "QUAKES_SEED",
    "SMOKER_INTERVAL_MS",
    "SMOKER_ROLLING_WINDOW_SIZE",
    "SMOKER_STALL_THRESHOLD_F",
];

/// A `buzz` command run from the repository root, with a clean plugin path
/// and none of the shell's pipeline variables.
pub fn buzz() -> Command {
    require_plugins();
    let mut command = Command::new(env!("CARGO_BIN_EXE_buzz"));
    // No dashboard unless a test asks for one (`--http`), so tests never
    // compete for a port.
    command
        .current_dir(repo_root())
        .env_remove("BUZZ_PLUGIN_PATH")
        .env("BUZZ_LOG", "warn")
        .env("NO_COLOR", "1")
        .env("BUZZ_HTTP", "off");
    for variable in PIPELINE_VARIABLES {
        command.env_remove(variable);
    }
    command
}

/// The Python (with confluent-kafka, an independent Kafka client) that
/// scripts/setup-test installs.
pub fn python() -> PathBuf {
    let python = repo_root().join(".tools/venv/bin/python");
    assert!(python.exists(), "the test Python is not installed: run scripts/setup-test (scripts/test does)");
    python
}

/// A script of runner/tests/interop, run with [`python`].
pub fn interop_script(name: &str) -> PathBuf {
    repo_root().join("runner/tests/interop").join(name)
}

/// Runs `produce_original.py` (the original producers' messages, from an
/// independent client) with `args`; the JSON lines it printed.
pub fn python_produces(args: &[&str]) -> Vec<Value> {
    json_lines(&interop("produce_original.py", args))
}

/// Runs the script `name` of runner/tests/interop with `args`; what it
/// printed, once it succeeded.
pub fn interop(name: &str, args: &[&str]) -> String {
    let output = Command::new(python()).arg(interop_script(name)).args(args).output().unwrap();
    assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Each line of `text`, parsed as JSON.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// Misspells the key at `key` (a dotted path) of the pipeline file as
/// `typo`, then runs `buzz check` on it, which must fail: the typo's line
/// and what check said.
pub fn check_with_typo(pipeline: &Path, key: &str, typo: &str) -> (usize, String) {
    let mut file = toml_file::TomlFile::open(pipeline);
    file.rename(key, typo).save(pipeline);
    let line = file.text().lines().position(|l| l.starts_with(&format!("{typo} ="))).expect("the typo") + 1;
    let output = buzz().arg("check").arg(pipeline).output().unwrap();
    assert!(!output.status.success(), "check passed {typo}");
    (line, String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr))
}

/// The path of a fixture library built in the workspace (`panicky`, ...).
pub fn fixture_library(name: &str) -> PathBuf {
    build_dir().join(format!("{}buzz_fixture_{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
}

/// Copies a fixture library into `dir` under a plugin file name, so
/// discovery picks it up from there.
pub fn install_fixture(name: &str, dir: &Path, as_plugin: &str) -> PathBuf {
    let target =
        dir.join(format!("{}buzz_plugin_{as_plugin}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    std::fs::copy(fixture_library(name), &target).expect("fixture library is built");
    target
}

pub struct Run {
    pub output: Output,
    pub summary: Option<Value>,
}

impl Run {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn assert_success(&self) -> &Self {
        assert!(self.output.status.success(), "buzz failed ({}):\n{}", self.output.status, self.stderr());
        self
    }

    pub fn summary(&self) -> &Value {
        self.summary.as_ref().expect("a summary was written")
    }
}

/// `key=value` settings that keep the chart and dead letters inside `dir`.
fn output_settings(dir: &Path) -> [String; 2] {
    [
        format!("chart.output={}", dir.join("chart").display()),
        format!("dead_letter.path={}", dir.join("dead.jsonl").display()),
    ]
}

/// Settings that keep the chart and dead letters of a pipeline inside `dir`.
pub fn outputs_in(dir: &Path) -> Vec<String> {
    output_settings(dir).into_iter().flat_map(|setting| ["--set".to_string(), setting]).collect()
}

/// Starts `pipeline` inside this test process (both halves, stopping when
/// its source is done) on the embedded broker, with its outputs in `dir`
/// and the extra `key=value` settings: for tests that steer the embedded
/// broker, which lives in the process that uses it.
pub fn start_on_embedded_broker(pipeline: &Path, dir: &Path, settings: &[String]) -> buzz::pipeline::Running {
    start_on_embedded_broker_as(buzz::pipeline::Role::Both, pipeline, dir, settings)
}

/// As [`start_on_embedded_broker`], running only the halves `role` names.
pub fn start_on_embedded_broker_as(
    role: buzz::pipeline::Role,
    pipeline: &Path,
    dir: &Path,
    settings: &[String],
) -> buzz::pipeline::Running {
    use buzz::pipeline::{self, RunOptions};
    let mut all = vec!["transport.brokers=embedded".to_string()];
    all.extend(output_settings(dir));
    all.extend_from_slice(settings);
    pipeline::start(&load_with(pipeline, &all), RunOptions { role, exit_when_done: true }).expect("pipeline starts")
}

/// `pipeline` loaded with the `key=value` settings, as `--set` gives them.
pub fn load_with(pipeline: &Path, settings: &[String]) -> buzz::config::PipelineSpec {
    use buzz::config::{self, Override};
    let overrides: Vec<Override> = settings.iter().map(|o| Override::parse(o).expect("a valid setting")).collect();
    config::load(pipeline, &overrides, &buzz::plugin_host::Catalog::search).expect("pipeline loads")
}

/// A copy of the shipped pipeline `shipped` in `dir`, under its own file
/// name, writing what it wrote under `out/` to `out` instead.
pub fn shipped_copy(shipped: &str, dir: &Path, out: &Path) -> PathBuf {
    let path = dir.join(Path::new(shipped).file_name().expect("a file name"));
    toml_file::TomlFile::open(&repo_root().join(shipped)).retarget("out/", out).save(&path);
    path
}

/// Settings that keep a file transport's file inside `dir` too.
pub fn file_outputs_in(dir: &Path) -> Vec<String> {
    let mut args = outputs_in(dir);
    args.extend(["--set".into(), format!("transport.path={}", dir.join("transport.jsonl").display())]);
    args
}

/// Runs `buzz run <pipeline> --exit-when-done` with its chart and dead
/// letters in `dir` (and its file transport's file, for file pipelines).
pub fn run_to_end(pipeline: &str, dir: &Path, extra: &[&str]) -> Run {
    run_to_end_with(buzz(), pipeline, dir, extra)
}

/// As [`run_to_end`], from a prepared command (environment set, say).
pub fn run_to_end_with(mut command: Command, pipeline: &str, dir: &Path, extra: &[&str]) -> Run {
    let summary = dir.join(format!("summary-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&summary);
    let output = command
        .arg("run")
        .arg(pipeline)
        .args(match branch_outputs_in(pipeline, dir) {
            Some(outputs) => outputs,
            None if is_file_pipeline(pipeline) => file_outputs_in(dir),
            None => outputs_in(dir),
        })
        .args(extra)
        .arg("--exit-when-done")
        .arg("--summary")
        .arg(&summary)
        .output()
        .expect("buzz runs");
    let summary = std::fs::read(&summary).ok().map(|b| serde_json::from_slice(&b).expect("summary is JSON"));
    Run { output, summary }
}

/// For a (Kafka) pipeline of several branches, whose charts `chart.output`
/// does not name: each branch's chart and the dead letters inside `dir`,
/// the first branch by name as `chart`, the others under their names.
fn branch_outputs_in(pipeline: &str, dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(repo_root().join(pipeline)).unwrap_or_default();
    let Some(toml::Value::Table(branches)) =
        toml::from_str::<toml::Table>(&text).ok().and_then(|t| t.get("branches").cloned())
    else {
        return None;
    };
    let mut args = vec!["--set".to_string(), format!("dead_letter.path={}", dir.join("dead.jsonl").display())];
    for (i, name) in branches.keys().enumerate() {
        let base = if i == 0 { "chart" } else { name.as_str() };
        args.extend(["--set".to_string(), format!("branches.{name}.chart.output={}", dir.join(base).display())]);
    }
    Some(args)
}

/// The shipped pipelines that use the file transport.
fn is_file_pipeline(pipeline: &str) -> bool {
    std::fs::read_to_string(repo_root().join(pipeline)).is_ok_and(|text| text.contains("type = \"file\""))
}

/// Starts `buzz run` with the dashboard on a free port; returns the process
/// and the dashboard's port.
pub fn run_with_dashboard(mut command: std::process::Command) -> (Watched, u16) {
    command.args(["--http", "0"]);
    let run = Watched::spawn(command);
    let mut port = None;
    wait_for("the dashboard address", std::time::Duration::from_secs(30), || {
        port = run
            .text()
            .lines()
            .find_map(|l| l.split("dashboard at http://127.0.0.1:").nth(1))
            .and_then(|rest| rest.trim_end_matches('/').parse().ok());
        port.is_some()
    });
    (run, port.unwrap())
}

/// Project messages over a file in `dir` into three branches, two with a
/// misspelt field: `authors` (count per author, bars) takes every record;
/// `mood`'s transform refuses every one (`value = "sentimen"`), and
/// `trend`'s chart does (`y = "sentimen"`). Everything it writes goes in `dir`.
pub fn refusing_branches(dir: &Path, count: u64) -> PathBuf {
    use project::{AVERAGE_BARS, AVERAGE_SENTIMENT, ProjectPipeline};
    let trend = "type = \"line_chart\"\nx = \"timestamp\"\ny = \"sentimen\"";
    ProjectPipeline::new("three", dir, count, 5)
        .archived()
        .counting("authors", "author")
        .branch("mood", AVERAGE_SENTIMENT, AVERAGE_BARS)
        .set("branches.mood.transform.value", "sentimen")
        .branch("trend", "type = \"identity\"", trend)
        .write()
}

pub fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Lines of a JSON-lines file, parsed.
pub fn read_json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("JSON line")).collect()
        })
        .unwrap_or_default()
}

/// The smoker's readings: (epoch seconds, temperature), in file order.
fn smoker_readings() -> Vec<(f64, f64)> {
    let csv = std::fs::read_to_string(repo_root().join("data/smoker.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|line| {
            let (time, temp) = line.split_once(',').unwrap();
            let time =
                chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").unwrap().and_utc().timestamp() as f64;
            (time, temp.parse().unwrap())
        })
        .collect()
}

/// Positions (in data/smoker.csv) of the readings whose window of `window`
/// readings varies by at most `threshold`: the stalls, computed here
/// independently of the plugin.
pub fn stalled_positions(window: usize, threshold: f64) -> Vec<usize> {
    let readings = smoker_readings();
    (0..readings.len())
        .filter(|i| *i + 1 >= window)
        .filter(|i| {
            let temps = readings[i + 1 - window..=*i].iter().map(|r| r.1);
            let (lo, hi) = temps.fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
            hi - lo <= threshold + 1e-9
        })
        .collect()
}

/// The stalls as (epoch seconds, temperature) of each stalled reading.
pub fn expected_stalls(window: usize, threshold: f64) -> Vec<(f64, f64)> {
    let readings = smoker_readings();
    stalled_positions(window, threshold).into_iter().map(|i| readings[i]).collect()
}

/// (x, y) of every marker in a line chart's JSON.
pub fn markers(chart: &Value) -> Vec<(f64, f64)> {
    chart["markers"].as_array().unwrap().iter().map(|m| (m["x"].as_f64().unwrap(), m["y"].as_f64().unwrap())).collect()
}

/// Counts per category in a bar chart's JSON.
pub fn bar_values(chart: &Value) -> std::collections::BTreeMap<String, f64> {
    let series = &chart["series"][0];
    let categories = series["categories"].as_array().unwrap();
    let values = series["values"].as_array().unwrap();
    categories.iter().zip(values).map(|(c, v)| (c.as_str().unwrap().to_string(), v.as_f64().unwrap())).collect()
}

/// Counts per author in a JSON-lines file (or list) of buzz messages.
pub fn count_authors<'a>(messages: impl IntoIterator<Item = &'a Value>) -> std::collections::BTreeMap<String, f64> {
    let mut counts = std::collections::BTreeMap::new();
    for message in messages {
        *counts.entry(message["author"].as_str().unwrap().to_string()).or_default() += 1.0;
    }
    counts
}

/// Decodes a PNG, returning its width and height and whether it has more
/// than one colour (an image, not a blank).
pub fn decode_png(path: &Path) -> (u32, u32, bool) {
    let (width, height, pixels) = png_pixels(path);
    let varied = pixels.chunks(3).any(|p| p != &pixels[..3]);
    (width, height, varied)
}

/// Decodes a PNG into its width, height and RGB bytes.
pub fn png_pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("PNG exists")));
    let mut reader = decoder.read_info().expect("valid PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("sane size")];
    let info = reader.next_frame(&mut pixels).expect("valid PNG data");
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

/// Dark pixels (text, axes) in rows `rows` of RGB `pixels` `width` wide.
pub fn dark_pixels(pixels: &[u8], width: u32, rows: std::ops::Range<u32>) -> usize {
    let row_bytes = width as usize * 3;
    let band = &pixels[rows.start as usize * row_bytes..rows.end as usize * row_bytes];
    band.chunks(3).filter(|p| p.iter().map(|&c| u32::from(c)).sum::<u32>() < 300).count()
}

/// The texts of an SVG's `<text>` elements, trimmed, XML escapes kept.
pub fn svg_texts(svg: &str) -> Vec<&str> {
    svg.split("</text>").filter_map(|part| Some(part[part.rfind('>')? + 1..].trim())).collect()
}

/// Asserts `svg` is a complete SVG document.
pub fn assert_svg(svg: &str) {
    assert!(
        svg.trim_start().starts_with("<svg") || svg.trim_start().starts_with("<?xml"),
        "not an SVG: {}",
        &svg[..svg.len().min(100)]
    );
    assert!(svg.trim_end().ends_with("</svg>"), "SVG is cut short");
}
