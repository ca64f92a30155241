//! One CSV row to one JSON object, written straight into the output.

use crate::settings::ColumnType;

/// Column names (already JSON-encoded, with the colon) and their types.
pub struct RowEncoder {
    keys: Vec<Vec<u8>>,
    types: Vec<ColumnType>,
}

impl RowEncoder {
    pub fn new(headers: &csv::ByteRecord, type_of: impl Fn(&str) -> ColumnType) -> Self {
        let mut keys = Vec::new();
        let mut types = Vec::new();
        for name in headers.iter() {
            let name = String::from_utf8_lossy(name);
            let name = name.trim();
            let mut key = serde_json::to_vec(name).expect("a string always encodes");
            key.push(b':');
            keys.push(key);
            types.push(type_of(name));
        }
        RowEncoder { keys, types }
    }

    pub fn columns(&self) -> usize {
        self.keys.len()
    }

    /// Appends the row as a JSON object to `out`, or says why it cannot.
    pub fn encode(&self, row: &csv::ByteRecord, out: &mut Vec<u8>) -> Result<(), String> {
        if row.len() != self.keys.len() {
            return Err(format!("row has {} fields, the header has {}", row.len(), self.keys.len()));
        }
        out.push(b'{');
        for (i, (field, key)) in row.iter().zip(&self.keys).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            let text = std::str::from_utf8(field).map_err(|_| format!("field {} is not valid UTF-8", i + 1))?.trim();
            write_value(text, self.types[i], out).map_err(|e| {
                let name = String::from_utf8_lossy(&key[1..key.len() - 2]).into_owned();
                format!("column {name}: {e}")
            })?;
        }
        out.push(b'}');
        Ok(())
    }
}

fn write_value(text: &str, ty: ColumnType, out: &mut Vec<u8>) -> Result<(), String> {
    let number = || -> Option<serde_json::Number> {
        if let Ok(i) = text.parse::<i64>() {
            return Some(i.into());
        }
        text.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
    };
    let encoded = match ty {
        ColumnType::String => None,
        ColumnType::Auto => number(),
        ColumnType::Number => Some(number().ok_or_else(|| format!("{text:?} is not a number"))?),
    };
    match encoded {
        Some(n) => serde_json::to_writer(&mut *out, &n),
        None => serde_json::to_writer(&mut *out, text),
    }
    .map_err(|e| e.to_string())
}
