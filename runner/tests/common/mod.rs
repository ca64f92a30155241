//! Helpers shared by the integration tests: run the real `buzz` binary
//! against the real plugins built in this workspace.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runner is inside the workspace").to_path_buf()
}

/// The folder holding `buzz` and the plugin libraries.
pub fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_buzz")).parent().expect("binary has a folder").to_path_buf()
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

/// A `buzz` command run from the repository root, with a clean plugin path.
pub fn buzz() -> Command {
    require_plugins();
    let mut command = Command::new(env!("CARGO_BIN_EXE_buzz"));
    command.current_dir(repo_root()).env_remove("BUZZ_PLUGIN_PATH").env("BUZZ_LOG", "warn").env("NO_COLOR", "1");
    command
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

/// Settings that keep every file a pipeline writes inside `dir`.
pub fn outputs_in(dir: &Path) -> Vec<String> {
    vec![
        "--set".into(),
        format!("transport.path={}", dir.join("transport.jsonl").display()),
        "--set".into(),
        format!("chart.output={}", dir.join("chart").display()),
        "--set".into(),
        format!("dead_letter.path={}", dir.join("dead.jsonl").display()),
    ]
}

/// Runs `buzz run <pipeline> --exit-when-done` with outputs in `dir`.
pub fn run_to_end(pipeline: &str, dir: &Path, extra: &[&str]) -> Run {
    let summary = dir.join(format!("summary-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&summary);
    let output = buzz()
        .arg("run")
        .arg(pipeline)
        .args(outputs_in(dir))
        .args(extra)
        .arg("--exit-when-done")
        .arg("--summary")
        .arg(&summary)
        .output()
        .expect("buzz runs");
    let summary = std::fs::read(&summary).ok().map(|b| serde_json::from_slice(&b).expect("summary is JSON"));
    Run { output, summary }
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

/// Decodes a PNG, returning its width and height and whether it has more
/// than one colour (an image, not a blank).
pub fn decode_png(path: &Path) -> (u32, u32, bool) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("PNG exists")));
    let mut reader = decoder.read_info().expect("valid PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("sane size")];
    let info = reader.next_frame(&mut pixels).expect("valid PNG data");
    let pixels = &pixels[..info.buffer_size()];
    let varied = pixels.chunks(3).any(|p| p != &pixels[..3]);
    (info.width, info.height, varied)
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
