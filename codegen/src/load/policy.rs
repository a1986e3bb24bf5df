//! Operations get their job policy (the operation's `x-jetwire` over the document
//! defaults) and, once all are known, the stream subjects and consumer plan.

use super::consumers::{plan_consumers, stream_subjects, warn_shared_subjects, Served};
use super::extension::OperationExtension;
use super::lower::Lowering;
use crate::error::{Error, Result};
use crate::ir::{
    Action, ChannelId, JobClass, Location, MessageId, Operation, OperationPolicy, Reply, Severity,
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
        if let Some(key) = &x.routing_key {
            let parameter = key.strip_prefix('{').and_then(|k| k.strip_suffix('}'));
            let known_parameter = parameter.is_some_and(|p| {
                self.channels[draft.channel.0]
                    .parameters
                    .iter()
                    .any(|q| q.name == p)
            });
            if !key.starts_with("$message.payload#/") && !known_parameter {
                let at = x.at.as_ref().map_or_else(
                    || draft.location.clone(),
                    |at| self.locate(at, "routing-key"),
                );
                return Err(Error::invalid(
                    at,
                    format!(
                        "operation `{}`: `x-jetwire.routing-key` `{key}` must be a payload field \
                         (`$message.payload#/field`) or one of the channel's parameters (`{{name}}`)",
                        draft.id
                    ),
                ));
            }
        }
        if x.partitions.is_some() && x.routing_key.is_none() {
            let at = x.at.as_ref().map_or_else(
                || draft.location.clone(),
                |at| self.locate(at, "partitions"),
            );
            return Err(Error::invalid(
                at,
                format!(
                    "operation `{}`: `x-jetwire.partitions` needs a `routing-key` to partition by",
                    draft.id
                ),
            ));
        }
        let defaults = &self.extension.config.defaults;
        let policy = OperationPolicy {
            class,
            timeout: x.timeout.unwrap_or(defaults.timeout),
            retryable: x.retryable.unwrap_or(class == JobClass::Query),
            request_id_pointer,
            routing_key: x.routing_key.clone(),
            partitions: x.partitions,
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

    /// Stream subjects and consumers: as the document lists them, else planned from
    /// the `receive` operations that have a subject.
    pub fn plan_jetstream(&mut self) {
        let served: Vec<Served<'_>> = self
            .operations
            .iter()
            .filter(|op| op.action == Action::Receive)
            .filter_map(|op| {
                self.channels[op.channel.0]
                    .subject
                    .as_ref()
                    .map(|subject| Served {
                        id: &op.id,
                        class: op.policy.class,
                        subject,
                        location: &op.location,
                    })
            })
            .collect();
        let mut diagnostics = Vec::new();
        warn_shared_subjects(&served, &mut diagnostics);
        let subjects = match &self.extension.subjects {
            Some(subjects) => subjects.clone(),
            None => stream_subjects(&served),
        };
        let consumers = match &self.extension.consumers {
            Some(consumers) => consumers.clone(),
            None => plan_consumers(&served, &self.extension.config.defaults, &mut diagnostics),
        };
        let no_jobs = served.is_empty();
        self.extension.config.stream.subjects = subjects;
        self.extension.config.consumers = consumers;
        self.diagnostics.extend(diagnostics);
        if no_jobs && !self.operations.is_empty() {
            let location = self.docs.root_at("");
            self.diagnostic(
                Severity::Note,
                location,
                "no `receive` operation has a NATS subject address, so there are no jobs to serve",
            );
        }
    }
}
