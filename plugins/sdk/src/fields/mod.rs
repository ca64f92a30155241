//! Pick a few named fields out of a JSON object without building the whole
//! document: one pass, strings borrowed where they need no unescaping,
//! everything else skipped. This is the hot path of most stages: flat
//! objects take the scanner in `flat`, everything else serde_json.

mod flat;
mod index;

pub use index::index_flat_json_object;
pub(crate) use index::{appended, members, pick as pick_indexed};

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// A scalar JSON value picked out of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Null,
    /// An object or array (not inspected).
    Nested,
}

impl Scalar<'_> {
    /// The value as a number; numeric strings count too ("70.4").
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Num(n) => Some(*n),
            Scalar::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as text: strings as they are, numbers and booleans printed.
    pub fn to_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Scalar::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Scalar::Num(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Bool(b) => Some(Cow::Owned(b.to_string())),
            Scalar::Null | Scalar::Nested => None,
        }
    }

    /// A word for error messages: "a string", "a number", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "a string",
            Scalar::Num(_) => "a number",
            Scalar::Bool(_) => "a boolean",
            Scalar::Null => "null",
            Scalar::Nested => "an object or array",
        }
    }
}

/// The values of `names` in the JSON object `payload` (None where absent).
/// Errors if the payload is not a JSON object.
pub fn pick<'a, const N: usize>(payload: &'a [u8], names: [&str; N]) -> Result<[Option<Scalar<'a>>; N], String> {
    let mut found: [Option<Scalar<'a>>; N] = std::array::from_fn(|_| None);
    let flat = flat::scan(payload, |key, value| {
        // A repeated key keeps its last value, as in the serde path.
        if let Some(i) = names.iter().position(|n| *n == key) {
            found[i] = Some(value);
        }
    });
    match flat {
        Some(()) => Ok(found),
        None => pick_with_serde(payload, names),
    }
}

/// Whether `payload` is a flat JSON object (scalar members only) that the
/// fast scanner reads: then it is certainly valid UTF-8 and valid JSON. A
/// `false` says nothing; ask serde_json.
pub fn is_flat_json_object(payload: &[u8]) -> bool {
    flat::scan(payload, |_, _| ()).is_some()
}

/// [`pick`] for any JSON, and the judge of what is not JSON. Public so that
/// benchmarks can weigh the fast path against it.
pub fn pick_with_serde<'a, const N: usize>(
    payload: &'a [u8],
    names: [&str; N],
) -> Result<[Option<Scalar<'a>>; N], String> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let picked = de
        .deserialize_map(Picker { names, found: std::array::from_fn(|_| None) })
        .and_then(|found| de.end().map(|()| found))
        .map_err(|e| format!("invalid JSON record: {e}"))?;
    Ok(picked)
}

struct Picker<'n, 'a, const N: usize> {
    names: [&'n str; N],
    found: [Option<Scalar<'a>>; N],
}

impl<'de, const N: usize> Visitor<'de> for Picker<'_, 'de, N> {
    type Value = [Option<Scalar<'de>>; N];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.names.iter().position(|n| *n == key) {
                Some(i) => self.found[i] = Some(map.next_value_seed(ScalarSeed)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(self.found)
    }
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Num(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Num(v as f64))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested)
    }
}

/// `payload` (a JSON object) with `"name": value` appended, without
/// re-encoding the rest, written at the end of `out`. `payload` must
/// already be known to be an object. Returns where in `out` the new member
/// (`"name":value`) is; `out` is left as it was on an error.
pub fn append_field(
    payload: &[u8],
    name: &str,
    value: &impl serde::Serialize,
    out: &mut Vec<u8>,
) -> Result<Range<usize>, String> {
    append_member(payload, name, value, out).map(|appended| appended.member)
}

/// Where [`append_member`] wrote the new member in `out`.
pub(crate) struct Appended {
    /// `"name":value`.
    pub member: Range<usize>,
    /// The name's text between its quotes, when it is written as it is
    /// (nothing in it needs an escape).
    pub plain_key: Option<Range<usize>>,
}

/// [`append_field`], saying also where the name's text went.
pub(crate) fn append_member(
    payload: &[u8],
    name: &str,
    value: &impl serde::Serialize,
    out: &mut Vec<u8>,
) -> Result<Appended, String> {
    let start = out.len();
    let appended = write_member(payload, name, value, out);
    if appended.is_err() {
        out.truncate(start);
    }
    appended
}

fn write_member(
    payload: &[u8],
    name: &str,
    value: &impl serde::Serialize,
    out: &mut Vec<u8>,
) -> Result<Appended, String> {
    let trimmed = payload.trim_ascii_end();
    let body = trimmed.strip_suffix(b"}").ok_or_else(|| "record is not a JSON object".to_string())?;
    out.extend_from_slice(body);
    let empty = body.trim_ascii_end().ends_with(b"{");
    if !empty {
        out.push(b',');
    }
    let member = out.len();
    // What serde_json would write for a name with nothing to escape,
    // without its escaping pass.
    let plain_key = name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\').then(|| {
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.push(b'"');
        member + 1..member + 1 + name.len()
    });
    if plain_key.is_none() {
        serde_json::to_writer(&mut *out, name).map_err(|e| e.to_string())?;
    }
    out.push(b':');
    serde_json::to_writer(&mut *out, value).map_err(|e| e.to_string())?;
    let end = out.len();
    out.push(b'}');
    Ok(Appended { member: member..end, plain_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_named_fields_and_skips_the_rest() {
        let json = br#"{"author":"Alice","nested":{"a":[1,2]},"n":3.5,"flag":true,"none":null}"#;
        let [author, n, flag, none, missing] = pick(json, ["author", "n", "flag", "none", "missing"]).unwrap();
        assert_eq!(author, Some(Scalar::Str("Alice".into())));
        assert_eq!(n, Some(Scalar::Num(3.5)));
        assert_eq!(flag, Some(Scalar::Bool(true)));
        assert_eq!(none, Some(Scalar::Null));
        assert_eq!(missing, None);
    }

    #[test]
    fn rejects_non_objects_and_trailing_garbage() {
        assert!(pick(b"[1,2]", ["a"]).is_err());
        assert!(pick(b"{\"a\":1} x", ["a"]).is_err());
        assert!(pick(b"{\"a\":", ["a"]).is_err());
    }

    #[test]
    fn numeric_strings_read_as_numbers() {
        assert_eq!(Scalar::Str("70.4".into()).as_f64(), Some(70.4));
        assert_eq!(Scalar::Str("warm".into()).as_f64(), None);
    }

    #[test]
    fn appends_a_field_to_an_object() {
        let mut out = Vec::new();
        append_field(br#"{"t":1} "#, "stall", &true, &mut out).unwrap();
        assert_eq!(out, br#"{"t":1,"stall":true}"#);
        out.clear();
        append_field(b"{ }", "x", &1, &mut out).unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&out).unwrap(), serde_json::json!({"x": 1}));
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

        /// Decoding a record never panics, whatever its bytes.
        #[test]
        fn pick_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = pick(&bytes, ["a", "temperature", ""]);
            let mut out = Vec::new();
            let _ = append_field(&bytes, "stall", &true, &mut out);
        }

        /// JSON-ish text with nesting and escapes, the likeliest to trip a
        /// parser: the fast path and serde_json give the same answer.
        #[test]
        fn pick_survives_json_like_text(text in r#"[{}\[\]":,0-9a-z\\ .eE+-]{0,80}"#) {
            let fast = pick(text.as_bytes(), ["a", "b"]);
            prop_assert!(same(&fast, &pick_with_serde(text.as_bytes(), ["a", "b"])), "{text}");
            if let Ok([a, _]) = fast {
                prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
                let _ = a.and_then(|v| v.as_f64());
            }
        }

        /// Records shaped like real ones (flat objects, repeated keys, every
        /// kind of number, escapes, non-ASCII and control characters, the
        /// odd nested value or syntax slip) are picked exactly as serde_json
        /// picks them, numbers to the bit.
        #[test]
        fn the_fast_path_picks_what_serde_json_picks(text in record()) {
            let names = ["a", "temperature", "é"];
            let fast = pick(text.as_bytes(), names);
            prop_assert!(same(&fast, &pick_with_serde(text.as_bytes(), names)), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

        /// A record's members, found once, answer a pick exactly as reading
        /// its bytes does; and only flat objects have members.
        #[test]
        fn picking_from_the_members_is_picking_from_the_bytes(text in record()) {
            let names = ["a", "temperature", "é"];
            let mut members = Vec::new();
            let bytes = text.as_bytes();
            if index_flat_json_object(bytes, &mut members) {
                let indexed = pick_indexed(bytes, &members, names);
                prop_assert!(same(&Ok(indexed), &pick(bytes, names)), "{text}");
            } else {
                prop_assert!(members.is_empty());
                prop_assert!(!is_flat_json_object(bytes) || pick(bytes, ["a"]).is_ok());
            }
        }

        /// A field appended to a record with members hands on the members
        /// the output's own bytes have, wherever in a buffer it is written.
        #[test]
        fn members_handed_on_are_those_of_the_output(text in record(), prefix in 0..9usize, name in prop::sample::select(vec!["stall", "é", "a\"b", "t\\", "\n"]), value in prop_oneof![
            Just(serde_json::json!(true)), Just(serde_json::json!(-0.5)), Just(serde_json::json!("shallow")),
            Just(serde_json::json!(null)), Just(serde_json::json!("é\"q")), Just(serde_json::json!([1]))
        ]) {
            let mut input = Vec::new();
            if !index_flat_json_object(text.as_bytes(), &mut input) {
                // About two in three generated records are flat.
                return Ok(());
            }
            let mut out = vec![b' '; prefix];
            let written = append_member(text.as_bytes(), name, &value, &mut out).unwrap();
            let out = &out[prefix..];
            let within = |r: std::ops::Range<usize>| r.start - prefix..r.end - prefix;
            let mut handed = Vec::new();
            let plain = written
                .plain_key
                .is_some_and(|key| appended(&input, out, (within(key), within(written.member)), &mut handed));
            let mut expected = Vec::new();
            let flat = index_flat_json_object(out, &mut expected);
            if plain {
                prop_assert!(flat);
                prop_assert_eq!(&handed, &expected);
                prop_assert_eq!(members(out, &handed), members(out, &expected));
            } else {
                // Only a member that is not plain (an escape, an array) is left unknown.
                prop_assert!(!flat && handed.is_empty());
            }
        }
    }

    /// Equal answers, numbers compared bit for bit (0.0 is not -0.0), errors
    /// equal as errors.
    fn same<const N: usize>(a: &Result<[Option<Scalar>; N], String>, b: &Result<[Option<Scalar>; N], String>) -> bool {
        match (a, b) {
            (Ok(a), Ok(b)) => a.iter().zip(b).all(|pair| match pair {
                (Some(Scalar::Num(x)), Some(Scalar::Num(y))) => x.to_bits() == y.to_bits(),
                (x, y) => x == y,
            }),
            (Err(_), Err(_)) => true,
            _ => false,
        }
    }

    /// What goes between a string's quotes: plain text, non-ASCII, escapes,
    /// and raw control characters (which JSON forbids).
    const STRING_PIECES: &[&str] =
        &["a", "Z ", "~!", "é", "\u{1F600}", "\\n", "\\\"", "\\u00e9", "\\/", "\t", "\u{1}", "\u{7f}"];

    fn record() -> impl Strategy<Value = String> {
        let key = prop_oneof!["a", "temperature", "é", "b", r#"t\u0065mperature"#, "[a-z]{0,3}"];
        // Weighted so that most records are well formed and take the fast
        // path; the rest make sure the hand-over to serde_json is exact.
        let number = prop_oneof![
            3 => "-?(0|[1-9][0-9]{0,20})",
            3 => "-?(0|[1-9][0-9]{0,8})\\.[0-9]{1,12}",
            2 => "-?[0-9]{1,3}(\\.[0-9]{1,4})?[eE][+-]?[0-9]{1,3}",
            1 => "-?0[0-9]{1,2}(\\.)?",
            1 => Just("-0".to_string()),
        ];
        let value = prop_oneof![
            4 => number,
            4 => prop::collection::vec(prop::sample::select(STRING_PIECES), 0..8).prop_map(|p| format!("\"{}\"", p.concat())),
            1 => prop::sample::select(vec!["true", "false", "null", "nul"]).prop_map(str::to_string),
            1 => r#"\{"a": ?[0-9]\}|\[1, ?2\]"#,
        ];
        let ws = "[ \t\r\n]{0,2}";
        let member =
            (ws, key, ws, ws, value, ws).prop_map(|(w1, k, w2, w3, v, w4)| format!("{w1}\"{k}\"{w2}:{w3}{v}{w4}"));
        (
            prop::collection::vec(member, 0..6),
            ws,
            prop_oneof![9 => Just(""), 1 => prop::sample::select(vec![",", " x", "}"])],
        )
            .prop_map(|(members, ws, tail)| format!("{ws}{{{}}}{tail}", members.join(",")))
    }
}
