//! State that survives: checkpoints of the chart's state with the position
//! it stands for, restored after a clean stop or a `kill -9`, on the file
//! transport and on a real broker with durable storage; `buzz reset`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::broker::{Tansu, free_port, python_reads_messages, unique};
use common::toml_file::TomlFile;
use common::watched::{Watched, wait_for};
use common::*;

/// The file pipeline with everything it writes inside `dir`.
fn file_run(dir: &Path, extra: &[&str]) -> Command {
    let mut command = buzz();
    command.args(["run", "pipelines/buzz-file.toml", "--no-reload", "--exit-when-done"]);
    command.args(file_outputs_in(dir)).args(["--set", "source.interval_ms=0", "--set", "source.seed=7"]);
    command.args(extra);
    command
}

fn chart(dir: &Path) -> BTreeMap<String, f64> {
    bar_values(&read_json(&dir.join("chart.json")))
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn finish(mut command: Command) {
    let output = command.output().unwrap();
    assert!(output.status.success(), "buzz failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// Kills `child` with SIGKILL: no clean stop, no final checkpoint.
fn kill_9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A small deterministic generator, so kill moments differ but reruns match.
struct Moments(u64);

impl Moments {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn runs_of_a_file_pipeline_add_up_and_a_restart_continues_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    finish(file_run(dir.path(), &["--set", "source.count=100"]));
    assert_eq!(chart(dir.path()).values().sum::<f64>(), 100.0);
    // A larger count resumes the source where it stopped: 50 more.
    finish(file_run(dir.path(), &["--set", "source.count=150"]));
    assert_eq!(lines(&dir.path().join("transport.jsonl")), 150);
    let counted = chart(dir.path());
    assert_eq!(counted.values().sum::<f64>(), 150.0, "the chart continues: {counted:?}");
    let messages = read_json_lines(&dir.path().join("transport.jsonl"));
    assert_eq!(counted, count_authors(&messages), "the chart is the file's");
    // The same run again sends nothing twice and keeps the chart.
    finish(file_run(dir.path(), &["--set", "source.count=150"]));
    assert_eq!(lines(&dir.path().join("transport.jsonl")), 150);
    assert_eq!(chart(dir.path()), counted);
}

#[test]
fn twenty_kill_9s_of_a_file_pipeline_end_with_the_chart_of_an_uninterrupted_run() {
    let count = "source.count=100000";
    let fast = "state.checkpoint_ms=20";
    let whole = tempfile::tempdir().unwrap();
    let started = Instant::now();
    finish(file_run(whole.path(), &["--set", count]));
    // Kill moments scale with how long a whole run takes on this machine.
    let whole_ms = started.elapsed().as_millis() as u64;
    let expected = chart(whole.path());
    assert_eq!(expected.values().sum::<f64>(), 100_000.0);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("transport.jsonl");
    let mut moments = Moments(0x9e37_79b9_7f4a_7c15);
    let mut killed_mid_run = 0;
    for _ in 0..20 {
        let after = Duration::from_millis(whole_ms / 20 + moments.next(whole_ms * 3 / 5));
        let mut child = file_run(dir.path(), &["--set", count, "--set", fast]).spawn().unwrap();
        let started = Instant::now();
        while started.elapsed() < after && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        kill_9(&mut child);
    }
    assert!(killed_mid_run >= 8, "kills that landed mid-run: {killed_mid_run} of 20 (a whole run takes {whole_ms} ms)");
    finish(file_run(dir.path(), &["--set", count, "--set", fast]));
    assert_eq!(lines(&file), 100_000, "the source repeated nothing and lost nothing");
    assert_eq!(chart(dir.path()), expected, "category by category, as one uninterrupted run");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(whole.path().join("transport.jsonl")).unwrap(),
        "the same records in the same order"
    );
}

#[test]
fn a_producer_killed_mid_line_leaves_no_glued_record() {
    let dir = tempfile::tempdir().unwrap();
    finish(file_run(dir.path(), &["--set", "source.count=10"]));
    // What a producer killed mid-write leaves: half a record, no line end.
    let file = dir.path().join("transport.jsonl");
    std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(b"{\"message\": \"I just").unwrap();
    finish(file_run(dir.path(), &["--set", "source.count=20"]));
    let messages = read_json_lines(&file);
    assert_eq!(messages.len(), 20, "the fragment went, the record was written whole");
    assert_eq!(chart(dir.path()).values().sum::<f64>(), 20.0);

    // A fragment written by someone else (no checkpoint covers it) is
    // ended, so it is dead-lettered alone and the next record is kept.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("transport.jsonl"), "{\"author\": \"Eve\", \"mess").unwrap();
    finish(file_run(other.path(), &["--set", "source.count=5"]));
    assert_eq!(chart(other.path()).values().sum::<f64>(), 5.0);
    let dead = read_json_lines(&other.path().join("dead.jsonl"));
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["payload"], "{\"author\": \"Eve\", \"mess");
}

/// The transport file deleted and written again with new records, under a
/// running consumer and then while it is stopped: like `tail -F`, the
/// consumer reads the new file from its beginning and the chart adds its
/// records to those of the old one. It used to go on at the old byte
/// offset (or stay on the deleted file): records skipped without a word,
/// half a line dead-lettered.
#[test]
fn a_replaced_transport_file_is_read_from_its_beginning_by_a_running_and_a_restarted_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("transport.jsonl");
    let mut written = Vec::new();
    let mut produce = |count: u64, seed: u64| {
        // The old file and its source checkpoint go: a new producer run
        // writes a new file (it gets the old inode back, on ext4, when no
        // one holds the old one open).
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(dir.path().join("transport.jsonl.source.checkpoint"));
        let (count, seed) = (format!("source.count={count}"), format!("source.seed={seed}"));
        finish(file_run(dir.path(), &["--role", "produce", "--set", &count, "--set", &seed]));
        written.extend(read_json_lines(&file));
        count_authors(&written)
    };
    let consumer = |exit_when_done: bool| {
        let mut command = buzz();
        command.args(["run", "pipelines/buzz-file.toml", "--no-reload", "--role", "consume"]);
        command.args(file_outputs_in(dir.path())).args(["--set", "state.checkpoint_ms=100"]);
        command.arg("--summary").arg(dir.path().join("summary.json"));
        if exit_when_done {
            command.arg("--exit-when-done");
        }
        Watched::spawn(command)
    };
    let charted = || bar_values(&read_json(&dir.path().join("chart.json")));
    let charted_so_far = || std::fs::read(dir.path().join("chart.json")).map_or(0.0, |_| charted().values().sum());

    produce(1000, 1);
    let mut running = consumer(false);
    wait_for("the first file charted", Duration::from_secs(30), || charted_so_far() == 1000.0);
    let expected = produce(2000, 2);
    wait_for("the new file charted too", Duration::from_secs(30), || charted_so_far() >= 3000.0);
    assert!(running.interrupt().success(), "{}", running.text());
    assert_eq!(charted(), expected, "every record of both files charted once");
    let warned = format!("{} is another file now", file.display());
    assert_eq!(running.count(&warned), 1, "{}", running.text());

    // Stopped at the end of the second file; the third is longer, so the
    // old offset lies inside it.
    let expected = produce(2500, 3);
    let mut restarted = consumer(true);
    wait_for("the restarted consumer to finish", Duration::from_secs(30), || {
        restarted.child.try_wait().unwrap().is_some()
    });
    assert!(restarted.child.wait().unwrap().success(), "{}", restarted.text());
    assert_eq!(charted(), expected, "the third file added to the chart of the first two");
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!((summary["records_in"].as_u64(), summary["dead_letter"].as_u64()), (Some(2500), Some(0)));
    assert!(!dir.path().join("dead.jsonl").exists(), "nothing dead-lettered");
    assert!(restarted.text().contains("it was replaced, so reading starts from its beginning"), "{}", restarted.text());
}

#[test]
fn reset_starts_the_chart_over_and_says_what_it_cleared() {
    let dir = tempfile::tempdir().unwrap();
    finish(file_run(dir.path(), &["--set", "source.count=100"]));
    let reset = |extra: &[&str]| {
        let output = buzz()
            .args(["reset", "pipelines/buzz-file.toml"])
            .args(file_outputs_in(dir.path()))
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let said = reset(&[]);
    assert!(
        said.contains("chart starts empty") && said.contains("source's position: it starts from its beginning"),
        "{said}"
    );
    // A fresh chart: only what the next run sends, all of it again.
    finish(file_run(dir.path(), &["--set", "source.count=30"]));
    assert_eq!(lines(&dir.path().join("transport.jsonl")), 130);
    assert_eq!(chart(dir.path()).values().sum::<f64>(), 30.0);
    // --reread charts everything the file holds, from empty (the source
    // starts over too: 30 more).
    let said = reset(&["--reread"]);
    assert!(said.contains("charts all of"), "{said}");
    finish(file_run(dir.path(), &["--set", "source.count=30"]));
    assert_eq!(lines(&dir.path().join("transport.jsonl")), 160);
    let counted = chart(dir.path());
    assert_eq!(counted, count_authors(&read_json_lines(&dir.path().join("transport.jsonl"))));
}

#[test]
fn a_checkpoint_from_another_transform_is_refused_until_reset() {
    let dir = tempfile::tempdir().unwrap();
    finish(file_run(dir.path(), &["--set", "source.count=10"]));
    // The same pipeline with another transform, offline.
    let mut file = TomlFile::open(&repo_root().join("pipelines/buzz-file.toml"));
    file.set_table("transform", "type = \"average_by\"\ngroup = \"author\"\nvalue = \"n\"");
    let pipeline = dir.path().join("changed.toml");
    file.save(&pipeline);
    let pipeline = pipeline.display().to_string();
    let run = |command: &str| {
        let mut c = buzz();
        c.args([command, &pipeline]).args(file_outputs_in(dir.path()));
        c
    };
    let refused = run("run").args(["--no-reload", "--exit-when-done", "--set", "source.count=10"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("count_by") && stderr.contains("buzz reset"), "{stderr}");
    assert_eq!(chart(dir.path()).values().sum::<f64>(), 10.0, "the old chart is left as it was");
    assert!(run("reset").output().unwrap().status.success());
    assert!(
        run("run")
            .args(["--no-reload", "--exit-when-done", "--set", "source.count=10"])
            .output()
            .unwrap()
            .status
            .success()
    );
}

// ---------------------------------------------------------------------------
// Kafka, on tansu with durable (SQLite) storage.

/// `buzz run pipelines/buzz-kafka.toml` on `broker` with its own topic.
fn kafka_run(broker: &str, topic: &str, dir: &Path, extra: &[&str]) -> Command {
    let mut command = buzz();
    command.env("KAFKA_BROKERS", broker);
    command.args(["run", "pipelines/buzz-kafka.toml", "--no-reload"]);
    command.args(["--set", &format!("transport.topic={topic}"), "--set", &format!("transport.group={topic}-g")]);
    command.args(outputs_in(dir)).args(["--set", "source.interval_ms=0", "--set", "source.seed=11"]);
    command.args(extra);
    command
}

#[test]
fn twenty_kill_9s_on_a_durable_broker_end_with_the_chart_of_an_uninterrupted_run() {
    let data = tempfile::tempdir().unwrap();
    let broker = Tansu::start_durable_on(free_port(), data.path());
    let count = "source.count=30000";
    // The killed runs' source makes one record a millisecond, so it is at
    // work for about 30 s of their lives, however fast the machine: kills
    // at any moment after the group formed hit both halves mid-run.
    let paced = "source.interval_ms=1";
    let fast = "state.checkpoint_ms=100";
    // A member killed stays in the group until its session times out; a
    // short one lets each restarted consumer get its partitions soon.
    let session = "transport.session_timeout_ms=1500";

    let whole = tempfile::tempdir().unwrap();
    finish({
        let mut c = kafka_run(&broker.address, &unique("whole"), whole.path(), &["--set", count]);
        c.arg("--exit-when-done");
        c
    });
    let expected = chart(whole.path());
    assert_eq!(expected.values().sum::<f64>(), 30_000.0);

    let topic = unique("killed");
    let dir = tempfile::tempdir().unwrap();
    let mut moments = Moments(0x2545_f491_4f6c_dd1d);
    let mut logs = String::new();
    for i in 0..20 {
        let log = dir.path().join(format!("run{i}.log"));
        let settings = ["--set", count, "--set", paced, "--set", fast, "--set", session];
        let mut command = kafka_run(&broker.address, &topic, dir.path(), &settings);
        command.env("BUZZ_LOG", "info").stderr(std::fs::File::create(&log).unwrap());
        let mut child = command.spawn().unwrap();
        // tansu cannot re-form a group whose leader left while it was
        // forming (measured-facts.md): kill once this member has its
        // partitions, at a random moment of the work after that.
        let joined = Instant::now();
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("partitions assigned")
            && joined.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Up to 4.5 s: on a loaded machine tansu-SQLite can take seconds to
        // serve a new member's first fetch, and a member killed before it
        // took a record has no checkpoint to restore.
        std::thread::sleep(Duration::from_millis(500 + moments.next(4000)));
        kill_9(&mut child);
        logs.push_str(&std::fs::read_to_string(&log).unwrap());
    }
    // The kills hit both halves at work: consumers restored state, and
    // producers resumed with records delivered after their checkpoint.
    let restored = logs.matches("state restored from the checkpoint").count();
    let skipped = logs.matches("are not sent again").count();
    assert!(
        restored >= 5 && skipped >= 1,
        "restored {restored} partitions, skipped records in {skipped} runs:\n{logs}"
    );
    let mut last = kafka_run(&broker.address, &topic, dir.path(), &["--set", count, "--set", fast, "--set", session]);
    last.arg("--exit-when-done");
    finish(last);
    assert_eq!(chart(dir.path()), expected, "category by category, as one uninterrupted run");
}

/// A consumer of `topic` in its own folder, showing the whole topic.
fn member(broker: &str, topic: &str, dir: &Path, role: &str) -> Watched {
    let mut command = kafka_run(broker, topic, dir, &["--role", role, "--set", "transport.partitions=6"]);
    command.args(["--set", "state.checkpoint_ms=200", "--summary", &dir.join("summary.json").display().to_string()]);
    Watched::spawn(command)
}

#[test]
fn three_consumers_over_six_partitions_each_chart_the_whole_topic_even_after_one_is_killed() {
    let data = tempfile::tempdir().unwrap();
    let broker = Tansu::start_durable_on(free_port(), data.path());
    let topic = unique("group");
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    // The first member leads the group; the one killed below is not the
    // leader (tansu cannot re-form a group whose leader left mid-rebalance).
    let mut members = vec![member(&broker.address, &topic, dirs[0].path(), "consume")];
    wait_for("the first consumer to join", Duration::from_secs(60), || !members[0].assignment().is_empty());
    members.extend((1..3).map(|i| member(&broker.address, &topic, dirs[i].path(), "consume")));
    wait_for("the three consumers to share the six partitions", Duration::from_secs(90), || {
        let sets: Vec<_> = members.iter().map(Watched::assignment).collect();
        sets.iter().all(|s| !s.is_empty()) && sets.iter().map(|s| s.len()).sum::<usize>() == 6
    });
    let produce = |count: &str| {
        let mut producer = kafka_run(&broker.address, &topic, dirs[3].path(), &["--role", "produce"]);
        producer.args(["--set", "transport.partitions=6", "--set", count]);
        finish(producer);
    };
    produce("source.count=30000");
    // What an independent client reads; more than was produced would show
    // in the charts below, which count every record of the topic.
    let expected = count_authors(&python_reads_messages(&broker.address, &topic, 30_000));
    for (i, dir) in dirs[..3].iter().enumerate() {
        wait_for(&format!("consumer {i} to chart the whole topic"), Duration::from_secs(60), || {
            std::fs::read(dir.path().join("chart.json"))
                .is_ok_and(|b| bar_values(&serde_json::from_slice(&b).unwrap()) == expected)
        });
    }

    // One member killed: the others take its partitions from its last
    // checkpoint, and every chart is exact again once more records came.
    kill_9(&mut members[2].child);
    produce("source.count=36000");
    let expected = count_authors(&python_reads_messages(&broker.address, &topic, 36_000));
    for (i, dir) in dirs[..2].iter().enumerate() {
        let started = Instant::now();
        while !std::fs::read(dir.path().join("chart.json"))
            .is_ok_and(|b| bar_values(&serde_json::from_slice(&b).unwrap()) == expected)
        {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "consumer {i} did not chart the whole topic after the kill: {:?} of {expected:?}\n--- consumer 0:\n{}\n--- consumer 1:\n{}",
                std::fs::read(dir.path().join("chart.json")).map(|b| bar_values(&serde_json::from_slice(&b).unwrap())),
                members[0].text(),
                members[1].text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for member in &mut members[..2] {
        assert!(member.interrupt().success(), "{}", member.text());
    }

    // A process that holds no partition serves the same chart.
    let view_dir = tempfile::tempdir().unwrap();
    let mut view = kafka_run(&broker.address, &topic, view_dir.path(), &["--role", "view", "--exit-when-done"]);
    view.args(["--set", "transport.partitions=6"]);
    finish(view);
    assert_eq!(chart(view_dir.path()), expected);
}

use std::io::Write as _;

#[test]
fn on_the_embedded_broker_every_run_starts_over_and_charts_its_own_records() {
    // The embedded broker's topics, changelog included, live in the buzz
    // process: a second run finds nothing of the first, so its source
    // starts over and its chart is that of one whole run, not the sum of two.
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut command = buzz();
        command.env_remove("KAFKA_BROKERS");
        command.args(["run", "pipelines/buzz-kafka.toml", "--no-reload", "--exit-when-done"]);
        command.args(outputs_in(dir.path())).args(["--set", "source.interval_ms=0", "--set", "source.count=500"]);
        command.args(["--set", "transport.brokers=embedded"]);
        finish(command);
        chart(dir.path())
    };
    let first = run();
    assert_eq!(first.values().sum::<f64>(), 500.0);
    let second = run();
    assert_eq!(second.values().sum::<f64>(), 500.0, "a fresh run, not 1,000 and not 0");
}

#[test]
fn a_consumer_started_before_its_producer_waits_for_the_records() {
    let data = tempfile::tempdir().unwrap();
    let broker = Tansu::start_durable_on(free_port(), data.path());
    let topic = unique("early");
    let (consumer_dir, producer_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut consumer = Watched::spawn(kafka_run(
        &broker.address,
        &topic,
        consumer_dir.path(),
        &["--role", "consume", "--exit-when-done"],
    ));
    wait_for("the consumer to find the topic empty", Duration::from_secs(60), || {
        assert!(consumer.child.try_wait().unwrap().is_none(), "it exited on an empty topic:\n{}", consumer.text());
        consumer.count("is empty: waiting for its first record") > 0
    });
    let mut producer = kafka_run(&broker.address, &topic, producer_dir.path(), &["--role", "produce"]);
    producer.args(["--exit-when-done", "--set", "source.count=2000"]);
    finish(producer);
    wait_for("the consumer to exit once caught up", Duration::from_secs(60), || {
        consumer.child.try_wait().unwrap().is_some()
    });
    assert!(consumer.child.wait().unwrap().success(), "{}", consumer.text());
    assert_eq!(chart(consumer_dir.path()).values().sum::<f64>(), 2000.0, "{}", consumer.text());
}
