//! The Kafka transport against a real, independent broker (tansu, started
//! here on a free port) as well as the embedded one, with an independent
//! client (Python confluent-kafka) on the other end for interoperability.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::broker::{Broker, Tansu, free_port, python_creates_topic, python_reads, python_reads_messages, unique};
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

/// A buzz command pointed at `broker`.
fn on(broker: &Broker) -> Command {
    let mut command = buzz();
    broker.apply(&mut command);
    command
}

/// Settings that give a run a topic and group of its own.
fn topic_args(topic: &str) -> Vec<String> {
    vec!["--set".into(), format!("transport.topic={topic}"), "--set".into(), format!("transport.group={topic}-group")]
}

/// `buzz run <pipeline> ... --exit-when-done` on `broker` and `topic`.
fn run_kafka(broker: &Broker, topic: &str, pipeline: &str, dir: &Path, extra: &[&str]) -> Run {
    run_kafka_with(on(broker), topic, pipeline, dir, extra)
}

/// As [`run_kafka`], from a prepared command (see [`on`]).
fn run_kafka_with(command: Command, topic: &str, pipeline: &str, dir: &Path, extra: &[&str]) -> Run {
    let mut args = topic_args(topic);
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_to_end_with(command, pipeline, dir, &args)
}

/// `buzz run <pipeline> --role <role>` on `broker` and `topic`, plus `extra`.
fn role(broker: &Broker, topic: &str, role: &str, extra: &[&str]) -> Command {
    let mut command = on(broker);
    command.args(["run", "pipelines/buzz-kafka.toml", "--role", role]).args(topic_args(topic)).args(extra);
    command
}

// ---------------------------------------------------------------------------

fn smoker_over(broker: Broker) {
    let dir = tempfile::tempdir().unwrap();
    let run =
        run_kafka(&broker, &unique("smoker"), "pipelines/smoker.toml", dir.path(), &["--set", "source.interval_ms=0"]);
    run.assert_success();
    // Closing the clients (buzz's own close, then rust-rdkafka's) logs nothing.
    assert!(!run.stderr().contains("ERROR"), "a clean run logs no error:\n{}", run.stderr());
    assert_eq!(run.summary()["records_in"], 240);
    assert_eq!(run.summary()["records_out"], 240);
    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(chart["series"][0]["points"].as_array().unwrap().len(), 240);
    assert_eq!(markers(&chart), expected_stalls(10, 0.2));
}

#[test]
fn smoker_over_the_embedded_broker() {
    smoker_over(Broker::Embedded);
}

#[test]
fn smoker_over_a_real_broker() {
    smoker_over(Broker::tansu());
}

/// A CSV row too large for Kafka (librdkafka's `message.max.bytes`, 1,000,000
/// bytes by default; tansu has no limit of its own) in the middle of the
/// file: the run finishes, the row is dead-lettered with the reason and
/// every other reading is charted once. It used to wedge the producer, which
/// sent the readings before it again on every retry (fake stalls).
fn too_large_record_over(broker: Broker) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("readings.csv");
    let mut text = String::from("timestamp,temperature,note\n");
    let mut temperatures = Vec::new();
    for i in 0..30 {
        let temperature = 70.0 + i as f64 / 2.0;
        let note = if i == 15 { "x".repeat(1_100_000) } else { "ok".into() };
        text += &format!("2025-01-11 10:{i:02}:00,{temperature},{note}\n");
        if i != 15 {
            temperatures.push(temperature);
        }
    }
    std::fs::write(&csv, text).unwrap();
    // The default limit stops it before it is sent; above the limit,
    // librdkafka refuses it and says why.
    let cases = [
        ("default", None, "record is 1100064 bytes, more than max_record_bytes (999000)"),
        (
            "raised",
            Some("transport.max_record_bytes=2000000"),
            "Kafka refused the record: Message production error: MessageSizeTooLarge",
        ),
    ];
    for (name, limit, reason) in cases {
        let out = dir.path().join(name);
        let summary = out.join("summary.json");
        let mut command = on(&broker);
        command
            .args(["run", "pipelines/smoker.toml", "--exit-when-done", "--summary"])
            .arg(&summary)
            .args(topic_args(&unique("too-large")))
            .args(outputs_in(&out))
            .args(["--set", "source.interval_ms=0", "--set", &format!("source.path={}", csv.display())])
            .args(limit.iter().flat_map(|setting| ["--set", setting]));
        let mut run = Watched::spawn(command);
        assert!(run.exit_within(Duration::from_secs(60)).success(), "{name}: buzz failed:\n{}", run.text());
        let summary = read_json(&summary);
        assert_eq!((summary["records_out"].as_u64(), summary["dead_letter"].as_u64()), (Some(29), Some(1)), "{name}");
        let chart = read_json(&out.join("chart.json"));
        let charted: Vec<f64> =
            chart["series"][0]["points"].as_array().unwrap().iter().map(|p| p[1].as_f64().unwrap()).collect();
        assert_eq!(charted, temperatures, "{name}: every other reading charted once, in order");
        assert!(markers(&chart).is_empty(), "{name}: no stall in rising readings");
        let dead = read_json_lines(&out.join("dead.jsonl"));
        assert_eq!(dead.len(), 1, "{name}");
        assert!(dead[0]["reason"].as_str().unwrap().starts_with(reason), "{name}: {}", dead[0]["reason"]);
        let record: Value = serde_json::from_str(dead[0]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(record["note"].as_str().unwrap().len(), 1_100_000, "{name}: the whole record is kept");
    }
}

#[test]
fn a_record_too_large_for_the_embedded_broker_is_dead_lettered_and_nothing_is_sent_twice() {
    too_large_record_over(Broker::Embedded);
}

#[test]
fn a_record_too_large_for_a_real_broker_is_dead_lettered_and_nothing_is_sent_twice() {
    too_large_record_over(Broker::tansu());
}

/// The topic is created with the partition count the file sets (3 in
/// buzz-kafka.toml); the lone consumer is assigned all of them. (The
/// embedded broker used to make it with its own default of 4 first.)
fn topic_made_as_the_file_says(broker: Broker) {
    let dir = tempfile::tempdir().unwrap();
    let settings = ["--set", "source.count=50", "--set", "source.interval_ms=0"];
    let mut command = on(&broker);
    command.env("BUZZ_LOG", "info");
    let run = run_kafka_with(command, &unique("partitions"), "pipelines/buzz-kafka.toml", dir.path(), &settings);
    run.assert_success();
    assert_eq!(run.summary()["records_out"], 50);
    let log = run.stderr();
    assert!(log.contains("partitions assigned: [0, 1, 2];"), "the topic has 3 partitions:\n{log}");
}

#[test]
fn the_embedded_broker_makes_the_topic_as_the_file_says() {
    topic_made_as_the_file_says(Broker::Embedded);
}

#[test]
fn a_real_broker_gets_the_topic_as_the_file_says() {
    topic_made_as_the_file_says(Broker::tansu());
}

fn project_over(broker: Broker) {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("project_live.json");
    let run = run_kafka(
        &broker,
        &unique("project"),
        "pipelines/project.toml",
        dir.path(),
        &[
            "--set",
            "source.interval_ms=0",
            "--set",
            "source.count=2000",
            "--set",
            &format!("source.archive_path={}", archive.display()),
        ],
    );
    run.assert_success();
    assert_eq!(run.summary()["records_in"], 2000);
    // The averages the chart shows, recomputed from the archive file the
    // source appended every message to (as the original producer did).
    let messages = read_json_lines(&archive);
    assert_eq!(messages.len(), 2000);
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for m in &messages {
        let entry = sums.entry(m["category"].as_str().unwrap().to_string()).or_default();
        entry.0 += m["sentiment"].as_f64().unwrap();
        entry.1 += 1.0;
    }
    let chart = read_json(&dir.path().join("chart.json"));
    let shown = bar_values(&chart);
    assert_eq!(shown.keys().collect::<Vec<_>>(), sums.keys().collect::<Vec<_>>());
    for (category, (sum, n)) in &sums {
        assert!((shown[category] - sum / n).abs() < 1e-9, "{category}: {} vs {}", shown[category], sum / n);
    }
    assert_eq!(chart["style"]["colormap"], "viridis");
    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert!(svg.contains("Real-Time Average Sentiment by Category"));
    for (category, (sum, n)) in &sums {
        assert!(svg.contains(&format!("{:.2}", sum / n)), "SVG lacks the label of {category}");
    }
}

#[test]
fn project_over_the_embedded_broker() {
    project_over(Broker::Embedded);
}

#[test]
fn project_over_a_real_broker() {
    project_over(Broker::tansu());
}

#[test]
fn two_terminals_produce_then_consume_and_a_restarted_consumer_continues() {
    let broker = Broker::tansu();
    let topic = unique("buzz");
    let dir = tempfile::tempdir().unwrap();
    let produce = |count: u32| {
        let count = format!("source.count={count}");
        let output =
            role(&broker, &topic, "produce", &["--set", "source.interval_ms=0", "--set", &count]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    let consume = || run_kafka(&broker, &topic, "pipelines/buzz-kafka.toml", dir.path(), &["--role", "consume"]);

    produce(600);
    let first = consume();
    first.assert_success();
    assert_eq!((&first.summary()["records_in"], &first.summary()["records_out"]), (&600.into(), &600.into()));
    let chart = || bar_values(&read_json(&dir.path().join("chart.json")));
    assert_eq!(chart(), authors_in_topic(&broker, &topic, 600));

    let again = consume();
    again.assert_success();
    assert_eq!(again.summary()["records_in"], 0, "a clean restart reads nothing twice");

    // The source resumes from its checkpoint: 250 more to make 850 in all.
    produce(850);
    let more = consume();
    more.assert_success();
    assert_eq!((&more.summary()["records_in"], &more.summary()["records_out"]), (&250.into(), &250.into()));
    assert_eq!(chart(), authors_in_topic(&broker, &topic, 850), "the chart continues");
}

#[test]
fn consumer_group_members_share_the_partitions_and_see_every_record_once() {
    let broker = Broker::tansu();
    let topic = unique("group");
    let dir = tempfile::tempdir().unwrap();
    let consumer = |n: u32| {
        let out = dir.path().join(format!("c{n}"));
        let mut command = role(&broker, &topic, "consume", &["--set", "transport.partitions=4"]);
        command.args(["--set", &format!("chart.output={}", out.join("chart").display())]);
        command.args(["--set", &format!("dead_letter.path={}", out.join("dead.jsonl").display())]);
        command.args(["--summary", &out.join("summary.json").display().to_string()]);
        Watched::spawn(command)
    };
    let mut a = consumer(1);
    let mut b = consumer(2);
    wait_for("both consumers to share the 4 partitions", Duration::from_secs(60), || {
        let (x, y) = (a.assignment(), b.assignment());
        !x.is_empty() && !y.is_empty() && x.is_disjoint(&y) && x.union(&y).count() == 4
    });

    // Keyed by author (buzz-kafka.toml): the four authors hash to four
    // different partitions of four (Java's murmur2), so both members have
    // some to read.
    let output = role(
        &broker,
        &topic,
        "produce",
        &["--set", "transport.partitions=4", "--set", "source.interval_ms=0", "--set", "source.count=4000"],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // Every member draws the merged chart of the whole topic: its own
    // partitions live, the other's from its checkpoints (a second behind).
    let topic_counts = authors_in_topic(&broker, &topic, 4000);
    let chart = |c: &str| {
        std::fs::read(dir.path().join(c).join("chart.json"))
            .ok()
            .map(|b| bar_values(&serde_json::from_slice(&b).unwrap()))
    };
    wait_for("both members to chart the whole topic", Duration::from_secs(60), || {
        ["c1", "c2"].iter().all(|c| chart(c).as_ref() == Some(&topic_counts))
    });
    assert!(a.interrupt().success(), "{}", a.text());
    assert!(b.interrupt().success(), "{}", b.text());
    for c in ["c1", "c2"] {
        assert_eq!(chart(c).as_ref(), Some(&topic_counts), "{c}'s final chart");
    }

    let summaries: Vec<Value> =
        ["c1", "c2"].iter().map(|c| read_json(&dir.path().join(c).join("summary.json"))).collect();
    let counts: Vec<u64> = summaries.iter().map(|s| s["records_in"].as_u64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<u64>(), 4000, "every record exactly once across the group: {counts:?}");
    assert!(counts.iter().all(|&c| c > 0), "both members consumed: {counts:?}");
    let out: u64 = summaries.iter().map(|s| s["records_out"].as_u64().unwrap()).sum();
    assert_eq!(out, 4000);
}

#[test]
fn a_consumer_stopped_mid_stream_and_restarted_loses_nothing_and_counts_nothing_twice() {
    let broker = Broker::tansu();
    let topic = unique("restart");
    let dir = tempfile::tempdir().unwrap();
    let summary = |name: &str| dir.path().join(format!("{name}.json"));

    // A paced producer (about 8 s of records) and a consumer that is
    // interrupted while records still flow.
    let mut produce =
        role(&broker, &topic, "produce", &["--set", "source.interval_ms=2", "--set", "source.count=4000"]);
    produce.args(["--summary", &summary("producer").display().to_string()]);
    let mut producer = Watched::spawn(produce);

    let mut first = role(&broker, &topic, "consume", &[]);
    first.args(outputs_in(dir.path()));
    first.args(["--summary", &summary("first").display().to_string()]);
    let mut first = Watched::spawn(first);
    wait_for("the first consumer to chart some records", Duration::from_secs(60), || {
        dir.path().join("chart.json").exists()
    });
    assert!(first.interrupt().success(), "{}", first.text());
    assert!(producer.child.wait().unwrap().success(), "{}", producer.text());
    let produced = read_json(&summary("producer"))["produced"].as_u64().unwrap();
    assert_eq!(produced, 4000);
    let seen_first = read_json(&summary("first"))["records_in"].as_u64().unwrap();
    assert!(seen_first > 0 && seen_first < 4000, "interrupted mid-stream: {seen_first}");

    let second = run_kafka(&broker, &topic, "pipelines/buzz-kafka.toml", dir.path(), &["--role", "consume"]);
    second.assert_success();
    let seen_second = second.summary()["records_in"].as_u64().unwrap();
    assert_eq!(seen_first + seen_second, 4000, "first {seen_first} + second {seen_second}");
    let out_first = read_json(&summary("first"))["records_out"].as_u64().unwrap();
    assert_eq!(out_first + second.summary()["records_out"].as_u64().unwrap(), 4000);
    let charted = bar_values(&read_json(&dir.path().join("chart.json")));
    assert_eq!(charted, authors_in_topic(&broker, &topic, 4000), "the restarted chart continues the first");
}

#[test]
fn an_independent_client_produces_the_originals_format_and_buzz_charts_it() {
    let broker = Broker::tansu();
    let topic = unique("interop-in");
    let mut sent = python_produces(&[broker.address().unwrap(), &topic, "300", "--malformed"]);
    let malformed = sent.pop().unwrap()["malformed"].clone();
    assert_eq!(sent.len(), 300);

    let dir = tempfile::tempdir().unwrap();
    let run = run_kafka(&broker, &topic, "pipelines/buzz-kafka.toml", dir.path(), &["--role", "consume"]);
    run.assert_success();
    assert_eq!(run.summary()["records_in"], 301);
    assert_eq!(run.summary()["records_out"], 300);
    assert_eq!(run.summary()["dead_letter"], 1);
    assert_eq!(bar_values(&read_json(&dir.path().join("chart.json"))), count_authors(&sent));

    // The malformed record is kept whole: bytes, key, headers, timestamp and
    // where it sat in the topic.
    let dead = read_json_lines(&dir.path().join("dead.jsonl"));
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter["payload"], "this is not JSON");
    assert_eq!(letter["key"], "sensor-7");
    assert_eq!(letter["headers"], serde_json::json!([["origin", "python"], ["trace", null]]));
    assert_eq!(letter["timestamp_ms"], 1700000000123i64);
    assert_eq!(letter["stage"], "transport");
    assert!(letter["reason"].as_str().unwrap().starts_with("record is not valid JSON"), "{letter}");
    assert_eq!(letter["position"]["topic"], topic.as_str());
    assert_eq!(letter["position"]["partition"], malformed["partition"]);
    assert_eq!(letter["position"]["offset"], malformed["offset"]);
}

#[test]
fn buzz_produces_and_an_independent_client_reads_the_records_back() {
    let broker = Broker::tansu();
    let topic = unique("interop-out");
    let output = role(&broker, &topic, "produce", &["--set", "source.interval_ms=0", "--set", "source.count=200"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let output = Command::new(python())
        .arg(interop_script("consume.py"))
        .args([broker.address().unwrap(), &topic, "200"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 200);
    for record in &records {
        let message: Value = serde_json::from_str(record["value"].as_str().unwrap()).unwrap();
        let object = message.as_object().unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), ["message", "author"], "the originals' format: {message}");
        assert!(message["message"].as_str().unwrap().starts_with("I just "));
    }
    let offsets: BTreeSet<(i64, i64)> =
        records.iter().map(|r| (r["partition"].as_i64().unwrap(), r["offset"].as_i64().unwrap())).collect();
    assert_eq!(offsets.len(), 200, "no record twice");
}

#[test]
fn a_broker_down_at_start_is_reported_and_the_pipeline_carries_on_when_it_comes_up() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let topic = unique("late-broker");
    let dir = tempfile::tempdir().unwrap();
    let mut command = buzz();
    command.env("KAFKA_BROKERS", &address);
    command.args([
        "run",
        "pipelines/buzz-kafka.toml",
        "--set",
        "source.interval_ms=0",
        "--set",
        "source.count=300",
        "--exit-when-done",
    ]);
    command.args(["--set", &format!("transport.topic={topic}")]).args(outputs_in(dir.path()));
    command.args(["--summary", &dir.path().join("summary.json").display().to_string()]);
    let mut run = Watched::spawn(command);
    wait_for("a clear message that the broker is unreachable", Duration::from_secs(30), || {
        let text = run.text();
        text.contains(&address) && (text.contains("retrying") || text.contains("waiting"))
    });
    let _tansu = Tansu::start_on(port);
    let started = Instant::now();
    while run.child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the pipeline did not finish once the broker came up:\n{}",
            run.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let summary = read_json(&dir.path().join("summary.json"));
    assert_eq!(summary["records_in"], 300, "{}", run.text());
    assert_eq!(summary["records_out"], 300);
}

#[test]
fn a_lone_consumer_on_the_embedded_broker_waits_for_a_host_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    std::fs::set_permissions(runtime.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut command = buzz();
    command.env_remove("KAFKA_BROKERS").env("XDG_RUNTIME_DIR", runtime.path());
    command.args(["run", "pipelines/buzz-kafka.toml", "--role", "consume"]);
    command.args(outputs_in(dir.path())).arg("--exit-when-done");
    let mut consumer = Watched::spawn(command);
    wait_for("the consumer to say it waits for a host", Duration::from_secs(30), || {
        consumer.count("no buzz process hosts an embedded broker for topic") > 0
    });
    assert!(consumer.interrupt().success(), "Ctrl-C ends the wait cleanly: {}", consumer.text());
    assert!(consumer.text().contains("`buzz run pipelines/buzz-kafka.toml --role produce`"), "{}", consumer.text());
}

// ---------------------------------------------------------------------------
// Keys and partitions

/// The partition Kafka's Java client picks for `key`, as librdkafka's own
/// Java-compatible partitioner computes it (not buzz's code).
fn java_partition(key: &str, partitions: i32) -> i32 {
    // SAFETY: it reads `keylen` bytes of `key` and nothing else (its body in
    // librdkafka's rdkafka_msg.c: murmur2 of the key, modulo the count).
    unsafe {
        rdkafka_sys::rd_kafka_msg_partitioner_murmur2(
            std::ptr::null(),
            key.as_ptr().cast(),
            key.len(),
            partitions,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

/// Messages per author in `topic` (`count` records), read by the Python
/// client: what a chart of the whole topic must show.
fn authors_in_topic(broker: &Broker, topic: &str, count: usize) -> BTreeMap<String, f64> {
    count_authors(&python_reads_messages(broker.address().unwrap(), topic, count))
}

/// buzz-kafka.toml keys its records by author: read back by an independent
/// client, every record carries its author as key and sits on the partition
/// the Java client would pick for it, so each author is on one partition.
fn assert_keyed_by_author(records: &[Value], partitions: i32) {
    let mut by_author: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for record in records {
        let message: Value = serde_json::from_str(record["value"].as_str().unwrap()).unwrap();
        let author = message["author"].as_str().unwrap();
        assert_eq!(record["key"], author, "the key is the author: {record}");
        by_author.entry(author.to_string()).or_default().insert(record["partition"].as_i64().unwrap() as i32);
    }
    assert_eq!(by_author.keys().collect::<Vec<_>>(), ["Alice", "Bob", "Charlie", "Eve"]);
    for (author, seen) in &by_author {
        let expected = BTreeSet::from([java_partition(author, partitions)]);
        assert_eq!(seen, &expected, "{author}'s records are all on the Java client's partition for it");
    }
}

#[test]
fn records_keyed_by_author_land_where_the_java_client_puts_them_on_a_real_broker() {
    let broker = Broker::tansu();
    let topic = unique("keyed");
    let dir = tempfile::tempdir().unwrap();
    let settings = ["--set", "source.count=3000", "--set", "source.interval_ms=0"];
    let run = run_kafka(&broker, &topic, "pipelines/buzz-kafka.toml", dir.path(), &settings);
    run.assert_success();
    assert_eq!(run.summary()["records_out"], 3000);
    let records = python_reads(broker.address().unwrap(), &topic, 3000);
    assert_eq!(records.len(), 3000);
    assert_keyed_by_author(&records, 3);
}

/// In this process, as the embedded broker lives in the process that runs
/// the pipeline; the Python client reads it at its address afterwards.
#[test]
fn records_keyed_by_author_land_where_the_java_client_puts_them_on_the_embedded_broker() {
    let topic = unique("keyed");
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        format!("transport.topic={topic}"),
        format!("transport.group={topic}-group"),
        "source.count=3000".into(),
        "source.interval_ms=0".into(),
    ];
    let running = start_on_embedded_broker(&repo_root().join("pipelines/buzz-kafka.toml"), dir.path(), &settings);
    let summary = running.wait();
    assert_eq!(summary.records_out, 3000);
    let records = python_reads(&buzz::transport::kafka::embedded_bootstrap().unwrap(), &topic, 3000);
    assert_eq!(records.len(), 3000);
    assert_keyed_by_author(&records, 3);
}

/// The producer sends what it holds as soon as its source will make nothing
/// before the linger ends (lingering would only delay those records), and
/// keeps them for their batch while the source's wait is shorter.
#[test]
fn the_kafka_producer_sends_at_once_when_its_source_waits_past_the_linger() {
    use buzz::transport::SendProgress;
    let settings = [
        "transport.brokers=embedded".to_string(),
        format!("transport.topic={}", unique("linger")),
        r#"transport.properties."linger.ms"="60000""#.to_string(),
    ];
    let spec = load_with(&repo_root().join("pipelines/buzz-kafka.toml"), &settings);
    let mut writer = buzz::transport::open_writer(&spec.transport).unwrap();
    let record = buzz::plugin_host::RecordView::bytes(br#"{"n": 1}"#);
    writer.send(&[record], &mut SendProgress::default()).unwrap();
    writer.source_waits(Duration::from_secs(1), Duration::from_secs(30));
    assert_eq!(writer.pending(), 1, "a wait shorter than the linger keeps the record for its batch");
    writer.source_waits(Duration::from_secs(60), Duration::from_secs(30));
    assert_eq!(writer.pending(), 0, "a wait as long as the linger sends the record at once");
}

/// Another client made the topic with 3 partitions; a pipeline that needs
/// order (partitions = 1) reads it: it says so loudly, and reads it all.
#[test]
fn an_ordered_pipeline_reading_a_topic_with_more_partitions_is_warned() {
    let broker = Broker::tansu();
    let topic = unique("unordered");
    let address = broker.address().unwrap();
    python_creates_topic(address, &topic, 3);
    let output =
        Command::new(python()).arg(interop_script("produce_original.py")).args([address, &topic, "300"]).output();
    assert!(output.as_ref().unwrap().status.success(), "{output:?}");

    let dir = tempfile::tempdir().unwrap();
    let settings = ["--role", "consume", "--set", "transport.partitions=1"];
    let run = run_kafka(&broker, &topic, "pipelines/buzz-kafka.toml", dir.path(), &settings);
    run.assert_success();
    assert_eq!(run.summary()["records_in"], 300);
    let log = run.stderr();
    let warning = format!("topic {topic} has 3 partitions, but this pipeline's transport sets partitions = 1");
    assert!(log.contains("WARN") && log.contains(&warning), "a loud warning naming the topic:\n{log}");
    assert!(log.contains(&format!("Recreate topic {topic} with 1 partition")), "what to do:\n{log}");
}

/// The same on the embedded broker, in this process: the Python client's
/// records make the broker create the topic with its own partition count
/// (the mock cluster answers no CreateTopics), and the warning is also part
/// of the transport status the dashboard shows.
#[test]
fn an_ordered_pipeline_on_the_embedded_broker_shows_the_warning_on_the_dashboard() {
    let topic = unique("unordered");
    let address = buzz::transport::kafka::embedded_bootstrap().unwrap();
    let output =
        Command::new(python()).arg(interop_script("produce_original.py")).args([&address, &topic, "300"]).output();
    assert!(output.as_ref().unwrap().status.success(), "{output:?}");
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        format!("transport.topic={topic}"),
        format!("transport.group={topic}-group"),
        "transport.partitions=1".into(),
        "source.count=300".into(),
        "source.interval_ms=5".into(),
    ];
    let running = start_on_embedded_broker(&repo_root().join("pipelines/buzz-kafka.toml"), dir.path(), &settings);
    let named = format!("topic {topic} has ");
    let asked = "partitions, but this pipeline's transport sets partitions = 1";
    wait_for("the order warning in the dashboard's transport status", Duration::from_secs(30), || {
        let status = running.stats().transport;
        status.warning.as_deref().is_some_and(|w| w.starts_with(&named) && w.contains(asked))
    });
    assert!(running.wait().records_in >= 300);
}

#[test]
fn two_terminals_on_the_embedded_broker_need_no_broker_and_no_address() {
    let dir = tempfile::tempdir().unwrap();
    // Where hosts announce themselves: this test's own.
    let runtime = tempfile::tempdir().unwrap();
    std::fs::set_permissions(runtime.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let topic = unique("terminals");
    let half = |role: &str, extra: &[&str]| {
        let mut command = buzz();
        command.env_remove("KAFKA_BROKERS").env("XDG_RUNTIME_DIR", runtime.path());
        command.args(["run", "pipelines/buzz-kafka.toml", "--role", role, "--http", "off", "--no-reload"]);
        let outputs = if role == "consume" { dir.path().to_path_buf() } else { dir.path().join(role) };
        command.args(topic_args(&topic)).args(outputs_in(&outputs)).args(extra);
        command
    };
    // The consumer first: it waits for a host, saying so.
    let mut first = Watched::spawn(half("consume", &["--exit-when-done"]));
    let waits = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        first.text().contains("no buzz process hosts")
    });
    assert!(waits, "the consumer waits for a host, saying so: {}", first.text());
    let mut producer = Watched::spawn(half("produce", &["--set", "source.interval_ms=0", "--set", "source.count=300"]));
    assert!(first.exit_within(Duration::from_secs(60)).success(), "{}", first.text());
    assert!(first.text().contains("using the embedded broker that buzz process"), "{}", first.text());
    assert_eq!(bar_values(&read_json(&dir.path().join("chart.json"))).values().sum::<f64>(), 300.0);
    // The finite producer stays up while consumers may still read.
    wait_for("the producer to keep hosting", Duration::from_secs(30), || producer.text().contains("stays up"));
    assert!(producer.text().contains("embedded Kafka broker (librdkafka mock cluster) listening at 127.0.0.1:"));
    assert!(producer.text().contains("--role produce on the embedded broker: it lives in this process and keeps only"));
    assert!(producer.child.try_wait().unwrap().is_none());

    // A consumer whose host stops says so and stops cleanly, its chart kept.
    let mut second = Watched::spawn(half("consume", &[]));
    wait_for("the second consumer to find the host and restore the chart", Duration::from_secs(30), || {
        second.text().contains("state restored from the checkpoint")
    });
    assert!(producer.interrupt().success(), "{}", producer.text());
    assert!(second.exit_within(Duration::from_secs(60)).success(), "{}", second.text());
    assert!(second.text().contains("is gone"), "{}", second.text());
    assert_eq!(bar_values(&read_json(&dir.path().join("chart.json"))).values().sum::<f64>(), 300.0);
}

#[test]
fn keys_headers_and_timestamps_from_another_client_reach_the_transform() {
    let broker = Broker::tansu();
    let address = broker.address().unwrap().to_string();
    let topic = unique("metadata");
    python_creates_topic(&address, &topic, 1);
    let output =
        Command::new(python()).arg(interop_script("produce_with_metadata.py")).args([&address, &topic, "5"]).output();
    let output = output.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // A transform that charts what came with each record: its key and
    // headers as the bar's name, its timestamp as the bar's value.
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install_fixture("panicky", &plugins, "panicky");
    let pipeline = dir.path().join("metadata.toml");
    std::fs::write(
        &pipeline,
        format!(
            "name = \"metadata\"\nplugins_dir = {plugins:?}\n[source]\ntype = \"buzz_messages\"\n[transport]\ntype = \"kafka\"\nbrokers = \"{address}\"\ntopic = \"{topic}\"\ncreate_topic = false\n[transform]\ntype = \"panicky\"\necho_metadata = true\n[chart]\ntype = \"bar_chart\"\ncategory = \"category\"\nvalue = \"value\"\n"
        ),
    )
    .unwrap();
    let run = run_to_end(pipeline.to_str().unwrap(), dir.path(), &["--role", "consume"]);
    run.assert_success();
    assert_eq!(run.summary()["records_out"], 5);
    let bars = bar_values(&read_json(&dir.path().join("chart.json")));
    let expected: BTreeMap<String, f64> =
        (0..5).map(|i| (format!("k{i}|trace=t{i},empty=(none)"), 1_700_000_000_000.0 + i as f64 * 1000.0)).collect();
    assert_eq!(bars, expected);
}
