//! The pages with one section per item: an operation's page and the types page. They
//! are written here rather than by templates because each is rendered thousands of
//! times (every operation, every named type, once for its Markdown file and once for
//! the HTML page), and a template engine spends most of the documentation's time on
//! them. The prose pages (README with the protocol, the HTML frame) stay templates.
//!
//! The text written here goes through the same clean-up as a rendered template
//! (`docs::finish`: type links resolved, runs of blank lines cut to one), so a page
//! may leave extra blank lines the way the templates' whitespace control does.

use crate::docs::context::{DocContext, MessageDoc, OperationDoc};
use crate::docs::fields::{push_cell, TYPE_LINK};

/// What an unset optional value shows as (the template engine's `None`).
fn or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("None")
}

/// A non-empty optional text (what a template's `{% if text %}` accepts).
fn some_text(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|t| !t.is_empty())
}

/// Appends `parts` in order.
fn push_all(out: &mut String, parts: &[&str]) {
    for part in parts {
        out.push_str(part);
    }
}

/// The page (or, with `single_page`, the HTML section) of one operation.
pub fn operation(out: &mut String, doc: &DocContext, op: &OperationDoc, single_page: bool) {
    let (h, hh, hhh) = if single_page {
        ("##", "###", "####")
    } else {
        ("#", "##", "###")
    };
    push_all(out, &[h, " `", &op.id, "`"]);
    if op.deprecated {
        out.push_str(" (deprecated)");
    }
    if single_page {
        push_all(out, &[" {#op-", &op.slug, "}"]);
    }
    out.push_str("\n\n");
    if !single_page {
        push_all(
            out,
            &["[← ", &doc.title, " ", &doc.version, "](../README.md)\n\n"],
        );
    }
    for text in [&op.title, &op.summary, &op.description] {
        if let Some(text) = some_text(text) {
            push_all(out, &[text.trim(), "\n\n"]);
        }
    }
    if let Some(reason) = some_text(&op.skipped_reason) {
        push_all(
            out,
            &[
                "**No client or worker code**: ",
                reason,
                ". The messages and their types below are generated all the same.\n\n",
            ],
        );
    }
    let receive = op.action == "receive";
    let subject = some_text(&op.subject);
    push_all(
        out,
        &[
            "| | |\n|---|---|\n| Action | ",
            if receive {
                "job (the service receives it)"
            } else {
                "event (the service sends it)"
            },
            " |\n| Channel | `",
            &op.channel,
            "` |\n",
        ],
    );
    if let Some(subject) = subject {
        push_all(
            out,
            &[
                "| Subject | `",
                subject,
                "` |\n| Subscribe filter | `",
                or_none(&op.wildcard),
                "` |\n| Example subject | `",
                or_none(&op.example_subject),
                "` |\n",
            ],
        );
    } else if let Some(address) = some_text(&op.address) {
        push_all(out, &["| Address | `", address, "` |\n"]);
    }
    if receive && subject.is_some() {
        push_all(
            out,
            &[
                "| Class | ",
                op.class,
                if op.class == "query" {
                    " (reads state) |\n"
                } else {
                    " (changes state) |\n"
                },
            ],
        );
    }
    if !op.tags.is_empty() {
        out.push_str("| Tags | ");
        push_cell(out, &op.tags.join(", "));
        out.push_str(" |\n");
    }
    out.push('\n');
    parameters(out, op, hh);
    if receive && subject.is_some() {
        policy(out, op, hh);
    }
    wire(out, op, hh, single_page);

    let several = op.request.len() > 1;
    push_all(
        out,
        &[
            hh,
            if receive { " Request" } else { " Message" },
            if several { "s\n\n" } else { "\n\n" },
        ],
    );
    if several {
        out.push_str("The payload is one of the following messages.\n\n");
    }
    for m in &op.request {
        message(out, m, hhh);
        out.push('\n');
    }
    if op.request.is_empty() {
        out.push_str("No message.\n\n");
    }
    if receive {
        push_all(out, &[hh, " Reply\n\n"]);
        for m in &op.reply {
            message(out, m, hhh);
            out.push('\n');
        }
        if op.reply.is_empty() {
            out.push_str(if op.has_reply_declared {
                "The reply declares no success message: a successful job's record has no `result`.\n\n"
            } else {
                "No reply: a successful job's record has no `result`.\n\n"
            });
        }
        if !op.errors.is_empty() {
            push_all(
                out,
                &[
                    hh,
                    " Typed errors\n\nA handler failure with one of these errors is final (never retried). \
                     The record has `status: \"failed\"`, `error.kind: \"handler\"`, `error.code` = the name \
                     below and `error.details` = the error payload.\n\n",
                ],
            );
            for m in &op.errors {
                message(out, m, hhh);
                out.push('\n');
            }
        }
    }
}

/// The table of the channel's parameters.
fn parameters(out: &mut String, op: &OperationDoc, hh: &str) {
    if op.parameters.is_empty() {
        return;
    }
    let subject = some_text(&op.subject).is_some();
    push_all(
        out,
        &[
            hh,
            if subject {
                " Subject parameters"
            } else {
                " Address parameters"
            },
            "\n\n| Parameter | Values | Default | Description |\n|---|---|---|---|\n",
        ],
    );
    for p in &op.parameters {
        push_all(out, &["| `{", &p.name, "}` | "]);
        if !p.enum_values.is_empty() {
            out.push_str("one of ");
            for (i, v) in p.enum_values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_all(out, &["`", v, "`"]);
            }
        } else if let Some(pattern) = some_text(&p.pattern) {
            out.push_str("matches `");
            push_cell(out, pattern);
            out.push('`');
        } else {
            out.push_str(if subject {
                "any subject token"
            } else {
                "any value"
            });
        }
        out.push_str(" | ");
        if let Some(default) = some_text(&p.default) {
            push_all(out, &["`", default, "`"]);
        }
        out.push_str(" | ");
        push_cell(out, p.description.as_deref().unwrap_or(""));
        out.push_str(" |\n");
    }
    out.push('\n');
    if subject {
        out.push_str(
            "A value is one NATS subject token: not empty, without `.`, `*`, `>` or whitespace.\n",
        );
    }
    out.push('\n');
}

/// The job policy table of a job.
fn policy(out: &mut String, op: &OperationDoc, hh: &str) {
    let p = &op.policy;
    push_all(
        out,
        &[
            hh,
            " Job policy\n\n| | |\n|---|---|\n| Default wait (client timeout) | ",
            &p.timeout,
            " |\n| Retried after a failed run | ",
            if p.retryable {
                "yes, with backoff"
            } else {
                "no (a failure is final)"
            },
            " |\n",
        ],
    );
    if let Some(c) = &p.consumer {
        let backoff = if c.backoff.is_empty() {
            "none".to_string()
        } else {
            c.backoff.join(", ")
        };
        push_all(
            out,
            &[
                "| Consumer | `",
                &c.durable,
                "` (filter `",
                &c.filter_subject,
                "`) |\n| Max deliveries | ",
                &c.max_deliver.to_string(),
                " |\n| Backoff between deliveries | ",
                &backoff,
                " |\n| Ack wait | ",
                &c.ack_wait,
                " |\n| Concurrency per worker | ",
                &c.concurrency.to_string(),
                " |\n",
            ],
        );
    }
    out.push_str("| Request id in the payload | ");
    match some_text(&p.request_id_pointer) {
        Some(pointer) => push_all(
            out,
            &[
                "`",
                pointer,
                "` (set to the request id; any other value is overwritten)",
            ],
        ),
        None => out.push_str("no (only the `Nats-Msg-Id` header)"),
    }
    out.push_str(" |\n");
    if let Some(target) = some_text(&p.target) {
        push_all(
            out,
            &[
                "| Targeted | yes: `{",
                target,
                "}` is `_any` (one worker), `_all` (every live worker, one copy each) or a worker id |\n",
            ],
        );
    }
    if let Some(part) = &p.partitioning {
        let count = part.count.to_string();
        push_all(
            out,
            &[
                "| Partitioned | yes: ",
                &count,
                " partitions by ",
                &part.key,
                " (`",
                or_none(&p.routing_key),
                "`); `{",
                &part.parameter,
                "}` = FNV-1a 32-bit of the key mod ",
                &count,
                ", filled by the client; one job at a time per partition, in publish order |\n",
            ],
        );
    } else if let Some(key) = some_text(&p.routing_key) {
        push_all(
            out,
            &["| Routing key | `", key, "` (no partitions: no effect) |\n"],
        );
    }
    out.push('\n');
}

/// The worked submission of a job.
fn wire(out: &mut String, op: &OperationDoc, hh: &str, single_page: bool) {
    let Some(w) = &op.wire else {
        return;
    };
    push_all(
        out,
        &[
            hh,
            " On the wire\n\nA worked submission (see the wire protocol in the ",
            if single_page {
                "[overview](#wire-protocol)"
            } else {
                "[README](../README.md)"
            },
            "):\n\n1. Publish through JetStream to `",
            &w.subject,
            "` with the headers `Nats-Msg-Id: ",
            &w.request_id,
            "`, `Jetwire-Request-Id: ",
            &w.request_id,
            "`",
        ],
    );
    for (name, value) in &w.headers {
        push_all(out, &[", `", name, ": ", value, "`"]);
    }
    match some_text(&w.payload) {
        Some(payload) => push_all(out, &[" and the payload:\n\n```json\n", payload, "\n```\n"]),
        None => out.push_str(" and an empty payload.\n"),
    }
    push_all(
        out,
        &[
            "\n2. The answer is the record under the key `",
            &w.request_id,
            "` in the KV bucket `",
            &w.bucket,
            "` (updates on `$KV.",
            &w.bucket,
            ".",
            &w.request_id,
            "`): ",
            if op.reply.is_empty() {
                "`status: \"succeeded\"` without a `result`"
            } else {
                "on `status: \"succeeded\"` its `result` is the reply below"
            },
            if op.errors.is_empty() {
                ""
            } else {
                "; on `status: \"failed\"` with `error.kind: \"handler\"`, `error.code` names one of the typed errors"
            },
            ".\n\n",
        ],
    );
}

/// One message: its texts, content type, field tables and examples.
fn message(out: &mut String, m: &MessageDoc, heading: &str) {
    push_all(out, &[heading, " `", &m.name, "`"]);
    if m.deprecated {
        out.push_str(" (deprecated)");
    }
    out.push_str("\n\n");
    for text in [&m.title, &m.summary, &m.description] {
        if let Some(text) = some_text(text) {
            push_all(out, &[text.trim(), "\n\n"]);
        }
    }
    push_all(out, &["Content type: `", &m.content_type, "`."]);
    if let Some(id) = some_text(&m.correlation_id) {
        push_all(out, &[" Correlation id: `", id, "`."]);
    }
    if let Some(t) = &m.payload_type {
        push_all(
            out,
            &[
                " Payload type: [`",
                &t.name,
                "`](",
                TYPE_LINK,
                &t.anchor,
                ").",
            ],
        );
    }
    out.push_str("\n\n");
    if !m.has_payload {
        out.push_str("No payload.\n\n");
    } else if let Some(table) = m.fields_table.as_deref().filter(|t| !t.is_empty()) {
        push_all(out, &[table, "\n"]);
    }
    if let Some(table) = m.headers_table.as_deref().filter(|t| !t.is_empty()) {
        push_all(out, &["Headers:\n\n", table, "\n"]);
    }
    for e in &m.examples {
        out.push_str("Example");
        if let Some(name) = some_text(&e.name) {
            push_all(out, &[" `", name, "`"]);
        }
        if let Some(summary) = some_text(&e.summary) {
            push_all(out, &[": ", summary.trim()]);
        }
        out.push_str("\n\n");
        if let Some(headers) = some_text(&e.headers) {
            push_all(out, &["Headers:\n\n```json\n", headers, "\n```\n\n"]);
        }
        if let Some(payload) = some_text(&e.payload) {
            push_all(out, &["```json\n", payload, "\n```\n\n"]);
        }
    }
}

/// The types page (or, with `single_page`, the HTML chapter): an index table, then one
/// section per named type.
pub fn types(out: &mut String, doc: &DocContext, single_page: bool) {
    let (h, hh) = if single_page {
        ("##", "###")
    } else {
        ("#", "##")
    };
    push_all(out, &[h, " Types"]);
    if single_page {
        out.push_str(" {#types}");
    }
    out.push_str("\n\n");
    if !single_page {
        push_all(
            out,
            &["[← ", &doc.title, " ", &doc.version, "](README.md)\n\n"],
        );
    }
    out.push_str(
        "The named schemas of the operations' messages (components, and schemas with a title), \
         each documented once. Each is a Rust type in the generated crate's `types` module, under \
         the name shown. A field whose type is one of them links here instead of repeating its \
         fields.\n\n| Type | Kind | Description |\n|---|---|---|\n",
    );
    for t in &doc.types {
        push_all(out, &["| [`", &t.name, "`](", TYPE_LINK, &t.anchor, ") | "]);
        push_cell(out, &t.kind);
        out.push_str(" | ");
        push_cell(out, t.summary.as_deref().unwrap_or(""));
        out.push_str(" |\n");
    }
    out.push('\n');
    for t in &doc.types {
        push_all(out, &[hh, " `", &t.name, "`"]);
        if single_page {
            push_all(out, &[" {#type-", &t.anchor, "}"]);
        }
        out.push_str("\n\n");
        if t.deprecated {
            out.push_str("**Deprecated.**\n\n");
        }
        for text in [&t.title, &t.description] {
            if let Some(text) = some_text(text) {
                push_all(out, &[text, "\n\n"]);
            }
        }
        push_all(out, &["Rust type `types::", &t.name, "`; schema "]);
        if let Some(name) = some_text(&t.schema_name) {
            push_all(out, &["`", name, "` "]);
        }
        push_all(out, &["at `", &t.location, "`.\n\n", &t.fields_table, "\n"]);
        for e in &t.examples {
            push_all(out, &["Example:\n\n```json\n", e, "\n```\n\n"]);
        }
    }
}
