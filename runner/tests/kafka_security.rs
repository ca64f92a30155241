//! The Kafka transport with TLS, SASL SCRAM and zstd against a real broker:
//! tansu behind Debian's stunnel (tansu's own TLS does not work), with a CA
//! and certificates each test makes, and an independent client (Python
//! confluent-kafka) writing zstd-compressed batches.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::broker::{Broker, unique};
use common::browser::http_get;
use common::tls::TlsKafka;
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

/// The password of the broker's user: it must never be shown.
const PASSWORD: &str = "pw-8d1f3a-never-shown";

/// `--set` arguments for the transport's librdkafka `properties`, with
/// quoted keys, as users write them.
fn properties(settings: &[(&str, &str)]) -> Vec<String> {
    settings
        .iter()
        .flat_map(|(key, value)| ["--set".into(), format!(r#"transport.properties."{key}"={value}"#)])
        .collect()
}

/// The smoker over TLS: every reading goes through stunnel, whose
/// certificate librdkafka checks against the test's CA (and its host name).
#[test]
fn the_smoker_runs_over_tls_through_a_real_terminator() {
    let dir = tempfile::tempdir().unwrap();
    let kafka = TlsKafka::start(dir.path());
    let mut command = buzz();
    command.env("KAFKA_BROKERS", &kafka.address);
    let mut args = vec!["--set".to_string(), "source.interval_ms=0".into()];
    args.extend(["--set".into(), format!("transport.topic={}", unique("smoker-tls"))]);
    let ca = kafka.ca.display().to_string();
    args.extend(properties(&[("security.protocol", "SSL"), ("ssl.ca.location", &ca)]));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_to_end_with(command, "pipelines/smoker.toml", dir.path(), &args);
    run.assert_success();
    assert_eq!(run.summary()["records_out"], 240);
    assert_eq!(markers(&read_json(&dir.path().join("chart.json"))), expected_stalls(10, 0.2));
}

/// Without the CA the broker's certificate is refused, and said so: the
/// test above really checks it.
#[test]
fn a_broker_certificate_from_an_unknown_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kafka = TlsKafka::start(dir.path());
    let mut command = buzz();
    command.env("KAFKA_BROKERS", &kafka.address).args(["run", "pipelines/smoker.toml", "--role", "produce"]);
    command.args(properties(&[("security.protocol", "SSL")]));
    command.args(["--set", &format!("transport.topic={}", unique("unknown-ca"))]);
    let run = Watched::spawn(command);
    wait_for("the refused certificate", Duration::from_secs(30), || run.text().contains("certificate verify failed"));
}

/// 30 smoker readings, the 16th with a note too large for the pipeline
/// below (`max_record_bytes = 400`): 29 charted, one dead letter.
fn readings_with_one_too_large(dir: &Path) -> PathBuf {
    let mut text = String::from("timestamp,temperature,note\n");
    for i in 0..30 {
        let note = if i == 15 { "x".repeat(600) } else { "ok".into() };
        text += &format!("2025-01-11 10:{i:02}:00,{},{note}\n", 70.0 + f64::from(i) / 2.0);
    }
    let csv = dir.join("readings.csv");
    std::fs::write(&csv, text).unwrap();
    csv
}

/// A pipeline over SASL_SSL whose password comes from `KAFKA_PASSWORD`, with
/// its dead letters in a topic of two partitions on the same brokers.
fn secure_pipeline(dir: &Path, kafka: &TlsKafka, mechanism: &str, topic: &str, title: &str) -> String {
    format!(
        r#"name = "secure"
[source]
type = "csv_replay"
path = "{csv}"
interval_ms = 0
types = {{ temperature = "number" }}

[transport]
type = "kafka"
brokers = "{brokers}"
topic = "{topic}"
max_record_bytes = 400
properties = {{ "security.protocol" = "SASL_SSL", "sasl.mechanism" = "{mechanism}", "sasl.username" = "buzz", "sasl.password" = "${{KAFKA_PASSWORD}}", "ssl.ca.location" = "{ca}" }}

[transform]
type = "stall_detection"

[chart]
type = "line_chart"
title = "{title}"
output = "{out}/chart"
x = "timestamp"
y = "temperature"
marker_field = "stall"

[dead_letter]
topic = "{topic}-dead"
partitions = 2
"#,
        csv = readings_with_one_too_large(dir).display(),
        brokers = kafka.address,
        ca = kafka.ca.display(),
        out = dir.display(),
    )
}

/// SCRAM over TLS end to end: the pipeline authenticates with a password
/// from the environment, its dead letters reach their own topic (two
/// partitions) with the same credentials, and the password appears nowhere:
/// not in the log (at debug level, a reload included), the summary or the
/// dashboard.
fn scram_over_tls(mechanism: &str, tansu_mechanism: &str) {
    let dir = tempfile::tempdir().unwrap();
    let kafka = TlsKafka::with_users(dir.path(), &[("buzz", PASSWORD, tansu_mechanism)]);
    let topic = unique("secure");
    let pipeline = dir.path().join("secure.toml");
    std::fs::write(&pipeline, secure_pipeline(dir.path(), &kafka, mechanism, &topic, "Secure")).unwrap();
    let summary = dir.path().join("summary.json");
    let mut command = buzz();
    command
        .env("KAFKA_PASSWORD", PASSWORD)
        .env("BUZZ_LOG", "debug")
        .arg("run")
        .arg(&pipeline)
        .arg("--summary")
        .arg(&summary);
    let (mut run, port) = run_with_dashboard(command);
    let stats = || serde_json::from_str::<Value>(&http_get(port, "/api/stats")).unwrap();
    wait_for("29 readings charted and one dead letter", Duration::from_secs(60), || {
        let stats = stats();
        (stats[0]["records_out"].as_u64(), stats[0]["dead_letter"].as_u64()) == (Some(29), Some(1))
    });
    let mut shown = vec![http_get(port, "/api/stats"), http_get(port, "/api/pipelines")];
    std::fs::write(&pipeline, secure_pipeline(dir.path(), &kafka, mechanism, &topic, "Secure, retitled")).unwrap();
    wait_for("the reload", Duration::from_secs(30), || run.text().contains("reload applied"));
    shown.push(http_get(port, "/api/stats"));
    assert!(run.interrupt().success(), "{}", run.text());
    shown.push(std::fs::read_to_string(&summary).unwrap());
    shown.push(run.text());
    assert!(run.text().contains("Secure, retitled"), "the reload is logged: {}", run.text());
    for text in &shown {
        assert!(!text.contains(PASSWORD), "the password is shown:\n{text}");
    }
    assert_eq!(read_json(&summary)["records_out"], 29);

    // The dead letter is in its topic, read back with the same settings.
    let export = dir.path().join("exported.jsonl");
    let output = buzz()
        .env("KAFKA_PASSWORD", PASSWORD)
        .args(["replay", "--into"])
        .arg(&pipeline)
        .arg("--export")
        .arg(&export)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let dead = read_json_lines(&export);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0]["reason"].as_str().unwrap().contains("max_record_bytes"), "{}", dead[0]);

    // ... made with the partitions the file asks for, as another client sees it.
    let client = serde_json::json!({
        "security.protocol": "SASL_SSL", "sasl.mechanism": mechanism, "sasl.username": "buzz",
        "sasl.password": PASSWORD, "ssl.ca.location": kafka.ca,
    });
    let output = Command::new(python())
        .arg(interop_script("describe_topic.py"))
        .args([&kafka.address, &format!("{topic}-dead")])
        .env("KAFKA_CLIENT_CONFIG", client.to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let described: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(described["partitions"], 2);
}

#[test]
fn scram_sha_512_over_tls_with_the_password_from_the_environment_never_shown() {
    scram_over_tls("SCRAM-SHA-512", "scram512");
}

#[test]
fn scram_sha_256_over_tls_with_the_password_from_the_environment_never_shown() {
    scram_over_tls("SCRAM-SHA-256", "scram256");
}

/// A wrong password is refused by the broker (it really checks them) and
/// said plainly, without the password.
#[test]
fn a_wrong_password_is_refused_by_the_broker_and_said_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let kafka = TlsKafka::with_users(dir.path(), &[("buzz", PASSWORD, "scram512")]);
    let wrong = "pw-wrong-5e2b90";
    let mut command = buzz();
    command.env("KAFKA_BROKERS", &kafka.address).env("KAFKA_PASSWORD", wrong);
    command.args(["run", "pipelines/smoker.toml", "--role", "produce"]);
    command.args(["--set", &format!("transport.topic={}", unique("wrong-password"))]);
    command.args(properties(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.username", "buzz"),
        ("sasl.password", "${KAFKA_PASSWORD}"),
        ("ssl.ca.location", &kafka.ca.display().to_string()),
    ]));
    let run = Watched::spawn(command);
    wait_for("the refused login", Duration::from_secs(30), || run.text().contains("SASL authentication error"));
    assert!(!run.text().contains(wrong), "the password is shown:\n{}", run.text());
}

/// Batches another client compressed with zstd are read: every message
/// charted once.
#[test]
fn a_topic_written_with_zstd_by_another_client_is_read() {
    let broker = Broker::tansu();
    let topic = unique("zstd");
    let sent = python_produces(&[broker.address().unwrap(), &topic, "500", "--compression", "zstd"]);
    assert_eq!(sent.len(), 500);

    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut command = buzz();
    broker.apply(&mut command);
    command.args(["run", "pipelines/buzz-kafka.toml", "--role", "consume", "--exit-when-done", "--summary"]);
    command.arg(&summary).args(outputs_in(dir.path()));
    command.args(["--set", &format!("transport.topic={topic}"), "--set", &format!("transport.group={topic}-group")]);
    let mut run = Watched::spawn(command);
    // Batches it cannot decompress never reach the chart: no end.
    assert!(run.exit_within(Duration::from_secs(60)).success(), "{}", run.text());
    assert_eq!(read_json(&summary)["records_in"], 500);
    assert_eq!(bar_values(&read_json(&dir.path().join("chart.json"))), count_authors(&sent));
}
