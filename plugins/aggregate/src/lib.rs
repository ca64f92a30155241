//! Running aggregates per group: `count_by` (messages per author) and
//! `average_by` (average sentiment per category). Each emits one update per
//! changed group per batch, not one per record, so the chart downstream
//! sees running totals at the pipeline's pace. `rolling_mean` passes every
//! record on with its group's rolling mean, for a line over time.

mod average_by;
mod count_by;
mod groups;
mod rolling_mean;

pub use average_by::AverageBy;
pub use count_by::CountBy;
pub use rolling_mean::RollingMean;

buzz_sdk::export_plugin! {
    name: "aggregate",
    stages: [
        buzz_sdk::transform::<CountBy>(),
        buzz_sdk::transform::<AverageBy>(),
        buzz_sdk::transform::<RollingMean>(),
    ],
}
