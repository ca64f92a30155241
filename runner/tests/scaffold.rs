//! `buzz new plugin` outside the workspace: the crate it writes builds
//! against the SDK, passes its own tests, and its pipeline runs with the
//! plugin loaded from the crate's own build folder.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

const NAME: &str = "scaffold_probe";

fn new_plugin(cwd: &Path, args: &[&str]) -> Output {
    buzz().current_dir(cwd).args(["new", "plugin"]).args(args).output().expect("buzz runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_plugin_made_outside_the_workspace_builds_passes_its_tests_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!dir.path().starts_with(repo_root()), "the test folder must lie outside the workspace");
    let made = new_plugin(dir.path(), &[NAME]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let next = text(&made.stdout);
    assert!(next.contains(&format!("cd {NAME}")) && next.contains("cargo build"), "{next}");
    let crate_dir = dir.path().join(NAME);
    for file in ["Cargo.toml", "README.md", "rustfmt.toml", "src/lib.rs", &format!("{NAME}.toml")] {
        assert!(crate_dir.join(file).is_file(), "{file} was not written");
    }

    // `plugins_dir = "target/debug"` in the pipeline finds the build there.
    std::fs::create_dir_all(scaffold_target()).unwrap();
    std::os::unix::fs::symlink(scaffold_target(), crate_dir.join("target")).unwrap();
    let build = cargo_in(&crate_dir, &["build", "--offline"]);
    assert!(build.status.success(), "cargo build failed:\n{}", text(&build.stderr));
    let test = cargo_in(&crate_dir, &["test", "--offline"]);
    let report = text(&test.stdout);
    assert!(test.status.success(), "the plugin's tests failed:\n{report}\n{}", text(&test.stderr));
    let passed: usize = report
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. ")?.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 8, "only {passed} tests ran:\n{report}");

    let listed =
        buzz().current_dir(&crate_dir).args(["plugins", "--json", "--plugins-dir", "target/debug"]).output().unwrap();
    let catalogue: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let plugin = catalogue["plugins"].as_array().unwrap().iter().find(|p| p["name"] == NAME).expect("the plugin loads");
    assert_eq!(plugin["abi_version"], buzz::plugin_host::ABI_VERSION);
    let kinds: Vec<&str> = plugin["stages"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["source", "transform", "chart"]);

    let summary = crate_dir.join("summary.json");
    let run = buzz()
        .current_dir(&crate_dir)
        .args(["run", &format!("{NAME}.toml"), "--set", "source.interval_ms=0", "--exit-when-done", "--summary"])
        .arg(&summary)
        .output()
        .unwrap();
    assert!(run.status.success(), "buzz run failed:\n{}", text(&run.stderr));
    let summary = read_json(&summary);
    assert_eq!((summary["records_in"].as_u64(), summary["dead_letter"].as_u64()), (Some(20), Some(0)));
    assert_eq!(summary["configuration"]["chart"]["plugin"], NAME);
    // The counter's 1..=20, doubled by the scale transform, in the chart.
    let chart = read_json(&crate_dir.join(format!("out/{NAME}.json")));
    assert_eq!(chart["kind"], "bars");
    let doubled: Vec<f64> = (1..=20).map(|n| 2.0 * n as f64).collect();
    assert_eq!(chart["series"][0]["values"], serde_json::json!(doubled));
    let svg = std::fs::read_to_string(crate_dir.join(format!("out/{NAME}.svg"))).unwrap();
    assert_svg(&svg);
    // A title, both axes' labels (the y axis's is the field) and ticks.
    let title = format!("{NAME}: the latest values, doubled");
    for text in [title.as_str(), "latest records, oldest first", "value", "40"] {
        assert!(svg_texts(&svg).contains(&text), "the chart has no text {text}: {svg}");
    }
    assert_png_has_text(&crate_dir.join(format!("out/{NAME}.png")));
}

/// The PNG has text where the SVG has it: the title along the top, the x
/// axis's label along the bottom (rows nothing else is drawn in).
fn assert_png_has_text(path: &Path) {
    let (width, height, pixels) = png_pixels(path);
    let title = dark_pixels(&pixels, width, 0..40);
    assert!(title > 500, "only {title} dark pixels where the title should be in {}", path.display());
    let x_label = dark_pixels(&pixels, width, height - 30..height);
    assert!(x_label > 200, "only {x_label} dark pixels where the x label should be in {}", path.display());
}

#[test]
fn a_bad_name_and_an_existing_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let refused = new_plugin(dir.path(), &["Air-Quality"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("not a valid plugin name"), "{}", text(&refused.stderr));

    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();
    let refused = new_plugin(dir.path(), &["taken"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("already exists"), "{}", text(&refused.stderr));
    assert_eq!(std::fs::read_to_string(dir.path().join("taken/keep.txt")).unwrap(), "mine");
    assert_eq!(std::fs::read_dir(dir.path().join("taken")).unwrap().count(), 1, "nothing was added");

    // --dir names the parent folder, made if needed.
    let made = new_plugin(dir.path(), &["fresh", "--dir", "nested/plugins"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(dir.path().join("nested/plugins/fresh/Cargo.toml").is_file());
}
