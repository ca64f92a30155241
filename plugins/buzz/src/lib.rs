//! Sources that generate the teaching repository's messages:
//! `buzz_messages` (apps 1 and 2) and `project_messages` (app 4).

mod buzz_messages;
mod pacing;
mod project_messages;

pub use buzz_messages::BuzzMessages;
pub use project_messages::ProjectMessages;

buzz_sdk::export_plugin! {
    name: "buzz",
    stages: [
        buzz_sdk::source::<BuzzMessages>(),
        buzz_sdk::source::<ProjectMessages>(),
    ],
}
