//! A record's members found once and handed on with it ([`FfiField`]), so
//! the stages after the first reader pick fields without scanning the
//! bytes again (issue 17: the smoker read each record three times).

use std::borrow::Cow;
use std::ops::Range;

use super::Scalar;
use super::flat;
use crate::abi::{FIELD_FALSE, FIELD_NULL, FIELD_NUMBER, FIELD_STRING, FIELD_TRUE, FfiField};

/// Appends the members of `payload` to `out` if it is a flat JSON object
/// of plain members (see [`FfiField`]); `false`, with `out` as it was, when
/// it is anything else. A `true` also says the payload is valid UTF-8 and
/// valid JSON.
pub fn index_flat_json_object(payload: &[u8], out: &mut Vec<FfiField>) -> bool {
    let start = out.len();
    let mut plain = u32::try_from(payload.len()).is_ok();
    let flat = flat::scan(payload, |key, value| match field(payload, (offset(payload, key), key.len()), &value) {
        Some(field) if plain => out.push(field),
        _ => plain = false,
    });
    if flat.is_some() && plain {
        return true;
    }
    out.truncate(start);
    false
}

/// Hands an input's members on to the record `out` made by appending the
/// member at `member`, its name written as is at `key`, to the input's
/// body (see [`super::append_member`]): the body starts the output, so the
/// input's members are where they were, and the new one follows. Pushes
/// them onto `fields`; `false`, with `fields` as it was, when the new
/// member's value is not plain.
pub(crate) fn appended(
    input_fields: &[FfiField],
    out: &[u8],
    (key, member): (Range<usize>, Range<usize>),
    fields: &mut Vec<FfiField>,
) -> bool {
    // The value follows the key's closing quote and the colon.
    let new = u32::try_from(out.len())
        .ok()
        .and_then(|_| flat::value(&out[key.end + 2..member.end]))
        .and_then(|value| field(out, (key.start, key.len()), &value));
    let Some(new) = new else {
        return false;
    };
    fields.extend_from_slice(input_fields);
    fields.push(new);
    true
}

/// Where `part` (a slice of `payload`) starts in it.
fn offset(payload: &[u8], part: &str) -> usize {
    part.as_ptr() as usize - payload.as_ptr() as usize
}

/// The member of `payload` whose key is at `key_at` (offset, length) as a
/// field, if it is plain; a string value is a slice of `payload`.
fn field(payload: &[u8], (key_at, key_len): (usize, usize), value: &Scalar<'_>) -> Option<FfiField> {
    let (kind, text, number) = match value {
        Scalar::Str(Cow::Borrowed(text)) => (FIELD_STRING, (offset(payload, text), text.len()), 0.0),
        Scalar::Num(n) => (FIELD_NUMBER, (0, 0), *n),
        Scalar::Bool(true) => (FIELD_TRUE, (0, 0), 0.0),
        Scalar::Bool(false) => (FIELD_FALSE, (0, 0), 0.0),
        Scalar::Null => (FIELD_NULL, (0, 0), 0.0),
        Scalar::Str(Cow::Owned(_)) | Scalar::Nested => return None,
    };
    // Offsets fit: the payload's length does (checked by the callers).
    Some(FfiField {
        key_at: key_at as u32,
        key_len: key_len as u32,
        text_at: text.0 as u32,
        text_len: text.1 as u32,
        number,
        kind,
    })
}

/// [`super::pick`] over the members already found in `payload`. Inlined,
/// and each answer found by its own search: an answer returned through
/// memory, or patched in place, cost the stage a store-forwarding stall
/// per record (the chart's pick: 3.0% of the smoker pipeline, then 0.8%).
#[inline]
pub(crate) fn pick<'a, const N: usize>(
    payload: &'a [u8],
    fields: &[FfiField],
    names: [&str; N],
) -> [Option<Scalar<'a>>; N] {
    // A repeated key keeps its last value, as when the bytes are read.
    std::array::from_fn(|i| {
        let name = names[i].as_bytes();
        let member = fields.iter().rev().find(|f| slice(payload, f.key_at, f.key_len) == Some(name))?;
        Some(scalar(payload, member))
    })
}

fn slice(payload: &[u8], at: u32, len: u32) -> Option<&[u8]> {
    payload.get(at as usize..at as usize + len as usize)
}

fn scalar<'a>(payload: &'a [u8], field: &FfiField) -> Scalar<'a> {
    match field.kind {
        FIELD_NUMBER => Scalar::Num(field.number),
        FIELD_TRUE => Scalar::Bool(true),
        FIELD_FALSE => Scalar::Bool(false),
        FIELD_NULL => Scalar::Null,
        FIELD_STRING => match slice(payload, field.text_at, field.text_len) {
            // SAFETY: a string member's text is UTF-8 (the ABI's promise,
            // kept by whoever found it: `index_flat_json_object` above).
            Some(text) => Scalar::Str(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(text) })),
            None => Scalar::Nested,
        },
        // A kind from a later ABI: not a value this SDK knows how to read.
        _ => Scalar::Nested,
    }
}

/// The members as owned (name, value) pairs, for tests.
pub(crate) fn members(payload: &[u8], fields: &[FfiField]) -> Vec<(String, Scalar<'static>)> {
    let owned = |value: Scalar<'_>| match value {
        Scalar::Str(text) => Scalar::Str(Cow::Owned(text.into_owned())),
        Scalar::Num(n) => Scalar::Num(n),
        Scalar::Bool(b) => Scalar::Bool(b),
        Scalar::Null => Scalar::Null,
        Scalar::Nested => Scalar::Nested,
    };
    fields
        .iter()
        .map(|f| {
            let key = slice(payload, f.key_at, f.key_len).unwrap_or_default();
            (String::from_utf8_lossy(key).into_owned(), owned(scalar(payload, f)))
        })
        .collect()
}
