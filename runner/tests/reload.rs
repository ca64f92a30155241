//! Hot reload: edits to a running pipeline's file, and a plugin crate
//! rebuilt while it runs, take effect without a restart and lose nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::toml_file::TomlFile;
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

const APPLIED: &str = "reload applied";
const REFUSED: &str = "reload refused";

/// A copy of a shipped pipeline in `dir`, with its outputs there too.
fn pipeline_copy(shipped: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join(shipped)).unwrap();
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Saves like an editor that writes a temporary file and renames it over.
fn save_by_rename(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Saves like an editor that truncates the file and writes it again.
fn save_by_truncate(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).truncate(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.sync_all().unwrap();
}

/// Edits the pipeline file as a TOML document and saves it with `save`.
fn edit(path: &Path, change: impl FnOnce(&mut TomlFile) -> &mut TomlFile, save: fn(&Path, &str)) {
    let mut file = TomlFile::open(path);
    change(&mut file);
    save(path, &file.text());
}

/// Saves `text` as the pipeline file, then waits until buzz reports the
/// reload (`applied` or `refused`).
fn save_and_wait(run: &Watched, path: &Path, text: &str, outcome: &str) {
    let before = run.count(outcome);
    save_by_rename(path, text);
    run.wait_for_more(outcome, before, Duration::from_secs(30), &format!("{outcome} after saving:\n{text}"));
}

/// Edits the pipeline file, then waits until buzz reports the reload.
fn edit_and_wait(run: &Watched, path: &Path, change: impl FnOnce(&mut TomlFile) -> &mut TomlFile, outcome: &str) {
    let mut file = TomlFile::open(path);
    change(&mut file);
    save_and_wait(run, path, &file.text(), outcome);
}

#[test]
fn edits_at_full_speed_take_effect_and_every_record_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = pipeline_copy("pipelines/smoker.toml", dir.path());
    // 15,000 loops of the 240 readings: a run of several seconds at full speed.
    let loops = 15_000u64;
    let mut command = buzz();
    command.arg("run").arg(&path).args(outputs_in(dir.path()));
    command.args([
        "--set",
        "source.interval_ms=0",
        "--set",
        &format!("source.loops={loops}"),
        "--set",
        "chart.x=$index",
    ]);
    command.args(["--exit-when-done", "--summary", &dir.path().join("summary.json").display().to_string()]);
    let mut run = Watched::spawn(command);
    wait_for("the first chart frame", Duration::from_secs(30), || dir.path().join("chart.json").exists());

    edit_and_wait(&run, &path, |f| f.set("transform.threshold", 0.3), APPLIED);
    // A title left unterminated is not TOML: written as text, on purpose.
    let mut titled = TomlFile::open(&path);
    titled.set("chart.title", "Smoker, edited");
    let unterminated = titled.text().replacen(r#""Smoker, edited""#, r#""Smoker, edited"#, 1);
    save_and_wait(&run, &path, &unterminated, REFUSED);
    save_and_wait(&run, &path, &titled.text(), APPLIED);
    edit_and_wait(&run, &path, |f| f.set("chart.marker_colour", "blue"), REFUSED);
    edit_and_wait(&run, &path, |f| f.remove("chart.marker_colour").set("chart.line_color", "green"), APPLIED);
    edit_and_wait(&run, &path, |f| f.set("transform.window", 5), APPLIED);
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "the run ended before the edits were done; make it longer:\n{}",
        run.text()
    );

    let status = run.child.wait().unwrap();
    assert!(status.success(), "{}", run.text());
    let summary = read_json(&dir.path().join("summary.json"));
    let total = 240 * loops;
    assert_eq!(summary["records_in"], total, "{}", run.text());
    assert_eq!(summary["records_out"], total);
    assert_eq!(summary["dead_letter"], 0);
    assert_eq!(summary["reloads_applied"], 4);
    assert_eq!(summary["reloads_refused"], 2);
    assert_eq!(summary["last_reload"]["applied"], true);
    assert_eq!(summary["configuration"]["transform"]["settings"], serde_json::json!({"window": 5, "threshold": 0.3}));

    // The chart kept its data through every restyle, and shows the last
    // valid settings.
    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(chart["total_points"], total, "every reading charted exactly once");
    assert_eq!(chart["title"], "Smoker, edited");
    assert_eq!(chart["style"]["line_color"], "#008000");
    // The retuned stall detection is what marks the readings, not only an
    // echo in the summary: a window of 5 marks readings 184..=239 of each
    // loop of 240, the file's window of 10 only 189..=239. (Markers thin
    // to one per span of records on a line this long, each the first
    // stall of its span, so each span read after the edit that starts
    // before 189 in a loop has its marker at 184: millions of readings
    // follow the edits.)
    let (retuned, original) = (stalled_positions(5, 0.3), stalled_positions(10, 0.2));
    assert_eq!((retuned[0], original[0]), (184, 189));
    let positions: Vec<usize> = markers(&chart).iter().map(|(x, _)| *x as usize % 240).collect();
    assert!(positions.iter().all(|p| retuned.contains(p)), "markers off the stalls: {positions:?}");
    assert!(positions.iter().any(|p| !original.contains(p)), "no marker of the retuned window: {positions:?}");
    // Both refusals said what was wrong and where.
    let log = run.text();
    assert!(log.contains("invalid TOML"), "{log}");
    assert!(log.contains("unknown setting `chart.marker_colour`"), "{log}");
    assert!(log.contains(&format!("{}:", path.display())), "refusals name the file: {log}");
}

/// Logged (at debug) when a save leaves the file's text as it was.
const SAME_TEXT: &str = "pipeline file saved with the same text";

/// `buzz run` on a copy of buzz-file.toml in `dir`, paced, logging the
/// reloader's debug lines too (saves that change nothing).
fn watched_buzz_file(dir: &Path) -> (Watched, PathBuf) {
    let path = pipeline_copy("pipelines/buzz-file.toml", dir);
    let mut command = buzz();
    command.arg("run").arg(&path).args(file_outputs_in(dir)).args(["--set", "source.interval_ms=20"]);
    command.args(["--summary", &dir.join("summary.json").display().to_string()]);
    command.env("BUZZ_LOG", "info,buzz::reload=debug");
    let run = Watched::spawn(command);
    wait_for("the first chart frame", Duration::from_secs(30), || dir.join("chart.json").exists());
    (run, path)
}

/// The chart's title, once its JSON can be read.
fn chart_title(dir: &Path) -> Option<Value> {
    std::fs::read(dir.join("chart.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|c| c["title"].clone())
}

#[test]
fn rename_and_truncate_saves_each_trigger_exactly_one_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, path) = watched_buzz_file(dir.path());

    // A save is several file events; one reload comes of them, and none of
    // the half-written states in between is tried (it would be refused).
    // Once the new title shows, every event of the save has been handled.
    edit(&path, |f| f.set("chart.title", "Renamed"), save_by_rename);
    wait_for("the renamed title", Duration::from_secs(30), || chart_title(dir.path()) == Some("Renamed".into()));
    assert_eq!((run.count(APPLIED), run.count(REFUSED)), (1, 0), "{}", run.text());

    edit(&path, |f| f.set("chart.title", "Truncated"), save_by_truncate);
    wait_for("the truncated title", Duration::from_secs(30), || chart_title(dir.path()) == Some("Truncated".into()));
    assert_eq!((run.count(APPLIED), run.count(REFUSED)), (2, 0), "{}", run.text());

    // Saving the same text again is seen, and changes nothing.
    let same = run.count(SAME_TEXT);
    let text = std::fs::read_to_string(&path).unwrap();
    save_by_rename(&path, &text);
    wait_for("the unchanged save to be seen", Duration::from_secs(30), || run.count(SAME_TEXT) > same);
    assert_eq!((run.count(APPLIED), run.count(REFUSED)), (2, 0), "{}", run.text());

    assert!(run.interrupt().success(), "{}", run.text());
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["reloads_applied"], 2);
    assert_eq!(summary["reloads_refused"], 0);
    assert_eq!(summary["records_in"], summary["records_out"]);
}

#[test]
fn a_burst_of_saves_makes_one_reload_logged_with_what_changed_and_how_long() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, path) = watched_buzz_file(dir.path());

    // Five saves in a row, as an editor's autosave or a formatter makes
    // them: one reload, of the last.
    for n in 1..=5 {
        edit(&path, |f| f.set("chart.title", format!("Save {n}")), save_by_rename);
    }
    wait_for("the last save's title", Duration::from_secs(30), || chart_title(dir.path()) == Some("Save 5".into()));
    assert_eq!((run.count(APPLIED), run.count(REFUSED)), (1, 0), "{}", run.text());

    // The reload's line says how long it took and what changed, old and new.
    let text = run.text();
    let line = text.lines().find(|l| l.contains(APPLIED)).unwrap();
    let ms: f64 = line.split("reload applied in ").nth(1).and_then(|r| r.split(" ms").next()).unwrap().parse().unwrap();
    assert!(ms.is_finite() && ms < 30_000.0, "{line}");
    assert!(line.contains(r#"title "Basic Real-Time Author Message Counts" -> "Save 5""#), "{line}");
    assert!(!text.contains("Save 4"), "an earlier save of the burst was applied:\n{text}");

    assert!(run.interrupt().success(), "{}", run.text());
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["reloads_applied"], 1);
    assert_eq!(summary["last_reload"]["applied"], true);
    assert!(summary["last_reload"]["message"].as_str().unwrap().contains("Save 5"), "{summary}");
}

#[test]
fn switching_transport_mid_stream_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = pipeline_copy("pipelines/buzz-file.toml", dir.path());
    let file = dir.path().join("transport.jsonl");
    edit(&path, |f| f.set("transport.path", file.display().to_string()), save_by_rename);
    let mut command = buzz();
    command.arg("run").arg(&path).args(outputs_in(dir.path()));
    command.args(["--set", "source.interval_ms=1", "--set", "source.count=3000", "--exit-when-done"]);
    command.args(["--summary", &dir.path().join("summary.json").display().to_string()]);
    let mut run = Watched::spawn(command);
    wait_for("the first chart frame", Duration::from_secs(30), || dir.path().join("chart.json").exists());
    // From the file to a Kafka topic on the embedded broker, mid-stream.
    let kafka = "type = \"kafka\"\nbrokers = \"embedded\"\ntopic = \"switched\"";
    edit_and_wait(&run, &path, |f| f.set_table("transport", kafka), APPLIED);
    assert!(run.child.try_wait().unwrap().is_none(), "the run ended before the switch:\n{}", run.text());
    assert!(run.child.wait().unwrap().success(), "{}", run.text());
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["produced"], 3000, "{}", run.text());
    assert_eq!(summary["records_out"], 3000, "{}", run.text());
    // The file took the records before the switch and the topic the rest:
    // a reload that changed nothing would leave all 3,000 in the file.
    let before_switch = read_json_lines(&file);
    assert!(!before_switch.is_empty() && before_switch.len() < 3000, "{} records in the file", before_switch.len());
    // Every one of them was read from the file before the consumer moved on
    // (the old transport drained), and the topic's came after: each author's
    // bar holds at least their file messages, and the bars add up.
    let bars = bar_values(&read_json(&dir.path().join("chart.json")));
    for (author, count) in count_authors(&before_switch) {
        assert!(bars.get(&author).copied().unwrap_or(0.0) >= count, "{author}: {bars:?}");
    }
    assert_eq!(bars.values().sum::<f64>(), 3000.0);
    assert!(run.text().contains("transport file"), "{}", run.text());
}

/// Builds the relabel fixture plugin from source into its own target folder
/// (kept between runs, so only the first build compiles its dependencies)
/// and installs it in `plugins` the way cargo replaces a library: by rename.
fn rebuild_relabel(plugins: &Path, env: &[(&str, &str)]) {
    let target = repo_root().join("target/fixture-rebuild");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(repo_root())
        .args(["build", "--offline", "--locked", "-p", "buzz-fixture-relabel", "--target-dir"])
        .arg(&target);
    command.env_remove("BUZZ_FIXTURE_LABEL").env_remove("BUZZ_FIXTURE_WRONG_ABI");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "cargo build failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let built = target.join("debug").join(format!(
        "{}buzz_fixture_relabel{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let installed =
        plugins.join(format!("{}buzz_plugin_relabel{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    let tmp = plugins.join("relabel.partial");
    std::fs::copy(&built, &tmp).unwrap();
    std::fs::rename(&tmp, &installed).unwrap();
}

#[test]
fn a_plugin_rebuilt_while_running_is_swapped_in_and_a_wrong_abi_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    rebuild_relabel(&plugins, &[("BUZZ_FIXTURE_LABEL", "before")]);
    let pipeline = dir.path().join("relabel.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"name = "relabel"
plugins_dir = {plugins:?}
[source]
type = "buzz_messages"
interval_ms = 5
[transport]
type = "file"
[transform]
type = "relabel"
[chart]
type = "bar_chart"
category = "label"
value = "count"
"#
        ),
    )
    .unwrap();
    let chart = dir.path().join("chart.json");
    let bars = || {
        std::fs::read(&chart)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|c| bar_values(&c))
            .unwrap_or_default()
    };
    let mut command = buzz();
    command.arg("run").arg(&pipeline).args(file_outputs_in(dir.path()));
    command.args(["--summary", &dir.path().join("summary.json").display().to_string()]);
    let mut run = Watched::spawn(command);
    wait_for("records labelled \"before\"", Duration::from_secs(60), || {
        bars().get("before").is_some_and(|n| *n > 10.0)
    });

    // A visible change: the rebuilt plugin labels records "after", and its
    // count carries on from the old build's.
    rebuild_relabel(&plugins, &[("BUZZ_FIXTURE_LABEL", "after")]);
    wait_for("records labelled \"after\"", Duration::from_secs(120), || bars().contains_key("after"));
    let counts = bars();
    assert!(counts["after"] > counts["before"], "the count continued across the rebuild: {counts:?}");
    assert!(run.text().contains("plugin relabel rebuilt"), "{}", run.text());

    // A build for another ABI is refused; the loaded one keeps running.
    rebuild_relabel(&plugins, &[("BUZZ_FIXTURE_LABEL", "wrong"), ("BUZZ_FIXTURE_WRONG_ABI", "1")]);
    wait_for("the refusal of the wrong-ABI build", Duration::from_secs(120), || run.count(REFUSED) > 0);
    let after = bars()["after"];
    wait_for("records still counted by the loaded build", Duration::from_secs(30), || bars()["after"] > after);
    assert!(!bars().contains_key("wrong"));
    let log = run.text();
    assert!(log.contains("was built for plugin ABI"), "{log}");

    assert!(run.interrupt().success(), "{log}");
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["reloads_applied"], 1);
    assert_eq!(summary["reloads_refused"], 1);
    assert_eq!(summary["records_in"], summary["records_out"]);
}

/// A count-by-author bar chart of generated messages, every path in `dir`.
fn count_by_pipeline(dir: &Path, field: &str, category: &str) -> PathBuf {
    let path = dir.join("counts.toml");
    let text = format!(
        r#"name = "counts"
[source]
type = "buzz_messages"
interval_ms = 2
seed = 7
[transport]
type = "file"
path = {transport:?}
[transform]
type = "count_by"
field = "{field}"
[chart]
type = "bar_chart"
output = {chart:?}
category = "{category}"
value = "count"
[dead_letter]
path = {dead:?}
"#,
        transport = dir.join("transport.jsonl"),
        chart = dir.join("chart"),
        dead = dir.join("dead.jsonl"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The bars of `dir/chart.json` (none until it is written).
fn bars_in(dir: &Path) -> std::collections::BTreeMap<String, f64> {
    std::fs::read(dir.join("chart.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|c| bar_values(&c))
        .unwrap_or_default()
}

const AUTHORS: [&str; 4] = ["Alice", "Bob", "Charlie", "Eve"];

#[test]
fn a_change_of_what_state_means_resets_it_and_a_restart_does_not_bring_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = count_by_pipeline(dir.path(), "author", "author");
    let mut command = buzz();
    command.arg("run").arg(&path);
    let mut run = Watched::spawn(command);
    wait_for("authors counted", Duration::from_secs(30), || bars_in(dir.path()).values().sum::<f64>() >= 20.0);

    // Count messages instead of authors: both settings in one save.
    edit_and_wait(&run, &path, |f| f.set("transform.field", "message").set("chart.category", "message"), APPLIED);
    let log = run.text();
    assert!(
        log.contains(r#"transform count_by: field "author" -> "message"; its state was reset"#),
        "the reload says the counts were reset: {log}"
    );
    assert!(log.contains(r#"chart bar_chart: category "author" -> "message"; its state was reset"#), "{log}");

    // Killed at once, then run again: the state restored is the one saved
    // since the reset, never the author counts of before.
    run.child.kill().unwrap();
    run.child.wait().unwrap();
    // The chart the restarted run draws, not the killed run's file: waiting
    // on that one let the test interrupt the new run before it had started.
    std::fs::remove_file(dir.path().join("chart.json")).unwrap();
    let mut command = buzz();
    command.arg("run").arg(&path).args(["--summary", &dir.path().join("summary.json").display().to_string()]);
    let mut run = Watched::spawn(command);
    wait_for("messages counted", Duration::from_secs(30), || {
        bars_in(dir.path()).iter().filter(|(k, _)| k.starts_with("I just")).map(|(_, n)| n).sum::<f64>() >= 20.0
    });
    let bars = bars_in(dir.path());
    assert!(AUTHORS.iter().all(|a| !bars.contains_key(*a)), "no author counts are left among the messages: {bars:?}");
    assert!(bars.keys().all(|k| k.starts_with("I just")), "{bars:?}");
    assert!(run.interrupt().success(), "{}", run.text());
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["dead_letter"], 0, "{}", run.text());
}

#[test]
fn a_chart_reading_a_field_its_transform_no_longer_outputs_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = count_by_pipeline(dir.path(), "author", "author");
    let mut command = buzz();
    command.arg("run").arg(&path).args(["--summary", &dir.path().join("summary.json").display().to_string()]);
    let mut run = Watched::spawn(command);
    wait_for("authors counted", Duration::from_secs(30), || bars_in(dir.path()).values().sum::<f64>() >= 20.0);

    // Only the transform's field: the chart would refuse every record.
    edit_and_wait(&run, &path, |f| f.set("transform.field", "message"), REFUSED);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().position(|l| l == r#"category = "author""#).unwrap() + 1;
    let expected = format!(
        r#"{}:{line}:12: chart.category: the chart reads field "author", but transform count_by outputs only "count", "message""#,
        path.display()
    );
    assert!(run.text().contains(&expected), "expected {expected:?} in:\n{}", run.text());

    // The running pipeline is unchanged: authors are still counted.
    let counted = bars_in(dir.path()).values().sum::<f64>();
    wait_for("more authors counted", Duration::from_secs(30), || {
        bars_in(dir.path()).values().sum::<f64>() > counted + 20.0
    });
    assert!(bars_in(dir.path()).keys().all(|k| AUTHORS.contains(&k.as_str())));
    assert!(run.interrupt().success(), "{}", run.text());
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["dead_letter"], 0, "{}", run.text());
    assert_eq!(summary["reloads_refused"], 1);
    assert_eq!(summary["reloads_applied"], 0);
}

#[test]
fn a_csv_source_pointed_at_another_file_replays_it_from_its_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |name: &str, rows: usize| {
        let path = dir.path().join(format!("{name}.csv"));
        let lines: Vec<String> = (1..=rows).map(|i| format!("{name}{i}")).collect();
        std::fs::write(&path, format!("name\n{}\n", lines.join("\n"))).unwrap();
        path
    };
    let (first, second) = (csv("a", 200), csv("b", 20));
    let path = dir.path().join("rows.toml");
    let text = format!(
        r#"name = "rows"
[source]
type = "csv_replay"
path = {first:?}
interval_ms = 20
[transport]
type = "file"
path = {transport:?}
[transform]
type = "count_by"
field = "name"
[chart]
type = "bar_chart"
output = {chart:?}
category = "name"
value = "count"
[dead_letter]
path = {dead:?}
"#,
        transport = dir.path().join("transport.jsonl"),
        chart = dir.path().join("chart"),
        dead = dir.path().join("dead.jsonl"),
    );
    std::fs::write(&path, text).unwrap();
    let mut command = buzz();
    command.arg("run").arg(&path);
    let mut run = Watched::spawn(command);
    wait_for("rows of the first file charted", Duration::from_secs(30), || bars_in(dir.path()).len() >= 10);

    edit_and_wait(&run, &path, |f| f.set("source.path", second.display().to_string()), APPLIED);
    assert!(run.text().contains("its state was reset"), "{}", run.text());
    wait_for("the second file replayed", Duration::from_secs(30), || run.count("is exhausted") > 0);
    assert!(run.interrupt().success(), "{}", run.text());
    let replayed: Vec<String> = bars_in(dir.path()).into_keys().filter(|k| k.starts_with('b')).collect();
    let mut expected: Vec<String> = (1..=20).map(|i| format!("b{i}")).collect();
    expected.sort();
    assert_eq!(replayed, expected, "every row of the new file, from its first: {}", run.text());

    // Pointed back at the first file while stopped: a restart replays it
    // from its first row too, not from the second file's saved row.
    let charted_before = bars_in(dir.path())["a1"];
    edit(&path, |f| f.set("source.path", first.display().to_string()), save_by_rename);
    let mut command = buzz();
    command.arg("run").arg(&path).args(["--no-reload", "--exit-when-done", "--set", "source.interval_ms=0"]);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bars = bars_in(dir.path());
    assert_eq!(bars["a1"], charted_before + 1.0, "the first row replayed again: {bars:?}");
    assert_eq!(bars["a200"], 1.0);
}

/// A pipeline `name` in `dir` with `source`, over the file `transport`,
/// whose transform (the panicky fixture) takes `slow_ms` over a record
/// noted "slow" (or until the file `dir/release` appears, with `released`),
/// and whose bar chart (titled "before") shows `n` by `name`.
fn slow_pipeline(dir: &Path, name: &str, source: &str, transport: &Path, slow_ms: u64, released: bool) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    install_fixture("panicky", &plugins, "panicky");
    let text = format!(
        r#"name = "{name}"
plugins_dir = {plugins:?}
[source]
{source}
[transport]
type = "file"
path = {transport:?}
[transform]
type = "panicky"
slow_ms = {slow_ms}
{release}
[chart]
type = "bar_chart"
title = "before"
output = {chart:?}
category = "name"
value = "n"
[dead_letter]
path = {dead:?}
"#,
        chart = dir.join("chart"),
        dead = dir.join("dead.jsonl"),
        release = if released { format!("slow_until = {:?}", dir.join("release")) } else { String::new() },
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_consumer_alone_reads_the_old_transport_to_its_end_before_switching() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.jsonl"), dir.path().join("new.jsonl"));
    let record = |i: usize, note: &str| format!("{{\"name\": \"r{i}\", \"n\": {i}, \"note\": \"{note}\"}}\n");
    std::fs::write(&old, record(1, "slow")).unwrap();
    let path = slow_pipeline(dir.path(), "switch", "type = \"buzz_messages\"", &old, 2000, false);
    let mut command = buzz();
    command.arg("run").arg(&path).args(["--role", "consume"]);
    let mut run = Watched::spawn(command);

    // While the consumer is busy with r1, records r2..r20 reach the old
    // file and the transport is switched: they are behind it, unread.
    wait_for("the consumer busy with r1", Duration::from_secs(30), || run.count("slow record") > 0);
    let mut file = std::fs::OpenOptions::new().append(true).open(&old).unwrap();
    std::io::Write::write_all(&mut file, (2..=20).map(|i| record(i, "fast")).collect::<String>().as_bytes()).unwrap();
    edit_and_wait(&run, &path, |f| f.set("transport.path", new.display().to_string()), APPLIED);
    std::fs::write(&new, record(21, "fast")).unwrap();
    wait_for("r21 from the new transport", Duration::from_secs(30), || bars_in(dir.path()).contains_key("r21"));

    let mut charted: Vec<String> = bars_in(dir.path()).into_keys().collect();
    let mut expected: Vec<String> = (1..=21).map(|i| format!("r{i}")).collect();
    charted.sort();
    expected.sort();
    assert_eq!(charted, expected, "every record of the old transport, then the new one's: {}", run.text());
    assert!(run.interrupt().success(), "{}", run.text());
}

#[test]
fn a_reload_one_half_cannot_take_in_time_is_applied_to_neither() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |name: &str, first_note: &str| {
        let path = dir.path().join(format!("{name}.csv"));
        let rows: String =
            (1..=200).map(|i| format!("{name}{i},{i},{}\n", if i == 1 { first_note } else { "fast" })).collect();
        std::fs::write(&path, format!("name,n,note\n{rows}")).unwrap();
        path
    };
    let (first, second) = (csv("a", "slow"), csv("b", "fast"));
    let transport = dir.path().join("transport.jsonl");
    let source = format!("type = \"csv_replay\"\npath = {first:?}\ninterval_ms = 20");
    // Busy until the test releases it (at most a minute), however long the
    // reload takes to build on a loaded machine.
    let path = slow_pipeline(dir.path(), "halves", &source, &transport, 60_000, true);
    let mut command = buzz();
    command.arg("run").arg(&path).env("BUZZ_RELOAD_TIMEOUT_MS", "500");
    let mut run = Watched::spawn(command);

    // The consumer is busy: it cannot take its part of a reload that
    // changes both halves within the 500 ms allowed.
    wait_for("the consumer busy with a1", Duration::from_secs(30), || run.count("slow record") > 0);
    let second = second.display().to_string();
    edit_and_wait(&run, &path, |f| f.set("source.path", second).set("chart.title", "after"), REFUSED);
    assert!(run.text().contains("the consumer did not take the new parts"), "{}", run.text());
    std::fs::write(dir.path().join("release"), "").unwrap();

    // Once the consumer is free again, neither half runs the refused edit.
    wait_for("rows after a1 charted", Duration::from_secs(30), || bars_in(dir.path()).contains_key("a10"));
    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(chart["title"], "before", "the chart took the refused edit");
    let sent = std::fs::read_to_string(&transport).unwrap();
    assert!(!sent.contains("\"b1\""), "the producer took the refused edit: {}", run.text());
    assert!(!bars_in(dir.path()).keys().any(|k| k.starts_with('b')));
    assert_eq!(run.count(APPLIED), 0, "{}", run.text());
    assert!(run.interrupt().success(), "{}", run.text());
}
