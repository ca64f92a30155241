//! A record's members found once and handed on with it ([`FfiField`]), so
//! the stages after the first reader pick fields without scanning the
//! bytes again (issue 17: the smoker read each record three times).

use std::borrow::Cow;
use std::ops::Range;

use super::Scalar;
use super::flat;
use crate::abi::{FIELD_FALSE, FIELD_NULL, FIELD_NUMBER, FIELD_STRING, FIELD_TRUE, FfiField, FfiSlice};

/// Appends the members of `payload` to `out` if it is a flat JSON object
/// of plain members (see [`FfiField`]); `false`, with `out` as it was, when
/// it is anything else. A `true` also says the payload is valid UTF-8 and
/// valid JSON.
pub fn index_flat_json_object(payload: &[u8], out: &mut Vec<FfiField>) -> bool {
    let start = out.len();
    let mut plain = true;
    let flat = flat::scan(payload, |key, value| match field(key, &value) {
        Some(field) => out.push(field),
        None => plain = false,
    });
    if flat.is_some() && plain {
        return true;
    }
    out.truncate(start);
    false
}

/// The members of a record made by appending the member at `member` of
/// `out` to the body of an indexed input, copied to `out` at `body_at` (see
/// [`super::append_field`]), pushed onto `fields`: the input's members
/// where the body now is, then the new one. `false`, with `fields` as it
/// was, when a member is not plain or not inside the input's body.
pub(crate) fn appended(
    input: &[u8],
    input_fields: &[FfiField],
    (out, body_at): (&[u8], usize),
    (name, member): (&str, Range<usize>),
    fields: &mut Vec<Moved>,
) -> bool {
    let first = fields.len();
    let body_len = member.start - body_at;
    let in_body = |slice: FfiSlice| {
        let offset = (slice.ptr as usize).checked_sub(input.as_ptr() as usize)?;
        (offset + slice.len <= body_len).then(|| body_at + offset..body_at + offset + slice.len)
    };
    let in_out = |slice: FfiSlice| {
        let offset = slice.ptr as usize - out.as_ptr() as usize;
        Some(offset..offset + slice.len)
    };
    // The member is `"name":value` as serde_json wrote it: the name as it
    // is unless it has a character JSON escapes, the value to be read.
    let plain_name = name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    let key = member.start + 1..member.start + 1 + name.len();
    let new = plain_name
        .then(|| flat::value(&out[key.end + 2..member.end]))
        .flatten()
        .and_then(|value| field(name, &value))
        .and_then(|field| Moved::of(&FfiField { key: FfiSlice::new(&out[key]), ..field }, in_out));
    let all = input_fields.iter().map(|f| Moved::of(f, in_body)).chain(std::iter::once(new));
    for moved in all {
        match moved {
            Some(moved) => fields.push(moved),
            None => {
                fields.truncate(first);
                return false;
            }
        }
    }
    true
}

/// A member of an output record as ranges of the output's bytes (it becomes
/// an [`FfiField`] when the output is laid out for the host, once the
/// bytes no longer move).
#[derive(Clone, Debug)]
pub(crate) struct Moved {
    pub key: Range<usize>,
    pub text: Range<usize>,
    pub number: f64,
    pub kind: u32,
}

impl Moved {
    fn of(field: &FfiField, range: impl Fn(FfiSlice) -> Option<Range<usize>>) -> Option<Moved> {
        let text = if field.kind == FIELD_STRING { range(field.text)? } else { 0..0 };
        Some(Moved { key: range(field.key)?, text, number: field.number, kind: field.kind })
    }

    /// The field, with its ranges in `bytes`.
    pub fn in_bytes(&self, bytes: &[u8]) -> FfiField {
        let slice = |r: &Range<usize>| FfiSlice::new(&bytes[r.clone()]);
        FfiField { key: slice(&self.key), text: slice(&self.text), number: self.number, kind: self.kind }
    }
}

/// The member `key: value` as a field, if it is plain.
fn field(key: &str, value: &Scalar<'_>) -> Option<FfiField> {
    let (kind, text, number) = match value {
        Scalar::Str(Cow::Borrowed(text)) => (FIELD_STRING, FfiSlice::new(text.as_bytes()), 0.0),
        Scalar::Num(n) => (FIELD_NUMBER, FfiSlice::new(b""), *n),
        Scalar::Bool(true) => (FIELD_TRUE, FfiSlice::new(b""), 0.0),
        Scalar::Bool(false) => (FIELD_FALSE, FfiSlice::new(b""), 0.0),
        Scalar::Null => (FIELD_NULL, FfiSlice::new(b""), 0.0),
        Scalar::Str(Cow::Owned(_)) | Scalar::Nested => return None,
    };
    Some(FfiField { key: FfiSlice::new(key.as_bytes()), text, number, kind })
}

/// [`super::pick`] over members already found.
///
/// # Safety
/// The fields' slices point at readable UTF-8 that outlives `'a` (the ABI
/// guarantees this for the members of a record handed to a stage).
pub(crate) unsafe fn pick<'a, const N: usize>(fields: &'a [FfiField], names: [&str; N]) -> [Option<Scalar<'a>>; N] {
    let mut found: [Option<Scalar<'a>>; N] = std::array::from_fn(|_| None);
    for field in fields {
        // SAFETY: guaranteed by the caller.
        let key = unsafe { field.key.as_bytes() };
        // A repeated key keeps its last value, as when the bytes are read.
        if let Some(i) = names.iter().position(|n| n.as_bytes() == key) {
            // SAFETY: guaranteed by the caller.
            found[i] = Some(unsafe { scalar(field) });
        }
    }
    found
}

/// The members as owned (name, value) pairs, for tests.
///
/// # Safety
/// As for [`pick`].
pub(crate) unsafe fn members(fields: &[FfiField]) -> Vec<(String, Scalar<'static>)> {
    let owned = |value: Scalar<'_>| match value {
        Scalar::Str(text) => Scalar::Str(Cow::Owned(text.into_owned())),
        Scalar::Num(n) => Scalar::Num(n),
        Scalar::Bool(b) => Scalar::Bool(b),
        Scalar::Null => Scalar::Null,
        Scalar::Nested => Scalar::Nested,
    };
    // SAFETY: guaranteed by the caller.
    fields
        .iter()
        .map(|f| unsafe { (String::from_utf8_lossy(f.key.as_bytes()).into_owned(), owned(scalar(f))) })
        .collect()
}

/// # Safety
/// As for [`pick`].
unsafe fn scalar<'a>(field: &'a FfiField) -> Scalar<'a> {
    match field.kind {
        FIELD_NUMBER => Scalar::Num(field.number),
        FIELD_TRUE => Scalar::Bool(true),
        FIELD_FALSE => Scalar::Bool(false),
        FIELD_NULL => Scalar::Null,
        // SAFETY: guaranteed by the caller (a string's text is UTF-8).
        FIELD_STRING => Scalar::Str(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(field.text.as_bytes()) })),
        // A kind from a later ABI: not a value this SDK knows how to read.
        _ => Scalar::Nested,
    }
}
