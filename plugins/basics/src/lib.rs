//! Generic building blocks: `ticks`, a source of numbered records at a
//! steady rate stamped with their production time (for latency
//! measurements and demos), and `identity`, a transform that passes records
//! through unchanged (to chart raw records).

mod identity;
mod ticks;

pub use identity::Identity;
pub use ticks::Ticks;

buzz_sdk::export_plugin! {
    name: "basics",
    stages: [buzz_sdk::source::<Ticks>(), buzz_sdk::transform::<Identity>()],
}
