//! The smart smoker's stall detection.

mod stall;
mod window;

pub use stall::StallDetection;

buzz_sdk::export_plugin! {
    name: "smoker",
    stages: [buzz_sdk::transform::<StallDetection>()],
}
