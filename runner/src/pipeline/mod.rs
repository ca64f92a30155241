//! Running a pipeline: build its stages from the spec, then run the producer
//! half (source -> transport) and the consumer half (transport -> transform
//! -> chart) on their own threads.

mod consumer;
mod counters;
mod dead_letters;
mod producer;
mod stop;
mod summary;
pub(crate) mod throttle;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

pub use counters::Counters;
pub use dead_letters::{DeadLetter, DeadLetters};
pub use stop::StopToken;
pub use summary::Summary;

use crate::chart_output::{ChartFiles, ChartWriter};
use crate::config::{Brokers, Diagnostics, PipelineSpec, StageSpec, TransportSpec};
use crate::plugin_host::StageInstance;
use crate::transport::{self, EndMark};

/// Which halves of the pipeline this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Source -> transport only.
    Produce,
    /// Transport -> transform -> chart only.
    Consume,
    /// Both halves in one process.
    Both,
}

impl Role {
    pub fn produces(self) -> bool {
        matches!(self, Role::Produce | Role::Both)
    }

    pub fn consumes(self) -> bool {
        matches!(self, Role::Consume | Role::Both)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Produce => "produce",
            Role::Consume => "consume",
            Role::Both => "both",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub role: Role,
    /// Stop once a finite source is exhausted and everything reached the chart.
    pub exit_when_done: bool,
}

/// What a pipeline's threads share.
pub struct Shared {
    pub name: String,
    pub counters: Counters,
    pub dead_letters: DeadLetters,
    pub stop: StopToken,
    /// Set by the producer when it is done: how far the consumer must read.
    pub end_mark: Mutex<Option<EndMark>>,
    /// Most records and bytes the producer may be ahead of the consumer
    /// (both in this process), for a transport that keeps only so much.
    pub lag_limit: Option<LagLimit>,
}

/// The embedded broker keeps only the newest 100,000 records or 5 MB per
/// partition (librdkafka's mock, not configurable): a consumer further
/// behind would lose records, so a producer in the same process waits.
#[derive(Debug, Clone, Copy)]
pub struct LagLimit {
    pub records: u64,
    pub bytes: u64,
}

impl LagLimit {
    pub const EMBEDDED_KAFKA: LagLimit = LagLimit { records: 50_000, bytes: 2 * 1024 * 1024 };
}

impl Shared {
    /// Waits while the producer is too far ahead of the consumer.
    fn wait_for_lag(&self, source: &str) {
        let Some(limit) = self.lag_limit else { return };
        let c = &self.counters;
        let mut waited = false;
        while !self.stop.is_stopped() {
            let records = Counters::get(&c.produced).saturating_sub(Counters::get(&c.consumed));
            let bytes = Counters::get(&c.produced_bytes).saturating_sub(Counters::get(&c.consumed_bytes));
            if records < limit.records && bytes < limit.bytes {
                break;
            }
            if !waited {
                tracing::debug!(pipeline = %self.name, "source {source} waits for the consumer ({records} records behind)");
                waited = true;
            }
            self.stop.wait(std::time::Duration::from_millis(1));
        }
    }

    pub fn dead_letter(&self, letter: DeadLetter<'_>) {
        self.dead_letters.write(letter);
        Counters::add(&self.counters.dead_letter, 1);
    }
}

/// Builds one plugin stage, turning its errors into `file:line:col` diagnostics.
pub fn build_stage(spec: &PipelineSpec, stage: &StageSpec) -> Result<StageInstance, Diagnostics> {
    StageInstance::new(stage.plugin.clone(), &stage.type_name, &stage.settings).map_err(|e| {
        let message =
            if e.panicked { format!("the plugin panicked while building the stage: {}", e.message) } else { e.message };
        stage.error(&spec.file, e.setting.as_deref(), message).into()
    })
}

/// Builds every stage, as `buzz check` does, to prove the pipeline can start.
pub fn check(spec: &PipelineSpec) -> Result<(), Diagnostics> {
    let mut errors = Diagnostics::default();
    for stage in [&spec.source, &spec.transform, &spec.chart] {
        if let Err(e) = build_stage(spec, stage) {
            errors.0.extend(e.0);
        }
    }
    errors.into_result(())
}

/// A pipeline whose threads are running.
pub struct Running {
    shared: Arc<Shared>,
    producer: Option<JoinHandle<()>>,
    consumer: Option<JoinHandle<()>>,
    files: Option<ChartFiles>,
    started: Instant,
    role: Role,
}

/// Builds the stages and opens the transport, then starts the threads.
pub fn start(spec: &PipelineSpec, options: RunOptions) -> Result<Running, Diagnostics> {
    let shared = Arc::new(Shared {
        name: spec.name.clone(),
        counters: Counters::default(),
        dead_letters: DeadLetters::new(&spec.dead_letter_path, &spec.name),
        stop: StopToken::default(),
        end_mark: Mutex::new(None),
        lag_limit: match &spec.transport {
            TransportSpec::Kafka(k) if k.brokers == Brokers::Embedded && options.role == Role::Both => {
                Some(LagLimit::EMBEDDED_KAFKA)
            }
            _ => None,
        },
    });
    let fail = |message: String| -> Diagnostics { spec.file.error(&crate::config::Origin::Default, message).into() };
    let mut consumer = None;
    let mut files = None;
    if options.role.consumes() {
        let transform = build_stage(spec, &spec.transform)?;
        let chart = build_stage(spec, &spec.chart)?;
        let reader = transport::open_reader(&spec.transport).map_err(|e| fail(format!("transport: {e}")))?;
        let writer = ChartWriter::start(&spec.chart_output.base, spec.chart_output.png_interval, &spec.name)
            .map_err(|e| fail(format!("chart output {}: {e}", spec.chart_output.base.display())))?;
        files = Some(writer.files().clone());
        consumer = Some(consumer::Consumer {
            reader,
            transform,
            chart,
            writer,
            min_frame_interval: spec.chart_output.min_frame_interval,
            exit_when_caught_up: options.exit_when_done && !options.role.produces(),
            exit_when_producer_done: options.exit_when_done && options.role.produces(),
            local_producer: options.role.produces(),
        });
    }
    let producer = if options.role.produces() {
        let source = build_stage(spec, &spec.source)?;
        let writer = transport::open_writer(&spec.transport).map_err(|e| fail(format!("transport: {e}")))?;
        Some(producer::Producer { source, writer })
    } else {
        None
    };
    let spawn = |half: &str, body: Box<dyn FnOnce(&Shared) + Send>| {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("{}-{half}", spec.name))
            .spawn(move || body(&shared))
            .map_err(|e| fail(format!("cannot start the {half} thread: {e}")))
    };
    let consumer = consumer.map(|c| spawn("consume", Box::new(move |s| c.run(s)))).transpose()?;
    let producer = producer.map(|p| spawn("produce", Box::new(move |s| p.run(s)))).transpose()?;
    Ok(Running { shared, producer, consumer, files, started: Instant::now(), role: options.role })
}

impl Running {
    pub fn stop_token(&self) -> StopToken {
        self.shared.stop.clone()
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Waits for the threads to end (on their own, or after a stop) and
    /// sums up the run.
    pub fn wait(mut self) -> Summary {
        // The consumer decides when the run is over; a producer of an
        // endless source is then told to stop.
        if let Some(consumer) = self.consumer.take() {
            let _ = consumer.join();
            self.shared.stop.stop();
        }
        if let Some(producer) = self.producer.take() {
            let _ = producer.join();
        }
        self.shared.dead_letters.flush();
        let c = &self.shared.counters;
        let (produced, consumed) = (Counters::get(&c.produced), Counters::get(&c.consumed));
        Summary {
            pipeline: self.shared.name.clone(),
            role: self.role.name(),
            records_in: if self.role.consumes() { consumed } else { produced },
            records_out: Counters::get(&c.records_out),
            dead_letter: Counters::get(&c.dead_letter),
            produced,
            consumed,
            reloads_applied: Counters::get(&c.reloads_applied),
            reloads_refused: Counters::get(&c.reloads_refused),
            frames: Counters::get(&c.frames),
            elapsed_s: self.started.elapsed().as_secs_f64(),
            chart: self.files.clone(),
            dead_letter_path: self.shared.dead_letters.path().display().to_string(),
        }
    }
}
