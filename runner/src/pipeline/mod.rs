//! Running a pipeline: build its stages from the spec, then run the producer
//! half (source -> transport) and the consumer half (transport -> transform
//! -> chart) on their own threads.

mod by_partition;
mod charts;
mod checkpoint_flight;
mod consumer;
mod control;
mod counters;
mod dead_letter_line;
mod dead_letters;
mod frame_clock;
mod producer;
mod record_gate;
mod refusals;
mod shared;
mod stats;
mod stop;
mod summary;
mod tasks;
mod view;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use charts::{BranchFrames, Charts};
pub use control::{BranchSwap, ConsumerSwap, Offer, ProducerSwap, ReloadReport, ReloadStatus, ReloadTimes};
pub use counters::Counters;
pub use dead_letter_line::DeadLetterLine;
pub use dead_letters::{DeadLetter, DeadLetters};
pub use frame_clock::FrameClock;
pub use producer::BATCH as SOURCE_BATCH;
pub use record_gate::RecordGate;
pub use shared::{Handover, Shared, Status};
pub use stats::{BranchStats, ChartStats, Stats};
pub use stop::StopToken;
pub use summary::Summary;

use crate::chart_output::{ChartFiles, ChartWriter};
use crate::config::{BranchSpec, Diagnostics, PipelineSpec, StageSpec, secrets};
use crate::plugin_host::StageInstance;
use crate::transport::{self, EndMark, LagLimit, TransportWriter};

/// Which halves of the pipeline this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Source -> transport only.
    Produce,
    /// Transport -> transform -> chart only.
    Consume,
    /// Both halves in one process.
    Both,
    /// No half: serve the chart of the whole input from the checkpoints
    /// the consumers of the group save.
    View,
}

impl Role {
    pub fn produces(self) -> bool {
        matches!(self, Role::Produce | Role::Both)
    }

    /// Runs the consumer loop (a view runs it without taking partitions).
    pub fn consumes(self) -> bool {
        matches!(self, Role::Consume | Role::Both | Role::View)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Produce => "produce",
            Role::Consume => "consume",
            Role::Both => "both",
            Role::View => "view",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub role: Role,
    /// Stop once a finite source is exhausted and everything reached the chart.
    pub exit_when_done: bool,
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
    if let Err(e) = build_stage(spec, &spec.source) {
        errors.0.extend(e.0);
    }
    for branch in &spec.branches {
        for stage in branch.stages() {
            if let Err(mut e) = build_stage(spec, stage) {
                if spec.named_branches {
                    crate::config::in_branch(&mut e.0, &branch.name);
                }
                errors.0.extend(e.0);
            }
        }
    }
    for result in [check_chart_outputs(spec), check_dead_letters(spec), check_client_settings(spec)] {
        if let Err(e) = result {
            errors.0.extend(e.0);
        }
    }
    errors.into_result(())
}

/// Each chart's folder must take files, said at its `chart.output`.
fn check_chart_outputs(spec: &PipelineSpec) -> Result<(), Diagnostics> {
    let errors = spec.branches.iter().filter_map(|b| {
        let output = &b.chart_output;
        output.check_writable().err().map(|e| spec.file.error(&output.origin, format!("chart.output: {e}")))
    });
    Diagnostics(errors.collect()).into_result(())
}

/// The dead-letter file must take records, said at `dead_letter.path`.
pub fn check_dead_letters(spec: &PipelineSpec) -> Result<(), Diagnostics> {
    let at = &spec.dead_letter_origin;
    spec.dead_letter.check_writable().map_err(|e| spec.file.error(at, format!("dead_letter.path: {e}")).into())
}

/// The transport's client must take its settings together (each key alone
/// was checked on loading), said at `transport.properties`.
fn check_client_settings(spec: &PipelineSpec) -> Result<(), Diagnostics> {
    let at = &spec.transport_properties_origin;
    transport::check_client_settings(&spec.transport)
        .map_err(|e| spec.file.error(at, format!("transport.properties: {e}")).into())
}

/// The running configuration, for the summary: each stage's type and settings.
pub fn configuration(spec: &PipelineSpec) -> serde_json::Value {
    let stage = |s: &StageSpec| serde_json::json!({ "type": s.type_name, "plugin": s.plugin.name, "settings": secrets::redacted(&s.settings) });
    let mut configuration = serde_json::json!({
        "source": stage(&spec.source),
        "transport": spec.transport.describe(),
    });
    // A chain of several transforms is a list; one transform, a table.
    let transforms = |b: &BranchSpec| match b.transforms.as_slice() {
        [one] => stage(one),
        chain => serde_json::Value::Array(chain.iter().map(stage).collect()),
    };
    match spec.branches.as_slice() {
        [only] if !spec.named_branches => {
            configuration["transform"] = transforms(only);
            configuration["chart"] = stage(&only.chart);
        }
        branches => {
            let named = branches
                .iter()
                .map(|b| (b.name.clone(), serde_json::json!({ "transform": transforms(b), "chart": stage(&b.chart) })));
            configuration["branches"] = serde_json::Value::Object(named.collect());
        }
    }
    configuration
}

/// The threads of a running pipeline and the channels to reach them.
#[derive(Default)]
struct Threads {
    producer: Option<JoinHandle<()>>,
    consumer: Option<JoinHandle<()>>,
    producer_control: Option<Sender<Offer<ProducerSwap>>>,
    consumer_control: Option<Sender<Offer<ConsumerSwap>>>,
}

/// A handle on a running pipeline, for reloads (cheap to clone).
#[derive(Clone)]
pub struct PipelineHandle {
    shared: Arc<Shared>,
    threads: Arc<Mutex<Threads>>,
    checkpoint_every: Duration,
}

/// How long a reload waits for a pipeline thread to take its new parts
/// (`BUZZ_RELOAD_TIMEOUT_MS` overrides it).
const SWAP_TIMEOUT: Duration = Duration::from_secs(30);

fn swap_timeout() -> Duration {
    let set = std::env::var("BUZZ_RELOAD_TIMEOUT_MS").ok().and_then(|ms| ms.parse().ok());
    set.map_or(SWAP_TIMEOUT, Duration::from_millis)
}

impl PipelineHandle {
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn role(&self) -> Role {
        self.shared.role
    }

    /// True while the producer thread runs (its source is not exhausted).
    pub fn producer_running(&self) -> bool {
        let threads = self.threads.lock().expect("threads poisoned");
        threads.producer.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Hands new parts to the producer, which applies them at once (its
    /// own work is bounded); answers where the old transport ended. Parts
    /// not taken in time are withdrawn: the producer runs on unchanged.
    pub fn swap_producer(
        &self,
        source: Option<(StageInstance, Option<serde_json::Value>)>,
        reset_source: bool,
        writer: Option<Box<dyn TransportWriter>>,
    ) -> Result<Option<EndMark>, String> {
        let (done, answer) = mpsc::channel();
        let control = self.threads.lock().expect("threads poisoned").producer_control.clone();
        let control = control.ok_or("this process runs no producer")?;
        let (offer, offered) = control::offer(ProducerSwap { source, reset_source, writer, done });
        control.send(offer).map_err(|_| "the producer has stopped".to_string())?;
        let limit = swap_timeout();
        if !offered.taken_within(limit) {
            return Err(format!("the producer did not take the new parts within {limit:?}; nothing was changed"));
        }
        answer.recv().map_err(|_| "the producer stopped while taking the new parts".to_string())?
    }

    /// Hands new parts to the consumer, which holds them (reading on) until
    /// [`ConsumerTaken::apply`] or until that is dropped. Parts not taken in
    /// time are withdrawn: the consumer runs on unchanged.
    pub fn offer_consumer(
        &self,
        swap: impl FnOnce(Receiver<Option<EndMark>>, Sender<Result<(), String>>) -> ConsumerSwap,
    ) -> Result<ConsumerTaken, String> {
        let (done, answer) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let control = self.threads.lock().expect("threads poisoned").consumer_control.clone();
        let control = control.ok_or("this process runs no consumer")?;
        let (offer, offered) = control::offer(swap(go_rx, done));
        control.send(offer).map_err(|_| "the consumer has stopped".to_string())?;
        let limit = swap_timeout();
        if !offered.taken_within(limit) {
            return Err(format!("the consumer did not take the new parts within {limit:?}; nothing was changed"));
        }
        Ok(ConsumerTaken { go, answer })
    }

    /// Starts a producer again (its source was exhausted and a reload gave
    /// it a new one).
    pub fn restart_producer(
        &self,
        (source, meaning): (StageInstance, Option<serde_json::Value>),
        writer: Box<dyn TransportWriter>,
    ) -> Result<(), String> {
        let mut threads = self.threads.lock().expect("threads poisoned");
        if let Some(old) = threads.producer.take() {
            let _ = old.join();
        }
        *self.shared.handover.end_mark.lock().expect("end mark poisoned") = None;
        let (control, receiver) = mpsc::channel();
        let producer = producer::Producer {
            source,
            meaning,
            writer,
            control: receiver,
            checkpoint_every: self.checkpoint_every,
            resume: false,
        };
        let thread = spawn_half(&self.shared, "produce", Box::new(move |s| producer.run(s)))?;
        threads.producer = Some(thread);
        threads.producer_control = Some(control);
        Ok(())
    }
}

/// Parts the consumer took and holds until told to apply them; dropped,
/// they are dropped there too.
pub struct ConsumerTaken {
    go: Sender<Option<EndMark>>,
    answer: Receiver<Result<(), String>>,
}

impl ConsumerTaken {
    /// Applies the parts, after reading the old transport up to `drain_to`.
    pub fn apply(self, drain_to: Option<EndMark>) -> Result<(), String> {
        self.go.send(drain_to).map_err(|_| "the consumer has stopped".to_string())?;
        self.answer.recv().map_err(|_| "the consumer stopped while applying the new parts".to_string())?
    }
}

/// A pipeline whose threads are running.
pub struct Running {
    handle: PipelineHandle,
    /// Each branch's chart files (none when this process runs no consumer).
    files: Vec<ChartFiles>,
    started: Instant,
}

/// Builds the stages and opens the transport, then starts the threads.
pub fn start(spec: &PipelineSpec, options: RunOptions) -> Result<Running, Diagnostics> {
    let shared = Arc::new(Shared::new(spec, options.role));
    let fail = |message: String| -> Diagnostics { spec.file.error(&crate::config::Origin::Default, message).into() };
    if options.role != Role::Both {
        transport::check_split(&spec.transport).map_err(|e| fail(e.to_string()))?;
    }
    if options.role != Role::View {
        check_dead_letters(spec)?;
    }
    let mut threads = Threads::default();
    let mut consumer = None;
    let mut files = Vec::new();
    if options.role.consumes() {
        check_chart_outputs(spec)?;
        // Built once here to report a bad stage at start; the consumer
        // builds one of each per partition.
        for stage in spec.branches.iter().flat_map(BranchSpec::stages) {
            build_stage(spec, stage)?;
        }
        let reader = if options.role == Role::View {
            transport::open_view(&spec.transport)
        } else {
            transport::open_reader(&spec.transport)
        }
        .map_err(|e| fail(format!("transport: {e}")))?;
        let charts = shared.charts.list();
        let writers = spec
            .branches
            .iter()
            .zip(&charts)
            .map(|(branch, chart)| start_writer(spec, branch, chart))
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        files = writers.iter().map(|w| w.files().clone()).collect();
        let (control, receiver) = mpsc::channel();
        threads.consumer_control = Some(control);
        consumer = Some(consumer::Consumer {
            reader,
            tasks: tasks::Tasks::new(spec.branches.clone(), spec.named_branches),
            writers,
            charts,
            frames: FrameClock::new(min_frame_interval(spec)),
            checkpoint_every: spec.checkpoint_every,
            checkpoint_in_flight: None,
            control: receiver,
            gate: RecordGate::new(&spec.record_check).map_err(fail)?,
            exit_when_caught_up: options.exit_when_done && !options.role.produces(),
            exit_when_producer_done: options.exit_when_done && options.role.produces(),
            local_producer: options.role.produces(),
        });
    }
    let producer = if options.role.produces() {
        let source = build_stage(spec, &spec.source)?;
        let writer = transport::open_writer(&spec.transport).map_err(|e| fail(format!("transport: {e}")))?;
        let (control, receiver) = mpsc::channel();
        threads.producer_control = Some(control);
        Some(producer::Producer {
            source,
            meaning: spec.source.meaning(),
            writer,
            control: receiver,
            checkpoint_every: spec.checkpoint_every,
            resume: true,
        })
    } else {
        None
    };
    let spawn = |half: &str, body: Box<dyn FnOnce(&Shared) + Send>| spawn_half(&shared, half, body).map_err(fail);
    threads.consumer = consumer.map(|c| spawn("consume", Box::new(move |s| c.run(s)))).transpose()?;
    threads.producer = producer.map(|p| spawn("produce", Box::new(move |s| p.run(s)))).transpose()?;
    let handle =
        PipelineHandle { shared, threads: Arc::new(Mutex::new(threads)), checkpoint_every: spec.checkpoint_every };
    Ok(Running { handle, files, started: Instant::now() })
}

/// Starts the thread that draws and writes a branch's chart.
pub fn start_writer(spec: &PipelineSpec, branch: &BranchSpec, chart: &BranchFrames) -> Result<ChartWriter, String> {
    let output = &branch.chart_output;
    let thread = match &chart.name {
        Some(name) => format!("{}-{name}", spec.name),
        None => spec.name.clone(),
    };
    ChartWriter::start(&output.base, output.png_interval, &thread, chart.frames.clone())
        .map_err(|e| format!("chart output {}: {e}", output.base.display()))
}

/// How often frames may be drawn: as often as the most eager branch asks.
pub fn min_frame_interval(spec: &PipelineSpec) -> Duration {
    spec.branches.iter().map(|b| b.chart_output.min_frame_interval).min().unwrap_or(Duration::from_secs(1))
}

/// Starts the thread of one half (`produce`, `consume`), where the warnings
/// plugin stages log are kept for the dashboard.
fn spawn_half(
    shared: &Arc<Shared>,
    half: &str,
    body: Box<dyn FnOnce(&Shared) + Send>,
) -> Result<JoinHandle<()>, String> {
    let shared = shared.clone();
    std::thread::Builder::new()
        .name(format!("{}-{half}", shared.name))
        .spawn(move || {
            crate::plugin_host::keep_warnings_in(shared.status.stage_warning.clone());
            body(&shared)
        })
        .map_err(|e| format!("cannot start the {half} thread: {e}"))
}

/// How far the producer may run ahead: bounded when both halves run here.
pub fn lag_limit(spec: &PipelineSpec, role: Role) -> Option<LagLimit> {
    if role == Role::Both { transport::lag_limit(&spec.transport) } else { None }
}

impl Running {
    pub fn stop_token(&self) -> StopToken {
        self.handle.shared.stop.clone()
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// The pipeline's figures now: what `/api/stats` serves.
    pub fn stats(&self) -> Stats {
        self.handle.shared.stats()
    }

    pub fn handle(&self) -> PipelineHandle {
        self.handle.clone()
    }

    /// Each branch's chart files (none when this process runs no consumer).
    pub fn chart_files(&self) -> &[ChartFiles] {
        &self.files
    }

    /// Waits for the threads to end (on their own, or after a stop) and
    /// sums up the run.
    pub fn wait(self) -> Summary {
        let shared = &self.handle.shared;
        // The consumer decides when the run is over; a producer of an
        // endless source is then told to stop.
        let consumer = self.handle.threads.lock().expect("threads poisoned").consumer.take();
        if let Some(consumer) = consumer {
            let _ = consumer.join();
            shared.stop.stop();
        }
        // A reload may have restarted the producer: join whichever runs.
        loop {
            let producer = self.handle.threads.lock().expect("threads poisoned").producer.take();
            match producer {
                Some(producer) => {
                    let _ = producer.join();
                }
                None => break,
            }
        }
        // Everything has ended: reload watchers may go too.
        shared.stop.stop();
        shared.dead_letters.flush();
        let elapsed_s = self.started.elapsed().as_secs_f64();
        Summary::new(shared.stats(), &self.files, elapsed_s, shared.dead_letters.describe())
    }
}
