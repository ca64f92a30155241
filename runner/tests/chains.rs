//! Chains of transforms (`[[transform]]`), each feeding the next, with
//! their own state, checkpoints, reloads and dead letters; and branches
//! added and removed by a hot reload.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::browser::http_get;
use common::project::ProjectPipeline;
use common::runs::{assert_close, finish, kill_9_three_times, run};
use common::toml_file::TomlFile;
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

/// Project messages over a file into a chain: a rolling mean of the
/// sentiment per category (`window` values), then the average of that
/// rolling mean per `group`, charted as `value` (`average` or `count`).
fn chain(dir: &Path, window: usize, group: &str, value: &str) -> PathBuf {
    let rolling = format!("type = \"rolling_mean\"\ngroup = \"category\"\nvalue = \"sentiment\"\nwindow = {window}");
    let average = format!("type = \"average_by\"\ngroup = \"{group}\"\nvalue = \"rolling_mean\"");
    let chart = format!("type = \"bar_chart\"\ncategory = \"{group}\"\nvalue = \"{value}\"");
    ProjectPipeline::new("chain", dir, 0, 7).chain(&[&rolling, &average], &chart).write()
}

fn bars(dir: &Path, chart: &str) -> BTreeMap<String, f64> {
    bar_values(&read_json(&dir.join(format!("{chart}.json"))))
}

/// What the chain makes of `messages`: each message's rolling mean of its
/// category's latest `window` sentiments, averaged per `group` (messages
/// without it feed the rolling means but no average).
fn expected(messages: &[Value], window: usize, group: &str) -> BTreeMap<String, f64> {
    let mut windows: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for m in messages {
        let latest = windows.entry(m["category"].as_str().unwrap().to_string()).or_default();
        latest.push(m["sentiment"].as_f64().unwrap());
        let from = latest.len().saturating_sub(window);
        let mean = latest[from..].iter().sum::<f64>() / (latest.len() - from) as f64;
        if let Some(key) = m[group].as_str() {
            let entry = sums.entry(key.to_string()).or_default();
            *entry = (entry.0 + mean, entry.1 + 1.0);
        }
    }
    sums.into_iter().map(|(k, (sum, n))| (k, sum / n)).collect()
}

fn count_by(messages: &[Value], field: &str) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    for m in messages {
        *counts.entry(m[field].as_str().unwrap().to_string()).or_default() += 1.0;
    }
    counts
}

#[test]
fn chains_feed_each_transform_into_the_next_and_the_last_into_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = chain(dir.path(), 3, "author", "average");
    let mut lines: Vec<String> = ["Ann", "Bob", "Ann", "Cid", "Bob", "Ann"]
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let category = ["tech", "food"][i % 2];
            format!(r#"{{"author": "{a}", "category": "{category}", "sentiment": {}}}"#, 0.1 * (i + 1) as f64)
        })
        .collect();
    // Taken by the rolling mean (it moves the tech window), refused by the
    // average per author: dead-lettered as the second stage's.
    lines.insert(3, r#"{"category": "tech", "sentiment": 0.9}"#.to_string());
    std::fs::write(dir.path().join("transport.jsonl"), lines.join("\n") + "\n").unwrap();
    let summary = dir.path().join("summary.json");
    finish(run(&pipeline, &["--role", "consume", "--summary", &summary.display().to_string()]));
    let messages: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_close(&bars(dir.path(), "chart"), &expected(&messages, 3, "author"));
    let letters = read_json_lines(&dir.path().join("dead.jsonl"));
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        (letters[0]["stage"].as_str(), letters[0]["stage_type"].as_str()),
        (Some("transform[1]"), Some("average_by"))
    );
    let refused: Value = serde_json::from_str(letters[0]["payload"].as_str().unwrap()).unwrap();
    assert!(refused["rolling_mean"].is_number(), "the record the first transform gave it: {refused}");
    // The summary's configuration lists the chain in order.
    let configuration = &read_json(&summary)["configuration"];
    let types: Vec<&str> =
        configuration["transform"].as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["rolling_mean", "average_by"]);
}

#[test]
fn chains_check_points_at_a_mistake_in_any_stage() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = chain(dir.path(), 3, "author", "average");
    let (line, said) = check_with_typo(&pipeline, "transform.1.value", "valu");
    assert!(said.contains(&format!("{}:{line}:1: ", pipeline.display())), "{said}");
    assert!(said.contains("unknown setting `transform[1].valu`"), "{said}");
}

#[test]
fn chains_restart_after_kill_9_with_every_stage_restored_exactly() {
    let count = "source.count=60000";
    let whole = tempfile::tempdir().unwrap();
    finish(run(&chain(whole.path(), 3, "category", "average"), &["--set", count]));

    let dir = tempfile::tempdir().unwrap();
    let pipeline = chain(dir.path(), 3, "category", "average");
    let fast = ["--set", count, "--set", "state.checkpoint_ms=10"];
    let transport = dir.path().join("transport.jsonl");
    let lines = || std::fs::read_to_string(&transport).map_or(0, |t| t.lines().count());
    kill_9_three_times(|| run(&pipeline, &fast), lines);
    finish(run(&pipeline, &fast));
    let messages = read_json_lines(&transport);
    assert_eq!(messages.len(), 60_000);
    assert_close(&bars(dir.path(), "chart"), &bars(whole.path(), "chart"));
    assert_close(&bars(dir.path(), "chart"), &expected(&messages, 3, "category"));
}

/// Starts `pipeline` paced (so edits land mid-run), watched.
fn paced(pipeline: &Path, count: u64, extra: &[&str]) -> Watched {
    Watched::spawn(paced_command(pipeline, count, extra))
}

fn paced_command(pipeline: &Path, count: u64, extra: &[&str]) -> std::process::Command {
    let mut command = buzz();
    command.arg("run").arg(pipeline).args(["--exit-when-done", "--set", &format!("source.count={count}")]);
    command.args(["--set", "source.interval_ms=2"]).args(extra);
    command
}

/// Each branch's records out, as `/api/stats` has them now.
fn branches_out(port: u16) -> BTreeMap<String, u64> {
    let stats: Value = serde_json::from_str(&http_get(port, "/api/stats")).unwrap();
    let branches = stats[0]["branches"].as_array().cloned().unwrap_or_default();
    branches.iter().map(|b| (b["name"].as_str().unwrap().to_string(), b["records_out"].as_u64().unwrap())).collect()
}

#[test]
fn chains_a_reload_of_one_stage_keeps_the_state_of_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = chain(dir.path(), 3, "category", "count");
    let mut run = paced(&pipeline, 3000, &[]);
    wait_for("the first frame", Duration::from_secs(30), || dir.path().join("chart.json").exists());
    TomlFile::open(&pipeline).set("transform.0.window", 5).save(&pipeline);
    wait_for("the reload", Duration::from_secs(30), || run.count("reload applied") == 1);
    assert!(run.text().contains("transform[0] rolling_mean: window 3 -> 5"), "{}", run.text());
    assert!(run.child.try_wait().unwrap().is_none(), "the run ended before the edit; make it longer:\n{}", run.text());
    assert!(run.child.wait().unwrap().success(), "{}", run.text());
    // The second stage kept its counts through the first one's edit.
    let messages = read_json_lines(&dir.path().join("transport.jsonl"));
    assert_eq!(messages.len(), 3000);
    assert_eq!(bars(dir.path(), "chart"), count_by(&messages, "category"));
}

/// Two branches (messages per author, per category) over a file.
fn two_branches(dir: &Path) -> PathBuf {
    ProjectPipeline::new("two", dir, 0, 3).counting("authors", "author").counting("categories", "category").write()
}

#[test]
fn branches_added_by_reload_chart_what_comes_after_and_the_others_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path());
    let (mut run, port) = run_with_dashboard(paced_command(&pipeline, 3000, &[]));
    wait_for("the first frames", Duration::from_secs(30), || dir.path().join("categories.json").exists());
    // Between the two, so the one after it changes place.
    ProjectPipeline::reopen(&pipeline).counting("more", "category").move_before("more", "categories").write();
    wait_for("the reload", Duration::from_secs(30), || run.count("reload applied") == 1);
    assert!(run.text().contains("branch more added (count_by -> bar_chart)"), "{}", run.text());
    // The stats list it with figures of its own: only what came after.
    let mut out = BTreeMap::new();
    wait_for("the added branch's own records out in /api/stats", Duration::from_secs(30), || {
        let running = run.child.try_wait().unwrap().is_none();
        assert!(running, "the run ended first; the stats had {out:?}:\n{}", run.text());
        out = branches_out(port);
        out.get("more").is_some_and(|&more| more > 0 && more < out["authors"])
    });
    assert_eq!(out.keys().collect::<Vec<_>>(), ["authors", "categories", "more"], "{out:?}");
    assert!(run.child.try_wait().unwrap().is_none(), "the run ended before the edit; make it longer:\n{}", run.text());
    assert!(run.child.wait().unwrap().success(), "{}", run.text());
    let messages = read_json_lines(&dir.path().join("transport.jsonl"));
    assert_eq!(messages.len(), 3000);
    // The running branches charted every record, once.
    assert_eq!(bars(dir.path(), "authors"), count_by(&messages, "author"));
    assert_eq!(bars(dir.path(), "categories"), count_by(&messages, "category"));
    // The new one, every record from some point on: a suffix of the input.
    let more = bars(dir.path(), "more");
    let seen = more.values().sum::<f64>() as usize;
    assert!(seen > 0 && seen < 3000, "the added branch charted {seen} of 3000");
    assert_eq!(more, count_by(&messages[3000 - seen..], "category"), "the records after the reload, each once");
    // Its state is checkpointed under its name.
    let summary = run.text();
    assert!(!summary.contains("cannot checkpoint"), "{summary}");
}

#[test]
fn branches_removed_by_reload_leave_the_dashboard_and_the_others_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path());
    let mut command = buzz();
    command.arg("run").arg(&pipeline).args(["--exit-when-done", "--set", "source.count=4000"]);
    command.args(["--set", "source.interval_ms=2"]);
    let (mut run, port) = run_with_dashboard(command);
    let branches = || {
        let list: Value = serde_json::from_str(&http_get(port, "/api/pipelines")).unwrap();
        list[0]["branches"].as_array().unwrap().iter().map(|b| b.as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(branches(), ["authors", "categories"]);
    let mut browser = common::browser::Browser::open(&format!("http://127.0.0.1:{port}/"));
    let chart = |branch: &str| {
        format!(r#"document.querySelector('section[data-pipeline="two"] .chart[data-branch="{branch}"] svg')"#)
    };
    browser.wait_for("the categories chart", &format!("!!{}", chart("categories")), Duration::from_secs(30));
    TomlFile::open(&pipeline).remove("branches.categories").save(&pipeline);
    wait_for("the reload", Duration::from_secs(30), || run.count("reload applied") == 1);
    assert!(run.text().contains("branch categories removed"), "{}", run.text());
    assert_eq!(branches(), ["authors"]);
    // Its figures leave the stats (a snapshot is up to a second old).
    wait_for("the removed branch to leave /api/stats", Duration::from_secs(30), || {
        branches_out(port).keys().eq(["authors"])
    });
    // The page drops its chart and links; the other's stays.
    let gone = r#"!document.querySelector('section[data-pipeline="two"] [data-branch="categories"]')"#;
    browser.wait_for("the removed chart to go", gone, Duration::from_secs(30));
    assert_eq!(browser.eval(&format!("!!{}", chart("authors"))), true);
    let (status, _) = common::browser::http_request(port, "/charts/two/chart.svg?branch=categories");
    assert!(status.contains(" 404 "), "{status}");
    assert!(run.child.try_wait().unwrap().is_none(), "the run ended before the edit; make it longer:\n{}", run.text());
    assert!(run.exit_within(Duration::from_secs(120)).success(), "{}", run.text());
    let messages = read_json_lines(&dir.path().join("transport.jsonl"));
    assert_eq!(messages.len(), 4000);
    assert_eq!(bars(dir.path(), "authors"), count_by(&messages, "author"), "the branch left charted every record");
    let removed = bars(dir.path(), "categories").values().sum::<f64>() as usize;
    assert!(removed < 4000, "the removed branch stopped charting ({removed} of 4000)");
}
