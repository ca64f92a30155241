//! Client settings and the callbacks shared by producer and consumer:
//! librdkafka's errors are reported every few seconds, not per retry.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::producer::{BaseProducer, ProducerContext};

use crate::config::{Brokers, KafkaTransport};
use crate::throttle::Throttle;
use crate::transport::TransportError;

/// `fetch.wait.max.ms` of the changelog's tail on the embedded broker. The
/// mock broker answers a fetch only after the full wait, so a consumer
/// there must wait briefly.
pub const EMBEDDED_FETCH_WAIT_MS: &str = "10";
/// The same for the records' consumer, whose wait is the records' latency:
/// a record waits for the fetch in flight to end. 3 ms instead of 10 took
/// the latency bench's p99 at 1 record/s from about 20-27 ms to 13 ms, for
/// 2% more CPU on an idle smoker pipeline (8.6% of a core against 6.3%).
pub const EMBEDDED_RECORD_FETCH_WAIT_MS: &str = "3";
/// The records' consumer's on a real broker. Kafka answers a fetch as soon
/// as a record arrives; tansu answers at once only if it has records then,
/// else after the whole wait, so at librdkafka's default (500 ms) a record
/// that reaches a caught-up consumer's topic just after its fetch waits up
/// to half a second. Measured on tansu (`scripts/bench latency`), produced
/// -> on the dashboard page, p99 at 1 and 10,000 records/s: 250-281 ms at
/// the default, 12-29 ms at 20 ms; an idle consumer costs tansu 38-43 CPU
/// ticks in 8 s instead of 13-14 (about 3% of a core). Kafka itself only
/// sees more idle fetches.
pub const RECORD_FETCH_WAIT_MS: &str = "20";

/// Settings every client of this transport shares, with the user's
/// `properties` applied.
pub fn base_config(spec: &KafkaTransport, bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("client.id", format!("buzz-{}", spec.pipeline));
    for (key, value) in &spec.properties {
        config.set(key, value);
    }
    config
}

/// Sets buzz's default for `key` unless the user's `properties` set it.
pub fn set_default(config: &mut ClientConfig, spec: &KafkaTransport, key: &str, value: &str) {
    if !spec.properties.contains_key(key) {
        config.set(key, value);
    }
}

/// The bootstrap servers: the embedded broker's address, or the configured ones.
pub fn bootstrap(spec: &KafkaTransport) -> Result<String, TransportError> {
    match &spec.brokers {
        Brokers::Embedded => super::embedded::embedded_bootstrap(),
        Brokers::Servers(servers) => Ok(servers.clone()),
    }
}

/// Reports broker trouble clearly and at a bounded rate.
pub struct ErrorReporter {
    what: String,
    throttle: Mutex<Throttle>,
    last_error: Mutex<Option<String>>,
}

impl ErrorReporter {
    pub fn new(what: String) -> Self {
        ErrorReporter {
            what,
            throttle: Mutex::new(Throttle::new(Duration::from_secs(5))),
            last_error: Mutex::new(None),
        }
    }

    pub fn report(&self, error: &KafkaError, reason: &str) {
        // Reaching the end of a partition is news, not trouble.
        if error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        let message = format!("{reason} ({error})");
        if self.throttle.lock().expect("throttle poisoned").ready() {
            tracing::warn!("Kafka {}: {message}; retrying", self.what);
        }
        *self.last_error.lock().expect("error poisoned") = Some(message);
    }

    /// The latest error since the last `clear`, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("error poisoned").clone()
    }

    /// Things work again.
    pub fn clear(&self) {
        let had_error = self.last_error.lock().expect("error poisoned").take().is_some();
        if had_error {
            self.throttle.lock().expect("throttle poisoned").reset();
            tracing::info!("Kafka {}: connected again", self.what);
        }
    }
}

/// librdkafka's own log lines go to debug: its errors arrive (throttled)
/// through `error`.
pub fn log_librdkafka(level: RDKafkaLogLevel, facility: &str, message: &str) {
    tracing::debug!(target: "buzz::kafka", "librdkafka {level:?} {facility}: {message}");
}

/// Waits up to `limit` until a producer has delivered everything it holds:
/// `flushed` asks without waiting, `serve` serves its delivery reports
/// (or just waits, for a producer with its own polling thread). rdkafka's
/// own `flush` waits in steps of 100 ms, which cost every checkpoint 100 ms
/// on each half (measured: a round trip to the broker takes ~1 ms).
pub fn flush_promptly(
    limit: Duration,
    mut flushed: impl FnMut() -> KafkaResult<()>,
    mut serve: impl FnMut(),
) -> KafkaResult<()> {
    let deadline = Instant::now() + limit;
    loop {
        match flushed() {
            Err(_) if Instant::now() < deadline => serve(),
            done => return done,
        }
    }
}

/// Serves a producer's delivery reports, then waits a millisecond for
/// more: `serve` for [`flush_promptly`]. rust-rdkafka's producer `poll`
/// cannot wait this briefly: it hands librdkafka the time left in whole
/// milliseconds, which under one is no wait at all, so `poll(1 ms)` polled
/// without pause for the whole millisecond. The changelog's flush spent a
/// full core that way while the broker had not yet taken a checkpoint (0.85
/// s at each start on tansu, BENCHMARKS.md section 2).
pub fn serve_reports<C: ProducerContext>(producer: &BaseProducer<C>) {
    producer.poll(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(1));
}

/// How long a consumer may take to leave its group when it is closed.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

/// Closes a group member (it leaves the group, its partitions are revoked)
/// and waits for that in short steps. rust-rdkafka's drop does the same in
/// steps of 100 ms, so it waited up to 100 ms after the close was done, for
/// each of a pipeline's two consumers (`scripts/bench kafka`, last record to
/// clients closed: 226-285 ms on tansu before, 21-212 ms after). Its drop
/// then closes again and logs the refusal, which `logging` filters out.
/// Messages still queued are dropped: nothing is read after this.
pub fn close_consumer<C: ConsumerContext>(consumer: &BaseConsumer<C>) {
    if let Err(e) = consumer.close_queue() {
        tracing::debug!("cannot close the Kafka consumer's queue: {e}");
        return;
    }
    let deadline = Instant::now() + CLOSE_LIMIT;
    while !consumer.closed() && Instant::now() < deadline {
        let _ = consumer.poll(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::producer::{BaseRecord, Producer};

    use super::*;

    /// CPU time this thread has used, from the kernel's count in ticks of
    /// 10 ms (Linux's USER_HZ).
    fn thread_cpu() -> Duration {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // utime and stime are the 12th and 13th fields after the name.
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        let ticks = |i: usize| fields[i].parse::<u64>().unwrap();
        Duration::from_millis((ticks(11) + ticks(12)) * 10)
    }

    #[test]
    fn waiting_for_deliveries_does_not_spin() {
        // A broker that never answers: the record stays in flight.
        let producer: BaseProducer =
            ClientConfig::new().set("bootstrap.servers", "127.0.0.1:1").set("log_level", "0").create().unwrap();
        producer.send(BaseRecord::<[u8], [u8]>::to("t").payload(b"x")).unwrap();
        let wait = Duration::from_millis(500);
        let (started, cpu) = (Instant::now(), thread_cpu());
        let flushed = flush_promptly(wait, || producer.flush(Duration::ZERO), || serve_reports(&producer));
        let (waited, used) = (started.elapsed(), thread_cpu() - cpu);
        assert!(flushed.is_err() && waited >= wait, "{flushed:?} after {waited:?}");
        // rust-rdkafka's poll(1 ms) here used all it got: 250 ms of 500 with
        // a build sharing the cores.
        assert!(used < wait / 4, "{used:?} of CPU in {waited:?} of waiting");
    }
}
