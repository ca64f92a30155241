//! A fast path for the records most streams carry: one flat JSON object of
//! strings without escapes, numbers, booleans and nulls. It walks the bytes
//! once, eight at a time inside strings, and borrows every string; picking
//! fields through serde's visitor costs about twice as much (issue 17,
//! BENCHMARKS section 1). Anything outside that shape (nesting, escapes, a
//! syntax error) returns `None` and the caller asks serde_json, so serde_json
//! stays the judge of every error and edge case, and a test holds the two
//! paths to the same answers.

use std::borrow::Cow;

use super::Scalar;

/// Calls `visit(key, value)` for each member of `payload` if it is a flat
/// JSON object this scanner understands; `None` when it is anything else.
pub(super) fn scan<'a>(payload: &'a [u8], mut visit: impl FnMut(&'a str, Scalar<'a>)) -> Option<()> {
    let mut s = Scanner { bytes: payload, at: 0 };
    s.skip_ws();
    s.expect(b'{')?;
    s.skip_ws();
    if s.peek() == Some(b'}') {
        s.at += 1;
    } else {
        loop {
            s.expect(b'"')?;
            let key = s.string()?;
            s.skip_ws();
            s.expect(b':')?;
            s.skip_ws();
            let value = s.value()?;
            visit(key, value);
            s.skip_ws();
            match s.next()? {
                b',' => s.skip_ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.skip_ws();
    (s.at == s.bytes.len()).then_some(())
}

/// The one scalar value that `bytes` holds, if it is plain.
pub(super) fn value(bytes: &[u8]) -> Option<Scalar<'_>> {
    let mut s = Scanner { bytes, at: 0 };
    let value = s.value()?;
    (s.at == s.bytes.len()).then_some(value)
}

const POWERS_OF_TEN: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The rest of a string whose opening quote was read. Escapes and
    /// control characters give up (serde_json judges those).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at;
        let end = start + plain_run(&self.bytes[start..]);
        match self.bytes.get(end) {
            Some(b'"') => {}
            Some(_) => return self.string_with_unicode(start),
            None => return None,
        }
        self.at = end + 1;
        // SAFETY: `plain_run` passed only ASCII bytes. (Checking again cost
        // a tenth of a chart's time per record.)
        Some(unsafe { std::str::from_utf8_unchecked(&self.bytes[start..end]) })
    }

    /// A string holding non-ASCII text: found byte by byte, then checked as
    /// UTF-8 as a whole.
    fn string_with_unicode(&mut self, start: usize) -> Option<&'a str> {
        loop {
            match self.next()? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => {}
            }
        }
        std::str::from_utf8(&self.bytes[start..self.at - 1]).ok()
    }

    fn value(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                Some(Scalar::Str(Cow::Borrowed(self.string()?)))
            }
            b't' => self.literal(b"true", Scalar::Bool(true)),
            b'f' => self.literal(b"false", Scalar::Bool(false)),
            b'n' => self.literal(b"null", Scalar::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], value: Scalar<'a>) -> Option<Scalar<'a>> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| {
            self.at = end;
            value
        })
    }

    /// A number by JSON's grammar. Short plain numbers (the usual reading)
    /// are computed here, their digits summed as they are read; anything
    /// longer is read by serde_json itself, so both paths agree to the last
    /// bit.
    fn number(&mut self) -> Option<Scalar<'a>> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let mut mantissa = 0u64;
        let whole = match self.peek()? {
            b'0' => {
                self.at += 1;
                1
            }
            b'1'..=b'9' => self.digits(&mut mantissa),
            _ => return None,
        };
        let mut decimals = 0;
        if self.peek() == Some(b'.') {
            self.at += 1;
            decimals = self.digits(&mut mantissa);
            if decimals == 0 {
                return None;
            }
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits(&mut 0) == 0 {
                return None;
            }
            exponent = true;
        }
        let value = if !exponent && whole + decimals <= 15 {
            // At most 15 digits fit an f64 exactly, and one division by an
            // exact power of ten rounds correctly (Clinger's fast path):
            // the value serde_json computes, "-0" as -0.0 included.
            let magnitude = mantissa as f64 / POWERS_OF_TEN[decimals];
            if negative { -magnitude } else { magnitude }
        } else {
            serde_json::from_slice::<f64>(&self.bytes[start..self.at]).ok()?
        };
        Some(Scalar::Num(value))
    }

    /// How many digits follow, each added to `mantissa` (which wraps when
    /// there are too many to matter: the caller then asks serde_json).
    fn digits(&mut self, mantissa: &mut u64) -> usize {
        let start = self.at;
        while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
            *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            self.at += 1;
        }
        self.at - start
    }
}

/// How many leading bytes of `bytes` are plain string content: printable
/// ASCII other than `"` and `\\`. Eight bytes at a time, the way serde_json
/// skips strings.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap());
        let quote = word ^ (ONES * b'"' as u64);
        let backslash = word ^ (ONES * b'\\' as u64);
        // A byte is flagged when it is zero after the xor (a quote or a
        // backslash), below 0x20, or 0x80 and up.
        let special = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word)
            | word;
        let special = special & HIGHS;
        if special != 0 {
            return at + (special.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b))
        .unwrap_or(bytes.len() - at)
}
