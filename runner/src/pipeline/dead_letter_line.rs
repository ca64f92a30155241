//! The dead-letter line: one JSON object per refused record, written by
//! the pipeline and read back by `buzz replay`. One type for both, so the
//! two cannot drift. Every field but the payload is optional on reading: a
//! user may write (or trim) letters by hand before replaying them.

use std::borrow::Cow;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

/// Bytes as JSON: text where they are UTF-8, else `{"base64": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bytes<'a>(pub Cow<'a, [u8]>);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => Base64 { base64: base64_text(&self.0) }.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Bytes<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Base64(Base64),
        }
        Ok(Bytes(Cow::Owned(match Either::deserialize(deserializer)? {
            Either::Text(text) => text.into_bytes(),
            Either::Base64(b) => decode_base64(&b.base64).map_err(serde::de::Error::custom)?,
        })))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Base64 {
    base64: String,
}

fn base64_text(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| format!("not base64: {e}"))
}

/// One dead letter as a line of the dead-letter file or topic.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DeadLetterLine<'a> {
    /// When it was refused (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Cow<'a, str>>,
    /// `source`, `transport`, `transform` or `chart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_type: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'a, str>>,
    /// The branch whose stage refused it (pipelines with named branches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub panicked: bool,
    /// `false` for what a chart refused: the transform's output, which the
    /// pipeline's input cannot take, so `buzz replay` skips it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayable: Option<bool>,
    /// The record, as text when it is UTF-8 ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Cow<'a, str>>,
    /// ... else in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Bytes<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
    /// `[name, value]` pairs; a header may have no value (`null`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(Bytes<'a>, Option<Bytes<'a>>)>,
    /// Where the record sits in its transport (transport-specific).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Json>,
}

impl<'a> DeadLetterLine<'a> {
    /// Sets the payload, as text when it is UTF-8, else in base64.
    pub fn with_payload(mut self, payload: &'a [u8]) -> Self {
        match std::str::from_utf8(payload) {
            Ok(text) => self.payload = Some(Cow::Borrowed(text)),
            Err(_) => self.payload_base64 = Some(base64_text(payload)),
        }
        self
    }

    /// The record's bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, String> {
        match (&self.payload, &self.payload_base64) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(b64)) => decode_base64(b64).map_err(|e| format!("payload_base64 is {e}")),
            (None, None) => Err("has no payload".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(b: &[u8]) -> Bytes<'_> {
        Bytes(Cow::Borrowed(b))
    }

    #[test]
    fn a_line_reads_back_as_written_text_or_binary() {
        let headers = vec![(bytes(b"trace"), Some(bytes(b"\xff\x00"))), (bytes(b"empty"), None)];
        let line = DeadLetterLine {
            stage: Some("transform".into()),
            key: Some(bytes(b"k\xfe")),
            timestamp_ms: Some(-5),
            headers,
            ..Default::default()
        }
        .with_payload(b"\x00\xffraw");
        let text = serde_json::to_string(&line).unwrap();
        assert!(text.contains(r#""key":{"base64":"a/4="}"#), "{text}");
        assert!(text.contains(r#""headers":[["trace",{"base64":"/wA="}],["empty",null]]"#), "{text}");
        let back: DeadLetterLine = serde_json::from_str(&text).unwrap();
        assert_eq!(back.payload_bytes().unwrap(), b"\x00\xffraw");
        assert_eq!(back.key, line.key);
        assert_eq!(back.headers, line.headers);
        assert_eq!(back.timestamp_ms, Some(-5));
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn a_hand_written_letter_needs_only_its_payload() {
        let line: DeadLetterLine = serde_json::from_str(r#"{"payload":"{\"x\":1}","note":"fixed by hand"}"#).unwrap();
        assert_eq!(line.payload_bytes().unwrap(), br#"{"x":1}"#);
        let none: DeadLetterLine = serde_json::from_str(r#"{"stage":"chart"}"#).unwrap();
        assert_eq!(none.payload_bytes().unwrap_err(), "has no payload");
        let bad: DeadLetterLine = serde_json::from_str(r#"{"payload_base64":"!!"}"#).unwrap();
        assert!(bad.payload_bytes().unwrap_err().starts_with("payload_base64 is not base64"));
    }
}
