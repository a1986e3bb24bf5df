//! Operations get their job policy (the operation's `x-jetwire` over the document
//! defaults) and, once all are known, the stream subjects and consumer plan.

use super::consumers::{
    filters_outside_subjects, plan_consumers, stream_subjects, warn_shared_subjects,
    widen_subjects_for_filters, Served,
};
use super::extension::OperationExtension;
use super::lower::Lowering;
use crate::error::{Error, Result};
use crate::ir::{
    Action, ChannelId, Diagnostic, InstanceType, JobClass, Location, MessageId, Operation,
    OperationPolicy, Partitioning, Reply, RoutingKey, SchemaArena, SchemaId, Severity,
    SubjectToken, PARTITION_PARAMETER,
};

/// An operation as read, before its policy is settled.
pub struct OperationDraft {
    pub id: String,
    pub action: Action,
    pub channel: ChannelId,
    pub messages: Vec<MessageId>,
    pub reply: Option<Reply>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub deprecated: bool,
    pub extension: OperationExtension,
    pub location: Location,
}

impl Lowering {
    pub fn push_operation(&mut self, draft: OperationDraft) -> Result<()> {
        let channel = &self.channels[draft.channel.0];
        let (key, address, has_subject) = (
            channel.key.clone(),
            channel.address.clone().unwrap_or_default(),
            channel.subject.is_some(),
        );
        if !has_subject {
            let why = self
                .subject_problems
                .get(&draft.channel)
                .cloned()
                .unwrap_or_else(|| "has no usable address".into());
            let message = format!(
                "operation `{}` gets no client or worker code: its channel `{}` {why}; \
                 its message types and docs are still generated",
                draft.id, key
            );
            self.diagnostic(Severity::Warning, draft.location.clone(), message);
        }
        let x = &draft.extension;
        let class = x.class.unwrap_or(if address.starts_with("jobs.modify.") {
            JobClass::Modify
        } else {
            JobClass::Query
        });
        let request_id_pointer = x.request_id.clone().or_else(|| {
            draft.messages.first().and_then(|m| {
                self.messages[m.0]
                    .correlation_id
                    .as_ref()
                    .and_then(|c| c.payload_pointer())
                    .map(str::to_string)
            })
        });
        let partitioning = self.partitioning(&draft)?;
        let defaults = &self.extension.config.defaults;
        let policy = OperationPolicy {
            class,
            timeout: x.timeout.unwrap_or(defaults.timeout),
            retryable: x.retryable.unwrap_or(class == JobClass::Query),
            request_id_pointer,
            routing_key: x.routing_key.clone(),
            partitions: x.partitions,
            partitioning,
        };
        self.operations.push(Operation {
            id: draft.id,
            action: draft.action,
            channel: draft.channel,
            messages: draft.messages,
            reply: draft.reply,
            title: draft.title,
            summary: draft.summary,
            description: draft.description,
            tags: draft.tags,
            deprecated: draft.deprecated,
            policy,
            location: draft.location,
        });
        Ok(())
    }

    /// The operation's keyed partitioning: its `routing-key` resolved against the payload
    /// schema or the channel parameters, and its `partitions` against the address.
    fn partitioning(&mut self, draft: &OperationDraft) -> Result<Option<Partitioning>> {
        let x = &draft.extension;
        let at = |key: &str| {
            x.at.as_ref()
                .map_or_else(|| draft.location.clone(), |at| self.locate(at, key))
        };
        let id = &draft.id;
        let channel = &self.channels[draft.channel.0];
        let key = match &x.routing_key {
            None => None,
            Some(key) => {
                if let Some(parameter) = key.strip_prefix('{').and_then(|k| k.strip_suffix('}')) {
                    if parameter == PARTITION_PARAMETER {
                        return Err(Error::invalid(
                            at("routing-key"),
                            format!(
                                "operation `{id}`: the routing key cannot be `{{{PARTITION_PARAMETER}}}`: \
                                 that parameter is computed from the key"
                            ),
                        ));
                    }
                    if !channel.parameters.iter().any(|q| q.name == parameter) {
                        return Err(Error::invalid(
                            at("routing-key"),
                            format!(
                                "operation `{id}`: `x-jetwire.routing-key` `{key}` names no parameter of \
                                 channel `{}` (its parameters: {})",
                                channel.key,
                                names(channel.parameters.iter().map(|p| p.name.as_str()))
                            ),
                        ));
                    }
                    Some(RoutingKey::Parameter(parameter.to_string()))
                } else if let Some(pointer) = key.strip_prefix("$message.payload#") {
                    if !pointer.starts_with('/') || pointer.len() < 2 {
                        return Err(Error::invalid(
                            at("routing-key"),
                            format!(
                                "operation `{id}`: `x-jetwire.routing-key` `{key}` must point at a payload \
                                 field, e.g. `$message.payload#/system_id`"
                            ),
                        ));
                    }
                    for m in &draft.messages {
                        let message = &self.messages[m.0];
                        let found = message.payload.is_some_and(|schema| {
                            has_field(
                                &self.interner.arena,
                                schema,
                                &super::pointer::tokens(pointer),
                            )
                        });
                        if !found {
                            return Err(Error::invalid(
                                at("routing-key"),
                                format!(
                                    "operation `{id}`: `x-jetwire.routing-key` `{key}`: the payload of \
                                     message `{}` has no field at `{pointer}` (the key must be a \
                                     property of every request message's payload schema)",
                                    message.name.as_deref().unwrap_or(&message.key)
                                ),
                            ));
                        }
                    }
                    Some(RoutingKey::Payload(pointer.to_string()))
                } else {
                    return Err(Error::invalid(
                        at("routing-key"),
                        format!(
                            "operation `{id}`: `x-jetwire.routing-key` `{key}` must be a payload field \
                             (`$message.payload#/field`) or one of the channel's parameters (`{{name}}`)"
                        ),
                    ));
                }
            }
        };
        let Some(count) = x.partitions else {
            if let Some(key) = &x.routing_key {
                let message = format!(
                    "operation `{id}`: `x-jetwire.routing-key` `{key}` has no effect without \
                     `partitions`"
                );
                let location = at("routing-key");
                self.diagnostic(Severity::Note, location, message);
            }
            return Ok(None);
        };
        let Some(key) = key else {
            return Err(Error::invalid(
                at("partitions"),
                format!("operation `{id}`: `x-jetwire.partitions` needs a `routing-key` to partition by"),
            ));
        };
        let has_partition = channel.subject.as_ref().is_some_and(|s| {
            s.tokens
                .iter()
                .any(|t| matches!(t, SubjectToken::Parameter(p) if p == PARTITION_PARAMETER))
        });
        if !has_partition {
            return Err(Error::invalid(
                at("partitions"),
                format!(
                    "operation `{id}` is partitioned, so its channel address must hold a \
                     `{{{PARTITION_PARAMETER}}}` parameter token (the runtime fills it with the \
                     partition number); channel `{}` has address `{}`",
                    channel.key,
                    channel.address.as_deref().unwrap_or("(none)")
                ),
            ));
        }
        if let Some(targets) = &self.extension.config.targets {
            if channel
                .parameters
                .iter()
                .any(|p| p.name == targets.parameter)
            {
                return Err(Error::invalid(
                    at("partitions"),
                    format!(
                        "operation `{id}` cannot be both partitioned and targeted: its channel has \
                         the target parameter `{{{}}}` (a partition is served by whichever worker \
                         holds its lease, not by a chosen one)",
                        targets.parameter
                    ),
                ));
            }
        }
        Ok(Some(Partitioning {
            key,
            count,
            parameter: PARTITION_PARAMETER.to_string(),
        }))
    }

    /// Stream subjects and consumers: as the document lists them, else planned from
    /// the `receive` operations that have a subject. Also settles targets (some
    /// operation must have the target parameter) and leases (kept when some operation
    /// is partitioned).
    pub fn plan_jetstream(&mut self) -> Result<()> {
        let target = self
            .extension
            .config
            .targets
            .as_ref()
            .map(|t| t.parameter.clone());
        let served: Vec<Served<'_>> = self
            .operations
            .iter()
            .filter(|op| op.action == Action::Receive)
            .filter_map(|op| {
                let channel = &self.channels[op.channel.0];
                channel.subject.as_ref().map(|subject| Served {
                    id: &op.id,
                    class: op.policy.class,
                    subject,
                    location: &op.location,
                    target: target.as_deref().filter(|t| {
                        subject
                            .tokens
                            .iter()
                            .any(|tok| matches!(tok, SubjectToken::Parameter(p) if p == t))
                    }),
                    partitions: op.policy.partitioning.as_ref().map(|p| p.count),
                })
            })
            .collect();
        if let Some(target) = &target {
            if !served.iter().any(|s| s.target.is_some()) {
                let at = self
                    .extension
                    .targets_at
                    .clone()
                    .unwrap_or_else(|| self.docs.root_at("/x-jetwire"));
                return Err(Error::invalid(
                    at,
                    format!(
                        "x-jetwire.targets: no `receive` operation's channel address has the \
                         parameter `{{{target}}}`, so nothing would be targeted (add it to the \
                         job channels' addresses, or remove `targets`)"
                    ),
                ));
            }
        }
        let partitioned = served.iter().any(|s| s.partitions.is_some());
        let mut diagnostics = Vec::new();
        warn_shared_subjects(&served, &mut diagnostics);
        let consumers = match &self.extension.consumers {
            Some(consumers) => consumers.clone(),
            None => plan_consumers(&served, &self.extension.config.defaults, &mut diagnostics)?,
        };
        let filters: Vec<&str> = consumers
            .iter()
            .map(|c| c.filter_subject.as_str())
            .collect();
        let subjects = match &self.extension.subjects {
            Some(subjects) => {
                for filter in filters_outside_subjects(subjects, &filters) {
                    diagnostics.push(Diagnostic {
                        severity: Severity::Warning,
                        location: self.docs.root_at("/x-jetwire/stream/subjects"),
                        message: format!(
                            "consumer filter `{filter}` falls under no single stream subject; \
                             nats-server 2.9 refuses such a consumer (add a subject covering it)"
                        ),
                    });
                }
                subjects.clone()
            }
            None => widen_subjects_for_filters(&stream_subjects(&served), &filters),
        };
        let no_jobs = served.is_empty();
        self.extension.config.stream.subjects = subjects;
        self.extension.config.consumers = consumers;
        self.extension.config.leases = partitioned.then(|| self.extension.leases.clone());
        self.diagnostics.extend(diagnostics);
        if !partitioned {
            if let Some(at) = self.extension.leases_at.clone() {
                self.diagnostic(
                    Severity::Note,
                    at,
                    "x-jetwire.leases has no effect: no operation is partitioned",
                );
            }
        }
        if no_jobs && !self.operations.is_empty() {
            let location = self.docs.root_at("");
            self.diagnostic(
                Severity::Note,
                location,
                "no `receive` operation has a NATS subject address, so there are no jobs to serve",
            );
        }
        Ok(())
    }
}
/// Whether the object schema `id` declares a property at `path` (through `properties`
/// and the members of `allOf`).
fn has_field(arena: &SchemaArena, id: SchemaId, path: &[String]) -> bool {
    has_field_at(arena, id, path, 0)
}

fn has_field_at(arena: &SchemaArena, id: SchemaId, path: &[String], depth: usize) -> bool {
    // Deep enough for any real key; stops `allOf` cycles.
    if depth > 32 {
        return false;
    }
    let Some((first, rest)) = path.split_first() else {
        return true;
    };
    let schema = &arena.get(id).schema;
    let typed_other = !schema.types.is_empty() && !schema.types.contains(&InstanceType::Object);
    if !typed_other {
        if let Some(child) = schema.properties.get(first) {
            if has_field_at(arena, *child, rest, depth + 1) {
                return true;
            }
        }
    }
    schema
        .all_of
        .iter()
        .any(|member| has_field_at(arena, *member, path, depth + 1))
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
