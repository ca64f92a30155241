//! `/metrics`: every pipeline's figures in the Prometheus text format
//! (version 0.0.4), read at each scrape from what `/api/stats` reads, so
//! the two always agree and no second set of counters is kept.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::PipelineView;
use super::stats::PipelineStats;
use crate::pipeline::{BranchStats, ChartStats};
use crate::transport::Lag;

/// The transport states `buzz_transport_state` has a series for.
const TRANSPORT_STATES: [&str; 3] = ["connected", "waiting", "retrying"];

type Labels = Vec<(&'static str, String)>;

/// A registry whose one collector reads the pipelines at each scrape.
pub fn registry(pipelines: Vec<PipelineView>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(PipelineMetrics { pipelines }));
    registry
}

/// The text served at `/metrics`, and its content type.
pub fn render(registry: &Registry) -> (&'static str, String) {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, registry) {
        tracing::error!("cannot encode the metrics: {e}");
    }
    (prometheus_client::encoding::prometheus_text::CONTENT_TYPE, text)
}

struct PipelineMetrics {
    pipelines: Vec<PipelineView>,
}

impl fmt::Debug for PipelineMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineMetrics").field("pipelines", &self.pipelines.len()).finish()
    }
}

impl Collector for PipelineMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        let stats: Vec<PipelineStats> = self.pipelines.iter().map(PipelineStats::read).collect();
        let e = &mut encoder;
        let each = |value: fn(&PipelineStats) -> u64| -> Vec<(Labels, u64)> {
            stats.iter().map(|s| (pipeline(s), value(s))).collect()
        };
        // The same label set plus one more, per value of that label.
        let per = |key: &'static str, values: fn(&PipelineStats) -> Vec<(&'static str, u64)>| -> Vec<(Labels, u64)> {
            let labelled = |s| values(s).into_iter().map(move |(value, n)| (with(pipeline(s), key, value), n));
            stats.iter().flat_map(labelled).collect()
        };
        family(e, RECORDS_IN, Counter, each(|s| s.records_in))?;
        family(e, RECORDS_OUT, Counter, each(|s| s.records_out))?;
        family(e, DEAD_LETTERS, Counter, each(|s| s.dead_letter))?;
        family(
            e,
            RELOADS,
            Counter,
            per("result", |s| vec![("applied", s.reloads_applied), ("refused", s.reloads_refused)]),
        )?;
        family(e, RUNNING, Gauge, each(|s| u64::from(s.running)))?;
        let states =
            per("state", |s| TRANSPORT_STATES.map(|state| (state, u64::from(s.transport.state == state))).to_vec());
        family(e, TRANSPORT_STATE, Gauge, states)?;
        let lag = |unit: fn(Lag) -> Option<u64>| -> Vec<(Labels, u64)> {
            stats.iter().filter_map(|s| Some((pipeline(s), unit(s.transport.lag?)?))).collect()
        };
        let records = Unit::Other("records".into());
        let (name, help) = LAG_RECORDS;
        family(e, (name, help, Some(&records)), Gauge, lag(|l| if let Lag::Records(n) = l { Some(n) } else { None }))?;
        family(e, LAG_BYTES, Gauge, lag(|l| if let Lag::Bytes(n) = l { Some(n) } else { None }))?;
        let ages = stats.iter().filter_map(|s| Some((pipeline(s), s.checkpoint_age_s?))).collect();
        family(e, CHECKPOINT_AGE, Gauge, ages)?;
        family(e, REFUSING, Gauge, each(|s| u64::from(s.refusing.is_some())))?;
        // Named branches have a series each, labelled `branch`; the one
        // chart of a `[transform]` + `[chart]` file is the pipeline's.
        let branches: Vec<(Labels, &BranchStats)> = stats.iter().flat_map(branches_of).collect();
        let each_branch = |value: fn(&BranchStats) -> u64| -> Vec<(Labels, u64)> {
            branches.iter().map(|(labels, branch)| (labels.clone(), value(branch))).collect()
        };
        family(e, BRANCH_RECORDS_OUT, Counter, each_branch(|b| b.records_out))?;
        family(e, BRANCH_DEAD_LETTERS, Counter, each_branch(|b| b.dead_letter))?;
        family(e, BRANCH_REFUSING, Gauge, each_branch(|b| u64::from(b.refusing.is_some())))?;
        let charts: Vec<(Labels, &ChartStats)> = stats.iter().flat_map(charts_of).collect();
        let each_chart = |value: fn(&ChartStats) -> f64| -> Vec<(Labels, f64)> {
            charts.iter().map(|(labels, chart)| (labels.clone(), value(chart))).collect()
        };
        family(e, FRAMES_DRAWN, Counter, charts.iter().map(|(l, c)| (l.clone(), c.frames_drawn)).collect())?;
        family(e, FRAME_DRAW, Counter, each_chart(|c| c.draw_s_total))?;
        family(e, LAST_FRAME_DRAW, Gauge, each_chart(|c| c.last_draw_s))?;
        Ok(())
    }
}

/// Name (before its unit and `_total`), help and unit of each family.
type Descriptor<'a> = (&'a str, &'a str, Option<&'a Unit>);

const RECORDS_IN: Descriptor<'static> = (
    "buzz_records_in",
    "Records that entered the pipeline: read from the transport (or made by the source, in a process that only produces).",
    None,
);
const RECORDS_OUT: Descriptor<'static> =
    ("buzz_records_out", "Records the transform took without error: they reached the chart.", None);
const DEAD_LETTERS: Descriptor<'static> = ("buzz_dead_letters", "Records sent to the dead letters.", None);
const RELOADS: Descriptor<'static> =
    ("buzz_reloads", "Hot reloads of the pipeline file or its plugins, by result (applied, refused).", None);
const RUNNING: Descriptor<'static> =
    ("buzz_pipeline_running", "1 while the pipeline runs, 0 once it has stopped or failed.", None);
const TRANSPORT_STATE: Descriptor<'static> = (
    "buzz_transport_state",
    "1 for the transport's current state (connected, waiting or retrying), 0 for the others.",
    None,
);
const LAG_RECORDS: (&str, &str) =
    ("buzz_transport_lag", "Records the consumer is behind the newest one (Kafka and memory transports).");
const LAG_BYTES: Descriptor<'static> =
    ("buzz_transport_lag", "Bytes the consumer is behind the end of the file (file transport).", Some(&Unit::Bytes));
const CHECKPOINT_AGE: Descriptor<'static> =
    ("buzz_checkpoint_age", "Seconds since the state was last checkpointed with its position.", Some(&Unit::Seconds));
const REFUSING: Descriptor<'static> =
    ("buzz_refusing", "1 while most records are refused (sent to the dead letters), 0 otherwise.", None);
const BRANCH_RECORDS_OUT: Descriptor<'static> =
    ("buzz_branch_records_out", "Records the branch's transform took without error: they reached its chart.", None);
const BRANCH_DEAD_LETTERS: Descriptor<'static> =
    ("buzz_branch_dead_letters", "Records the branch's transform or chart sent to the dead letters.", None);
const BRANCH_REFUSING: Descriptor<'static> =
    ("buzz_branch_refusing", "1 while the branch's stages refuse most records, 0 otherwise.", None);
const FRAMES_DRAWN: Descriptor<'static> = ("buzz_frames_drawn", "Chart frames drawn (SVG) and published.", None);
const FRAME_DRAW: Descriptor<'static> =
    ("buzz_frame_draw", "Seconds spent drawing chart frames (SVG) and writing their files.", Some(&Unit::Seconds));
const LAST_FRAME_DRAW: Descriptor<'static> =
    ("buzz_last_frame_draw", "Seconds the latest chart frame took to draw (SVG) and write.", Some(&Unit::Seconds));

/// Each named branch of a pipeline, labelled with its name.
fn branches_of(s: &PipelineStats) -> impl Iterator<Item = (Labels, &BranchStats)> {
    s.branches.iter().map(|b| (with(pipeline(s), "branch", b.name.as_deref().unwrap_or_default()), b))
}

/// Each chart of a pipeline, labelled with its type (and its branch's name).
fn charts_of(s: &PipelineStats) -> Vec<(Labels, &ChartStats)> {
    match &s.chart {
        Some(only) if s.branches.is_empty() => vec![with_chart(pipeline(s), only)],
        _ => branches_of(s).map(|(labels, b)| with_chart(labels, &b.chart)).collect(),
    }
}

fn with_chart(labels: Labels, chart: &ChartStats) -> (Labels, &ChartStats) {
    (with(labels, "chart", &chart.type_name), chart)
}

fn pipeline(stats: &PipelineStats) -> Labels {
    vec![("pipeline", stats.pipeline.clone())]
}

fn with(mut labels: Labels, key: &'static str, value: &str) -> Labels {
    labels.push((key, value.to_string()));
    labels
}

/// One family: its HELP and TYPE lines, then a sample per label set.
fn family<V: EncodeCounterValue + EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder<'_>,
    (name, help, unit): Descriptor<'_>,
    metric_type: MetricType,
    samples: Vec<(Labels, V)>,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, unit, metric_type)?;
    for (labels, value) in &samples {
        let mut sample = family.encode_family(labels)?;
        match metric_type {
            MetricType::Counter => sample.encode_counter::<NoLabelSet, V, u64>(value, None)?,
            _ => sample.encode_gauge(value)?,
        }
    }
    Ok(())
}
