//! Breaking-change report between two versions of a contract: [`diff`] compares two
//! loaded [`Spec`]s and returns a [`Report`] of [`Change`]s, each with its [`Impact`] on
//! producers (API clients) and consumers (workers).
//!
//! The page below (`docs/spec-diff.md`) is the rule table; `tests/diff_corpus.rs` checks it
//! case by case.
//!
#![doc = include_str!("../../../docs/spec-diff.md")]

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
