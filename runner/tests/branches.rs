//! Several charts of one stream: a pipeline's `[branches.NAME]` each take
//! every record through their own transform into their own chart, with
//! their own state, checkpoints, reloads and dead letters.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::broker::unique;
use common::project::{AVERAGE_BARS, AVERAGE_SENTIMENT, ProjectPipeline};
use common::runs::{assert_close, finish, kill_9_three_times, run};
use common::toml_file::TomlFile;
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

/// Project messages (author, category, sentiment, timestamp) into two
/// branches: messages per author, average sentiment per category (its
/// chart titled "Mood"). Everything it writes goes in `dir`.
fn two_branches(dir: &Path, count: u64) -> ProjectPipeline {
    ProjectPipeline::new("two", dir, count, 3)
        .archived()
        .counting("authors", "author")
        .branch("mood", AVERAGE_SENTIMENT, AVERAGE_BARS)
        .set("branches.mood.chart.title", "Mood")
}

fn bars(dir: &Path, branch: &str) -> BTreeMap<String, f64> {
    bar_values(&read_json(&dir.join(format!("{branch}.json"))))
}

/// Messages per author and mean sentiment per category of `messages`.
fn expected(messages: &[Value]) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for m in messages {
        let entry = sums.entry(m["category"].as_str().unwrap().to_string()).or_default();
        *entry = (entry.0 + m["sentiment"].as_f64().unwrap(), entry.1 + 1.0);
    }
    (count_authors(messages), sums.into_iter().map(|(c, (sum, n))| (c, sum / n)).collect())
}

/// Both branches' charts are what the input makes of them.
fn assert_both_charted(dir: &Path, messages: &[Value]) {
    let (authors, mood) = expected(messages);
    assert_eq!(authors.values().sum::<f64>(), messages.len() as f64);
    assert_eq!(bars(dir, "authors"), authors);
    assert_close(&bars(dir, "mood"), &mood);
    assert_eq!(read_json(&dir.join("mood.json"))["title"], "Mood");
}

#[test]
fn branches_on_the_file_transport_each_chart_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path(), 500).write();
    let summary = dir.path().join("summary.json");
    finish(run(&pipeline, &["--summary", &summary.display().to_string()]));
    let messages = read_json_lines(&dir.path().join("transport.jsonl"));
    assert_eq!(messages.len(), 500);
    assert_both_charted(dir.path(), &messages);
    let summary = read_json(&summary);
    assert_eq!((summary["records_in"].as_u64(), summary["records_out"].as_u64()), (Some(500), Some(500)));
    let charts: Vec<&str> = summary["charts"].as_array().unwrap().iter().map(|c| c["svg"].as_str().unwrap()).collect();
    assert!(charts[0].ends_with("authors.svg") && charts[1].ends_with("mood.svg"), "{charts:?}");
    assert_eq!(summary["configuration"]["branches"]["mood"]["transform"]["type"], "average_by");
    for branch in ["authors", "mood"] {
        assert_svg(&std::fs::read_to_string(dir.path().join(format!("{branch}.svg"))).unwrap());
    }
}

#[test]
fn branches_on_the_embedded_kafka_broker_each_chart_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("branches");
    // Three partitions: each branch's chart is merged from three tasks.
    let transport =
        format!("type = \"kafka\"\nbrokers = \"embedded\"\ntopic = \"{topic}\"\npartitions = 3\nkey = \"author\"");
    let pipeline = two_branches(dir.path(), 400).transport(&transport).write();
    finish(run(&pipeline, &[]));
    let messages = read_json_lines(&dir.path().join("archive.jsonl"));
    assert_eq!(messages.len(), 400);
    assert_both_charted(dir.path(), &messages);
}

#[test]
fn branches_restart_after_kill_9_with_every_branch_restored_exactly() {
    let count = "source.count=60000";
    let whole = tempfile::tempdir().unwrap();
    finish(run(&two_branches(whole.path(), 0).write(), &["--set", count]));

    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path(), 0).write();
    let fast = ["--set", count, "--set", "state.checkpoint_ms=10"];
    let transport = dir.path().join("transport.jsonl");
    let lines = || std::fs::read_to_string(&transport).map_or(0, |t| t.lines().count());
    kill_9_three_times(|| run(&pipeline, &fast), lines);
    finish(run(&pipeline, &fast));
    let messages = read_json_lines(&transport);
    assert_eq!(messages.len(), 60_000, "the source repeated nothing and lost nothing");
    assert_eq!(bars(dir.path(), "authors"), bars(whole.path(), "authors"), "as one uninterrupted run");
    assert_close(&bars(dir.path(), "mood"), &bars(whole.path(), "mood"));
    assert_both_charted(dir.path(), &messages);
}

#[test]
fn branches_a_record_one_branch_refuses_is_dead_lettered_with_its_name_and_the_other_charts_it() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path(), 0).write();
    let lines = [
        r#"{"author": "Ann", "category": "tech", "sentiment": 0.5}"#,
        r#"{"author": "Bob", "category": "tech", "sentiment": "high"}"#,
        r#"{"author": "Ann", "category": "food", "sentiment": 0.25}"#,
    ];
    std::fs::write(dir.path().join("transport.jsonl"), lines.join("\n") + "\n").unwrap();
    finish(run(&pipeline, &["--role", "consume"]));
    let authors = bars(dir.path(), "authors");
    assert_eq!(authors, BTreeMap::from([("Ann".into(), 2.0), ("Bob".into(), 1.0)]), "authors charts all three");
    assert_eq!(bars(dir.path(), "mood"), BTreeMap::from([("food".into(), 0.25), ("tech".into(), 0.5)]));
    let letters = read_json_lines(&dir.path().join("dead.jsonl"));
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["branch"], "mood");
    assert_eq!(letters[0]["stage"], "transform");
    assert_eq!(letters[0]["payload"], lines[1]);
}

#[test]
fn branches_a_reload_of_one_branch_changes_it_and_leaves_the_others_state() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path(), 0).write();
    // Paced so the edits land mid-run.
    let mut command = buzz();
    command.arg("run").arg(&pipeline).args([
        "--exit-when-done",
        "--set",
        "source.count=3000",
        "--set",
        "source.interval_ms=2",
    ]);
    let mut run = Watched::spawn(command);
    wait_for("both first frames", Duration::from_secs(30), || {
        dir.path().join("authors.json").exists() && dir.path().join("mood.json").exists()
    });
    TomlFile::open(&pipeline).set("branches.mood.chart.title", "Mood, edited").save(&pipeline);
    wait_for("the reload", Duration::from_secs(30), || run.count("reload applied") == 1);
    assert!(run.text().contains("branch mood: chart bar_chart: title"), "{}", run.text());
    // Turning the branches into one [transform] and [chart] while running
    // is refused (their state and charts are kept under other names).
    let mut single = TomlFile::open(&pipeline);
    single.move_to("branches.authors.transform", "transform").move_to("branches.authors.chart", "chart");
    single.remove("branches").save(&pipeline);
    wait_for("the refusal", Duration::from_secs(30), || run.count("reload refused") == 1);
    assert!(
        run.text().contains(
            "a pipeline cannot change between one [transform] and [chart] and named [branches.NAME] while it runs"
        ),
        "{}",
        run.text()
    );
    assert!(run.child.try_wait().unwrap().is_none(), "the run ended before the edits; make it longer:\n{}", run.text());
    let status = run.child.wait().unwrap();
    assert!(status.success(), "{}", run.text());
    // The edited branch shows the edit and kept its data; the other kept
    // its state: both count every record.
    assert_eq!(read_json(&dir.path().join("mood.json"))["title"], "Mood, edited");
    let messages = read_json_lines(&dir.path().join("transport.jsonl"));
    assert_eq!(messages.len(), 3000);
    let (authors, mood) = expected(&messages);
    assert_eq!(bars(dir.path(), "authors"), authors);
    assert_close(&bars(dir.path(), "mood"), &mood);
}

#[test]
fn branches_check_points_at_the_line_and_column_inside_a_branch() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path(), 10).write();
    let (line, said) = check_with_typo(&pipeline, "branches.mood.transform.value", "valu");
    assert!(said.contains(&format!("{}:{line}:1: ", pipeline.display())), "{said}");
    assert!(said.contains("branch mood: unknown setting `transform.valu`"), "{said}");

    // And a file mixing the two shapes is refused at the old table.
    let mut file = TomlFile::open(&pipeline);
    file.rename("branches.mood.transform.valu", "value").set_table("transform", "type = \"count_by\"");
    file.save(&pipeline);
    let mixed = file.text();
    let line = mixed.lines().position(|l| l == "[transform]").unwrap() + 1;
    let output = buzz().arg("check").arg(&pipeline).output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(said.contains(&format!(":{line}:2: [transform] and [branches] do not go together")), "{said}");
}

#[test]
fn branches_the_project_app_draws_bars_per_category_and_a_line_per_category() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let mut command = buzz();
    command.args(["run", "pipelines/project.toml", "--exit-when-done"]);
    for (key, value) in [
        ("source.interval_ms", "0".to_string()),
        ("source.count", "300".to_string()),
        ("source.seed", "5".to_string()),
        ("source.archive_path", format!("{d}/archive.jsonl")),
        ("transport.brokers", "embedded".to_string()),
        ("transport.topic", unique("project")),
        ("dead_letter.path", format!("{d}/dead.jsonl")),
        ("branches.averages.chart.output", format!("{d}/project")),
        ("branches.timeline.chart.output", format!("{d}/timeline")),
        ("branches.volume.chart.output", format!("{d}/volume")),
    ] {
        command.args(["--set", &format!("{key}={value}")]);
    }
    finish(command);
    let messages = read_json_lines(&dir.path().join("archive.jsonl"));
    let (_, mood) = expected(&messages);
    assert_close(&bars(dir.path(), "project"), &mood);
    let per_category = bars(dir.path(), "volume");
    assert_eq!(per_category.values().sum::<f64>(), 300.0);
    assert_eq!(per_category.keys().collect::<Vec<_>>(), mood.keys().collect::<Vec<_>>());

    // The timeline: one line per category, each with all its messages,
    // named in the legend.
    let timeline = read_json(&dir.path().join("timeline.json"));
    let series: BTreeMap<String, usize> = timeline["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["points"].as_array().unwrap().len()))
        .collect();
    let counts: BTreeMap<String, usize> = per_category.iter().map(|(c, n)| (c.clone(), *n as usize)).collect();
    assert_eq!(series, counts);
    let svg = std::fs::read_to_string(dir.path().join("timeline.svg")).unwrap();
    assert_svg(&svg);
    let texts: Vec<&str> =
        svg.split("<text").skip(1).filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim())).collect();
    for category in counts.keys() {
        assert!(texts.contains(&category.as_str()), "the legend names {category}: {texts:?}");
    }
    // Each category's line (and its legend swatch) in a colour of its own.
    let colours: std::collections::BTreeSet<&str> = svg
        .split("stroke=\"")
        .skip(1)
        .filter(|s| s[7..].starts_with("\" stroke-width=\"2\""))
        .map(|s| &s[..7])
        .collect();
    assert_eq!(colours.len(), counts.len(), "{colours:?}");
}

#[test]
fn branches_the_dashboard_shows_both_charts_of_a_pipeline() {
    use common::browser::Browser;
    let dir = tempfile::tempdir().unwrap();
    let pipeline = two_branches(dir.path(), 0).write();
    let mut command = buzz();
    command.arg("run").arg(&pipeline).args(["--set", "source.interval_ms=20", "--set", "source.count=100000"]);
    let (mut run, port) = run_with_dashboard(command);
    let mut browser = Browser::open(&format!("http://127.0.0.1:{port}/"));
    let chart = |branch: &str| {
        format!(r#"document.querySelector('section[data-pipeline="two"] .chart[data-branch="{branch}"] svg')"#)
    };
    browser.wait_for(
        "the mood chart",
        &format!("{}?.textContent.includes('Mood')", chart("mood")),
        Duration::from_secs(30),
    );
    browser.wait_for("the authors chart", &format!("!!{}", chart("authors")), Duration::from_secs(30));
    assert_eq!(browser.eval(r#"document.querySelectorAll('section[data-pipeline="two"] .chart').length"#), 2);
    assert_eq!(browser.eval(r#"document.querySelectorAll('section.pipeline').length"#), 1, "one card, both charts");
    // Each chart has its own download links, each serving that chart
    // under a file name of its own.
    for (branch, mark, other) in [("mood", "Mood", "Alice"), ("authors", "Alice", "Mood")] {
        let got = browser.eval(&format!(
            r#"(async () => {{ const a = document.querySelector('section[data-pipeline="two"] .branch-downloads[data-branch="{branch}"] a.svg'); if (!a) return null; const r = await fetch(a.href); return [r.status, r.headers.get('content-disposition'), await r.text()] }})()"#
        ));
        assert!(got.is_array(), "no SVG link for branch {branch}");
        assert_eq!(got[0], 200, "{branch}");
        assert_eq!(got[1], format!("attachment; filename=\"two-{branch}.svg\""));
        let svg = got[2].as_str().unwrap();
        assert!(svg.contains(mark) && !svg.contains(other), "the {branch} link serves another chart");
    }
    assert!(run.interrupt().success(), "{}", run.text());
}
