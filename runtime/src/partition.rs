//! Keyed partitions: which partition a job belongs to, and the partition durables of a
//! partitioned consumer.
//!
//! An operation with a routing key (`OperationSpec::partitioning`) has a `{partition}`
//! parameter in its subject that the runtime fills, never the caller:
//!
//! - the key is read from the payload (a JSON pointer) or from another subject parameter;
//!   a JSON string counts by its content, any other JSON value by its compact JSON text;
//! - partition = FNV-1a (32 bit) of the key's UTF-8 bytes, modulo the partition count.
//!
//! Every client computes the same partition for the same key, so all jobs of one key land
//! on one partition durable (`<durable>-<i>`), which serves one job at a time in publish
//! order.

use crate::spec::{ConsumerSpec, OperationSpec, RoutingKey};
use crate::subject::{fill_token, token_position};
use crate::validate::Violation;

/// The parameter a partitioned consumer's filter holds in place of the partition.
pub const PARTITION_PARAMETER: &str = "partition";

/// That parameter's token, `{partition}`.
pub const PARTITION_TOKEN: &str = "{partition}";

const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a, 32 bit.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(FNV_PRIME)
    })
}

/// The partition (`0..n`) of a routing key; `n` of 0 is treated as 1.
pub fn partition_of(key: &[u8], n: u32) -> u32 {
    fnv1a32(key) % n.max(1)
}

/// The routing key of a job: the text that is hashed.
///
/// `subject` is the concrete subject (only read for a [`RoutingKey::Parameter`]). A
/// missing, `null` or empty key is a violation located at the key's JSON pointer (the
/// payload's root for a subject parameter).
pub fn routing_key(
    op: &OperationSpec,
    subject: &str,
    payload: &serde_json::Value,
) -> Result<String, Violation> {
    let Some(spec) = &op.partitioning else {
        return Err(Violation {
            path: String::new(),
            message: format!("operation '{}' is not partitioned", op.id),
        });
    };
    match spec.key {
        RoutingKey::Payload(pointer) => {
            let missing = |what: &str| Violation {
                path: pointer.into(),
                message: format!("the routing key of operation '{}' is {what}", op.id),
            };
            match payload.pointer(pointer) {
                None | Some(serde_json::Value::Null) => Err(missing("missing")),
                Some(serde_json::Value::String(s)) if s.is_empty() => Err(missing("empty")),
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(other) => Ok(other.to_string()),
            }
        }
        RoutingKey::Parameter(name) => {
            let value = token_position(op.subject, name)
                .and_then(|i| subject.split('.').nth(i))
                .filter(|v| !v.is_empty() && !is_placeholder(v));
            value.map(str::to_string).ok_or_else(|| Violation {
                path: String::new(),
                message: format!(
                    "the routing key of operation '{}' is the subject parameter '{name}', \
                     which has no value in '{subject}'",
                    op.id
                ),
            })
        }
    }
}

/// `subject` with the partition parameter filled in from the routing key; `subject`
/// unchanged when the operation is not partitioned.
///
/// The token at the parameter's position in the operation's template is replaced,
/// whatever the caller put there (usually the `{partition}` placeholder itself). A
/// subject that does not fit the template is returned unchanged (the caller's subject
/// check reports it).
pub fn fill_partition(
    op: &OperationSpec,
    subject: &str,
    payload: &serde_json::Value,
) -> Result<String, Violation> {
    let Some(spec) = &op.partitioning else {
        return Ok(subject.to_string());
    };
    if spec.count == 0 {
        return Err(Violation {
            path: String::new(),
            message: format!("operation '{}' declares 0 partitions", op.id),
        });
    }
    let Some(position) = token_position(op.subject, spec.parameter) else {
        return Err(Violation {
            path: String::new(),
            message: format!(
                "the subject '{}' of operation '{}' has no '{{{}}}' parameter for the partition",
                op.subject, op.id, spec.parameter
            ),
        });
    };
    let mut tokens: Vec<&str> = subject.split('.').collect();
    if tokens.len() != op.subject.split('.').count() {
        return Ok(subject.to_string());
    }
    let key = routing_key(op, subject, payload)?;
    let partition = partition_of(key.as_bytes(), spec.count).to_string();
    tokens[position] = &partition;
    Ok(tokens.join("."))
}

/// The durables of a partitioned consumer, `<durable>-<i>` for `i` in `0..n`, with their
/// partition number; empty for a consumer that is not partitioned.
pub fn partition_durables(consumer: &ConsumerSpec) -> Vec<(u32, String)> {
    (0..consumer.partitions.unwrap_or(0))
        .map(|i| (i, format!("{}-{i}", consumer.durable)))
        .collect()
}

/// The filter subject of partition `i` of a partitioned consumer: its filter with the
/// `{partition}` token replaced by `i`; `None` when the filter has no such token.
pub fn partition_filter(consumer: &ConsumerSpec, i: u32) -> Option<String> {
    fill_token(consumer.filter_subject, PARTITION_PARAMETER, &i.to_string())
}

/// An unfilled `{param}` token.
fn is_placeholder(token: &str) -> bool {
    token.starts_with('{') && token.ends_with('}')
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::spec::{JobClass, PartitionSpec};

    /// FNV-1a computed the long way, independent of the fold above.
    fn reference_fnv1a(s: &str) -> u32 {
        let mut h: u64 = 2_166_136_261;
        for b in s.bytes() {
            h ^= b as u64;
            h = (h * 16_777_619) % (1u64 << 32);
        }
        h as u32
    }

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
        for s in ["k1", "system-42", "ünïcode", "a longer key with spaces"] {
            assert_eq!(fnv1a32(s.as_bytes()), reference_fnv1a(s), "{s}");
        }
    }

    #[test]
    fn partition_is_the_hash_modulo_the_count() {
        assert_eq!(partition_of(b"a", 8), 0xe40c_292c % 8);
        assert_eq!(partition_of(b"foobar", 8), 0);
        assert_eq!(partition_of(b"system-42", 8), 0xf02e_df85 % 8);
        assert_eq!(partition_of(b"anything", 1), 0);
        assert_eq!(partition_of(b"anything", 0), 0);
    }

    static BY_PAYLOAD: OperationSpec = OperationSpec {
        id: "move",
        subject: "jobs.modify.move.{partition}",
        parameters: &["partition"],
        class: JobClass::Modify,
        request_id_pointer: Some("/request_id"),
        timeout: Duration::from_secs(5),
        retryable: true,
        has_reply: true,
        partitioning: Some(PartitionSpec {
            key: RoutingKey::Payload("/system/id"),
            count: 8,
            parameter: "partition",
        }),
    };

    static BY_PARAMETER: OperationSpec = OperationSpec {
        id: "reset",
        subject: "jobs.modify.{partition}.reset.{system}",
        parameters: &["partition", "system"],
        class: JobClass::Modify,
        request_id_pointer: None,
        timeout: Duration::from_secs(5),
        retryable: true,
        has_reply: false,
        partitioning: Some(PartitionSpec {
            key: RoutingKey::Parameter("system"),
            count: 4,
            parameter: "partition",
        }),
    };

    #[test]
    fn a_string_key_is_hashed_by_its_content() {
        let subject = fill_partition(
            &BY_PAYLOAD,
            "jobs.modify.move.{partition}",
            &json!({"system": {"id": "a"}}),
        )
        .unwrap();
        assert_eq!(subject, format!("jobs.modify.move.{}", 0xe40c_292c_u32 % 8));
    }

    #[test]
    fn other_json_values_are_hashed_as_compact_json() {
        let key = json!({"system": {"id": {"x": 1, "y": [true, null]}}});
        assert_eq!(
            routing_key(&BY_PAYLOAD, "", &key).unwrap(),
            r#"{"x":1,"y":[true,null]}"#
        );
        let number = json!({"system": {"id": 42}});
        assert_eq!(routing_key(&BY_PAYLOAD, "", &number).unwrap(), "42");
        let subject = fill_partition(&BY_PAYLOAD, "jobs.modify.move.{partition}", &number);
        assert_eq!(
            subject.unwrap(),
            format!("jobs.modify.move.{}", reference_fnv1a("42") % 8)
        );
    }

    #[test]
    fn a_missing_or_empty_key_is_a_violation_at_its_pointer() {
        for payload in [
            json!({}),
            json!({"system": {}}),
            json!({"system": {"id": null}}),
            json!({"system": {"id": ""}}),
        ] {
            let v =
                fill_partition(&BY_PAYLOAD, "jobs.modify.move.{partition}", &payload).unwrap_err();
            assert_eq!(v.path, "/system/id", "{payload}");
            assert!(v.message.contains("routing key"), "{}", v.message);
        }
    }

    #[test]
    fn a_parameter_key_is_read_from_the_subject() {
        let subject =
            fill_partition(&BY_PARAMETER, "jobs.modify.{partition}.reset.a", &json!({})).unwrap();
        assert_eq!(
            subject,
            format!("jobs.modify.{}.reset.a", 0xe40c_292c_u32 % 4)
        );
        // Whatever the caller put in the partition's place is replaced.
        let again = fill_partition(&BY_PARAMETER, "jobs.modify.x.reset.a", &json!({})).unwrap();
        assert_eq!(again, subject);
        let v = fill_partition(
            &BY_PARAMETER,
            "jobs.modify.{partition}.reset.{system}",
            &json!({}),
        )
        .unwrap_err();
        assert!(v.message.contains("'system'"), "{}", v.message);
    }

    #[test]
    fn unpartitioned_operations_and_misfit_subjects_are_left_alone() {
        static PLAIN: OperationSpec = OperationSpec {
            partitioning: None,
            ..BY_PARAMETER
        };
        assert_eq!(
            fill_partition(&PLAIN, "jobs.modify.1.reset.a", &json!({})).unwrap(),
            "jobs.modify.1.reset.a"
        );
        assert_eq!(
            fill_partition(&BY_PAYLOAD, "jobs.other", &json!({"system": {"id": "a"}})).unwrap(),
            "jobs.other"
        );
    }

    #[test]
    fn partition_durables_and_filters() {
        static C: ConsumerSpec = ConsumerSpec {
            durable: "coord",
            class: JobClass::Modify,
            filter_subject: "jobs.modify.move.{partition}",
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            backoff: &[],
            max_ack_pending: 100,
            concurrency: 1,
            partitions: Some(3),
        };
        assert_eq!(
            partition_durables(&C),
            vec![
                (0, "coord-0".to_string()),
                (1, "coord-1".to_string()),
                (2, "coord-2".to_string())
            ]
        );
        assert_eq!(
            partition_filter(&C, 2).as_deref(),
            Some("jobs.modify.move.2")
        );
        static NO_TOKEN: ConsumerSpec = ConsumerSpec {
            filter_subject: "jobs.modify.>",
            ..C
        };
        assert_eq!(partition_filter(&NO_TOKEN, 0), None);
    }
}
