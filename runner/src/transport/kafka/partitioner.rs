//! Which partition each record goes to. buzz picks it itself, instead of
//! leaving it to librdkafka, whose default partitioner (`consistent_random`,
//! CRC32) sends a key elsewhere than the Java client does.
//!
//! - A keyed record goes where the Java client's default partitioner puts
//!   it: murmur2 of the key, made positive, modulo the partition count. A
//!   Java producer, a librdkafka one with `partitioner = "murmur2_random"`
//!   and buzz all send one key to one partition, so a consumer sees all of
//!   a key's records, in order.
//! - An unkeyed record goes with runs of [`UNKEYED_RUN`] consecutive records
//!   per partition, moving round-robin: large batches, as with the Java
//!   client's sticky partitioner, but a pure function of the writer's record
//!   sequence, so a restarted producer can tell where each record went.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// Records in a row that an unkeyed producer sends to one partition.
pub const UNKEYED_RUN: u64 = 1024;

/// Kafka's `Utils.murmur2` (Java client), bit for bit: MurmurHash2 with
/// seed `0x9747b28c` over the bytes read as little-endian 32-bit words, in
/// Java's wrapping `int` arithmetic and unsigned shifts (`>>>`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java's `length` is an int: the length wraps the same way.
    let mut h = SEED ^ data.len() as u32;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = words.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java client's default partitioner picks for `key`:
/// `toPositive(murmur2(key)) % partitions`. `partitions` must be positive.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    assert!(partitions > 0, "a topic has at least one partition, not {partitions}");
    // Java's `toPositive`: clears the sign bit (not `abs`, which would
    // send Integer.MIN_VALUE elsewhere).
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// The partition of the unkeyed record numbered `sequence` (from 0) by its
/// writer: runs of [`UNKEYED_RUN`] records per partition, round-robin.
/// `partitions` must be positive.
pub fn partition_for_unkeyed(sequence: u64, partitions: i32) -> i32 {
    assert!(partitions > 0, "a topic has at least one partition, not {partitions}");
    ((sequence / UNKEYED_RUN) % partitions as u64) as i32
}

/// Picks the key and partition of each record one writer sends.
pub struct Partitioner {
    /// The `key` setting: the JSON field whose value is the key.
    key_field: Option<String>,
    /// The topic's partition count, once read from its metadata.
    partitions: Option<i32>,
    /// Records routed so far: the next record's sequence number.
    sequence: u64,
}

impl Partitioner {
    pub fn new(key_field: Option<String>) -> Self {
        Partitioner { key_field, partitions: None, sequence: 0 }
    }

    /// The topic's partition count, if known yet.
    pub fn partitions(&self) -> Option<i32> {
        self.partitions
    }

    /// The next record's sequence number (saved in the source's checkpoint,
    /// so a resumed producer routes its unkeyed records as before).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    pub fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }

    pub fn set_partitions(&mut self, partitions: i32) {
        self.partitions = Some(partitions);
    }

    /// The key and partition of the next record: with a `key` setting, the
    /// field's text (no key when the record lacks it or is not JSON);
    /// without one, the key the source gave. Call once per record, after
    /// [`set_partitions`](Self::set_partitions).
    pub fn route<'a>(&mut self, payload: &[u8], source_key: Option<&'a [u8]>) -> (Option<Cow<'a, [u8]>>, i32) {
        let partitions = self.partitions.expect("the partition count is read before records are routed");
        let key = match &self.key_field {
            Some(field) => field_text(payload, field).map(Cow::Owned),
            None => source_key.map(Cow::Borrowed),
        };
        let sequence = self.sequence;
        self.sequence += 1;
        let partition = match &key {
            Some(key) => partition_for_key(key, partitions),
            None => partition_for_unkeyed(sequence, partitions),
        };
        (key, partition)
    }
}

/// The value of top-level `field` of a JSON object as key bytes: a string
/// as is, a number, boolean, array or object as its JSON text; `None` when
/// the field is missing or null, or the payload is not a JSON object. Only
/// that field's value is built; the rest is skipped.
pub fn field_text(payload: &[u8], field: &str) -> Option<Vec<u8>> {
    let mut json = serde_json::Deserializer::from_slice(payload);
    let value = json.deserialize_map(FieldOf(field)).ok()?;
    json.end().ok()?;
    match value? {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.into_bytes()),
        other => Some(other.to_string().into_bytes()),
    }
}

/// Finds one field of a JSON object.
struct FieldOf<'f>(&'f str);

impl<'de> Visitor<'de> for FieldOf<'_> {
    type Value = Option<serde_json::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        // The last of duplicate fields wins, as when the record is parsed whole.
        while let Some(is_field) = map.next_key_seed(IsField(self.0))? {
            if is_field {
                found = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether an object's key is the wanted field (compared without copying).
struct IsField<'f>(&'f str);

impl<'de> DeserializeSeed<'de> for IsField<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsField<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<bool, E> {
        Ok(name == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own vectors: apache/kafka,
    /// clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
    /// `testMurmur2` (values of `Utils.murmur2`, a Java int).
    #[test]
    fn murmur2_matches_the_java_clients_test_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key), expected, "{}", String::from_utf8_lossy(key));
        }
    }

    /// librdkafka's vectors, "java_murmur2_results" in
    /// confluentinc/librdkafka src/rdmurmur2.c (`unittest_murmur2`), which
    /// it checked against the Java client: every tail length (0-3) and the
    /// empty key.
    #[test]
    fn murmur2_matches_librdkafkas_java_compatible_vectors() {
        let unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
        let cases: [(&str, u32); 11] = [
            ("kafka", 0xd067cf64),
            ("giberish123456789", 0x8f552b0c),
            ("1234", 0x9fc97b14),
            ("234", 0xe7c009ca),
            ("34", 0x873930da),
            ("4", 0x5a4b5ca1),
            (unaligned, 0x78424f1c),
            (&unaligned[1..], 0x4a62b377),
            (&unaligned[2..], 0xe0e4e09e),
            (&unaligned[3..], 0x62b8b43f),
            ("", 0x106e08d9),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()), expected as i32, "{key:?}");
        }
    }

    /// librdkafka's own Java-compatible partitioner (`murmur2_random` for
    /// keyed records), called through its C API, agrees on any key.
    // A test oracle: rdkafka has no safe binding of the partitioner.
    #[allow(unsafe_code)]
    fn librdkafka_partition(key: &[u8], partitions: i32) -> i32 {
        // SAFETY: it reads `keylen` bytes of `key` and nothing else (its
        // body in librdkafka's rdkafka_msg.c: murmur2 of the key, modulo).
        unsafe {
            rdkafka_sys::rd_kafka_msg_partitioner_murmur2(
                std::ptr::null(),
                key.as_ptr().cast(),
                key.len(),
                partitions,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        }
    }

    proptest::proptest! {
        #[test]
        fn keyed_partitions_agree_with_librdkafkas_murmur2_partitioner(
            key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            partitions in 1..500i32,
        ) {
            proptest::prop_assert_eq!(partition_for_key(&key, partitions), librdkafka_partition(&key, partitions));
        }
    }

    #[test]
    fn to_positive_clears_the_sign_bit() {
        // A negative hash: Java's toPositive keeps the low 31 bits.
        let hash = murmur2(b"21");
        assert!(hash < 0);
        assert_eq!(partition_for_key(b"21", 1000), (hash & 0x7fff_ffff) % 1000);
        assert_eq!(partition_for_key(b"21", 1), 0);
    }

    #[test]
    fn unkeyed_records_go_in_runs_of_1024_round_robin() {
        let partitions: Vec<i32> = (0..5 * UNKEYED_RUN).map(|s| partition_for_unkeyed(s, 3)).collect();
        for (run, chunk) in partitions.chunks(UNKEYED_RUN as usize).enumerate() {
            assert!(chunk.iter().all(|&p| p == run as i32 % 3), "run {run}");
        }
        assert_eq!(partition_for_unkeyed(u64::MAX, 1), 0);
    }

    #[test]
    fn the_key_is_the_fields_text() {
        let text = |payload: &str| field_text(payload.as_bytes(), "author").map(|k| String::from_utf8(k).unwrap());
        assert_eq!(text(r#"{"message": "hi", "author": "Eve"}"#).as_deref(), Some("Eve"));
        assert_eq!(text(r#"{"author": "caf\u00e9 \"x\""}"#).as_deref(), Some("café \"x\""));
        assert_eq!(text(r#"{"author": 42}"#).as_deref(), Some("42"));
        assert_eq!(text(r#"{"author": -1.5}"#).as_deref(), Some("-1.5"));
        assert_eq!(text(r#"{"author": true}"#).as_deref(), Some("true"));
        assert_eq!(text(r#"{"author": {"b": 1, "a": [2]}}"#).as_deref(), Some(r#"{"b":1,"a":[2]}"#));
        assert_eq!(text(r#"{"a\u0075thor": "escaped name"}"#).as_deref(), Some("escaped name"));
        assert_eq!(text(r#"{"nested": {"author": "no"}}"#), None);
        assert_eq!(text(r#"{"author": null}"#), None);
        assert_eq!(text(r#"{"message": "hi"}"#), None);
        assert_eq!(text(r#"["author", "Eve"]"#), None);
        assert_eq!(text("not JSON"), None);
        assert_eq!(text(r#"{"author": "Eve"} trailing"#), None);
        assert_eq!(text(r#"{"author": "Eve""#), None);
    }

    #[test]
    fn the_partitioner_keys_by_the_field_or_keeps_the_sources_key() {
        let mut by_author = Partitioner::new(Some("author".into()));
        by_author.set_partitions(3);
        let (key, partition) = by_author.route(br#"{"author": "Eve"}"#, Some(b"source"));
        assert_eq!(key.as_deref(), Some(&b"Eve"[..]));
        assert_eq!(partition, partition_for_key(b"Eve", 3));
        // No field: no key, and the unkeyed rule at this record's sequence (1).
        let (key, partition) = by_author.route(b"not JSON", Some(b"source"));
        assert_eq!((key, partition), (None, partition_for_unkeyed(1, 3)));

        let mut as_given = Partitioner::new(None);
        as_given.set_partitions(3);
        let (key, partition) = as_given.route(br#"{"author": "Eve"}"#, Some(b"sensor-7"));
        assert_eq!(key.as_deref(), Some(&b"sensor-7"[..]));
        assert_eq!(partition, partition_for_key(b"sensor-7", 3));
        for sequence in 1..=2 * UNKEYED_RUN {
            let (key, partition) = as_given.route(b"{}", None);
            assert_eq!((key, partition), (None, partition_for_unkeyed(sequence, 3)));
        }
    }
}
