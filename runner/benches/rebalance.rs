//! Pause per rebalance: how long partitions go unread when a second
//! consumer joins a group whose one member reads a live topic (6
//! partitions, tansu with SQLite storage), with eager rebalancing
//! (`range`: every member gives up every partition until the new
//! assignment) against cooperative rebalancing (`cooperative-sticky`,
//! buzz's default: only the partitions that move are given up), in the
//! same run, rounds alternating.
//!
//! A partition's pause runs from its revocation (in the first member's
//! log) to its next assignment (in either member's log). Reported per
//! strategy, medians of the rounds: the mean pause over all six partitions
//! (what the group loses) and the longest one.
//!
//! Run with `scripts/bench rebalance`; BENCH_ROUNDS sets the rounds per
//! strategy (default 3).

#[path = "bench_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{COUNT_BY_AUTHOR, release_buzz, start_tansu};

const PARTITIONS: i32 = 6;

/// A consumer or producer process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(pipeline: &Path, role: &str, log: &Path, broker: &str) -> Process {
    let child = release_buzz()
        .args(["run", &pipeline.display().to_string(), "--role", role, "--no-reload", "--http", "off"])
        .env("KAFKA_BROKERS", broker)
        .env("BUZZ_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap();
    Process(child)
}

/// Seconds since midnight of a log line's timestamp (`...T20:36:07.010353Z`).
fn seconds(line: &str) -> f64 {
    let time = &line[line.find('T').unwrap() + 1..line.find('Z').unwrap()];
    time.split(':').map(|part| part.parse::<f64>().unwrap()).fold(0.0, |total, part| total * 60.0 + part)
}

/// The partitions a "partitions assigned: [...]" or "revoked" line lists.
fn listed(line: &str, what: &str) -> Vec<i32> {
    let list = &line[line.find(what).unwrap() + what.len()..];
    list[..list.find(']').unwrap()].split(',').filter_map(|p| p.trim().parse().ok()).collect()
}

/// (time, revoked?, partitions) of every rebalance line in `log`.
fn events(log: &Path) -> Vec<(f64, bool, Vec<i32>)> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut events = Vec::new();
    for line in text.lines() {
        if line.contains("partitions revoked: [") {
            events.push((seconds(line), true, listed(line, "partitions revoked: [")));
        } else if line.contains("partitions assigned: [") {
            events.push((seconds(line), false, listed(line, "partitions assigned: [")));
        }
    }
    events
}

fn wait_until(log: &Path, needle: &str, count: usize) {
    let started = Instant::now();
    while std::fs::read_to_string(log).unwrap_or_default().matches(needle).count() < count {
        assert!(started.elapsed() < Duration::from_secs(60), "no {needle:?} in {}", log.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Each partition's pause (seconds) when a second member joins, with `strategy`.
fn round(strategy: &str) -> BTreeMap<i32, f64> {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, address) =
        start_tansu("tansu-sqlite", "sqlite://tansu.db", dir.path()).expect("tansu-sqlite: run scripts/setup-test");
    let pipeline = dir.path().join("rebalance.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"name = "rebalance"
[source]
type = "buzz_messages"
interval_ms = 1
[transport]
type = "kafka"
brokers = "${{KAFKA_BROKERS}}"
topic = "live"
partitions = {PARTITIONS}
properties = {{ "partition.assignment.strategy" = "{strategy}" }}
{COUNT_BY_AUTHOR}output = "{}"
"#,
            dir.path().join("chart").display()
        ),
    )
    .unwrap();
    let log = |name: &str| dir.path().join(format!("{name}.log"));
    let _producer = spawn(&pipeline, "produce", &log("producer"), &address);
    let _first = spawn(&pipeline, "consume", &log("first"), &address);
    wait_until(&log("first"), "partitions assigned: [", 1);
    std::thread::sleep(Duration::from_secs(2));
    let _second = spawn(&pipeline, "consume", &log("second"), &address);
    // Settled: the second member reads what it was given.
    wait_until(&log("second"), "partitions assigned: [", 1);
    let settled = Instant::now();
    while settled.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = events(&log("first"));
    let mut assignments: Vec<(f64, i32)> = first
        .iter()
        .chain(events(&log("second")).iter())
        .filter(|(_, revoked, _)| !revoked)
        .flat_map(|(t, _, partitions)| partitions.iter().map(move |p| (*t, *p)))
        .collect();
    assignments.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut pauses: BTreeMap<i32, f64> = (0..PARTITIONS).map(|p| (p, 0.0)).collect();
    for (revoked_at, _, partitions) in first.iter().filter(|(_, revoked, _)| *revoked) {
        for partition in partitions {
            let back = assignments.iter().find(|(t, p)| p == partition && t >= revoked_at);
            let back = back.map_or_else(|| panic!("partition {partition} was never assigned again"), |(t, _)| *t);
            *pauses.get_mut(partition).unwrap() += back - revoked_at;
        }
    }
    pauses
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let strategies = [("range", "eager"), ("cooperative-sticky", "cooperative")];
    let mut results: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for _ in 0..rounds {
        for (strategy, _) in strategies {
            let pauses = round(strategy);
            let (mean, longest) = results.entry(strategy).or_default();
            mean.push(pauses.values().sum::<f64>() / f64::from(PARTITIONS) * 1000.0);
            longest.push(pauses.values().copied().fold(0.0, f64::max) * 1000.0);
        }
    }
    let figure = |strategy: &str| {
        let (mean, longest) = results[strategy].clone();
        (median(mean), median(longest))
    };
    let (eager_mean, eager_longest) = figure("range");
    let (coop_mean, coop_longest) = figure("cooperative-sticky");
    for ((strategy, name), (mean, longest)) in
        strategies.iter().zip([(eager_mean, eager_longest), (coop_mean, coop_longest)])
    {
        println!(
            "rebalance {name:<12} ({strategy}) a second member joins: partitions paused {mean:>5.0} ms on average, longest {longest:>5.0} ms ({rounds} rounds, medians)"
        );
    }
    println!(
        "rebalance pause per partition, cooperative / eager: {:.2} (mean), {:.2} (longest)",
        coop_mean / eager_mean,
        coop_longest / eager_longest
    );
}
