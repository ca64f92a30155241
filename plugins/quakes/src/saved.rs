//! Stage state as it crosses a hot reload: plain JSON, read back into the
//! stage's own type.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn save(state: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(state).ok()
}

/// `what` names the state in the error, e.g. "histogram counts".
pub fn load<T: DeserializeOwned>(state: serde_json::Value, what: &str) -> Result<T, String> {
    serde_json::from_value(state).map_err(|e| format!("invalid saved {what}: {e}"))
}
