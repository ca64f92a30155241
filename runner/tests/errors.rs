//! Errors a user can act on, end to end: bad CSV input, an output folder
//! that cannot take files, a disk that fills while a chart is written, and
//! a Kafka topic that is missing where buzz may not create it, and one this
//! client is not authorized to use.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::broker::{Broker, python_creates_topic, unique};
use common::toml_file::TomlFile;
use common::watched::{Watched, wait_for};
use common::*;

/// The smoker pipeline on `csv`, over a file transport in `dir`.
fn smoker_on(csv: &Path, dir: &Path) -> std::path::PathBuf {
    let mut file = TomlFile::open(&repo_root().join("pipelines/smoker.toml"));
    let transport = format!("type = \"file\"\npath = {:?}", dir.join("t.jsonl"));
    file.set_table("transport", &transport).set("source.path", csv.display().to_string());
    let path = dir.join("smoker.toml");
    file.save(&path);
    path
}

#[test]
fn a_csv_without_a_required_column_is_refused_at_its_setting() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("readings.csv");
    std::fs::write(&csv, "timestamp,temp\n2025-01-01 10:00:00,70.1\n").unwrap();
    let pipeline = smoker_on(&csv, dir.path());
    let output = buzz().arg("check").arg(&pipeline).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = std::fs::read_to_string(&pipeline).unwrap().lines().position(|l| l.starts_with("required")).unwrap() + 1;
    assert!(stderr.starts_with(&format!("{}:{line}:12: source.required:", pipeline.display())), "{stderr}");
    assert!(stderr.contains("has no column \"temperature\"; its header has: timestamp, temp"), "{stderr}");
}

#[test]
fn unparsable_numbers_and_ragged_rows_go_to_the_dead_letters_and_the_rest_is_charted() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("readings.csv");
    std::fs::write(
        &csv,
        "timestamp,temperature\n2025-01-01 10:00:00,70.1\n2025-01-01 10:01:00,warm\n2025-01-01 10:02:00\n2025-01-01 10:03:00,70.4\n",
    )
    .unwrap();
    let run = run_to_end(smoker_on(&csv, dir.path()).to_str().unwrap(), dir.path(), &["--set", "source.interval_ms=0"]);
    run.assert_success();
    assert_eq!(run.summary()["records_out"], 2);
    assert_eq!(run.summary()["dead_letter"], 2);
    let dead = read_json_lines(&dir.path().join("dead.jsonl"));
    assert!(dead.iter().all(|d| d["stage"] == "source"));
    assert!(
        dead[0]["reason"].as_str().unwrap().ends_with(":3: column temperature: \"warm\" is not a number"),
        "{}",
        dead[0]
    );
    assert!(dead[1]["reason"].as_str().unwrap().ends_with(":4: row has 1 fields, the header has 2"), "{}", dead[1]);
    assert_eq!(dead[1]["payload"], "2025-01-01 10:02:00");
}

#[test]
fn an_output_folder_that_cannot_take_files_is_named_at_its_setting() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_folder = dir.path().join("a-file");
    std::fs::write(&not_a_folder, "x").unwrap();
    for output in [not_a_folder.join("chart"), Path::new("/proc/buzz-no-such-folder/chart").to_path_buf()] {
        let mut file = TomlFile::open(&repo_root().join("pipelines/buzz-file.toml"));
        let pipeline = dir.path().join("p.toml");
        file.set("chart.output", output.display().to_string()).save(&pipeline);
        let text = file.text();
        let line = text.lines().position(|l| l.starts_with("output")).unwrap() + 1;
        let output = buzz().arg("check").arg(&pipeline).output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr
                .starts_with(&format!("{}:{line}:10: chart.output: cannot write charts to folder", pipeline.display())),
            "{stderr}"
        );
        assert!(stderr.contains("choose another `output`, or make the folder writable"), "{stderr}");
    }
}

#[test]
fn the_memory_transport_refuses_to_run_one_half_alone() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.toml");
    let text = "name = \"p\"\n[source]\ntype = \"buzz_messages\"\ninterval_ms = 0\ncount = 10\n[transport]\ntype = \"memory\"\n\
                [transform]\ntype = \"count_by\"\nfield = \"author\"\n[chart]\ntype = \"bar_chart\"\ncategory = \"author\"\nvalue = \"count\"\n";
    std::fs::write(&pipeline, text).unwrap();
    for role in ["produce", "consume"] {
        let mut command = buzz();
        command.arg("run").arg(&pipeline).args(["--role", role, "--no-reload", "--exit-when-done"]);
        command.args(outputs_in(dir.path()));
        let mut run = Watched::spawn(command);
        assert_eq!(run.exit_within(Duration::from_secs(30)).code(), Some(1), "--role {role}: {}", run.text());
        let refused = "the memory transport joins the two halves of one process: run both (the default --role)";
        assert!(run.text().contains(refused), "--role {role}: {}", run.text());
    }
}

#[test]
fn a_disk_that_fills_while_a_chart_is_written_leaves_the_previous_chart_intact() {
    let dir = tempfile::tempdir().unwrap();
    // Files may grow to 8 KiB only (as if the disk were full beyond): the
    // smoker's chart outgrows that as readings arrive. SIGXFSZ is ignored,
    // so writes fail with an error instead of killing buzz.
    let args: Vec<String> = ["run", "pipelines/smoker.toml", "--set", "source.interval_ms=20", "--exit-when-done"]
        .iter()
        .map(|s| s.to_string())
        .chain(outputs_in(dir.path()))
        .collect();
    let buzz_path = env!("CARGO_BIN_EXE_buzz");
    let script = format!("trap '' XFSZ; ulimit -f 8; exec {buzz_path} \"$@\"");
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("buzz")
        .args(&args)
        .current_dir(repo_root())
        .env("BUZZ_HTTP", "off")
        .env("BUZZ_LOG", "warn")
        .env_remove("BUZZ_PLUGIN_PATH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("the previous file is kept"), "the failed writes were reported: {stderr}");
    let svg_path = dir.path().join("chart.svg");
    assert!(stderr.contains(&format!("cannot write {}", svg_path.display())), "{stderr}");
    // The SVG on disk is a whole, earlier frame (the last that fitted), not
    // half of a later one; the same for the JSON.
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_svg(&svg);
    assert!(svg.len() <= 8 * 1024, "{} bytes", svg.len());
    let shown = read_json(&dir.path().join("chart.json"))["series"][0]["points"].as_array().unwrap().len();
    assert!(shown > 0 && shown < 240, "the JSON on disk is a whole earlier frame: {shown} of 240 readings");
    assert!(
        dir.path().read_dir().unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".buzz-tmp")),
        "no temporary file left behind"
    );
}

#[test]
fn a_missing_topic_where_buzz_may_not_create_it_is_reported_until_it_exists() {
    let broker = Broker::tansu();
    let topic = unique("missing");
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut command = buzz();
    broker.apply(&mut command);
    command.args(["run", "pipelines/buzz-kafka.toml", "--role", "produce", "--set", "transport.create_topic=false"]);
    command.args(["--set", &format!("transport.topic={topic}"), "--set", "source.interval_ms=0"]);
    command.args(["--set", "source.count=50", "--exit-when-done", "--summary", summary.to_str().unwrap()]);
    let mut run = Watched::spawn(command);
    let expected = format!(
        "topic {topic} does not exist at {}, and create_topic = false: create it, or set create_topic = true",
        broker.address().unwrap()
    );
    // Said again while it lasts, not once and then silence.
    wait_for("the missing topic to be reported twice", Duration::from_secs(60), || run.count(&expected) >= 2);
    assert!(run.child.try_wait().unwrap().is_none(), "{}", run.text());

    // Someone makes the topic: the producer carries on and sends everything.
    python_creates_topic(broker.address().unwrap(), &topic, 1);
    let status = run.exit_within(Duration::from_secs(60));
    assert!(status.success(), "{}", run.text());
    let summary = read_json(&summary);
    assert_eq!((summary["produced"].as_u64(), summary["dead_letter"].as_u64()), (Some(50), Some(0)), "{summary}");
}

/// In process: only the embedded broker can be told to refuse a topic (no
/// ACLs on tansu). The refusal is shown where the dashboard shows it; once
/// access is granted the pipeline carries on and loses nothing.
#[test]
fn an_unauthorized_topic_is_reported_and_the_pipeline_carries_on_once_access_is_granted() {
    use buzz::transport::kafka::{embedded_bootstrap, set_embedded_topic_error};
    use rdkafka::types::RDKafkaRespErr;

    let dir = tempfile::tempdir().unwrap();
    let topic = unique("forbidden");
    set_embedded_topic_error(&topic, Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)).unwrap();
    let settings = [
        format!("transport.topic={topic}"),
        "transport.create_topic=false".to_string(),
        "source.interval_ms=0".to_string(),
        format!("source.path={}", repo_root().join("data/smoker.csv").display()),
        format!("transport.schema={}", repo_root().join("schemas/smoker-reading.schema.json").display()),
    ];
    let running = start_on_embedded_broker(&repo_root().join("pipelines/smoker.toml"), dir.path(), &settings);
    let expected = format!(
        "not authorized for topic {topic} at {}: grant this client access to it (ACLs), or use another topic",
        embedded_bootstrap().unwrap()
    );
    wait_for("the refusal on the dashboard's transport state", Duration::from_secs(30), || {
        let status = running.stats().transport;
        status.state == "retrying" && status.detail.as_deref().is_some_and(|d| d.contains(&expected))
    });

    set_embedded_topic_error(&topic, None).unwrap();
    let summary = running.wait();
    assert_eq!((summary.records_in, summary.records_out, summary.dead_letter), (240, 240, 0));
}

#[test]
fn a_secret_setting_is_used_but_never_shown() {
    const FIRST: &str = "hunter2-first-secret";
    const SECOND: &str = "hunter2-second-secret";
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install_fixture("panicky", &plugins, "panicky");
    let transport = dir.path().join("records.jsonl");
    std::fs::write(&transport, (0..5).map(|i| format!("{{\"n\": {i}}}\n")).collect::<String>()).unwrap();
    let pipeline = dir.path().join("secret.toml");
    let text = |password: &str, title: &str| {
        format!(
            "name = \"secret\"\nplugins_dir = {plugins:?}\n[source]\ntype = \"buzz_messages\"\n[transport]\ntype = \"file\"\npath = {transport:?}\n[transform]\ntype = \"panicky\"\npassword = \"{password}\"\n[chart]\ntype = \"line_chart\"\nx = \"$index\"\ny = \"n\"\ntitle = \"{title}\"\n"
        )
    };
    std::fs::write(&pipeline, text("${BUZZ_TEST_PASSWORD}", "first")).unwrap();
    let summary = dir.path().join("summary.json");
    let mut command = buzz();
    command.arg("run").arg(&pipeline).args(["--role", "consume", "--http", "0"]).args(outputs_in(dir.path()));
    command.arg("--summary").arg(&summary).env("BUZZ_TEST_PASSWORD", FIRST);
    let mut run = Watched::spawn(command);
    let mut port = None;
    wait_for("the dashboard", Duration::from_secs(30), || {
        port = run
            .text()
            .lines()
            .find_map(|l| l.split("dashboard at http://127.0.0.1:").nth(1)?.trim_end_matches('/').parse().ok());
        port.is_some()
    });
    let port: u16 = port.unwrap();
    // A reload that changes the secret (and the title) says so without it.
    std::fs::write(&pipeline, text(SECOND, "second")).unwrap();
    wait_for("the reload", Duration::from_secs(30), || run.text().contains("reload applied"));
    let mut shown = String::new();
    wait_for("the dashboard to show the reload", Duration::from_secs(10), || {
        shown = common::browser::http_get(port, "/api/stats");
        shown.contains("password changed")
    });
    shown.push_str(&common::browser::http_get(port, "/api/pipelines"));
    assert!(run.interrupt().success());
    shown.push_str(&run.text());
    shown.push_str(&std::fs::read_to_string(&summary).unwrap());
    // A wrong value given on the command line is refused without echoing it.
    let output =
        buzz().arg("check").arg(&pipeline).args(["--set", "transform.password=[4242424242]"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let refused = String::from_utf8_lossy(&output.stderr);
    assert!(refused.contains("transform.password"), "{refused}");
    shown.push_str(&refused);
    assert!(read_json(&summary)["configuration"]["transform"]["settings"]["password"] == "<redacted>");
    for secret in [FIRST, SECOND, "4242424242"] {
        assert!(!shown.contains(secret), "{secret} was shown:\n{shown}");
    }
}

#[test]
fn logs_are_plain_when_piped_json_on_request_and_a_bad_filter_is_reported() {
    let run = |log: &str, extra: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let mut command = buzz();
        // Colours are decided by the terminal, not by NO_COLOR alone.
        command.env_remove("NO_COLOR").env("BUZZ_LOG", log).args(extra);
        run_to_end_with(
            command,
            "pipelines/buzz-file.toml",
            dir.path(),
            &["--set", "source.interval_ms=0", "--set", "source.count=5"],
        )
    };
    let piped = run("info", &[]);
    piped.assert_success();
    assert!(piped.stderr().contains("done: 5 records in"), "{}", piped.stderr());
    assert!(!piped.stderr().contains('\u{1b}'), "no escape codes into a pipe: {:?}", piped.stderr());

    let json = run("info", &["--log-format", "json"]);
    json.assert_success();
    let lines: Vec<serde_json::Value> =
        json.stderr().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(lines.iter().all(|l| l["level"].is_string() && l["timestamp"].is_string()), "{lines:?}");
    let done =
        lines.iter().find(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with("done: 5 records in")));
    assert_eq!(done.expect("the summary line")["fields"]["pipeline"], "buzz-file");

    let bad = run("buzz=loud[", &[]);
    bad.assert_success();
    assert!(bad.stderr().contains(r#"BUZZ_LOG="buzz=loud[" is not a valid log filter"#), "{}", bad.stderr());
    assert!(bad.stderr().contains("done: 5 records in"), "logged at info instead: {}", bad.stderr());
}
