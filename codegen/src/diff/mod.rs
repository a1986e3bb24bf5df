//! Breaking-change report between two versions of a contract.
//!
//! [`diff`] compares two loaded [`Spec`]s (so `$ref`s, traits and the 2.6/3.x differences
//! are already gone: equivalent documents give no changes) and lists every [`Change`]
//! with its [`Impact`] on the two roles of the job protocol:
//!
//! - **producers** are the API clients: they write job requests and read replies;
//! - **consumers** are the workers: they read job requests and write replies.
//!
//! For `send` operations (events) the described application writes the message and its
//! subscribers read it, so event payloads are judged like replies.
//!
//! Schema changes are judged by their effect on the set of valid payloads: a change that
//! *narrows* it (old payloads may now be invalid) breaks the side that **writes** the
//! message; a change that *widens* it (payloads the old schema never allowed may now
//! arrive) breaks the side that **reads** it.
//!
//! # Rules
//!
//! | Rule (`kind`) | Impact | Why |
//! |---|---|---|
//! | `operation_added` | compatible | nobody uses it yet |
//! | `operation_removed` | breaks both | clients submit jobs no worker serves; workers lose a handler |
//! | `operation_renamed` (same subject and messages, other id) | breaks both | generated client and handler method names change; the wire is unchanged |
//! | `action_changed` (send ↔ receive) | breaks both | the direction of the messages flips |
//! | `channel_added` | compatible | nothing uses it yet |
//! | `channel_removed` | breaks both | its subject is no longer part of the contract |
//! | `subject_changed` | breaks both | old clients publish where new workers no longer listen |
//! | `parameter_added` / `parameter_removed` | breaks both | subject tokens shift |
//! | `parameter_enum_value_added` | breaks consumers | workers may see a target value they do not handle |
//! | `parameter_enum_value_removed` | breaks producers | clients may address a value that is no longer valid |
//! | `class_changed` (query ↔ modify) | breaks both | the subject prefix and the worker's consumer change |
//! | `message_added` (request) | breaks consumers | workers may receive a message they cannot decode |
//! | `message_removed` (request) | breaks producers | clients still send it |
//! | `message_added` (event) / `reply_message_added` | breaks producers | clients may read a message they cannot decode |
//! | `message_removed` (event) / `reply_message_removed` | breaks consumers | workers still write it |
//! | `reply_added` | breaks consumers | workers must now write a reply |
//! | `reply_removed` | breaks producers | clients wait for a reply that never comes |
//! | `error_added` | breaks producers | clients may receive a typed error they do not know |
//! | `error_removed` | breaks consumers | workers still return it |
//! | `property_added` (required) | narrows | writers must now send it |
//! | `property_added` (optional) | compatible, or widens when the old object was closed (`additionalProperties: false`) | readers ignore unknown fields unless the object was closed |
//! | `property_removed` | breaks both | readers rely on it; writers still send it |
//! | `required_added` | narrows | writers that leave it out are rejected |
//! | `required_removed` | widens | readers may no longer get it |
//! | `type_changed` | narrows when the new types are a subset, widens when a superset, else both | `integer` counts as a subset of `number` |
//! | `nullable_changed` | narrows when `null` is no longer allowed, widens when it is | |
//! | `format_changed` | added: narrows; removed: widens; changed: both | |
//! | `enum_value_added` | widens | readers may see a value they do not handle |
//! | `enum_value_removed` | narrows | writers may still send it |
//! | `const_changed` | breaks both | the only allowed value changed |
//! | `min_length`/`min_items`/`min_properties`/`minimum`/`exclusive_minimum` raised or added | narrows | |
//! | the same lowered or removed | widens | |
//! | `max_length`/`max_items`/`max_properties`/`maximum`/`exclusive_maximum` lowered or added | narrows | |
//! | the same raised or removed | widens | |
//! | `pattern_changed` | added: narrows; removed: widens; changed: both | regexes cannot be compared |
//! | `multiple_of_changed` | breaks both | |
//! | `unique_items_changed` | set: narrows; cleared: widens | |
//! | `additional_properties_changed` | closed: narrows; opened: widens; otherwise both | |
//! | `variant_added` (`oneOf`/`anyOf`) | widens | readers may see a variant they do not handle |
//! | `variant_removed` | narrows | writers may still send it |
//! | `default_changed` | breaks writers | an omitted field now means something else to the reader |
//! | `timeout_changed`, `retry_changed`, `max_deliver_changed`, `backoff_changed` | compatible | delivery tuning; payloads and subjects are unchanged |
//! | `request_id_changed` | breaks both | the request id travels in another field |
//! | `routing_key_changed`, `partitions_changed` | breaks both | jobs land on other partitions than workers pull |
//! | `stream_changed`, `responses_bucket_changed`, `dead_letter_changed` | breaks both | clients and workers must agree on the JetStream names |
//!
//! "narrows" breaks the writer of the message, "widens" its reader: for requests that is
//! producers and consumers respectively, for replies and events the other way round.

mod operations;
mod schema;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ir::Spec;

/// Whom a change breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// API clients: they write job requests and read replies.
    BreaksProducers,
    /// Workers: they read job requests and write replies.
    BreaksConsumers,
    BreaksBoth,
    Compatible,
}

impl Impact {
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::BreaksProducers => "breaks producers",
            Impact::BreaksConsumers => "breaks consumers",
            Impact::BreaksBoth => "breaks both",
            Impact::Compatible => "compatible",
        }
    }
    pub fn breaks_producers(self) -> bool {
        matches!(self, Impact::BreaksProducers | Impact::BreaksBoth)
    }
    pub fn breaks_consumers(self) -> bool {
        matches!(self, Impact::BreaksConsumers | Impact::BreaksBoth)
    }
    pub fn is_breaking(self) -> bool {
        self != Impact::Compatible
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a change is: the operation (or channel, or the document's `x-jetwire`), the
/// message, and a JSON pointer inside the message's payload or headers schema.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// e.g. `payload#/properties/config/properties/servers/items`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl fmt::Display for ChangeLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(op) = &self.operation {
            parts.push(format!("operation `{op}`"));
        }
        if let Some(ch) = &self.channel {
            parts.push(format!("channel `{ch}`"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("message `{m}`"));
        }
        if let Some(p) = &self.path {
            parts.push(format!("`{p}`"));
        }
        if parts.is_empty() {
            f.write_str("document")
        } else {
            f.write_str(&parts.join(" › "))
        }
    }
}

/// One difference between the two contracts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub location: ChangeLocation,
    /// The rule that matched, e.g. `property_added` (see the module documentation).
    pub kind: String,
    pub impact: Impact,
    /// What changed and why it has this impact, in one sentence.
    pub reason: String,
}

/// Every change between two contracts, in a stable order (operations in the new
/// document's order, then removed ones; schema changes depth first).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub old_version: String,
    pub new_version: String,
    pub changes: Vec<Change>,
}

impl Report {
    pub fn breaking_for_producers(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.impact.breaks_producers())
            .count()
    }
    pub fn breaking_for_consumers(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.impact.breaks_consumers())
            .count()
    }
    pub fn compatible(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| !c.impact.is_breaking())
            .count()
    }
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.impact.is_breaking())
    }

    /// The one-line summary: `N breaking for producers, M for consumers, K compatible`.
    pub fn summary(&self) -> String {
        format!(
            "{} breaking for producers, {} for consumers, {} compatible",
            self.breaking_for_producers(),
            self.breaking_for_consumers(),
            self.compatible()
        )
    }

    /// Markdown ready to paste into a pull request.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "### Contract changes ({} → {})\n\n**{}**\n",
            self.old_version,
            self.new_version,
            self.summary()
        );
        if self.changes.is_empty() {
            out.push_str("\nNo changes to operations, messages, schemas or job policies.\n");
            return out;
        }
        out.push_str("\n| Where | Change | Impact | Why |\n|---|---|---|---|\n");
        for c in &self.changes {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&c.location.to_string()),
                cell(&c.kind),
                c.impact,
                cell(&c.reason)
            ));
        }
        out
    }

    /// Pretty JSON (the same data as [`Report`]'s serde form).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }
}

/// A Markdown table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Compares two contracts. See the module documentation for the rules.
pub fn diff(old: &Spec, new: &Spec) -> Report {
    let mut changes = Vec::new();
    operations::diff_document(old, new, &mut changes);
    Report {
        old_version: old.info.version.clone(),
        new_version: new.info.version.clone(),
        changes,
    }
}
