//! Kafka end to end: buzz's buzz-kafka pipeline at full speed against bare
//! rdkafka on the same broker, in the same process, one after the other.
//!
//! The baseline is what the transport alone can do here: a bare rdkafka
//! producer thread and consumer (same client settings as buzz: idempotent
//! producer, consumer group) moving the N payloads buzz's source makes,
//! made beforehand.
//! buzz moves N records source -> Kafka -> transform -> chart with its
//! charts live. The figure is buzz's records per second as a ratio of the
//! bare figure. Each side's time ends when its clients are closed (buzz's
//! when its pipeline has shut down); each round also prints that exit,
//! from the last record taken to the clients closed.
//!
//! On the embedded broker both sides keep the same bound on records in
//! flight (`LagLimit::EMBEDDED_KAFKA`: 50,000 records and 2 MiB): the mock
//! broker keeps only 5 MB of each partition's log, so a producer further
//! ahead can make it drop records the consumer has not read. That bound,
//! not the CPU, sets both figures there.
//!
//! Run with `scripts/bench kafka` (or `cargo bench -p buzz --bench
//! kafka_throughput` after `cargo build --release --workspace`). Brokers:
//! the embedded one, and tansu when `.tools/bin/tansu` is installed
//! (scripts/setup-test). BENCH_RECORDS sets N (default 1,000,000),
//! BENCH_ROUNDS the rounds per broker (default 5; the medians are compared),
//! BENCH_BROKERS the brokers, comma-separated (default `embedded,tansu`),
//! BENCH_SET `--set` overrides for buzz's side, separated by `;` (say
//! `transport.properties."queued.min.messages"="100000"`).

#[path = "bench_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use buzz::config::{Brokers, KafkaTransport, StartAt, TransportSpec};
use buzz::pipeline::{self, Role, RunOptions};
use buzz::transport::LagLimit;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use support::{TansuProcess, cpu_seconds, output_settings, repo_root, start_tansu};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The payloads buzz's own source makes for this run (the same seed), so
/// both sides move the same bytes.
fn payloads(n: usize) -> Vec<Vec<u8>> {
    let spec = support::load(
        &repo_root().join("pipelines/buzz-kafka.toml"),
        &["source.interval_ms=0".into(), format!("source.count={n}")],
    );
    support::source_payloads(&spec, n)
}

fn spec(brokers: &Brokers, topic: &str) -> KafkaTransport {
    KafkaTransport {
        pipeline: "bench".into(),
        brokers: brokers.clone(),
        topic: topic.into(),
        group: format!("{topic}-group"),
        partitions: 1,
        replication: 1,
        start: StartAt::Beginning,
        key: None,
        idempotence: true,
        create_topic: true,
        session_timeout_ms: 6000,
        properties: BTreeMap::new(),
    }
}

/// Bare rdkafka: a producer thread and a consumer, concurrently, as buzz runs.
/// On the embedded broker the producer stays within buzz's lag limit (the
/// mock broker keeps only the newest 100,000 records per partition).
fn bare(brokers: &Brokers, topic: &str, messages: &[Vec<u8>]) -> Run {
    let spec = spec(brokers, topic);
    buzz::transport::kafka::create_topic(&spec).expect("topic");
    let bootstrap = buzz::transport::kafka::bootstrap(&spec).unwrap();
    let mut producer_config = ClientConfig::new();
    producer_config
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000");
    let mut consumer_config = ClientConfig::new();
    // The same consumer settings as buzz: see transport/kafka/reader.rs.
    consumer_config.set("fetch.queue.backoff.ms", "10");
    if *brokers == Brokers::Embedded {
        // The same settings buzz uses on the embedded broker.
        producer_config.set("batch.num.messages", "1000");
        consumer_config.set("fetch.wait.max.ms", "10");
    }
    let producer: ThreadedProducer<DefaultProducerContext> = producer_config.create().unwrap();
    let consumer: BaseConsumer = consumer_config
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", format!("{topic}-bare"))
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let (received, received_bytes) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // The same bound as buzz's (records and bytes): beyond it the mock
    // broker may drop records the consumer has not read yet.
    let (lag_records, lag_bytes) = match brokers {
        Brokers::Embedded => (LagLimit::EMBEDDED_KAFKA.records as usize, LagLimit::EMBEDDED_KAFKA.bytes as usize),
        Brokers::Servers(_) => (usize::MAX, usize::MAX),
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut sent_bytes = 0;
            for (sent, payload) in messages.iter().enumerate() {
                while sent - received.load(Ordering::Relaxed) >= lag_records
                    || sent_bytes - received_bytes.load(Ordering::Relaxed) >= lag_bytes
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                sent_bytes += payload.len();
                let mut record = BaseRecord::<(), [u8]>::to(topic).payload(payload.as_slice());
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((_, back)) => {
                            record = back;
                            producer.poll(Duration::from_millis(1));
                        }
                    }
                }
            }
            producer.flush(Duration::from_secs(120)).unwrap();
        });
        while received.load(Ordering::Relaxed) < messages.len() {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
                received_bytes.fetch_add(message.payload_len(), Ordering::Relaxed);
                received.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    // buzz's time ends once its pipeline has shut down: so does this one,
    // its clients closed as promptly as buzz closes its own.
    let closing = Instant::now();
    buzz::transport::kafka::close_consumer(&consumer);
    drop(producer);
    Run { time: started.elapsed(), exit: closing.elapsed() }
}

/// How long a side took, and how much of it was its exit: from the last
/// record taken to the clients closed.
struct Run {
    time: Duration,
    exit: Duration,
}

/// buzz: the buzz-kafka pipeline, source to chart, at full speed.
fn buzz_run(brokers: &Brokers, topic: &str, n: usize, out: &Path) -> (Run, u64) {
    let brokers = match brokers {
        Brokers::Embedded => "embedded".to_string(),
        Brokers::Servers(s) => s.clone(),
    };
    let mut settings = vec![
        "source.interval_ms=0".to_string(),
        format!("source.count={n}"),
        format!("transport.brokers={brokers}"),
        format!("transport.topic={topic}"),
        format!("transport.group={topic}-group"),
        "transport.partitions=1".into(),
    ];
    settings.extend(output_settings(out));
    if let Ok(extra) = std::env::var("BENCH_SET") {
        settings.extend(extra.split(';').filter(|s| !s.is_empty()).map(String::from));
    }
    let spec = support::load(&repo_root().join("pipelines/buzz-kafka.toml"), &settings);
    assert!(matches!(spec.transport, TransportSpec::Kafka(_)));
    let started = Instant::now();
    let running =
        pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).expect("pipeline starts");
    // Watches for the last record to reach the chart, to time the exit.
    let shared = running.shared().clone();
    let last_record = std::thread::spawn(move || {
        loop {
            let stats = shared.stats();
            if stats.records_out >= n as u64 || !stats.running {
                return Instant::now();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let summary = running.wait();
    let exit = last_record.join().unwrap().elapsed();
    assert_eq!(summary.records_out, n as u64, "every record reached the chart");
    (Run { time: started.elapsed(), exit }, summary.frames)
}

/// Runs bare and buzz in turn, `rounds` times each (on 2 cores one run
/// swings by ±25%), and prints each round and the ratio of the medians.
/// CPU seconds used by this process and by the broker process (if it is
/// one: the embedded broker's are this process's).
fn cpu_now(tansu: Option<&TansuProcess>) -> (f64, f64) {
    (cpu_seconds(), tansu.map_or(0.0, TansuProcess::cpu_seconds))
}

fn measure(name: &str, brokers: &Brokers, tansu: Option<&TansuProcess>, n: usize, rounds: usize) {
    let out = tempfile::tempdir().unwrap();
    let messages = payloads(n);
    let stamp = std::process::id();
    let (mut bare_rates, mut buzz_rates) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let before = cpu_now(tansu);
        let bare_run = bare(brokers, &format!("bench-bare-{stamp}-{round}"), &messages);
        let between = cpu_now(tansu);
        let (buzz_run, frames) = buzz_run(brokers, &format!("bench-buzz-{stamp}-{round}"), n, out.path());
        let after = cpu_now(tansu);
        let (bare_rate, buzz_rate) = (n as f64 / bare_run.time.as_secs_f64(), n as f64 / buzz_run.time.as_secs_f64());
        // Where the time goes: the clients' CPU (buzz's includes making,
        // checking, transforming and charting the records) and the broker's.
        println!(
            "kafka {name:<9} round {}: bare rdkafka {bare_rate:>9.0} rec/s (CPU {:.2} s clients, {:.2} s broker; exit {:.0} ms) | buzz {buzz_rate:>9.0} rec/s (CPU {:.2} s, {:.2} s broker; {frames} chart frames; exit {:.0} ms) | ratio {:.2}",
            round + 1,
            between.0 - before.0,
            between.1 - before.1,
            bare_run.exit.as_secs_f64() * 1000.0,
            after.0 - between.0,
            after.1 - between.1,
            buzz_run.exit.as_secs_f64() * 1000.0,
            buzz_rate / bare_rate
        );
        bare_rates.push(bare_rate);
        buzz_rates.push(buzz_rate);
    }
    let median = |rates: &mut Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let (bare_rate, buzz_rate) = (median(&mut bare_rates), median(&mut buzz_rates));
    println!(
        "kafka {name:<9} {n} records, median of {rounds}: bare rdkafka {bare_rate:>9.0} rec/s | buzz {buzz_rate:>9.0} rec/s | ratio {:.2} (target >= 0.95)",
        buzz_rate / bare_rate
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let n: usize = std::env::var("BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("BUZZ_LOG").unwrap_or_else(|_| "warn".into()))
        .finish()
        .with(buzz::logging::without_second_close())
        .try_init();
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    // BENCH_BROKERS names the brokers to run on (default both).
    let brokers = std::env::var("BENCH_BROKERS").unwrap_or_else(|_| "embedded,tansu".into());
    let wanted = |name: &str| brokers.split(',').any(|b| b.trim() == name);
    if wanted("embedded") {
        measure("embedded", &Brokers::Embedded, None, n, rounds);
    }
    if !wanted("tansu") {
        return;
    }
    match start_tansu("tansu", "memory://tansu/", &std::env::temp_dir()) {
        Some((tansu, address)) => measure("tansu", &Brokers::Servers(address), Some(&tansu), n, rounds),
        None => println!("kafka tansu: skipped (tansu is not installed: run scripts/setup-test)"),
    }
}
