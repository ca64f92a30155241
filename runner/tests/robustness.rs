//! Bad input and faults: every good record is charted, every bad one is in
//! the dead letters with its reason, and nothing is lost when a consumer,
//! a plugin, a producer or the broker fails mid-stream.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::broker::{Broker, unique};
use common::logs::Logs;
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

/// A copy of the smoker pipeline in `dir` whose transport is the file `transport`.
fn smoker_over_file(dir: &Path, transport: &Path, extra_transport: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("pipelines/smoker.toml")).unwrap();
    let start = text.find("[transport]").unwrap();
    let end = start + 1 + text[start + 1..].find("\n[").unwrap();
    let text = format!(
        "{}[transport]\ntype = \"file\"\npath = {transport:?}\n{extra_transport}\n{}",
        &text[..start],
        &text[end..]
    );
    let path = dir.join("smoker-file.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The y values of the line chart `chart.json` in `dir`, in order.
fn charted_values(dir: &Path) -> Vec<f64> {
    let chart = read_json(&dir.join("chart.json"));
    chart["series"][0]["points"].as_array().unwrap().iter().map(|p| p[1].as_f64().unwrap()).collect()
}

/// Runs the consumer half of `pipeline` to the end of its transport.
fn consume(pipeline: &Path, dir: &Path, extra: &[&str]) -> Run {
    let mut command = buzz();
    command.arg("run").arg(pipeline).args(["--role", "consume", "--exit-when-done"]).args(outputs_in(dir)).args(extra);
    let summary = dir.join("summary.json");
    let output = command.arg("--summary").arg(&summary).output().unwrap();
    Run { output, summary: std::fs::read(&summary).ok().map(|b| serde_json::from_slice(&b).unwrap()) }
}

#[test]
fn a_mixed_stream_at_full_speed_charts_every_good_record_and_keeps_every_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let transport = dir.path().join("readings.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&transport).unwrap());
    let (mut good, mut bad) = (0u64, 0u64);
    for i in 0..60_000u64 {
        let line: Vec<u8> = match i % 12 {
            3 => b"{\"timestamp\": \"2025-01-01 10:00:00\", \"temperature\": ".to_vec(),
            5 => b"{\"timestamp\": \"2025-01-01 10:00:00\", \"temperature\": 70.\xff}".to_vec(),
            7 => br#"{"timestamp": "2025-01-01 10:00:00", "temperature": "hot"}"#.to_vec(),
            9 => format!(
                r#"{{"timestamp": "2025-01-01 10:00:00", "temperature": 70.1, "note": "{}"}}"#,
                "x".repeat(5000)
            )
            .into_bytes(),
            11 => br#"{"timestamp": "2025-01-01 10:00:00"}"#.to_vec(),
            _ => format!(
                r#"{{"timestamp": "2025-01-01 10:{:02}:00", "temperature": {}}}"#,
                i % 60,
                70.0 + (i % 50) as f64 / 10.0
            )
            .into_bytes(),
        };
        if matches!(i % 12, 3 | 5 | 7 | 9 | 11) {
            bad += 1
        } else {
            good += 1
        }
        file.write_all(&line).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.flush().unwrap();
    let pipeline = smoker_over_file(
        dir.path(),
        &transport,
        "schema = \"schemas/smoker-reading.schema.json\"\nmax_record_bytes = 4096",
    );
    let run = consume(&pipeline, dir.path(), &["--set", "chart.x=$index", "--set", "chart.max_points=100000"]);
    run.assert_success();
    let summary = run.summary();
    assert_eq!(summary["records_in"], good + bad);
    assert_eq!(summary["records_out"], good);
    assert_eq!(summary["dead_letter"], bad);
    assert_eq!(read_json(&dir.path().join("chart.json"))["total_points"], good, "every good record charted once");

    let dead = read_json_lines(&dir.path().join("dead.jsonl"));
    assert_eq!(dead.len() as u64, bad);
    let reasons: BTreeSet<String> =
        dead.iter().map(|d| d["reason"].as_str().unwrap().split(':').next().unwrap().to_string()).collect();
    for expected in [
        "record is not valid JSON",
        "record is not valid UTF-8",
        "record does not follow schemas/smoker-reading.schema.json",
    ] {
        assert!(reasons.contains(expected), "{expected} missing from {reasons:?}");
    }
    assert!(reasons.iter().any(|r| r.contains("more than max_record_bytes (4096)")), "{reasons:?}");
    // The original bytes are kept (base64 where they are not text), with the position.
    let invalid_utf8 = dead.iter().find(|d| d.get("payload_base64").is_some()).expect("a base64 payload");
    assert!(invalid_utf8["position"]["offset"].as_u64().is_some());
    assert_eq!(invalid_utf8["position"]["file"], transport.display().to_string());
}

#[test]
fn fixed_dead_letters_replayed_into_the_pipeline_are_charted() {
    let dir = tempfile::tempdir().unwrap();
    let transport = dir.path().join("readings.jsonl");
    let lines = [
        r#"{"timestamp": "2025-01-01 10:00:00", "temperature": 70.1}"#,
        r#"{"timestamp": "2025-01-01 10:01:00", "temperature": "hot"}"#,
        r#"{"timestamp": "2025-01-01 10:02:00", "temperature": "warm"}"#,
        r#"{"timestamp": "2025-01-01 10:03:00", "temperature": 70.4}"#,
    ];
    std::fs::write(&transport, lines.join("\n") + "\n").unwrap();
    let pipeline = smoker_over_file(dir.path(), &transport, "schema = \"schemas/smoker-reading.schema.json\"");
    let first = consume(&pipeline, dir.path(), &[]);
    first.assert_success();
    assert_eq!(first.summary()["records_out"], 2);
    assert_eq!(first.summary()["dead_letter"], 2);

    // Fix the dead letters by hand, then replay them into the pipeline.
    let dead_letters = dir.path().join("dead.jsonl");
    let fixed =
        std::fs::read_to_string(&dead_letters).unwrap().replace(r#"\"hot\""#, "90.5").replace(r#"\"warm\""#, "80.5");
    // A line mangled while editing, and a letter marked not replayable (what
    // a chart refuses is the transform's output), are skipped with a word
    // each; the rest go in.
    let chart_letter = r#"{"stage":"transport","replayable":false,"payload":"{\"x\":1}","reason":"r"}"#;
    std::fs::write(&dead_letters, format!("{fixed}{{\"stage\": \"transport\", oops\n{chart_letter}\n")).unwrap();
    let output = buzz()
        .arg("replay")
        .arg(&dead_letters)
        .arg("--into")
        .arg(&pipeline)
        .args(["--stage", "transport"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("replayed 2 of 2 dead letters (2 skipped"));
    assert!(stderr.contains("dead.jsonl:3: skipped: not a dead letter (JSON)"), "{stderr}");
    assert!(stderr.contains("dead.jsonl:4: skipped: the chart refused it"), "{stderr}");

    std::fs::remove_file(&dead_letters).unwrap();
    let second = consume(&pipeline, dir.path(), &[]);
    second.assert_success();
    assert_eq!(second.summary()["records_in"], 2, "only the replayed records are new");
    assert_eq!(second.summary()["records_out"], 2);
    assert_eq!(second.summary()["dead_letter"], 0);
    // The chart continues from its checkpoint: the first run's readings
    // and the replayed ones, in time order.
    let temperatures = charted_values(dir.path());
    assert_eq!(temperatures, [70.1, 90.5, 80.5, 70.4]);
}

/// Dead letters in a Kafka topic on a real broker: each with its stage,
/// reason and position; `buzz replay --export` reads the topic back into a
/// file to fix by hand, and `buzz replay` sends records back in, from that
/// file or straight from the topic.
#[test]
fn dead_letters_in_a_kafka_topic_are_exported_fixed_and_replayed() {
    let broker = Broker::tansu();
    let dir = tempfile::tempdir().unwrap();
    let transport = dir.path().join("readings.jsonl");
    let lines = [
        r#"{"timestamp": "2025-01-01 10:00:00", "temperature": 70.1}"#,
        r#"{"timestamp": "2025-01-01 10:01:00", "temperature": "hot"}"#,
        r#"{"timestamp": "2025-01-01 10:02:00", "temperature": 70.4}"#,
    ];
    std::fs::write(&transport, lines.join("\n") + "\n").unwrap();
    let pipeline = smoker_over_file(dir.path(), &transport, "schema = \"schemas/smoker-reading.schema.json\"");
    let topic = unique("dead-letters");
    let to_topic = [
        "--set".to_string(),
        format!("dead_letter.topic={topic}"),
        "--set".to_string(),
        format!("dead_letter.brokers={}", broker.address().unwrap()),
    ];
    let extra: Vec<&str> = to_topic.iter().map(String::as_str).collect();
    let first = consume(&pipeline, dir.path(), &extra);
    first.assert_success();
    assert_eq!((first.summary()["records_out"].as_u64(), first.summary()["dead_letter"].as_u64()), (Some(2), Some(1)));
    assert!(!dir.path().join("dead.jsonl").exists(), "the dead letter went to the topic, not the file");

    let replay = |args: &[&str]| {
        let output = buzz().arg("replay").args(args).arg("--into").arg(&pipeline).args(&extra).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // Read back from the topic, fixed by hand, replayed from the file.
    let exported = dir.path().join("exported.jsonl");
    let said = replay(&["--export", exported.to_str().unwrap()]);
    assert!(said.starts_with(&format!("saved 1 dead letters from kafka topic {topic} to ")), "{said}");
    let letters = read_json_lines(&exported);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["stage"], "transport");
    assert!(letters[0]["reason"].as_str().unwrap().contains("temperature"), "{}", letters[0]);
    assert_eq!(letters[0]["payload"], lines[1]);
    assert!(letters[0]["position"].to_string().contains("readings.jsonl"), "{}", letters[0]);
    std::fs::write(&exported, std::fs::read_to_string(&exported).unwrap().replace(r#"\"hot\""#, "90.5")).unwrap();
    assert!(replay(&[exported.to_str().unwrap()]).starts_with("replayed 1 of 1 dead letters"));
    // Straight from the topic, unfixed: refused again, so dead-lettered again.
    let said = replay(&[]);
    assert!(said.starts_with(&format!("replayed 1 of 1 dead letters from kafka topic {topic} into")), "{said}");

    let second = consume(&pipeline, dir.path(), &extra);
    second.assert_success();
    assert_eq!(second.summary()["records_in"], 2, "only the replayed records are new");
    assert_eq!(second.summary()["records_out"], 1);
    assert_eq!(second.summary()["dead_letter"], 1);
    // The chart continues from its checkpoint: the first run's readings
    // and the replayed one, in time order.
    let temperatures = charted_values(dir.path());
    assert_eq!(temperatures, [70.1, 90.5, 70.4]);
}

#[test]
fn a_plugin_that_panics_on_one_record_dead_letters_it_and_the_rest_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install_fixture("panicky", &plugins, "panicky");
    let transport = dir.path().join("records.jsonl");
    let lines: Vec<String> =
        (0..1000).map(|i| if i == 500 { r#"{"n": "boom"}"#.to_string() } else { format!(r#"{{"n": {i}}}"#) }).collect();
    std::fs::write(&transport, lines.join("\n") + "\n").unwrap();
    let pipeline = dir.path().join("panicky.toml");
    std::fs::write(
        &pipeline,
        format!(
            "name = \"panicky\"\nplugins_dir = {plugins:?}\n[source]\ntype = \"buzz_messages\"\n[transport]\ntype = \"file\"\npath = {transport:?}\n[transform]\ntype = \"panicky\"\n[chart]\ntype = \"line_chart\"\nx = \"$index\"\ny = \"n\"\n"
        ),
    )
    .unwrap();
    let run = consume(&pipeline, dir.path(), &[]);
    run.assert_success();
    assert_eq!(run.summary()["records_in"], 1000);
    assert_eq!(run.summary()["records_out"], 999);
    assert_eq!(run.summary()["dead_letter"], 1);
    let dead = read_json_lines(&dir.path().join("dead.jsonl"));
    assert_eq!(dead[0]["panicked"], true);
    assert_eq!(dead[0]["stage"], "transform");
    assert_eq!(dead[0]["payload"], r#"{"n": "boom"}"#);
    assert!(dead[0]["reason"].as_str().unwrap().contains("boom in record"), "{}", dead[0]);
    assert_eq!(read_json(&dir.path().join("chart.json"))["total_points"], 999);
}

/// Points a running chart holds so far (0 until its first frame is written).
fn charted_so_far(chart: &Path) -> u64 {
    std::fs::read(chart)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map_or(0, |c| c["total_points"].as_u64().unwrap_or(0))
}

/// The `seq` values the sequence pipeline's chart in `dir` shows, in order.
fn charted_sequence(dir: &Path) -> Vec<u64> {
    charted_values(dir).into_iter().map(|y| y as u64).collect()
}

/// A pipeline replaying `rows` sequence numbers through Kafka at `interval_ms`.
fn sequence_pipeline(dir: &Path, rows: u64, interval_ms: u64) -> PathBuf {
    let csv = dir.join("sequence.csv");
    let mut text = String::from("seq,value\n");
    for i in 0..rows {
        text.push_str(&format!("{i},{}\n", i % 7));
    }
    std::fs::write(&csv, text).unwrap();
    let pipeline = dir.join("sequence.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"name = "sequence"
[source]
type = "csv_replay"
path = {csv:?}
interval_ms = {interval_ms}
[transport]
type = "kafka"
topic = "{topic}"
group = "{topic}-group"
[transform]
type = "stall_detection"
field = "value"
[chart]
type = "line_chart"
x = "$index"
y = "seq"
max_points = 100000
fps = 20
"#,
            topic = unique("sequence")
        ),
    )
    .unwrap();
    pipeline
}

#[test]
fn a_consumer_killed_mid_stream_and_restarted_loses_nothing() {
    let broker = Broker::tansu();
    let dir = tempfile::tempdir().unwrap();
    let rows = 3000;
    let pipeline = sequence_pipeline(dir.path(), rows, 2);
    let with_broker = |mut command: std::process::Command| {
        broker.apply(&mut command);
        command
    };
    let mut producer = Watched::spawn(with_broker({
        let mut c = buzz();
        c.arg("run").arg(&pipeline).args(["--role", "produce"]);
        c
    }));
    let first_dir = dir.path().join("first");
    let mut first = Watched::spawn(with_broker({
        let mut c = buzz();
        c.arg("run").arg(&pipeline).args(["--role", "consume"]).args(outputs_in(&first_dir));
        c
    }));
    let first_chart = first_dir.join("chart.json");
    wait_for("the first consumer to chart some records", Duration::from_secs(60), || {
        charted_so_far(&first_chart) > 300
    });
    // Killed: no clean shutdown, no final commit.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(producer.child.wait().unwrap().success(), "{}", producer.text());

    let second_dir = dir.path().join("second");
    let mut second = buzz();
    broker.apply(&mut second);
    let second = second
        .arg("run")
        .arg(&pipeline)
        .args(["--role", "consume", "--exit-when-done"])
        .args(outputs_in(&second_dir))
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));

    // The first consumer charted 0..=k (its last frame may lag what it
    // processed); the second read from the last commit, j <= k + 1, to the end.
    let seen_first = charted_sequence(&first_dir);
    let seen_second = charted_sequence(&second_dir);
    assert_eq!(seen_first, (0..seen_first.len() as u64).collect::<Vec<_>>(), "the first consumer saw a gapless prefix");
    let j = seen_second[0];
    assert_eq!(seen_second, (j..rows).collect::<Vec<_>>(), "the second consumer saw a gapless rest");
    assert!(
        j <= seen_first.len() as u64,
        "no record lost: the second started at {j}, the first had charted up to {}",
        seen_first.len()
    );
    let duplicates = seen_first.len() as u64 - j;
    println!("at-least-once after a kill: {duplicates} records counted twice (processed since the last commit)");
}

/// The real broker killed mid-stream (SIGKILL: no clean shutdown) and started
/// again on the same port with the same data, as a production broker comes
/// back after a crash. tansu's memory storage would come back empty, which no
/// production broker does (and which crashes librdkafka 2.12.1's metadata
/// cache when the topic reappears with another partition count,
/// confluentinc/librdkafka#5280): this broker keeps its data in SQLite.
#[test]
fn a_real_broker_killed_and_restarted_mid_stream_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let port = common::broker::free_port();
    let broker = common::broker::Tansu::start_durable_on(port, data.path());
    let dir = tempfile::tempdir().unwrap();
    let rows = 3000;
    let pipeline = sequence_pipeline(dir.path(), rows, 3);
    let mut run = buzz();
    run.env("KAFKA_BROKERS", &broker.address)
        .arg("run")
        .arg(&pipeline)
        .args(["--exit-when-done"])
        .args(outputs_in(dir.path()))
        .args(["--summary", &dir.path().join("summary.json").display().to_string()]);
    let mut run = Watched::spawn(run);
    let chart = dir.path().join("chart.json");
    wait_for("records flowing", Duration::from_secs(60), || charted_so_far(&chart) > 300);
    let logged = run.text().len();
    drop(broker);
    let at_kill = charted_so_far(&chart);
    wait_for("the outage to be reported", Duration::from_secs(20), || run.text()[logged..].contains("retrying"));
    let _restarted = common::broker::Tansu::start_durable_on(port, data.path());
    let status = run.child.wait().unwrap();
    assert!(status.success(), "{status}\n{}", run.text());

    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["produced"], rows);
    assert!(at_kill < rows, "the broker was killed mid-stream (at {at_kill} of {rows} records)");
    let twice = every_record_charted(dir.path(), rows);
    println!("broker killed after {at_kill} records and restarted: {twice} records counted twice");
}

/// The sequence pipeline running in this process on the embedded broker,
/// once records flow through it.
fn sequence_flowing_on_embedded_broker(dir: &Path, rows: u64) -> buzz::pipeline::Running {
    let running = start_on_embedded_broker(&sequence_pipeline(dir, rows, 1), dir, &[]);
    wait_for("records flowing", Duration::from_secs(60), || running.stats().consumed > 300);
    running
}

/// Asserts every record of the sequence was charted; returns how many twice.
fn every_record_charted(dir: &Path, rows: u64) -> u64 {
    let seen = charted_sequence(dir);
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), (0..rows).collect::<BTreeSet<_>>());
    seen.len() as u64 - rows
}

/// The broker stops answering mid-stream for longer than the group's session
/// timeout (6 s): the consumer loses its partitions without handing them
/// over, so its last offsets are never committed. When the broker returns it
/// gets them back and resumes after what it processed itself: every record
/// is charted exactly once. (Before buzz did so, this outage charted about
/// 500 records twice.)
#[test]
fn a_broker_outage_mid_stream_is_reported_and_nothing_is_lost_when_it_returns() {
    use buzz::transport::kafka::set_embedded_broker_up;

    let logs = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let rows = 3000;
    let running = sequence_flowing_on_embedded_broker(dir.path(), rows);

    set_embedded_broker_up(false).unwrap();
    wait_for("the outage on the dashboard's transport state", Duration::from_secs(20), || {
        running.stats().transport.state == "retrying"
    });
    let during = running.stats().consumed;
    // The scenario: the group's session times out and the partitions are
    // lost, not handed over.
    wait_for("the partitions to be lost", Duration::from_secs(30), || logs.count("partitions lost") > 0);
    assert!(running.stats().consumed <= during + 50, "records kept arriving through a dead broker");
    let lost_at = logs.count("partitions assigned");
    set_embedded_broker_up(true).unwrap();

    let summary = running.wait();
    assert!(logs.count("partitions assigned") > lost_at, "the partition came back:\n{}", logs.text());
    assert_eq!(summary.produced, rows);
    assert_eq!(summary.records_out, rows, "every record arrived once the broker was back:\n{}", logs.text());
    println!("broker outage: {} records counted twice", every_record_charted(dir.path(), rows));
}

/// An idempotent producer meets a fatal error when the broker answers with a
/// sequence it cannot reconcile (it lost the producer's state): buzz starts
/// a new producer and sends again every record the old one had not
/// delivered. Rehearsed on the embedded broker, the only one that can be
/// told to give that answer.
#[test]
fn a_producer_failing_for_good_is_replaced_and_nothing_is_lost() {
    use buzz::transport::kafka::fail_next_embedded_produce;
    use rdkafka::types::RDKafkaRespErr;

    let logs = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let rows = 3000;
    let running = sequence_flowing_on_embedded_broker(dir.path(), rows);
    fail_next_embedded_produce(RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER).unwrap();

    let summary = running.wait();
    // The injected error hit the producer, and a new one took over.
    let text = logs.text();
    assert_eq!(logs.count("fatal producer error"), 1, "{text}");
    assert!(text.contains("OutOfOrderSequenceNumber") || text.contains("out of order"), "{text}");
    assert_eq!(logs.count("undelivered records again"), 1, "{text}");
    assert_eq!(summary.produced, rows);
    assert_eq!(summary.dead_letter, 0, "no record was dead-lettered for its producer's failure");
    println!("producer replaced: {} records counted twice", every_record_charted(dir.path(), rows));
}

/// The periodic checkpoint is stored while records keep flowing, as Flink
/// stores a snapshot: a broker slow to acknowledge it does not hold the
/// records up. The embedded broker holds its answer to the consumer's
/// first checkpoint for 4 s. The consumer takes every record meanwhile
/// and counts the checkpoint only once acknowledged. (Waiting for the
/// acknowledgement on the consumer's thread, buzz took a few batches,
/// then nothing for those 4 s.)
#[test]
fn a_checkpoint_the_broker_is_slow_to_acknowledge_does_not_hold_up_the_records() {
    use buzz::transport::kafka::delay_next_embedded_produce;

    let disturb = || delay_next_embedded_produce(Duration::from_secs(4)).unwrap();
    first_checkpoint_disturbed(disturb, |first, _| {
        assert_eq!(first.stats().checkpoints, 0, "the records waited for the broker to acknowledge a checkpoint");
        wait_for("the checkpoint acknowledged", Duration::from_secs(30), || first.stats().checkpoints > 0);
    });
}

/// A checkpoint the broker refuses is not lost: the partitions it held
/// are saved again at the next interval. The embedded broker refuses the
/// consumer's first checkpoint for good (an authorization error is not
/// retried). Without the retry (the refused partitions left clean) no
/// checkpoint was counted in 30 s.
#[test]
fn a_checkpoint_the_broker_refuses_is_saved_again_at_the_next_interval() {
    use buzz::transport::kafka::fail_next_embedded_produce;
    use rdkafka::types::RDKafkaRespErr;

    let refused = RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    first_checkpoint_disturbed(
        || fail_next_embedded_produce(refused).unwrap(),
        |first, logs| {
            wait_for("the refused checkpoint", Duration::from_secs(30), || {
                logs.count("cannot save the checkpoint") > 0
            });
            wait_for("a checkpoint saved after it", Duration::from_secs(30), || first.stats().checkpoints > 0);
        },
    );
}

/// A consumer checkpointing every 10 ms reads a topic written in full
/// before it starts, so its only produce requests are its checkpoints:
/// `disturb` sets how the embedded broker answers the first, and `watch`
/// follows the consumer once it has taken every record. A restart then
/// restores every record without reading one again.
fn first_checkpoint_disturbed(disturb: impl FnOnce(), watch: impl FnOnce(&buzz::pipeline::Running, &Logs)) {
    use buzz::pipeline::Role;

    let logs = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    // Enough records to take a few checkpoint intervals to read, few
    // enough that the checkpoints fit the embedded broker's 5 MB log.
    let rows = 20_000;
    let pipeline = sequence_pipeline(dir.path(), rows, 0);
    let produced = start_on_embedded_broker_as(Role::Produce, &pipeline, &dir.path().join("producer"), &[]).wait();
    assert_eq!(produced.produced, rows);

    disturb();
    let often = ["state.checkpoint_ms=10".to_string()];
    let first = start_on_embedded_broker_as(Role::Consume, &pipeline, &dir.path().join("first"), &often);
    wait_for("every record taken", Duration::from_secs(60), || first.stats().records_out == rows);
    watch(&first, &logs);
    assert_eq!(first.wait().records_out, rows);

    let second_dir = dir.path().join("second");
    let second = start_on_embedded_broker_as(Role::Consume, &pipeline, &second_dir, &often).wait();
    assert_eq!(second.records_out, 0, "the restarted consumer read records again:\n{}", logs.text());
    assert_eq!(second.error, None, "{}", logs.text());
    assert_eq!(charted_sequence(&second_dir), (0..rows).collect::<Vec<_>>(), "the restored chart lost records");
}

/// A buzz message by `author`, as one line of a file transport.
fn message_line(author: &str, i: usize) -> String {
    format!("{{\"message\": \"message {i}\", \"author\": \"{author}\", \"timestamp\": \"2026-01-01 00:00:00\"}}\n")
}

/// An empty file transport and a dead-letter folder, in a fresh directory:
/// (directory, transport file, dead-letter folder, dead-letter file).
fn letters_setup() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let transport = dir.path().join("transport.jsonl");
    std::fs::write(&transport, "").unwrap();
    let folder = dir.path().join("letters");
    std::fs::create_dir(&folder).unwrap();
    let letters = folder.join("dead.jsonl");
    (dir, transport, folder, letters)
}

#[test]
fn dead_letters_that_cannot_be_written_hold_the_position_until_they_can() {
    let (dir, transport, folder, letters) = letters_setup();
    let consumer = || {
        let mut c = buzz();
        c.args(["run", "pipelines/buzz-file.toml", "--role", "consume", "--no-reload", "--http", "0"]);
        c.args(file_outputs_in(dir.path())).arg("--set").arg(format!("dead_letter.path={}", letters.display()));
        c.args(["--set", "state.checkpoint_ms=50"]);
        c
    };
    let mut first = Watched::spawn(consumer());
    wait_for("the consumer to start", Duration::from_secs(30), || first.text().contains("dashboard at"));
    // The folder becomes a file: no dead letter can be written there now.
    std::fs::remove_dir(&folder).unwrap();
    std::fs::write(&folder, "not a folder").unwrap();
    let mut lines: String = (0..10).map(|i| message_line("Alice", i)).collect();
    lines.push_str("this is not JSON\n");
    lines.extend((10..20).map(|i| message_line("Bob", i)));
    std::fs::OpenOptions::new().append(true).open(&transport).unwrap().write_all(lines.as_bytes()).unwrap();
    wait_for("the dead-letter error", Duration::from_secs(30), || first.text().contains("cannot write dead letter"));
    let port: u16 = first
        .text()
        .lines()
        .find_map(|l| l.split("dashboard at http://127.0.0.1:").nth(1)?.trim_end_matches('/').parse().ok())
        .unwrap();
    wait_for("the dashboard to show the transport retrying", Duration::from_secs(10), || {
        let stats = common::browser::http_get(port, "/api/stats");
        stats.contains("retrying") && stats.contains("cannot write dead letters")
    });
    // Give checkpoints (every 50 ms) every chance to move past the bad line.
    std::thread::sleep(Duration::from_millis(500));
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // Fixed, and run again: the letter is written now, and the chart counts
    // each good record once.
    std::fs::remove_file(&folder).unwrap();
    let mut second = consumer();
    second.arg("--exit-when-done");
    let output = second.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let kept = read_json_lines(&letters);
    assert_eq!(kept.len(), 1, "the bad line is kept, once: {kept:?}");
    assert_eq!(kept[0]["payload"], "this is not JSON");
    let chart = bar_values(&read_json(&dir.path().join("chart.json")));
    assert_eq!(chart, [("Alice".to_string(), 10.0), ("Bob".to_string(), 10.0)].into(), "each good record once");
}

#[test]
fn a_dead_letter_folder_fixed_while_running_lets_the_pipeline_go_on() {
    let (dir, transport, folder, letters) = letters_setup();
    let mut command = buzz();
    command.args(["run", "pipelines/buzz-file.toml", "--role", "consume", "--no-reload", "--http", "off"]);
    command.args(file_outputs_in(dir.path())).arg("--set").arg(format!("dead_letter.path={}", letters.display()));
    let mut run = Watched::spawn(command);
    wait_for("the consumer to start", Duration::from_secs(30), || run.text().contains("running buzz_messages"));
    std::fs::remove_dir(&folder).unwrap();
    std::fs::write(&folder, "not a folder").unwrap();
    let append = |text: &str| {
        std::fs::OpenOptions::new().append(true).open(&transport).unwrap().write_all(text.as_bytes()).unwrap();
    };
    append(&format!("{}not JSON\n", message_line("Alice", 0)));
    wait_for("the dead-letter error", Duration::from_secs(30), || run.text().contains("cannot write dead letter"));
    // Records after the refused letter wait for it.
    append(&message_line("Bob", 1));
    std::thread::sleep(Duration::from_millis(300));
    let chart = dir.path().join("chart.json");
    let bars = || if chart.exists() { bar_values(&read_json(&chart)) } else { Default::default() };
    let waiting = bars();
    assert!(!waiting.contains_key("Bob"), "nothing after the unwritten letter is read: {waiting:?}");
    std::fs::remove_file(&folder).unwrap();
    wait_for("the pipeline to go on", Duration::from_secs(30), || bars().contains_key("Bob"));
    assert!(run.text().contains("going on"), "{}", run.text());
    assert!(run.interrupt().success());
    assert_eq!(read_json_lines(&letters).len(), 1);
}
